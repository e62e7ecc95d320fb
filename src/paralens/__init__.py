"""paralens: deep learning with parametric lenses.

Every part of learning is a morphism of Para(Lens(C)) (Cruttwell, Gavranović,
Ghani, Wilson, Zanasi, "Deep Learning with Parametric Lenses", arXiv 2404.00408):
models, loss maps, learning rates and optimisers compose with ``>>`` and ``@``,
and training is their composite, driven by reverse derivatives.
"""

from paralens import laws  # noqa: F401,E402  (paralens.laws: the executable CRDC laws)
from paralens.backend import available_backends, backend_of, get_backend
from paralens.categories import (  # noqa: F401
    REALS,
    UNIT,
    Z2,
    ArrayType,
    CompositionError,
    Context,
    Field,
    Identity,
    LawViolation,
    Lens,
    Map,
    Para,
    ParalensError,
    ParameterError,
    ParamSpec,
    Product,
    R,
    ShapeError,
    Zp,
    add,
    chain,
    compose,
    copy,
    delete,
    identity,
    pair,
    product,
    proj0,
    proj1,
    reals,
    swap,
    zero,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    """``paralens.BooleanClassifier``, the scikit-learn estimator, imported when first used."""
    if name == "BooleanClassifier":
        from paralens.boolean.estimator import BooleanClassifier

        return BooleanClassifier
    if name == "draw":  # the string-diagram package (matplotlib), loaded when first used
        import importlib

        return importlib.import_module("paralens.draw")
    raise AttributeError(f"module 'paralens' has no attribute {name!r}")
