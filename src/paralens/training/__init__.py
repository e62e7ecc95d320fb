"""Layer 5 (use): the training loop, checkpoints and resumption."""

from paralens.training.checkpoint import FORMAT_VERSION, Checkpoint, load_checkpoint, save_checkpoint
from paralens.training.fit import History, NonFiniteError, evaluate, fit, predict
from paralens.training.resume import checkpointer, load_train_state, save_train_state

__all__ = [
    "FORMAT_VERSION", "Checkpoint", "History", "NonFiniteError", "checkpointer", "evaluate", "fit",
    "load_checkpoint", "load_train_state", "predict", "save_checkpoint", "save_train_state",
]
