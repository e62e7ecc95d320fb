"""Deep dreaming: supervised learning of *inputs* (paper §4.2, Fig. 7; Ex 4.5).

The same closed parametric lens as supervised learning (:mod:`paralens.learning.supervised`),
with the optimiser attached to the input wires ``(A, A')`` instead of the parameter wires,
the parameters held fixed and their change discarded.  Its put is ``S x A x P x B -> S x A``::

    a_bar        = U(s, a)                          # optimiser get, on the input
    b_p          = f(p, a_bar)                      # model get (parameters fixed)
    l            = e(b_t, b_p)                      # dot-product loss b_t . b_p (Ex 3.7)
    l'           = alpha(l)                         # learning rate: a positive constant (ascent)
    (b_t', b_p') = R[e](b_t, b_p, l')               # = (l' b_p, l' b_t): masks all but class b_t
    (p', a')     = R[f](p, a_bar, b_p')             # model put; p' is discarded
    a'           = a' + R[reg](a_bar, l')           # optional L2 regulariser -(l2 / 2) |a|^2
    (s', a_new)  = U*(s, a, a')                     # optimiser put; then clip a_new to its range

With ``U = gradient_update()`` (``a + a'``) this is Ex 4.5:
``a_new = a + alpha R[f](p, a, b_t)_A``, gradient ascent on the target class's logit.

Optimisers: any optimiser lens in the paper's convention (it *adds* the change it receives:
``gradient_update``, ``paper_momentum``...).  The library's named optimisers (``sgd``, ``adam``)
subtract what they receive (they descend); :func:`ascent` turns one into an ascending lens
(``chain(scale(-1), opt)``), e.g. ``dream(..., optimiser=ascent(adam(0.05)), lr=1.0)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from paralens.learning import losses
from paralens.learning.learning_rates import LearningRate, constant
from paralens.learning.optimisers import Optimiser, chain, gradient_update, scale

INPUT = "input"
"""The name of the input wire in the optimiser's tree (an optimiser works on dicts)."""


class DreamState(NamedTuple):
    """What a dreaming step changes: the input, the optimiser's state on it, the learning rate's state."""

    x: object
    opt_state: object
    lr_state: object


def ascent(optimiser: Optimiser) -> Optimiser:
    """A library optimiser (which descends on the change it receives) made to ascend: ``chain(scale(-1), opt)``."""
    return chain(scale(-1.0), optimiser, name=f"ascent({optimiser.name})")


def one_hot(target_class: int, n_classes: int, batch: int, dtype) -> np.ndarray:
    """``(batch, n_classes)`` rows of the one-hot vector of ``target_class``: the label ``b_t``."""
    if not 0 <= int(target_class) < n_classes:
        raise ValueError(f"target class {target_class} is not one of the model's classes 0 .. {n_classes - 1}")
    y = np.zeros((batch, n_classes), dtype=dtype)
    y[:, int(target_class)] = 1
    return y


def l2_put(x, dl, l2: float):
    """The put of the regulariser ``r(a) = -(l2 / 2) |a|^2`` (per example): ``R[r](a, l') = -l' l2 a``."""
    if not l2:
        return 0.0
    return -l2 * dl.reshape((-1,) + (1,) * (x.ndim - 1)) * x


def dream_step(model, params: dict, state: DreamState, label, *, optimiser: Optimiser, learning_rate: LearningRate,
               loss=None, l2: float = 0.0, clip: tuple[float, float] | None = None):
    """The put of the dreaming lens: ``(state, b_t) -> (state', metrics)`` with the per-example ``logit`` ``b_t . b_p``."""
    loss = losses.dot() if loss is None else loss
    x_bar = optimiser.get(state.opt_state, {INPUT: state.x})[INPUT]
    y_pred, r_model = model.forward(params, x_bar)
    values, r_loss = loss.forward({"label": label}, y_pred)
    dl, lr_state = learning_rate.put(state.lr_state, values)
    _, dy = loss.backward(r_loss, dl)
    _, dx = model.backward(r_model, dy)
    dx = dx + l2_put(x_bar, dl, l2)
    opt_state, new = optimiser.put(state.opt_state, {INPUT: state.x}, {INPUT: dx.astype(state.x.dtype)})
    x = new[INPUT]
    if clip is not None:
        x = np.clip(x, clip[0], clip[1]).astype(state.x.dtype)
    return DreamState(x, opt_state, lr_state), {"logit": values, "logits": y_pred}


def dream(model, params: dict, x0, target_class: int, *, steps: int = 100, optimiser: Optimiser | None = None,
          lr: float = 0.1, l2: float = 0.0, clip: tuple[float, float] | None = None):
    """Deep-dream ``x0`` towards ``target_class``: ``steps`` puts of the dreaming lens; returns ``(x, history)``.

    Args:
      model: a :class:`~paralens.categories.para.Para` giving class scores (logits) ``(batch, n_classes)``.
      params: its (fixed) parameters.
      x0: the starting inputs ``(batch, ...)``, e.g. ``(1, 1, 28, 28)`` (zeros, noise or a sample).
      target_class: the class whose score is raised (the one-hot label of the dot-product loss).
      steps: the number of puts.
      optimiser: an optimiser lens on the input wires that adds the change it receives
        (default ``gradient_update()``, Ex 4.5); see :func:`ascent` for ``sgd`` or ``adam``.
      lr: the learning rate ``alpha``, a positive constant: ascent.
      l2: the weight of the regulariser ``-(l2 / 2) |a|^2`` (Simonyan et al. 2013), 0 for none.
      clip: ``(lo, hi)``, the input's range (``(0, 1)`` for pixels), or ``None``.

    Returns:
      ``(x, history)``: the dreamt inputs and a dict of per-step arrays: ``"logit"`` ``(steps + 1, batch)``
      (the target's score before each step and after the last) and ``"logits"`` ``(steps + 1, batch, n_classes)``.
    """
    if not lr > 0:
        raise ValueError(f"dream: the learning rate must be positive (deep dreaming is ascent), got {lr}")
    if l2 < 0:
        raise ValueError(f"dream: l2 must be >= 0, got {l2}")
    optimiser = gradient_update() if optimiser is None else optimiser
    rate = constant(lr)
    x = np.array(x0, dtype=np.asarray(x0).dtype if np.asarray(x0).dtype.kind == "f" else np.float32)
    if clip is not None:
        x = np.clip(x, clip[0], clip[1]).astype(x.dtype)
    n_classes = np.asarray(model.get(params, x)).shape[-1]
    label = one_hot(target_class, n_classes, len(x), x.dtype)
    state = DreamState(x, optimiser.init({INPUT: x}), rate.init())
    logits = []
    for _ in range(int(steps)):
        state, m = dream_step(model, params, state, label, optimiser=optimiser, learning_rate=rate, l2=l2, clip=clip)
        logits.append(np.asarray(m["logits"]))
    logits.append(np.asarray(model.get(params, state.x)))
    scores = np.stack(logits)
    return state.x, {"logit": scores[:, :, int(target_class)], "logits": scores}
