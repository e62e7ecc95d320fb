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
                  progress: bool = False, verbose: bool = False) -> tuple[dict, dict]:
    """Train ``model`` by reverse derivative ascent (or ``optimiser``); return ``(params, info)``.

    Args:
      bits, target_bits: integer arrays (N, inputs) and (N, outputs).
      score: ``params -> float`` to select the best parameters (evaluated after every epoch,
        and every ``len(bits) // 10`` steps in the first epoch); default: the training loss.
      validation: ignored when ``score`` is given; otherwise ``(bits, targets)`` scored by
        the fraction of exactly right outputs.
      shuffle: shuffle every epoch from ``seed`` (``False``: the data order, as the RDA paper).
      progress: one progress bar over the epochs (on a terminal); verbose: a line per epoch.
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
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="training", unit="epoch", leave=False, dynamic_ncols=True, disable=None)
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
        if bar is not None:
            bar.update(1)
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: score {sc:.4f} (best {best[0]:.4f})")
    if bar is not None:
        bar.close()
    return best[1], {"score": best[0], "history": history, "seconds": time.perf_counter() - t0,
                     "final_params": state.params}


# -- LUT layers voting in class groups (the vote and RDA methods of Boolean classifiers) ------------------


def active_wiring(bits, n_luts: int, k: int, seed: int = 0, min_rate: float = 0.02) -> np.ndarray:
    """``(n_luts, k)`` input indices for a LUT layer: ``k`` distinct inputs per LUT, drawn from ``seed``
    among the inputs that are 1 in at least ``min_rate`` of the rows of ``bits`` (not the always-0
    border pixels of MNIST); all inputs when too few are."""
    bits = np.asarray(bits)
    pool = np.flatnonzero(bits.mean(axis=0) >= min_rate)
    if len(pool) < k:
        pool = np.arange(bits.shape[1])
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(pool, size=min(k, len(pool)), replace=False) for _ in range(n_luts)])


def lut_groups(bits, n_classes: int, seed: int, *, per_class: int, k: int) -> ParaCircuit:
    """``n_classes`` groups of ``per_class`` learned ``k``-input LUTs on :func:`active_wiring`."""
    from paralens.boolean import layers

    k = min(int(k), np.asarray(bits).shape[1])
    return layers.lut_layer(np.asarray(bits).shape[1], n_classes * per_class, k,
                            wiring=active_wiring(bits, n_classes * per_class, k, seed))


def group_accuracy(model: ParaCircuit, n_classes: int, bits, labels):
    """``params -> accuracy`` of ``model``'s output bits read as class groups (ties to the lower class)."""
    from paralens.boolean.encoders import GroupSumDecoder

    dec = GroupSumDecoder(n_classes, model.circuit.n_outputs // n_classes)

    def score(p):
        return float(np.mean(dec.predict(model.get(p, bits)) == labels))

    return score


def fit_groups(model: ParaCircuit, bits, labels, n_classes: int, *, epochs: int, batch_size: int, seed: int = 0,
               vote: tuple | None = None, validation: float = 0.0, keep: str = "best",
               progress: bool = False, verbose: bool = False) -> tuple[dict, dict]:
    """Train a model whose outputs vote in class groups from zero parameters; ``(params, info)``.

    ``vote``: ``(threshold, decay)`` of the vote optimiser, or ``None`` for plain reverse derivative
    ascent (``p + p'``); ``validation``: the last fraction of the rows scores the parameters (the best
    are kept; without one the training rows score them; ``keep="final"``: the last); ``info`` adds ``validation_accuracy`` when there is one."""
    bits = np.asarray(bits, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    bpc = model.circuit.n_outputs // n_classes
    tgt = targets(labels, n_classes, bpc)
    k = int(round(len(bits) * (1 - validation)))
    score = group_accuracy(model, n_classes, bits[k:], labels[k:]) if k < len(bits) else \
        group_accuracy(model, n_classes, bits, labels)
    init = {n: np.zeros(s.shape, dtype=np.int64) for n, s in model.params.items()}
    opt = None if vote is None else optimisers.vote(vote[0], decay=vote[1])
    params, info = train_circuit(model, bits[:k], tgt[:k], epochs=epochs, batch_size=batch_size, seed=seed,
                                 optimiser=opt, shuffle=True, score=score, params=init, progress=progress,
                                 verbose=verbose)
    if keep == "final":
        params = info["final_params"]
    if k < len(bits):
        info["validation_accuracy"] = score(params)
    return params, info
