"""Executable laws: check any map, lens or parametric lens against the axioms of a CRDC.

A primitive is trusted only as far as its reverse derivative is right, so
paralens lets anyone check their own primitives the way it checks its own.
Each ``check_*`` function samples inputs from the morphism's type (seeded),
runs it, and returns a :class:`LawReport`; :func:`check_laws` runs every law
that applies.  The laws (paper section 2.4, Cockett et al. Def 13):

======================  =====================================================================
law                     what is checked
======================  =====================================================================
reverse derivative      over the reals: ``R[f](a, db)`` is ``J[f](a)^T db``, by central finite
                        differences in float64 (directional ``<f(a+hv) - f(a-hv), db> / 2h``
                        against ``<R[f](a, db), v>``, and the whole Jacobian for small sizes);
                        over Z_p: ``R[f](a, db)`` equals the transposed Jacobian of *formal*
                        partial derivatives, at every point of a small domain (see below).
                        For a Para, in the parameters and in the input separately.
RD.1 sum                ``R[f + g] = R[f] + R[g]`` with ``f + g = <f, g> ; +``, and ``R[0] = 0``
RD.2 additivity         ``R[f](a, db1 + db2) = R[f](a, db1) + R[f](a, db2)``, ``R[f](a, 0) = 0``
RD.3 identity/proj      ``R[1] = pi_1``, ``R[pi_0] = pi_1 ; iota_0``, ``R[pi_1] = pi_1 ; iota_1``
RD.4 pairing            ``R[<f, g>](a, (db, dc)) = R[f](a, db) + R[g](a, dc)``, ``R[!] = 0``
RD.5 chain rule         ``R[f ; g](a, dc) = R[f](a, R[g](f(a), dc))`` for composites (lenses,
                        maps and Paras), and ``R(f ; g) = R(f) ; R(g)`` for maps
R preserves @           ``R[f x g]((a, c), (db, dd)) = (R[f](a, db), R[g](c, dd))``
RD.6 linearity          ``R[f](a, c db) = c R[f](a, db)``; for maps flagged ``linear``: f is
                        additive, ``<f(v), w> = <v, R[f](a, w)>`` (the adjoint) for every a
RD.7 symmetry           mixed second derivatives commute: the derivative of
                        ``<R[f](a, db), v>`` along u is symmetric in (u, v) (reals only)
R functor               a lens ``R(f)`` with a faster forward/backward agrees with ``(f, R[f])``
backward_params         a Para's parameter-only backward (used in training) equals put's ``dp``
Z_p closure             over Z_p, get and put return integers in ``0 .. p-1``
category laws           associativity, left/right identity, interchange
                        ``(f @ g) >> (g' @ h) = (f >> g') @ (g >> h)``
circuits                :func:`check_circuit_laws`: ``reverse(c)`` against sympy's formal
                        derivatives and galois' (small circuits) and truncated dual numbers on
                        the gates' polynomials (any size), and RD.1 - RD.7 in their CRDC form (R
                        of a circuit is a circuit, so RD.6 and RD.7 reverse it two and three
                        times), with R[R[c]], R[R[R[c]]] and D[D[c]] against hyper-dual numbers;
                        :func:`check_circuit_category_laws` for >> and @
======================  =====================================================================

Over Z_p a map is a tuple of polynomials, and its reverse derivative is the
transposed Jacobian of their *formal* partial derivatives.  A function
``Z_p^n -> Z_p`` is given by exactly one *reduced* polynomial (degree < p in
each variable); fixing every variable but ``x_i`` at the point ``a`` leaves a
polynomial of degree < p in ``x_i``, which is the Lagrange interpolant of
``t -> f(a[x_i := t])`` over the p nodes ``0 .. p-1``.  The checker computes
that interpolant's derivative at ``a_i`` (``sum_t f(a[x_i := t]) L_t'(a_i)``
mod p; over Z2 this is the Boolean derivative ``f(a[x_i:=0]) + f(a[x_i:=1])``)
and compares it with ``R[f]`` exhaustively when ``p ** n <= max_points``
(otherwise at random points).  The polynomial behind a *composite* need not be
reduced: over Z2, ``copy ; multiply`` is ``x * x``, the function ``x``, but its
formal derivative is ``2x = 0``.  So for a composite over Z_p,
:func:`check_laws` checks each primitive this way and the composite by the chain
rule; pass ``reduced=True`` to check a composite you know to be reduced
(``or``, ``nand``) as a whole.  For the same reason a *primitive* must be given
by a reduced polynomial: one written as ``x^p`` (the function ``x``) with the
formal derivative ``p x^(p-1) = 0`` is reported as failing.

A law that cannot be checked (sympy on a circuit above ``max_gates``, a composite over Z_p
as a whole) is reported as SKIPPED, with why: it is neither passed nor failed, ``report.ok``
means no failure, ``report.complete`` that nothing was skipped, and
``report.raise_if_failed(strict=True)`` raises on skipped laws too.

Inputs are sampled from the domain type: polymorphic array types (shape
``None``) take ``shape`` (default ``(3,)``), or give the whole concrete type
as ``dom``, or pass ``sample(rng) -> a`` for a restricted domain (``log``
needs positive inputs); a Para's parameters are sampled from their specs (or
``sample_params(rng) -> dict``).

    >>> import numpy as np
    >>> from paralens import Map, reals, laws
    >>> from paralens.instances.smooth import sin, log
    >>> laws.check_laws(sin()).ok
    True
    >>> laws.check_laws(log(), sample=lambda rng: rng.uniform(0.5, 2.0, (2, 3))).ok
    True
    >>> bad = Map(np.sin, lambda x, d: 1.01 * np.cos(x) * d, reals(3), reals(3), "bad_sin")
    >>> report = laws.check_laws(bad)
    >>> [r.law for r in report.failures]
    ['reverse derivative']
    >>> report.raise_if_failed()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    paralens.errors.LawViolation: law 'reverse derivative' fails for bad_sin: ...

The package, one subject a module: :mod:`~paralens.laws.reports` (results and reports),
:mod:`~paralens.laws.sampling` (values and sampling), :mod:`~paralens.laws.targets` (a morphism as a
sampled function), :mod:`~paralens.laws.maps` (the laws of one map, lens or Para),
:mod:`~paralens.laws.category` (RD.1, RD.3, RD.4 and the category laws), :mod:`~paralens.laws.rows`,
:mod:`~paralens.laws.reference` and :mod:`~paralens.laws.circuits` (the circuit laws), and
:mod:`~paralens.laws.check` (:func:`check_laws`).
"""

from paralens.laws.category import check_category_laws, check_rd1, check_rd3, check_rd4
from paralens.laws.check import check_laws
from paralens.laws.circuits import check_circuit_category_laws, check_circuit_laws
from paralens.laws.maps import (
    check_backward_params,
    check_chain_rule,
    check_lens_matches_map,
    check_rd2_additivity,
    check_rd6_linearity,
    check_rd7_symmetry,
    check_reverse_derivative,
    lagrange_derivative_matrix,
)
from paralens.laws.reports import LawReport, LawResult
from paralens.laws.sampling import sample_value

__all__ = [
    "LawReport",
    "LawResult",
    "check_backward_params",
    "check_category_laws",
    "check_chain_rule",
    "check_circuit_category_laws",
    "check_circuit_laws",
    "check_laws",
    "check_lens_matches_map",
    "check_rd1",
    "check_rd2_additivity",
    "check_rd3",
    "check_rd4",
    "check_rd6_linearity",
    "check_rd7_symmetry",
    "check_reverse_derivative",
    "lagrange_derivative_matrix",
    "sample_value",
]
