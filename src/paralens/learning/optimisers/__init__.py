"""Optimisers: lenses ``(S x P, S x P) -> (P, P')`` on the parameter wires (paper Def 3.14).

An optimiser ``opt`` is three pure functions on named trees (dicts ``name -> array``):

* ``opt.init(params) -> state`` (a dict of arrays; step counts are 0-d int32 arrays);
* ``opt.get(state, params) -> params_bar`` (``U``): where the model is evaluated,
  ``params`` except for look-ahead Nesterov;
* ``opt.put(state, params, grads) -> (new_state, new_params)`` (``U*``).

They are built Optax-style from small blocks (:mod:`.transforms`) composed by
:func:`chain`, :func:`partition` and :func:`freeze`; ``opt.update(grads, state,
params) -> (updates, new_state)`` is the block-level map and ``put`` adds the
updates to the parameters.

**Two conventions.**  ``grads`` (``p'``) is what the backward pass delivers on
the parameter wires, i.e. the learning-rate lens applied to the loss, pulled back:

* the library's default (PyTorch, Optax): the learning rate is the unit
  ``alpha(l) = 1`` (:func:`paralens.learning.learning_rates.unit`), ``p' = grad L``,
  and the named optimisers (``sgd``, ``momentum``, ``nesterov``, ``adagrad``,
  ``adam``, ``adamw``, ``rmsprop``, ``gradient_descent``) carry their ``lr`` and
  the descent sign;
* the paper's: the learning rate is ``alpha(l) = -eps``
  (:func:`paralens.learning.learning_rates.constant`), ``p' = -eps grad L``, and
  the optimiser adds: ``gradient_update`` (``p + p'``, Def 3.11),
  ``paper_momentum`` (Ex 3.15), ``paper_nesterov`` (Ex 3.16), ``paper_adagrad``
  (Ex 3.17).

Each docstring states its lens (get and put), its state and its convention.
Every ``lr`` is a float or a schedule (:mod:`paralens.learning.schedules`).

    >>> import numpy as np
    >>> opt = chain(clip_by_global_norm(1.0), adam(lr=0.1))
    >>> params = {"w": np.array([1.0, -2.0], dtype=np.float32)}
    >>> state = opt.init(params)
    >>> for _ in range(20):
    ...     state, params = opt.put(state, params, {"w": params["w"]})   # grad of |w|^2 / 2
    >>> params["w"].dtype, bool(abs(params["w"]).max() < 0.5)
    (dtype('float32'), True)
"""

from paralens.learning.optimisers.adagrad import adagrad, paper_adagrad
from paralens.learning.optimisers.adam import adam, adamw
from paralens.learning.optimisers.base import (
    GradientTransformation,
    NameSpec,
    Optimiser,
    apply_updates,
    global_norm,
    tree_leaves,
    tree_map,
)
from paralens.learning.optimisers.combinators import chain, freeze, multi_optimiser, partition
from paralens.learning.optimisers.gradient import gradient_ascent, gradient_descent, gradient_update
from paralens.learning.optimisers.momentum import nesterov_lookahead, paper_momentum, paper_nesterov
from paralens.learning.optimisers.registry import OPTIMISERS, get_optimiser
from paralens.learning.optimisers.rmsprop import rmsprop
from paralens.learning.optimisers.sgd import momentum, nesterov, sgd
from paralens.learning.optimisers.transforms import (
    add_weight_decay,
    clip_by_global_norm,
    scale,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_schedule,
    set_to_zero,
    trace,
    velocity,
)
from paralens.learning.optimisers.vote import vote

__all__ = [
    "OPTIMISERS",
    "GradientTransformation",
    "NameSpec",
    "Optimiser",
    "adagrad",
    "adam",
    "adamw",
    "add_weight_decay",
    "apply_updates",
    "chain",
    "clip_by_global_norm",
    "freeze",
    "get_optimiser",
    "global_norm",
    "gradient_ascent",
    "gradient_descent",
    "gradient_update",
    "momentum",
    "multi_optimiser",
    "nesterov",
    "nesterov_lookahead",
    "paper_adagrad",
    "paper_momentum",
    "paper_nesterov",
    "partition",
    "rmsprop",
    "scale",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_schedule",
    "set_to_zero",
    "sgd",
    "trace",
    "tree_leaves",
    "tree_map",
    "velocity",
    "vote",
]
