"""Building a named optimiser from its blocks."""

from __future__ import annotations

from paralens.learning.optimisers.base import Optimiser
from paralens.learning.optimisers.combinators import chain


def named(name: str, parts: list[Optimiser], **hyperparams) -> Optimiser:
    """``parts`` chained (or the single part), printed as ``name(hyperparams)``."""
    parts = [p for p in parts if p is not None]
    opt = parts[0] if len(parts) == 1 else chain(*parts, name=name)
    return opt.renamed(name, **hyperparams)


def check_nonneg(who: str, **values) -> None:
    for k, v in values.items():
        if callable(v):
            continue
        if not float(v) >= 0.0:
            raise ValueError(f"{who}: {k} must be >= 0, got {v}")


def check_beta(who: str, **values) -> None:
    for k, v in values.items():
        if not 0.0 <= float(v) < 1.0:
            raise ValueError(f"{who}: {k} must be in [0, 1), got {v}")
