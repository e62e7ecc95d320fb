"""Error types and message templates, in one place."""

from __future__ import annotations


class ParalensError(Exception):
    """Base class of every error paralens raises on purpose."""


class CompositionError(ParalensError, TypeError):
    """Two morphisms whose boundaries do not match were composed or tensored."""


class ShapeError(ParalensError, ValueError):
    """An array handed to a lens does not have the shape its type promises."""


class ParameterError(ParalensError, KeyError):
    """Parameter names clash, are missing, or have the wrong shape."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else ""


class LawViolation(ParalensError, AssertionError):
    """A law of a reverse derivative category, or of the category, does not hold."""


def compose_mismatch(f, g, cod, dom) -> CompositionError:
    out, inp = cod.describe(), dom.describe()
    fields_differ = hasattr(cod, "field") and hasattr(dom, "field") and cod.field != dom.field
    if fields_differ or out == inp:
        out, inp = str(cod), str(dom)  # the shapes agree: the field (or dtype) is what differs
    return CompositionError(
        f"cannot compose {f.label()} with {g.label()}: output {out} is not input {inp}\n"
        f"  {f.label()} has codomain {cod}\n"
        f"  {g.label()} has domain   {dom}"
    )


def apply_mismatch(f, expected, got_shape) -> ShapeError:
    return ShapeError(
        f"{f.label()} expects input {expected} (without the batch dimension), "
        f"got an array of shape {tuple(got_shape)}"
    )


class DataError(ParalensError, ValueError):
    """A data file or data set is missing, malformed or inconsistent; the message names the file or set."""


class CheckpointError(ParalensError, ValueError):
    """A checkpoint cannot be written or read, or does not fit the model it is loaded for."""
