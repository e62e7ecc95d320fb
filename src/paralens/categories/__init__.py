"""Layer 2: the categories Lens(C) and Para(Lens(C)), the functor R and the Cartesian structure.

Generic: nothing here knows whether it computes with floats or bits.
"""

from paralens.categories.types import (
    ArrayType, Product, Field, REALS, Z2, Zp, UNIT, reals, product, as_type,
)
from paralens.categories.errors import (
    ParalensError, CompositionError, ShapeError, ParameterError, LawViolation,
)
from paralens.categories.lens import Lens, PrimitiveLens, Identity, Compose, Tensor, Context, identity, compose
from paralens.categories.functor import Map, R
from paralens.categories.para import Para, ParaLens, ParamSpec, Chain, ParaTensor, Named, Reparam, ParamLens, chain
from paralens.categories.cartesian import copy, delete, add, zero, proj0, proj1, swap, pair
