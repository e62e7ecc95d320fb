"""From paralens objects to diagram terms (:mod:`paralens.draw.terms`).

A composite is read through how it remembers its parts: ``Compose.parts`` and
``Tensor.f, g`` for lenses; ``Chain.parts`` (a chain with a ``block_label`` is one
layer), ``ParaTensor.f, g``, ``Named.inner`` and ``Reparam.inner, alpha`` for
parametric lenses.  Collapsed, each part of the outermost composite is one box (a
layer such as ``dense``); ``expand=True`` opens every block down to primitives.
Parameter wires carry the composite's full names (``1.weight``).
"""

from __future__ import annotations

from paralens.categories.lens import Compose, Identity, Lens, Tensor
from paralens.categories.para import Chain, Lifted, Named, Para, ParaTensor, Reparam
from paralens.draw.terms import Atom, Over, Par, Seq


def _names(rename, row) -> dict:
    return {local: rename(full) for full, local in row}


def _is_identity(x) -> bool:
    return isinstance(x, Identity) or isinstance(x, Lifted) and isinstance(x.lens, Identity)


def _seq(terms: list):
    return terms[0] if len(terms) == 1 else Seq(tuple(terms))


def _param_label(name: str, spec) -> str:
    return f"{name}: {spec.field.name}{list(spec.shape)}"


def _out(f, dom):
    """``f``'s codomain on inputs of type ``dom``: a polymorphic part shows the type it gets in place."""
    try:
        return f.output_type(dom)
    except Exception:  # noqa: BLE001 - a part that cannot say draws its declared type
        return f.cod


def _factors(dom, n: int):
    fs = getattr(dom, "factors", None)
    return fs if fs is not None and len(fs) == n else (None,) * n


def para_term(f: Para, expand: bool, rename=lambda n: n, depth: int = 0, dom=None):
    """The term of a parametric lens; ``depth`` 0 is the outermost composite (always opened)."""
    dom = f.dom if dom is None else dom
    if isinstance(f, Chain) and (depth == 0 or expand or f.block_label is None):
        terms = []
        for p, row in zip(f.parts, f._table):
            if not _is_identity(p) or len(f.parts) == 1:
                terms.append(para_term(p, expand, _lookup(_names(rename, row)), depth + 1, dom))
            dom = _out(p, dom)
        return _seq(terms)
    if isinstance(f, ParaTensor):
        return Par(tuple(para_term(p, expand, _lookup(_names(rename, row)), depth + 1, d)
                         for p, row, d in zip((f.f, f.g), f._table, _factors(dom, 2))))
    if isinstance(f, Named) and expand:
        return para_term(f.inner, expand, lambda n: rename(f"{f.prefix}.{n}"), depth + 1, dom)
    if isinstance(f, Reparam):
        top = Atom(f.alpha.name, (), (), tuple(_param_label(rename(n), s) for n, s in f.params.items()), "optimiser")
        return Over(top, para_term(f.inner, expand, lambda n: n, depth + 1, dom))
    if isinstance(f, Lifted):
        return lens_term(f.lens, expand, dom)
    params = tuple(_param_label(rename(n), s) for n, s in f.params.items())
    return Atom(f.label(), (str(dom),), (str(_out(f, dom)),), params, "para")


def _lookup(table: dict):
    return lambda n: table.get(n, n)


def lens_term(f: Lens, expand: bool = True, dom=None):
    """The term of a lens: composites are opened (a lens has no blocks)."""
    dom = f.dom if dom is None else dom
    if isinstance(f, Compose):
        terms = []
        for p in f.parts:
            if not _is_identity(p) or len(f.parts) == 1:
                terms.append(lens_term(p, expand, dom))
            dom = _out(p, dom)
        return _seq(terms)
    if isinstance(f, Tensor):
        return Par(tuple(lens_term(p, expand, d) for p, d in zip((f.f, f.g), _factors(dom, 2))))
    return Atom(f.label(), (str(dom),), (str(_out(f, dom)),))


def optimiser_atom(opt) -> Atom:
    return Atom(getattr(opt, "name", "optimiser"), (), (), ("S × P",), "optimiser")


def learning_rate_atom(lr) -> Atom:
    return Atom(getattr(lr, "name", "learning rate"), ("L",), (), (), "learning rate")


def learner_term(learner, expand: bool):
    """Paper Fig. 2: the optimiser above the model's parameter wires, then the loss (the label from
    above) and the learning rate closing the loss wire."""
    loss = learner.loss
    seen = learner.model.cod.unify(loss.dom) or loss.dom  # the label has the prediction's type
    loss_atom = Atom(loss.label(), (str(seen),), (str(loss.output_type(seen)),),
                     tuple(f"{n}: {seen}" for n in loss.params), "loss")
    model = Over(optimiser_atom(learner.optimiser), para_term(learner.model, expand))
    return Seq((model, loss_atom, learning_rate_atom(learner.learning_rate)))
