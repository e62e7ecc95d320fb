"""Coefficient fields of circuits: GF(2), GF(p), GF(p^m) on galois, and the reals.

``GF(order)`` gives the finite field of that order (cached: galois compiles a
field's ufuncs on first use).  User-facing arrays are galois ``FieldArray`` s;
integers stand for elements in galois' integer representation (for GF(p^m) the
integer whose base-p digits are the coefficients of the element as a polynomial
in the generator ``a``, reduced by the irreducible polynomial).

    >>> F = GF(2**8)
    >>> F.order, F.characteristic, F.degree, F.bits
    (256, 2, 8, 8)
    >>> F.array([3, 5]) * F.array([7, 7])
    GF([ 9, 27], order=2^8)
    >>> GF(5).random((2, 3), seed=0).shape
    (2, 3)
    >>> GF(6)
    Traceback (most recent call last):
    ...
    paralens.errors.FieldError: GF(6): the order of a finite field must be a prime power, and 6 is not
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from paralens.categories.types import REALS as _REALS_TAG
from paralens.categories.types import Field as _FieldTag
from paralens.errors import FieldError  # noqa: F401 - importable from here too
from paralens.fields import kernels as K

# -- the dtype policy for arrays of field elements ------------------------------------------------
#
# Every array of elements of a finite field (constants of a circuit, inputs, outputs) has one
# exact dtype, :attr:`FiniteField.element_dtype`: ``int64`` for fields of at most INT64_ORDER
# elements, NumPy object arrays of Python ints above (GF(2^64), GF(2^127 - 1), GF(3^41), ...).
# Never float64 (exact only below 2^53) and never uint64 (NumPy promotes uint64 with int64 to
# float64, e.g. in ``np.concatenate``).  :meth:`FiniteField.as_elements` converts to it and refuses,
# naming the value, whatever cannot be read exactly.

INT64_ORDER = 2**62  # fields of at most this many elements keep their elements in int64
_FLOAT_EXACT = 2**53  # floats at or above this may already be rounded: not read as integers


def _exact_int(v):
    """``v`` as a Python int when it is exactly an integer, else None (floats only below 2^53)."""
    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, float | np.floating):
        if np.isfinite(v) and v == int(v) and abs(v) < _FLOAT_EXACT:
            return int(v)
        return None
    if isinstance(v, str | bytes):
        return None
    try:
        return operator.index(v)
    except TypeError:
        return None


def _describe(v) -> str:
    return f"{v!r} ({type(v).__name__})"


class Field:
    """A coefficient field of circuits (abstract): finite (:class:`FiniteField`) or the reals."""

    name: str = "field"
    is_finite: bool = False

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__

    def kernel(self, packed: bool = False) -> K.Kernel:  # pragma: no cover - abstract
        raise NotImplementedError

    #: the dtype of arrays of elements (see :meth:`as_elements`)
    element_dtype: np.dtype

    def as_elements(self, x, what: str = "values", *, narrow: bool = False) -> np.ndarray:  # pragma: no cover
        """``x`` as an exact array of elements of :attr:`element_dtype`, or a :class:`FieldError`."""
        raise NotImplementedError


class RealField(Field):
    """The reals, so that a polynomial circuit can be read over R (parity with real networks)."""

    name = "R"
    is_finite = False
    characteristic = 0
    lens_field = _REALS_TAG

    def kernel(self, packed: bool = False):
        if packed:
            raise FieldError("bit-packed evaluation is only for GF(2)")
        k = K.RealKernel()
        k.field = self
        return k

    def array(self, x) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise FieldError("R: the values contain NaN or infinity")
        return a

    def to_ints(self, x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    element_dtype = np.dtype(np.float64)

    def as_elements(self, x, what: str = "values", *, narrow: bool = False) -> np.ndarray:
        """``x`` as finite float64s; an integer that float64 cannot hold exactly (beyond 2^53) is
        refused rather than rounded."""
        a = np.asarray(x) if isinstance(x, np.ndarray) else np.asarray(x, dtype=object)
        if a.dtype.kind in "iuO":
            for v in a.reshape(-1):
                if isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) \
                        and abs(int(v)) > _FLOAT_EXACT:
                    try:
                        exact = int(float(v)) == int(v)
                    except OverflowError:
                        exact = False
                    if not exact:
                        raise FieldError(f"R: {what}: the integer {int(v)} has no exact float64 "
                                         f"(it would be rounded)")
        try:
            return self.array(a)
        except (TypeError, ValueError) as e:
            if isinstance(e, FieldError):
                raise
            raise FieldError(f"R: {what} must be numbers ({e})") from None

    def check_ints(self, x, what: str = "values") -> np.ndarray:
        """Over the reals any finite number is an element (the name is shared with finite fields)."""
        return self.array(x)

    def element(self, c):
        return float(c)

    def __eq__(self, other):
        return isinstance(other, RealField)

    def __hash__(self):
        return hash("R")

    def sympy_domain(self):
        import sympy

        return sympy.QQ

    def describe(self) -> dict:
        return {"kind": "reals"}


REALS = RealField()


class FiniteField(Field):
    """The finite field of ``order = p^m`` elements, on ``galois.GF``.

    Attributes: ``order``, ``characteristic`` (p), ``degree`` (m), ``bits`` (the
    width of an element in hardware), ``galois`` (the galois class), ``zero`` and
    ``one``, ``irreducible`` (the coefficients of the irreducible polynomial,
    highest degree first, for m > 1).
    """

    is_finite = True

    def __init__(self, order: int):
        import galois

        order = int(order)
        if order < 2 or not galois.is_prime_power(order):
            raise FieldError(f"GF({order}): the order of a finite field must be a prime power, and {order} is not")
        self.order = order
        self.galois = galois.GF(order)
        if order > INT64_ORDER and self.galois.dtypes[-1] != np.object_ and self.galois.ufunc_mode != "python-calculate":
            # galois keeps GF(2^63) in int64 and its compiled multiplication overflows there
            # (GF(2^63)(2^63 - 3) * 2 raises "scalars must be in 0 <= x < 2^63, not -6"): its exact
            # Python-integer arithmetic instead
            self.galois.compile("python-calculate")
        self.characteristic = int(self.galois.characteristic)
        self.degree = int(self.galois.degree)
        self.bits = max(1, (order - 1).bit_length())
        self.name = f"GF({order})" if self.degree == 1 else f"GF({self.characteristic}^{self.degree})"
        self.lens_field = _FieldTag(self.characteristic, self.degree)
        if self.degree > 1:
            self.irreducible = tuple(int(c) for c in self.galois.irreducible_poly.coeffs)
        else:
            self.irreducible = None

    # -- identity -----------------------------------------------------------------
    def __eq__(self, other):
        return isinstance(other, FiniteField) and other.order == self.order

    def __hash__(self):
        return hash(("GF", self.order))

    def __reduce__(self):
        return (GF, (self.order,))

    @property
    def is_prime(self) -> bool:
        return self.degree == 1

    @property
    def is_binary(self) -> bool:
        """GF(2): the Booleans, with XOR as addition and AND as multiplication."""
        return self.order == 2

    @property
    def zero(self):
        return self.galois(0)

    @property
    def one(self):
        return self.galois(1)

    def describe(self) -> dict:
        """A JSON-ready description (order, and the irreducible polynomial for extension fields)."""
        d = {"kind": "finite", "order": self.order}
        if self.irreducible is not None:
            d["irreducible"] = list(self.irreducible)
        return d

    # -- elements -------------------------------------------------------------------
    @property
    def element_dtype(self) -> np.dtype:
        """The dtype of arrays of this field's elements: ``int64`` for fields of at most 2^62
        elements, ``object`` (Python ints) above; never float64 or uint64."""
        return np.dtype(np.int64) if self.order <= INT64_ORDER else np.dtype(object)

    def as_elements(self, x, what: str = "values", *, narrow: bool = False) -> np.ndarray:
        """``x`` (integers in ``0 .. order - 1``, or a FieldArray of this field) as an array of
        :attr:`element_dtype`, checked; a :class:`FieldError` naming the value for anything that is
        not exactly an element (a non-integer, a float at or above 2^53, which may already be rounded,
        a value out of range, another field's elements).

        ``narrow=True`` keeps integer arrays narrower than 64 bits as they are (exact, and less memory
        for large batches) in fields of at most 2^62 elements.
        """
        import galois

        if isinstance(x, galois.FieldArray):
            other = type(x)
            if other is not self.galois and (other.order != self.order
                                             or other.irreducible_poly != self.galois.irreducible_poly):
                what = other.name if other.order != self.order else f"{other.name} modulo {other.irreducible_poly}"
                raise FieldError(f"{self.name}: got elements of {what}, a different field")
            return self._in_policy(np.asarray(x.view(np.ndarray)), narrow)
        if isinstance(x, np.ndarray):
            a = x
        else:
            a = np.asarray(x)
            if a.dtype.kind not in "biu":
                # NumPy reads [2**63 + 12345, 1.0] as float64: read such lists element by element
                try:
                    a = np.asarray(x, dtype=object)
                except ValueError as e:
                    raise FieldError(f"{self.name}: {what} must be an array of integers ({e})") from None
        kind = a.dtype.kind
        if kind == "O":
            flat = a.reshape(-1)
            ints = [_exact_int(v) for v in flat]
            for v, i in zip(flat, ints):
                if i is None:
                    raise FieldError(self._not_exact(v, what))
            if ints and (min(ints) < 0 or max(ints) >= self.order):
                bad = next(v for v in ints if v < 0 or v >= self.order)
                raise FieldError(f"{self.name}: {what} must lie in 0 .. {self.order - 1}, got {bad}")
            if self.order > INT64_ORDER:
                out = np.empty(len(ints), dtype=object)
                out[:] = ints
                return out.reshape(a.shape)
            return np.array(ints, dtype=np.int64).reshape(a.shape)
        if kind == "b":
            a = a.astype(np.int64)
        elif kind == "f":
            ok = np.isfinite(a) & (a == np.round(a)) if a.size else np.ones(0, bool)
            if not np.all(ok):
                bad = a.reshape(-1)[np.flatnonzero(~ok.reshape(-1))[0]]
                raise FieldError(f"{self.name}: {what} must be integers, got non-integer floats "
                                 f"(such as {float(bad)!r})")
            big = np.abs(a) >= _FLOAT_EXACT
            if np.any(big):
                raise FieldError(self._not_exact(float(a.reshape(-1)[np.flatnonzero(big.reshape(-1))[0]]), what))
            a = a.astype(np.int64)
        elif kind not in "iu":
            raise FieldError(f"{self.name}: {what} must be integers or FieldArrays, got dtype {a.dtype}")
        if a.size:
            lo, hi = int(a.min()), int(a.max())
            if lo < 0 or hi >= self.order:
                bad = lo if lo < 0 else hi
                raise FieldError(f"{self.name}: {what} must lie in 0 .. {self.order - 1}, got {bad}")
        return self._in_policy(a, narrow)

    def _in_policy(self, a: np.ndarray, narrow: bool) -> np.ndarray:
        """Checked elements (an integer or object array of ints) in :attr:`element_dtype`."""
        if self.order > INT64_ORDER:
            if a.dtype == object:
                if all(type(v) is int for v in a.reshape(-1)):
                    return a
                out = np.empty(a.size, dtype=object)
                out[:] = [int(v) for v in a.reshape(-1)]
                return out.reshape(a.shape)
            return a.astype(object)  # NumPy integers to Python ints, exactly
        if a.dtype == np.int64 or (narrow and a.dtype.kind in "iu" and a.dtype.itemsize < 8):
            return a
        if a.dtype == object:
            return np.array([int(v) for v in a.reshape(-1)], dtype=np.int64).reshape(a.shape)
        return a.astype(np.int64)  # values are below 2^62: exact

    def _not_exact(self, v, what: str) -> str:
        if isinstance(v, float | np.floating):
            if not np.isfinite(v) or v != int(v):
                return f"{self.name}: {what} must be integers, got non-integer floats (such as {float(v)!r})"
            return (f"{self.name}: {what}: the float {float(v)!r} cannot stand for an element exactly "
                    f"(floats are exact integers only below 2^53); give Python or NumPy integers")
        return f"{self.name}: {what} must be integers, got {_describe(v)}"

    def check_ints(self, x, what: str = "values") -> np.ndarray:
        """Integers in ``0 .. order - 1`` as an exact integer array (see :meth:`as_elements`; integer
        arrays narrower than 64 bits are kept); a clear error otherwise."""
        return self.as_elements(x, what, narrow=True)

    def array(self, x):
        """``x`` (integers in 0 .. order-1, or a FieldArray of this field) as a galois FieldArray."""
        a = self.check_ints(x)
        if self.galois.dtypes[0] == np.object_:
            return self.galois(np.asarray(a, dtype=object))
        return self.galois(np.asarray(a).astype(self.galois.dtypes[-1]))

    def to_ints(self, x) -> np.ndarray:
        """The integer representation of elements (``int64``, or Python ints above 2^62)."""
        return self.as_elements(x)

    def element(self, c) -> int:
        """One element as an integer in ``0 .. order - 1`` (an int in range, or a FieldArray scalar);
        floats that are not exactly an integer below 2^53 are refused."""
        if isinstance(c, np.ndarray):
            a = self.as_elements(c, "a constant")
        else:
            box = np.empty(1, dtype=object)
            box[0] = c
            a = self.as_elements(box, "a constant")
        if a.size != 1:
            raise FieldError(f"{self.name}: a constant is one element, got {a.size} values")
        return int(a.reshape(-1)[0])

    def random(self, shape, seed: int):
        """Uniform random elements, as a FieldArray, from an explicit seed."""
        rng = np.random.default_rng(seed)
        if self.order <= 2**62:
            ints = rng.integers(0, self.order, size=shape, dtype=np.int64)
        else:
            ints = np.array([int(v) for v in rng.integers(0, 2**62, size=int(np.prod(shape)))], dtype=object)
            ints = (ints * (self.order // 2**62 + 1) + rng.integers(0, 2**62)) % self.order
            ints = ints.reshape(shape)
        return self.array(ints)

    def random_ints(self, shape, rng: np.random.Generator) -> np.ndarray:
        """Uniform random elements as integers, drawn from a NumPy Generator."""
        if self.order <= 2**62:
            return rng.integers(0, self.order, size=shape, dtype=np.int64)
        return np.array([int(rng.integers(0, 2**62)) * 2**62 % self.order + int(rng.integers(0, 2**62))
                         for _ in range(int(np.prod(shape)))], dtype=object).reshape(shape) % self.order

    # -- arithmetic for the interpreters ------------------------------------------------
    def kernel(self, packed: bool = False) -> K.Kernel:
        """The fastest internal representation for circuit evaluation (see :mod:`paralens.fields.kernels`)."""
        k = self._kernel(packed)
        k.field = self
        return k

    def _kernel(self, packed: bool) -> K.Kernel:
        if packed:
            if not self.is_binary:
                raise FieldError(f"bit-packed evaluation is only for GF(2), not {self.name}")
            return K.GF2PackedKernel()
        if self.is_binary:
            return K.GF2Kernel()
        if self.is_prime and (self.order - 1) ** 2 < 2**63:
            return K.PrimeKernel(self.order)
        return K.GaloisKernel(self.galois)

    # -- sympy ---------------------------------------------------------------------------
    def sympy_domain(self):
        """sympy's coefficient domain: ``GF(p)`` for prime fields (symmetric printing: see :mod:`paralens.circuits.symbolic`)."""
        import sympy

        return sympy.GF(self.characteristic)

    def sympy_generator(self):
        """The symbol ``a`` of GF(p^m) (elements are polynomials in ``a`` of degree < m), or None."""
        import sympy

        return sympy.Symbol("a") if self.degree > 1 else None

    def sympy_modulus(self):
        """The irreducible polynomial in ``a`` that reduces products (GF(p^m)), or None for prime fields."""
        if self.degree == 1:
            return None
        a = self.sympy_generator()
        m = len(self.irreducible) - 1
        return sum(int(c) * a ** (m - i) for i, c in enumerate(self.irreducible))

    def to_sympy(self, c):
        """An element as a sympy expression: an integer in ``0 .. p-1``, or a polynomial in ``a`` (GF(p^m))."""
        import sympy

        c = int(c)
        if self.degree == 1:
            return sympy.Integer(c)
        a = self.sympy_generator()
        expr = sympy.Integer(0)
        k = 0
        while c:
            c, digit = divmod(c, self.characteristic)
            expr += digit * a**k
            k += 1
        return expr

    def from_sympy(self, expr) -> int:
        """A sympy element (integer, or polynomial in ``a`` for GF(p^m)) back to the integer representation."""
        import sympy

        p = self.characteristic
        if self.degree == 1:
            return int(sympy.Integer(expr)) % p
        a = self.sympy_generator()
        poly = sympy.Poly(sympy.expand(expr), a, modulus=p)
        poly = poly.rem(sympy.Poly(self.sympy_modulus(), a, modulus=p))
        value = 0
        for (k,), coeff in poly.terms():
            value += (int(coeff) % p) * p**k
        return value


def GF(order: int) -> FiniteField:
    """The finite field with ``order`` elements (a prime power): GF(2), GF(p), GF(p^m).

    Cached: the same order gives the same object (galois compiles each field once).  The order is
    an integer; anything else (``2.5``, ``"5"``, ``True``) is a :class:`FieldError`, never rounded.
    """
    if isinstance(order, bool) or not isinstance(order, int | np.integer):
        raise FieldError(f"GF({order!r}): the order of a finite field is an integer, not {type(order).__name__}")
    return _finite_field(int(order))


@functools.lru_cache(maxsize=None)
def _finite_field(order: int) -> FiniteField:
    return FiniteField(order)


def as_field(field) -> Field:
    """A :class:`Field` from a Field, an order (int), or ``"R"``/``"reals"``."""
    if isinstance(field, Field):
        return field
    if isinstance(field, str) and field.lower() in ("r", "reals", "real"):
        return REALS
    if isinstance(field, int | np.integer):
        return GF(int(field))
    if isinstance(field, type) and hasattr(field, "order") and hasattr(field, "characteristic"):
        return GF(int(field.order))  # a galois FieldArray class
    raise FieldError(f"cannot read {field!r} as a field: give GF(order), an order, or 'reals'")


def field_from_description(d: dict) -> Field:
    """Inverse of ``field.describe()``; the irreducible polynomial must match galois' default."""
    if d.get("kind") == "reals":
        return REALS
    if d.get("kind") != "finite" or "order" not in d:
        raise FieldError(f"not a field description: {d!r}")
    F = GF(d["order"])
    irr = d.get("irreducible")
    if irr is not None and (not isinstance(irr, list) or
                            not all(isinstance(c, int) and not isinstance(c, bool) for c in irr)):
        raise FieldError(f"{F.name}: the irreducible polynomial must be a list of integer coefficients, got {irr!r}")
    if irr is not None and tuple(irr) != F.irreducible:
        raise FieldError(
            f"{F.name}: the file uses the irreducible polynomial {d['irreducible']}, "
            f"paralens uses {list(F.irreducible)}; elements would mean different things"
        )
    return F
