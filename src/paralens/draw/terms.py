"""What a diagram shows, before any geometry: boxes in sequence, in parallel, and stacked.

A :class:`Atom` is one box (a lens, a layer, a loss, a gate) with its input and output
types and its parameter wires; :class:`Seq` composes left to right (``>>``),
:class:`Par` stacks (``@``) and :class:`Over` puts an optimiser box above the
parameter wires of what it acts on (paper Def 2.3, Fig. 4).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Atom:
    """One box: ``name`` with input types ``dom``, output types ``cod`` and parameter wires ``params``."""

    name: str
    dom: tuple[str, ...]
    cod: tuple[str, ...]
    params: tuple[str, ...] = ()
    kind: str = "lens"


@dataclass(frozen=True)
class Seq:
    parts: tuple


@dataclass(frozen=True)
class Par:
    parts: tuple


@dataclass(frozen=True)
class Over:
    """``top`` (an optimiser) drawn above the parameter wires of ``body``, which it reparametrises."""

    top: Atom
    body: object


def atoms(term) -> list[Atom]:
    """The boxes of a term, left to right and top to bottom."""
    if isinstance(term, Atom):
        return [term]
    if isinstance(term, Over):
        return [term.top, *atoms(term.body)]
    return [a for p in term.parts for a in atoms(p)]
