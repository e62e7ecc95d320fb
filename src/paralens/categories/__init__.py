"""Layer 2: the categories Lens(C) and Para(Lens(C)), the functor R and the Cartesian structure.

Generic: nothing here knows whether it computes with floats or bits.
"""

from paralens.categories.cartesian import add, copy, delete, pair, proj0, proj1, swap, zero
from paralens.categories.functor import Map, R
from paralens.categories.lens import Compose, Context, Identity, Lens, PrimitiveLens, Tensor, compose, identity
from paralens.categories.para import Chain, Named, Para, ParaLens, ParamLens, ParamSpec, ParaTensor, Reparam, chain
from paralens.categories.types import (
    REALS,
    UNIT,
    Z2,
    ArrayType,
    Field,
    Product,
    Zp,
    as_type,
    product,
    reals,
)
from paralens.errors import (
    CompositionError,
    LawViolation,
    ParalensError,
    ParameterError,
    ShapeError,
)
