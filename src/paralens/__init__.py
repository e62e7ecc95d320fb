"""paralens: deep learning with parametric lenses.

Every part of learning is a morphism of Para(Lens(C)) (Cruttwell, Gavranović,
Ghani, Wilson, Zanasi, "Deep Learning with Parametric Lenses", arXiv 2404.00408):
models, loss maps, learning rates and optimisers compose with ``>>`` and ``@``,
and training is their composite, driven by reverse derivatives.
"""

from paralens.categories import (  # noqa: F401
    ArrayType, Product, Field, REALS, Z2, Zp, UNIT, reals, product,
    ParalensError, CompositionError, ShapeError, ParameterError, LawViolation,
    Lens, Identity, Context, identity, compose, Map, R,
    Para, ParamSpec, chain, copy, delete, add, zero, proj0, proj1, swap, pair,
)
from paralens.backend import get_backend, backend_of, available_backends
from paralens import laws  # noqa: F401,E402  (paralens.laws: the executable CRDC laws)

__version__ = "0.1.0"
