"""Meanings as rule tables: the one shape every interpreter of circuits has.

The syntax (:mod:`~paralens.circuits.generators`, :mod:`~paralens.circuits.syntax`) knows no
interpreter, as a jaxpr's core knows none.  Each meaning module (evaluate, reverse, sympy, relax,
the GF(2) netlist, PyRTL) owns one :class:`Meaning`: a table ``{generator: rule}`` read by that
module's one interpreter loop through :meth:`Meaning.rule`, which

1. returns the generator's rule from the table, else
2. for a composite gate (a :class:`~paralens.circuits.generators.Gate`, which has a definition),
   the meaning's one *by-definition* rule (the gate's definition read in the same meaning), else
3. raises the one standard error, :class:`~paralens.errors.MissingRule`, naming the meaning and
   the generator.

    >>> from paralens.circuits.generators import Generator
    >>> m = Meaning("demo")
    >>> class Odd(Generator):
    ...     name = "odd"
    >>> m.rule(Odd())
    Traceback (most recent call last):
    ...
    paralens.errors.MissingRule: the meaning 'demo' has no rule for the generator 'odd' (and it has no definition to fall back to)

Methods of the syntax that read a meaning (``Circuit.evaluate``, ``Gate.definition``,
``Gate.sympy``, ...) are thin: they call the entry point its module registered with
:func:`provide` (looked up with :func:`entry`), so that no module of the core imports an
interpreter and the import graph has no cycle.
"""

from __future__ import annotations

from collections.abc import Callable

from paralens.errors import MissingRule

__all__ = ["Meaning", "MissingRule", "provide", "entry", "MEANINGS"]

#: every meaning, by name
MEANINGS: dict[str, Meaning] = {}

_ENTRIES: dict[str, Callable] = {}


class Meaning:
    """A rule table keyed by generator, with the fallback to the definition and the standard error.

    Args:
      name: the meaning's name, used in :class:`~paralens.errors.MissingRule`.
      by_definition: ``by_definition(gate) -> rule``, the rule of a composite gate that has no rule
        of its own (its definition, read in this meaning); ``None``: composite gates need a rule too.
    """

    def __init__(self, name: str, by_definition: Callable | None = None):
        self.name = name
        self.rules: dict = {}
        self.by_definition = by_definition
        MEANINGS[name] = self

    def __repr__(self) -> str:
        return f"<meaning {self.name}: {len(self.rules)} rules>"

    def __setitem__(self, gen, rule) -> None:
        self.rules[gen] = rule

    def __contains__(self, gen) -> bool:
        return gen in self.rules

    def register(self, *gens):
        """Decorator: ``@M.register(G.ADD)`` makes the function the rule of those generators."""
        def deco(rule):
            for g in gens:
                self.rules[g] = rule
            return rule
        return deco

    def has_rule(self, gen) -> bool:
        """Whether ``gen`` has a rule of its own (not counting the fallback to its definition)."""
        return gen in self.rules

    def rule(self, gen):
        """The rule of ``gen``: its own, else its definition's, else :class:`MissingRule`."""
        r = self.rules.get(gen)
        if r is not None:
            return r
        if self.by_definition is not None and hasattr(gen, "definition"):
            return self.by_definition(gen)
        raise MissingRule(self.name, gen.name)


def provide(name: str):
    """Decorator: register ``fn`` as the entry point ``name`` (a meaning module registers itself)."""
    def deco(fn):
        _ENTRIES[name] = fn
        return fn
    return deco


def entry(name: str) -> Callable:
    """The entry point a meaning module registered under ``name`` (see :func:`provide`)."""
    fn = _ENTRIES.get(name)
    if fn is None:  # importing any module of paralens.circuits imports the package, which registers all
        raise MissingRule(name, "circuit", "no module registered this entry point")
    return fn
