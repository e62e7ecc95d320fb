"""Deep dreaming of a hardened Boolean classifier: reverse derivative ascent on its *input bits*.

The optimiser sits on the input wires of the GF(2) circuit (paper §4.2, in Poly over Z2, as the
paper's closing remarks suggest), with the parameters (the hardened gates) fixed.  One step:

    y   = c(x)                                   # the circuit's output bits
    dy  = y + b_t                                # XOR loss against the target's code b_t (Ex 3.5):
                                                 #   the target's group all ones, the others all zeros
    x'  = R[c](x, dy)                            # the reverse derivative (identity learning rate, Ex 3.10)

``x'_j = 1`` says "flipping input bit j helps".  The bits must stay an encoder's code (a threshold
or thermometer code of integer features), so the moves are per feature: the feature moved to
another level of its thermometer (up: ``x = T_{k-1} + 1``, the first 0 bits become 1; down:
``x = T_k``, the last 1 bits become 0), which flips only a run of bits at the boundary.  Among the
moves that flip a bit ``x'`` marks, the step takes the one that most raises the target's margin
over the other classes' group counts (evaluated exactly; among moves that reach the goal, the one
changing the fewest bits); when none of them raises it, every move is tried.  It stops when
``predict`` gives the target (or its margin reaches ``margin``), when no move raises the margin,
or when every move would change more than ``budget`` bits from the start.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from paralens.circuits.evaluate import evaluate_ints
from paralens.circuits.reverse import reverse


class BitDream(NamedTuple):
    """A dreamt input: encoder bits, the port integers and raw features they come from, and the record.

    Attributes:
      start_bits, bits: the encoder's bits ``(n_bits,)`` of the starting and the dreamt input.
      start_features, features: the raw features ``(n_features,)`` (integers as the ports carry them,
        divided by ``10**decimals``); ``clf.bits(features[None])[0] == bits``.
      bits_changed: the Hamming distance of ``bits`` from ``start_bits`` (at most the budget).
      predicted: ``clf.predict(features[None])[0]``.
      margins: the target's margin before each step and after the last (>= 0: classified as the target).
      suggested: per step, whether the move taken flipped a bit the reverse derivative marked.
    """

    start_bits: np.ndarray
    bits: np.ndarray
    start_features: np.ndarray
    features: np.ndarray
    bits_changed: int
    predicted: int
    margins: list
    suggested: list


def feature_levels(clf) -> list[np.ndarray]:
    """Per feature, its distinct integer thresholds ``T`` (bit ``x > T``) that the port's range can cross."""
    enc = clf.encoder
    if not hasattr(enc, "integer_thresholds") or any(op != ">" for _, op, _ in enc.bit_tests()):
        raise ValueError(f"{clf.name}: dreaming needs a threshold or thermometer encoder, not {type(enc).__name__}")
    feats = clf.inputs.features
    if any(f.kind != "number" for f in feats):
        raise ValueError(f"{clf.name}: dreaming needs numeric features (a category port has no order)")
    out = [set() for _ in feats]
    for i, t in enc.integer_thresholds():
        if feats[i].lo <= t < feats[i].hi:
            out[i].add(int(t))
    return [np.array(sorted(s), dtype=np.int64) for s in out]


def moves(q: np.ndarray, levels: list[np.ndarray]) -> np.ndarray:
    """The port integers with one feature moved to another level of its thermometer: ``(n_moves, n_features)``.

    Level ``k`` of a feature with thresholds ``T`` is reached by the value nearest ``q`` in it: ``T[k-1] + 1``
    from below, ``T[k]`` from above; the bits that change are a run at the boundary of the thermometer."""
    rows = []
    for i, T in enumerate(levels):
        here = int(np.searchsorted(T, q[i], side="left"))  # q > T[j] exactly for j < here
        for k in range(len(T) + 1):
            if k != here:
                r = q.copy()
                r[i] = T[k - 1] + 1 if k > here else T[k]
                rows.append(r)
    return np.array(rows, dtype=np.int64).reshape(-1, len(q))


def margins(scores: np.ndarray, target: int) -> np.ndarray:
    """``min_c (s_t - s_c - [c < t])`` over the other classes: ``>= 0`` exactly when the argmax (ties to the
    lower class) is ``target``."""
    s = np.asarray(scores, dtype=np.int64)
    c = np.arange(s.shape[1])
    d = s[:, [target]] - s - (c < target)[None, :]
    d[:, target] = np.iinfo(np.int64).max
    return d.min(axis=1)


