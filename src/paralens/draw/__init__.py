"""String diagrams of lenses, parametric lenses, learners and circuits (paper §2, Figs. 2-6).

``draw(x)`` lays ``x`` out (:mod:`paralens.draw.layout`, :mod:`paralens.draw.circuit_layout`:
pure geometry) and returns a :class:`Diagram`, which renders with matplotlib
(:mod:`paralens.draw.render`) to SVG (``_repr_svg_`` in a notebook) or PNG.

    >>> from paralens.instances.smooth import dense
    >>> d = draw(dense(4, 3, "sigmoid") >> dense(3, 2, None))
    >>> [b.label for b in d.layout.boxes]
    ['dense(4->3, sigmoid)', 'dense(3->2, identity)']
    >>> d.svg()[:5]
    b'<?xml'
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from paralens.categories.lens import Lens
from paralens.categories.para import Para
from paralens.circuits.lens import ParaCircuit
from paralens.circuits.syntax import Circuit
from paralens.draw.circuit_layout import circuit_layout
from paralens.draw.describe import learner_term, learning_rate_atom, lens_term, para_term
from paralens.draw.geometry import Layout, problems
from paralens.draw.layout import layout as term_layout
from paralens.draw.render import render as render_layout
from paralens.draw.terms import Atom
from paralens.files import atomic_write
from paralens.learning.learning_rates import LearningRate
from paralens.learning.optimisers.base import Optimiser
from paralens.learning.supervised import Learner

__all__ = ["Diagram", "draw", "layout_of", "problems"]


@dataclass(frozen=True)
class Diagram:
    """A laid-out string diagram; ``svg()`` and ``png()`` render it, ``save(path)`` writes it."""

    layout: Layout

    def svg(self) -> bytes:
        return render_layout(self.layout, "svg")

    def png(self, dpi: int = 144) -> bytes:
        return render_layout(self.layout, "png", dpi)

    def _repr_svg_(self) -> str:
        return self.svg().decode("utf-8")

    def save(self, path, fmt: str | None = None) -> None:
        """Write the diagram to ``path`` (atomically), as ``fmt`` or as its suffix says (.svg, .png)."""
        atomic_write(path, render_layout(self.layout, fmt or format_of(path)))


def format_of(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if ext not in ("svg", "png"):
        raise ValueError(f"cannot tell the format of {os.fspath(path)!r}: name it .svg or .png, or give fmt")
    return ext


def _no_backward(what: str, backward: bool) -> None:
    if backward:
        raise ValueError(f"a {what} is drawn forward only: backward=True applies to lenses and learners")


def _circuit_of(x):
    """``(circuit, input groups)`` when ``x`` is drawn as a circuit, else None."""
    if isinstance(x, Circuit):
        return x, None
    if isinstance(x, ParaCircuit):
        return x.circuit, list(zip(x.params, x.sizes))
    inner = getattr(x, "circuit", None)
    if isinstance(inner, Circuit) and hasattr(x, "decoder"):  # a saved CircuitClassifier
        return inner, None
    return None


def layout_of(x, *, backward: bool = False, expand: bool = False) -> Layout:
    """The geometry :func:`draw` renders (boxes, wire polylines, labels), for tests and other renderers."""
    found = _circuit_of(x)
    if found is not None and (expand or not isinstance(x, ParaCircuit)):
        _no_backward("circuit", backward)
        return circuit_layout(*found)
    if isinstance(x, Learner):
        term = learner_term(x, expand)
    elif isinstance(x, Para):
        term = para_term(x, expand)
    elif isinstance(x, Lens):
        term = lens_term(x, expand)
    elif isinstance(x, Optimiser):
        term = Atom(x.name, ("S × P",), ("P",), (), "optimiser")
    elif isinstance(x, LearningRate):
        term = learning_rate_atom(x)
    else:
        raise TypeError(f"cannot draw {type(x).__name__}: draw a lens, a parametric lens, a learner, an "
                        "optimiser, a learning rate, a circuit or a Boolean classifier")
    return term_layout(term, backward=backward, title=getattr(x, "name", "") or "")


def draw(x, path=None, *, backward: bool = False, expand: bool = False, fmt: str | None = None) -> Diagram:
    """The string diagram of ``x``, saved to ``path`` when given.

    Args:
      x: a lens, parametric lens (model, loss), learning rate, optimiser, :class:`Learner`,
        :class:`~paralens.circuits.Circuit`, parametric circuit or Boolean classifier.
      path: where to write it (``.svg`` or ``.png``, or ``fmt``).
      backward: draw both directions of each lens: forward wires left to right, above the
        backward wires, right to left (dashed).
      expand: open every layer down to its primitives (a parametric circuit: down to its gates).
      fmt: ``"svg"`` or ``"png"`` (default: the suffix of ``path``).
    """
    d = Diagram(layout_of(x, backward=backward, expand=expand))
    if path is not None:
        d.save(path, fmt)
    return d
