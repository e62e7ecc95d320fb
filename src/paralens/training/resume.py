"""Saving and resuming training: a :class:`TrainState` to a checkpoint and back.

A checkpoint holds the parameters, every leaf of the optimiser state (named),
the learning-rate state, the step and epoch counters, the seed from which all
randomness is derived, and the model's description.  Because shuffling and
dropout are functions of ``(seed, epoch)`` and ``(seed, step)``, training N
epochs in one run and training k, saving, and resuming for N - k gives
bit-identical parameters on the NumPy backend.
"""

from __future__ import annotations

import os

from paralens.backend import get_backend
from paralens.categories.pytree import tree_map
from paralens.errors import CheckpointError
from paralens.learning.supervised import Learner, TrainState
from paralens.training.checkpoint import load_checkpoint, save_checkpoint


def save_train_state(path, state: TrainState, *, epoch: int, seed: int, model=None) -> None:
    """Write ``state`` atomically to ``path`` (its folder is created if missing)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    save_checkpoint(path, state.params, state.opt_state, step=int(state.step), epoch=epoch,
                    rng_state={"seed": int(seed)}, model=model, extra={"lr_state": _to_numpy(state.lr_state)})


def checkpointer(path, *, seed: int, model=None):
    """A ``checkpoint`` callback for :func:`paralens.training.fit.fit` that saves to ``path``."""

    def callback(state: TrainState, epochs_done: int, history) -> None:
        save_train_state(path, state, epoch=epochs_done, seed=seed, model=model)

    return callback


def load_train_state(path, learner: Learner, backend="numpy"):
    """``(state, epochs_done, checkpoint)`` from ``path``, checked against ``learner``'s parameters and optimiser.

    Raises :class:`CheckpointError` naming the mismatch when the checkpoint was written
    for another model (parameter names or shapes) or another optimiser (state structure).
    """
    B = get_backend(backend)
    ck = load_checkpoint(path, expect_params={k: s.shape for k, s in learner.model.params.items()})
    fresh = learner.optimiser.init(ck.params)
    _same_structure(fresh, ck.opt_state, path, "optimiser state")
    conv = _tree(B.asarray)
    step = ck.step if B.name == "numpy" else B.asarray(ck.step, dtype="int32")
    lr_state = (ck.extra or {}).get("lr_state") or {}
    state = TrainState(conv(ck.params), conv(ck.opt_state), conv(lr_state), step)
    return state, ck.epoch, ck


def _same_structure(expected, got, path, what, where="") -> None:
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(expected) != set(got):
            missing = sorted(set(expected) - set(got or {})) if isinstance(got, dict) else "all"
            extra = sorted(set(got) - set(expected)) if isinstance(got, dict) else []
            raise CheckpointError(
                f"{path}: the {what} does not match this optimiser at {where or 'top level'}: "
                f"missing {missing}, unexpected {extra} (was it saved with another optimiser?)"
            )
        for k in expected:
            _same_structure(expected[k], got[k], path, what, f"{where}/{k}")
    elif isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise CheckpointError(f"{path}: the {what} does not match this optimiser at {where}")
        for i, (e, g) in enumerate(zip(expected, got)):
            _same_structure(e, g, path, what, f"{where}/{i}")
    elif hasattr(expected, "shape") and getattr(got, "shape", None) != expected.shape:
        raise CheckpointError(
            f"{path}: {what} entry {where} has shape {getattr(got, 'shape', None)}, expected {expected.shape}"
        )


def _tree(f):
    return lambda t: tree_map(f, t)


def _to_numpy(t):
    import numpy as np

    return _tree(np.asarray)(t)
