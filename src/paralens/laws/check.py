"""Everything at once: :func:`check_laws` runs every law that applies to a map, lens, Para or circuit."""

from __future__ import annotations

from paralens.categories.functor import Map, MapCompose, MapTensor, R
from paralens.categories.lens import Compose, Identity, Tensor
from paralens.categories.para import Chain, Lifted, Named, Para, ParaLens, ParaTensor, Reparam
from paralens.categories.types import Type
from paralens.laws.circuits import check_circuit_laws
from paralens.laws.maps import (
    check_backward_params,
    check_chain_rule,
    check_lens_matches_map,
    check_rd2_additivity,
    check_rd6_linearity,
    check_rd7_symmetry,
    check_reverse_derivative,
)
from paralens.laws.reports import LawReport, _skip
from paralens.laws.targets import _opts, _Target


def _is_composite(f) -> bool:
    return isinstance(f, (MapCompose, MapTensor, Compose, Tensor, Chain, ParaTensor, Named, Reparam, Lifted)) or (
        isinstance(f, ParaLens) and isinstance(f.lens, (Compose, Tensor)))


def _primitives(f, dom: Type):
    """The primitive parts of a composite with the concrete domain each one is used at."""
    if isinstance(f, Map):
        if isinstance(f, (MapCompose, MapTensor)):
            yield from _primitives(R(f), dom)
        else:
            yield f, dom
    elif isinstance(f, Compose):
        for part in f.parts:
            yield from _primitives(part, dom)
            dom = part.output_type(dom)
    elif isinstance(f, Tensor):
        yield from _primitives(f.f, dom.factors[0])
        yield from _primitives(f.g, dom.factors[1])
    elif isinstance(f, Chain):
        for part in f.parts:
            yield from _primitives(part, dom)
            dom = part.output_type(dom)
    elif isinstance(f, ParaTensor):
        yield from _primitives(f.f, dom.factors[0])
        yield from _primitives(f.g, dom.factors[1])
    elif isinstance(f, (Named, Reparam)):
        yield from _primitives(f.inner, dom)
    elif isinstance(f, Lifted):
        yield from _primitives(f.lens, dom)
    elif isinstance(f, Identity):
        return
    else:
        yield f, dom


def _is_circuit(f) -> bool:
    import sys

    syntax = sys.modules.get("paralens.circuits.syntax")  # loaded if f can be a Circuit at all
    return syntax is not None and isinstance(f, syntax.Circuit)


def check_laws(f, **options) -> LawReport:
    """Run every law that applies to ``f`` (a :class:`Map`, a :class:`Lens` or a :class:`Para`).

    A :class:`~paralens.circuits.Circuit` is checked by :func:`check_circuit_laws` (its options).

    Options (all keyword): ``shape`` (for shape-polymorphic types, default ``(3,)``), ``dom``
    (the whole concrete input type), ``batch`` (2 over the reals, 1 over Z_p), ``seed``,
    ``sample(rng) -> a`` and ``sample_params(rng) -> dict`` (restricted domains), ``trials``,
    ``rtol``/``atol``/``eps`` (finite differences), ``ctx`` (a :class:`Context`, e.g. training
    mode), ``max_points`` (Z_p exhaustive limit), ``jacobian_max``, ``reduced`` (over Z_p, check
    a composite as a whole against its formal Jacobian too), ``leaves`` (also check every
    primitive part of a composite; the default is yes over Z_p, no over the reals).

    Checks: the reverse derivative, RD.2, RD.6 (and the adjoint for linear maps), RD.7 (reals),
    that a lens agrees with its map, the chain rule RD.5 / tensor for composites, a Para's
    ``backward_params`` against its put; the other
    laws (:func:`check_rd1`, :func:`check_rd3`, :func:`check_rd4`,
    :func:`check_category_laws`) take several morphisms and are run on their own.
    """
    if _is_circuit(f):
        return check_circuit_laws(f, **options)
    o = _opts(options)
    t = _Target(f, o)
    report = LawReport(t.label)
    composite = _is_composite(f)
    whole = True
    if t.p is not None and composite and not o.reduced:
        whole = False
        report.results.append(_skip("reverse derivative", t.label,
                                    "a composite over Z_p need not be a reduced polynomial; its primitives are "
                                    "checked one by one and it by the chain rule (reduced=True checks it whole)"))
    if whole:
        report.extend(check_reverse_derivative(f, **options))
    report.extend(check_rd2_additivity(f, **options))
    report.extend(check_rd6_linearity(f, **options))
    if t.p is None:
        report.extend(check_rd7_symmetry(f, **options))
    if isinstance(f, Map) or getattr(f, "map", None) is not None or (
            isinstance(f, ParaLens) and getattr(f.lens, "map", None) is not None):
        report.extend(check_lens_matches_map(f, **options))
    if isinstance(f, (MapCompose, MapTensor, Compose, Tensor, Chain, ParaTensor)):
        report.extend(check_chain_rule(f, **options))
    if isinstance(f, Para) and f.params:
        report.extend(check_backward_params(f, **options))
    leaves = o.leaves if o.leaves is not None else (t.p is not None)
    if leaves and composite:
        seen = set()
        for part, dom in _primitives(f, t.dom):
            if id(part) in seen:
                continue
            seen.add(id(part))
            sub = {k: v for k, v in options.items() if k not in ("dom", "sample", "sample_params", "leaves")}
            report.extend(check_laws(part, dom=dom, leaves=False, **sub))
    return report