def target_code(clf, target: int) -> np.ndarray:
    """``b_t``: the target's group of output bits all ones, the other groups all zeros."""
    d = clf.decoder
    code = np.zeros((d.n_classes, d.bits_per_class), dtype=np.int64)
    code[target] = 1
    return code.reshape(-1)


def _output_bits(clf, bits: np.ndarray) -> np.ndarray:
    return evaluate_ints(clf.circuit, np.asarray(bits, dtype=np.int64), packed=len(bits) >= 256)


def input_change(clf, rc, bits: np.ndarray, target: int) -> np.ndarray:
    """``x' = R[c](x, c(x) + b_t)``: the input bits whose flip the reverse derivative asks for (0/1)."""
    y = _output_bits(clf, bits[None])[0]
    dy = (y + target_code(clf, target)) % 2
    return evaluate_ints(rc, np.concatenate([bits, dy])[None].astype(np.int64))[0] % 2


def _best(clf, cands: np.ndarray, cand_bits: np.ndarray, start_bits: np.ndarray, target: int, goal: int):
    """The index of the candidate with the highest margin, capped at ``goal``, then the fewest bits changed
    from the start; and its margin."""
    m = margins(clf.decoder.scores(_output_bits(clf, cand_bits)), target)
    changed = (cand_bits != start_bits).sum(axis=1)
    k = int(np.lexsort((changed, -np.minimum(m, goal)))[0])
    return k, int(m[k])


def _raw(clf, q: np.ndarray) -> np.ndarray:
    scale = np.array([f.scale for f in clf.inputs.features])
    return q if (scale == 1).all() else q / scale


def dream_bits(clf, x0, target: int, *, budget: int, margin: int = 0, rc=None) -> BitDream:
    """Dream the raw sample ``x0`` ``(n_features,)`` towards class ``target``, changing at most ``budget`` bits.

    Args:
      clf: a :class:`~paralens.boolean.classifier.CircuitClassifier` with a threshold or thermometer encoder.
      x0: the starting sample's raw features.
      target: the class index to dream towards.
      budget: the most input bits that may differ from the start's.
      margin: go on until the target's margin (:func:`margins`) reaches this (0: until ``predict`` gives
        the target; more: a clearer win, if the budget allows).
      rc: ``reverse(clf.circuit)`` when the caller has it already (it is built otherwise).
    """
    if not 0 <= int(target) < clf.n_classes:
        raise ValueError(f"target class {target} is not one of {clf.name}'s classes 0 .. {clf.n_classes - 1}")
    if budget < 0:
        raise ValueError(f"the budget of bits must be >= 0, got {budget}")
    target = int(target)
    rc = reverse(clf.circuit) if rc is None else rc
    levels = feature_levels(clf)
    q = clf.integers(np.asarray(x0)[None])[0]
    start_bits = clf.encoder.transform(q[None])[0].astype(np.int64)
    bits = start_bits
    now = int(margins(clf.decoder.scores(_output_bits(clf, bits[None])), target)[0])
    history, suggested = [now], []
    while now < margin:
        cands = moves(q, levels)
        cand_bits = clf.encoder.transform(cands).astype(np.int64)
        fits = (cand_bits != start_bits).sum(axis=1) <= budget
        marked = ((cand_bits != bits) & (input_change(clf, rc, bits, target)[None] == 1)).any(axis=1)
        step = None
        for pool, from_rd in ((fits & marked, True), (fits, False)):
            if pool.any():
                idx = np.flatnonzero(pool)
                k, m = _best(clf, cands[idx], cand_bits[idx], start_bits, target, margin)
                if m > now:
                    step = (idx[k], m, from_rd)
                    break
        if step is None:
            break
        k, now, from_rd = step
        q, bits = cands[k], cand_bits[k]
        history.append(now)
        suggested.append(from_rd)
    start, features = _raw(clf, clf.integers(np.asarray(x0)[None])[0]), _raw(clf, q)
    predicted = int(clf.predict(features[None], packed=False)[0])
    return BitDream(start_bits, bits, start, features, int((bits != start_bits).sum()), predicted, history,
                    suggested)
