"""Runnable examples: ``python -m paralens.examples.iris`` and ``python -m paralens.examples.mnist_paper``."""
