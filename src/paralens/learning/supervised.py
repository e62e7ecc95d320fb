"""Supervised learning of parameters: the closed parametric lens of paper §4.1 (Fig. 6).

The learner is the composite

    optimiser (reparametrising P by S x P)  ;  model  ;  loss (parameter: label)  ;  learning rate (cap)

closed on the input side by eta (get 1_A, put pi_1).  Its put is the training step
``A x S x P x B -> S x P``::

    p_bar        = U(s, p)                          # optimiser get (look-ahead for Nesterov)
    b_p          = f(p_bar, a)                      # model get
    l            = e(b_t, b_p)                      # loss get (per example)
    l'           = alpha(l)                         # learning-rate put (costate L -> L')
    (b_t', b_p') = R[e](b_t, b_p, l')               # loss put (l' / batch for the mean reduction)
    (p', a')     = R[f](p_bar, a, b_p')             # model put; a' is discarded
    (s', p_new)  = U*(s, p, p')                     # optimiser put

:func:`train_step` is that put, a pure function of ``(learner, state, x, y, key)``,
so a compiling backend can ``jit`` it whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from paralens.backend import backend_of, get_backend
from paralens.categories.lens import Context
from paralens.categories.para import Para, ParamLens


class TrainState(NamedTuple):
    """Everything a training step changes: parameters, optimiser state, learning-rate state, step count."""

    params: dict
    opt_state: Any
    lr_state: Any
    step: Any


@dataclass(frozen=True)
class Learner:
    """A model closed with a loss, a learning rate and an optimiser (paper Fig. 2).

    Args:
      model: a :class:`~paralens.categories.para.Para`.
      loss: a loss lens from :mod:`paralens.learning.losses`.
      optimiser: an optimiser lens ``(S x P, S x P) -> (P, P')``.
      learning_rate: a learning-rate lens ``(L, L') -> (1, 1)``; the default is the unit
        ``alpha(l) = 1`` (the change is the gradient and the optimiser carries the step size,
        the PyTorch/Optax convention).  The paper's form is ``learning_rates.constant(-eps)``
        with ``optimisers.gradient_update()``.
    """

    model: Para
    loss: Para
    optimiser: Any
    learning_rate: Any = None

    def __post_init__(self):
        if self.learning_rate is None:
            from paralens.learning.learning_rates import unit

            object.__setattr__(self, "learning_rate", unit())
        try:
            if self.model.cod.unify(self.loss.dom) is None:
                from paralens.errors import compose_mismatch

                raise compose_mismatch(self.model, self.loss, self.model.cod, self.loss.dom)
        except AttributeError:
            pass

    def init(self, seed: int, dtype: str = "float32", backend="numpy", params: dict | None = None) -> TrainState:
        """A fresh training state: parameters from ``seed`` (or ``params``), optimiser and learning-rate state."""
        B = get_backend(backend)
        if params is None:
            params = self.model.init(seed, dtype=dtype, backend=B)
        return TrainState(
            params=params,
            opt_state=self.optimiser.init(params),
            lr_state=self.learning_rate.init(),
            step=B.asarray(0, dtype="int32") if B.name == "jax" else 0,
        )

    def step(self, state: TrainState, x, y, key=None):
        """One training step; returns ``(new_state, metrics)`` with the batch's mean ``loss`` (and ``accuracy``)."""
        return train_step(self, state, x, y, key)

    def predict(self, params: dict, x):
        """The model's get at evaluation (dropout off)."""
        return self.model.get(params, x)


def train_step(learner: Learner, state: TrainState, x, y, key=None):
    """The put of the closed supervised lens: ``(state, x, y) -> (state', metrics)``.

    ``metrics`` holds the batch's mean ``loss`` and, for classifiers (one-hot labels),
    its ``accuracy``.

    ``key`` (a backend random key) switches on training-mode randomness (dropout);
    ``None`` runs the model deterministically.
    """
    B = backend_of(x)
    model, loss, opt, lr = learner.model, learner.loss, learner.optimiser, learner.learning_rate
    ctx = None if key is None else Context(True, key, B)
    p_bar = opt.get(state.opt_state, state.params)
    y_pred, r_model = model.forward(p_bar, x, ctx)
    values, r_loss = loss.forward({"label": y}, y_pred)
    dl, lr_state = lr.put(state.lr_state, values)
    if loss.reduction == "mean":
        dl = dl / x.shape[0]
    _, dy_pred = loss.backward(r_loss, dl)
    grads = model.backward_params(r_model, dy_pred)
    opt_state, params = opt.put(state.opt_state, state.params, grads)
    metrics = {"loss": B.xp.mean(values)}
    if y_pred.ndim == 2 and y_pred.shape[-1] > 1 and y.ndim == 2:
        metrics["accuracy"] = B.xp.mean(B.xp.argmax(y_pred, axis=-1) == B.xp.argmax(y, axis=-1))
    return TrainState(params, opt_state, lr_state, state.step + 1), metrics


def loss_and_grads(learner: Learner, params: dict, x, y):
    """Mean loss and the parameter change ``p'`` at ``params`` (unit learning rate), for inspection and tests."""
    B = backend_of(x)
    y_pred, r_model = learner.model.forward(params, x)
    values, r_loss = learner.loss.forward({"label": y}, y_pred)
    dl = B.xp.ones_like(values)
    if learner.loss.reduction == "mean":
        dl = dl / x.shape[0]
    _, dy = learner.loss.backward(r_loss, dl)
    return B.xp.mean(values), learner.model.backward_params(r_model, dy)


class OptimiserLens(ParamLens):
    """An optimiser as a lens on parameter wires, ``(S x P, S x P) -> (P, P')`` (paper Def 3.14).

    Its Q port carries ``{"state": s, "params": p}``; get is the optimiser's ``U(s, p)`` (the
    parameters the model sees, a look-ahead for Nesterov) and put ``U*(s, p, p')`` returns the
    *new* ``{"state": s', "params": p'}``, not a change.  ``model.reparametrise(OptimiserLens(opt, model))``
    is the model with the optimiser stacked on its parameter wires (paper Fig. 4).
    """

    def __init__(self, optimiser, model: Para):
        self.optimiser = optimiser
        self.params = dict(model.params)
        self.name = getattr(optimiser, "name", "optimiser")

    def forward(self, q):
        s, p = q["state"], q["params"]
        return self.optimiser.get(s, p), (s, p)

    def backward(self, residual, dp):
        s, p = residual
        s2, p2 = self.optimiser.put(s, p, dp)
        return {"state": s2, "params": p2}
