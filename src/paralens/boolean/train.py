"""Training parametric circuits with the paper's learner, and the Boolean presets' training loop.

Reverse derivative ascent (Wilson and Zanasi 2020; paper Ex 4.4) is plain
supervised learning in Poly over Z2:

    Learner(model, losses.xor(n), optimisers.gradient_update(modulus=2), learning_rates.identity())

(the XOR loss, the identity learning rate and ``p + p'``).  :func:`train_circuit`
runs that learner (or any optimiser lens, such as :func:`~paralens.learning.optimisers.vote`)
over epochs, and keeps the parameters that score best on a validation part, as
the RDA paper does.  Nothing in it is specific to GF(2) but the default lenses.
"""

from __future__ import annotations

import time

import numpy as np

from paralens.circuits.lens import ParaCircuit
from paralens.learning import learning_rates, losses, optimisers
from paralens.learning.supervised import Learner


def targets(labels: np.ndarray, n_classes: int, bits_per_class: int = 1) -> np.ndarray:
    """Target bits for class labels: class ``c``'s group of ``bits_per_class`` bits is 1, the rest 0.
    With ``n_classes == 2`` and ``bits_per_class == 0`` the target is the label itself (one bit)."""
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0 .. {n_classes - 1}, got {int(labels.min())} .. {int(labels.max())}")
    if bits_per_class == 0:
        return labels.reshape(-1, 1)
    onehot = np.eye(n_classes, dtype=np.int64)[labels]
    return np.repeat(onehot, bits_per_class, axis=1)


def rda_learner(model: ParaCircuit, optimiser=None) -> Learner:
    """The paper's Boolean learner for ``model``: XOR loss, identity learning rate, ``p + p'`` (or ``optimiser``)."""
    return Learner(model, losses.xor(model.circuit.n_outputs),
                   optimisers.gradient_update(modulus=2) if optimiser is None else optimiser,
                   learning_rates.identity())


def train_circuit(model: ParaCircuit, bits, target_bits, *, epochs: int = 1, batch_size: int = 1, seed: int = 0,
                  optimiser=None, shuffle: bool = True, score=None, validation=None, params=None,
                  progress: bool = False) -> tuple[dict, dict]:
    """Train ``model`` by reverse derivative ascent (or ``optimiser``); return ``(params, info)``.

    Args:
      bits, target_bits: integer arrays (N, inputs) and (N, outputs).
      score: ``params -> float`` to select the best parameters (evaluated after every epoch,
        and every ``len(bits) // 10`` steps in the first epoch); default: the training loss.
      validation: ignored when ``score`` is given; otherwise ``(bits, targets)`` scored by
        the fraction of exactly right outputs.
      shuffle: shuffle every epoch from ``seed`` (``False``: the data order, as the RDA paper).
    """
    learner = rda_learner(model, optimiser)
    bits = np.asarray(bits, dtype=np.int64)
    target_bits = np.asarray(target_bits, dtype=np.int64)
    if len(bits) != len(target_bits):
        raise ValueError(f"{len(bits)} inputs but {len(target_bits)} targets")
    state = learner.init(seed, params=params)
    if score is None:
        vb, vt = validation if validation is not None else (bits, target_bits)

        def score(p):
            out = model.get(p, vb)
            return float(np.mean(np.all(out == vt, axis=1)))

    best = (score(state.params), {k: v.copy() for k, v in state.params.items()})
    rng = np.random.default_rng(seed)
    history = []
    t0 = time.perf_counter()
    n = len(bits)
    check_every = max(1, n // 10 // max(1, batch_size))
    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for i, s in enumerate(range(0, n, batch_size)):
            idx = order[s: s + batch_size]
            state, _ = learner.step(state, bits[idx], target_bits[idx])
            if epoch == 0 and i % check_every == check_every - 1:
                sc = score(state.params)
                if sc > best[0]:
                    best = (sc, {k: v.copy() for k, v in state.params.items()})
        sc = score(state.params)
        history.append(sc)
        if sc > best[0]:
            best = (sc, {k: v.copy() for k, v in state.params.items()})
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: score {sc:.4f} (best {best[0]:.4f})")
    return best[1], {"score": best[0], "history": history, "seconds": time.perf_counter() - t0,
                     "final_params": state.params}
