"""Layer 5 (use): training loops, checkpoints."""

from paralens.training.checkpoint import FORMAT_VERSION, Checkpoint, load_checkpoint, save_checkpoint

__all__ = ["FORMAT_VERSION", "Checkpoint", "load_checkpoint", "save_checkpoint"]
