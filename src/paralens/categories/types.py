"""Objects of the categories: array types (shape, dtype, field) and their products.

An :class:`ArrayType` is the type of one batched array *without* its leading batch
dimension: a shape (or ``None`` for "any shape": shape-polymorphic lenses such
as elementwise activations), a field (the reals, or the integers modulo a prime
p for polynomial circuits) and a dtype.  A :class:`Product` of types is the type
of a tuple of values; the empty product is the terminal object ``UNIT`` (the
value ``()``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """The scalars of a category: the reals (``p=None``), Z_p, or GF(p^m) (``m > 1``).

    This is the tag a lens type carries; the arithmetic of finite fields lives in
    :mod:`paralens.fields` (``GF(order).lens_field`` is this tag).
    """

    p: int | None = None
    m: int = 1

    @property
    def name(self) -> str:
        if self.p is None:
            return "R"
        return f"Z{self.p}" if self.m == 1 else f"GF({self.p}^{self.m})"

    @property
    def default_dtype(self) -> str:
        return "float32" if self.p is None else "int64"

    def __str__(self) -> str:
        return self.name


REALS = Field(None)


def Zp(p: int) -> Field:
    """The field of integers modulo the prime ``p`` (``Zp(2)`` is the Booleans with XOR)."""
    from sympy import isprime  # deterministic for 64-bit p (trial division would take hours for 2^61 - 1)

    if p < 2 or not isprime(int(p)):
        raise ValueError(f"Z_p needs a prime p, got {p}")
    return Field(p)


Z2 = Field(2)


class Type:
    """Base class of objects."""

    def unify(self, other: Type) -> Type | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        return str(self)


@dataclass(frozen=True)
class ArrayType(Type):
    """A batched array: ``shape`` excludes the batch dimension; ``None`` means any shape.

    ``dtype`` is ``None`` for "the field's usual dtypes" (any float for the reals).
    """

    shape: tuple[int, ...] | None = None
    field: Field = REALS
    dtype: str | None = None

    def __post_init__(self):
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    def __str__(self) -> str:
        shp = "*" if self.shape is None else ", ".join(str(s) for s in self.shape)
        head = self.dtype or self.field.name
        if self.dtype and self.field.p is not None:
            head = f"{self.field.name}:{self.dtype}"
        return f"{head}[batch, {shp}]" if shp else f"{head}[batch]"

    def describe(self) -> str:
        return "any shape" if self.shape is None else str(self.shape)

    @property
    def size(self) -> int | None:
        if self.shape is None:
            return None
        n = 1
        for s in self.shape:
            n *= s
        return n

    def unify(self, other: Type) -> Type | None:
        """The most specific type compatible with both, or ``None`` when they clash."""
        if not isinstance(other, ArrayType) or self.field != other.field:
            return None
        if self.dtype and other.dtype and self.dtype != other.dtype:
            return None
        if self.shape is not None and other.shape is not None and self.shape != other.shape:
            return None
        return ArrayType(
            self.shape if self.shape is not None else other.shape,
            self.field,
            self.dtype or other.dtype,
        )


@dataclass(frozen=True)
class Product(Type):
    """The product ``A x B x ...``; its values are tuples. ``Product(())`` is the terminal object."""

    factors: tuple[Type, ...] = ()

    def __str__(self) -> str:
        if not self.factors:
            return "1"
        return "(" + " x ".join(str(f) for f in self.factors) + ")"

    def describe(self) -> str:
        if not self.factors:
            return "1"
        return "(" + " x ".join(f.describe() for f in self.factors) + ")"

    def unify(self, other: Type) -> Type | None:
        if not isinstance(other, Product) or len(other.factors) != len(self.factors):
            return None
        parts = [a.unify(b) for a, b in zip(self.factors, other.factors)]
        if any(p is None for p in parts):
            return None
        return Product(tuple(parts))


UNIT = Product(())


def reals(*shape: int, dtype: str | None = None) -> ArrayType:
    """``reals(784)`` is the type of a batch of real vectors of length 784."""
    return ArrayType(tuple(shape), REALS, dtype)


def anyreal() -> ArrayType:
    return ArrayType(None, REALS)


def as_type(t) -> Type:
    """Accept a Type, an int (vector length) or a tuple of ints (a real array shape)."""
    if isinstance(t, Type):
        return t
    if isinstance(t, int):
        return ArrayType((t,))
    if isinstance(t, tuple) and all(isinstance(s, int) for s in t):
        return ArrayType(t)
    raise TypeError(f"cannot read {t!r} as a type: give an ArrayType, an int or a shape tuple")


def product(*types) -> Product:
    return Product(tuple(as_type(t) for t in types))


def check_value(value, t: Type, who) -> None:
    """Raise a ShapeError naming ``who`` when ``value`` does not have type ``t``."""
    from paralens.errors import ShapeError, apply_mismatch

    if isinstance(t, Product):
        if not isinstance(value, tuple) or len(value) != len(t.factors):
            raise ShapeError(f"{who.label()} expects a tuple of {len(t.factors)} values of type {t}, got {type(value).__name__}")
        for v, f in zip(value, t.factors):
            check_value(v, f, who)
        return
    if isinstance(t, ArrayType) and t.shape is not None:
        shape = getattr(value, "shape", None)
        if shape is None or tuple(shape[1:]) != t.shape:
            raise apply_mismatch(who, t, () if shape is None else shape)
