"""Optimisers by name, for the command line and configuration files."""

from __future__ import annotations

import inspect

from paralens.learning.optimisers.adagrad import adagrad
from paralens.learning.optimisers.adam import adam, adamw
from paralens.learning.optimisers.base import Optimiser
from paralens.learning.optimisers.rmsprop import rmsprop
from paralens.learning.optimisers.sgd import momentum, nesterov, sgd

OPTIMISERS = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "adam": adam,
    "adamw": adamw,
    "rmsprop": rmsprop,
}
"""``name -> factory``; every factory takes ``lr`` and has PyTorch's defaults, and
every one follows the library's convention (the learning-rate lens is the unit)."""


def get_optimiser(name: str, **kwargs) -> Optimiser:
    """The optimiser called ``name`` (a key of :data:`OPTIMISERS`), built with ``kwargs``.

    >>> get_optimiser("adam", lr=0.01)
    <Optimiser adam(lr=0.01, b1=0.9, b2=0.999, eps=1e-08, weight_decay=0.0, amsgrad=False)>
    """
    key = name.strip().lower()
    if key not in OPTIMISERS:
        raise ValueError(f"unknown optimiser {name!r}: choose one of {sorted(OPTIMISERS)}")
    factory = OPTIMISERS[key]
    sig = inspect.signature(factory)
    unknown = [k for k in kwargs if k not in sig.parameters]
    if unknown:
        raise TypeError(f"optimiser {key!r} takes {list(sig.parameters)}; unknown arguments {unknown}")
    return factory(**kwargs)


__all__ = ["OPTIMISERS", "get_optimiser"]
