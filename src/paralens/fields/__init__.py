"""Coefficient fields of circuits: GF(2), GF(p), GF(p^m) (on galois) and the reals.

``GF(order)`` is the public constructor; kernels (the fast internal
representations: bit-packed GF(2), ``int64`` mod p, galois arrays) are internal.
"""

from paralens.fields.field import GF, REALS, Field, FieldError, FiniteField, RealField, as_field, field_from_description
from paralens.fields.kernels import pack_bits, unpack_bits

__all__ = [
    "GF",
    "REALS",
    "Field",
    "FieldError",
    "FiniteField",
    "RealField",
    "as_field",
    "field_from_description",
    "pack_bits",
    "unpack_bits",
]
