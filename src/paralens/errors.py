"""Every error paralens raises on purpose, in one place: each subclasses :class:`ParalensError`
(and the built-in exception it refines), so ``except ParalensError`` catches every deliberate error."""

from __future__ import annotations

__all__ = [
    "DataTypeError",
    "ParalensError",
    "CompositionError",
    "ShapeError",
    "ParameterError",
    "LawViolation",
    "compose_mismatch",
    "apply_mismatch",
    "DataError",
    "CheckpointError",
    "FieldError",
    "ExpressionError",
    "CircuitFileError",
    "SymbolicTooLarge",
    "FileWriteError",
    "EncoderError",
    "NotFittedError",
    "ModelFileError",
    "FixedPointOverflow",
    "NonFiniteError",
    "ToolNotFound",
    "ToolFailed",
    "UnknownDevice",
    "DoesNotFit",
    "MissingRule",
]


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


class DataTypeError(DataError, TypeError):
    """A value of the wrong kind in the data (neither a number nor text), named with its feature."""


class CheckpointError(ParalensError, ValueError):
    """A checkpoint cannot be written or read, or does not fit the model it is loaded for."""


# -- the errors of each part of paralens, in one place --------------------------------------


class FieldError(ParalensError, ValueError):
    """A field cannot be made, an element is not in the field, or two fields are mixed."""


class ExpressionError(ParalensError, ValueError):
    """Text that is not a polynomial of the restricted grammar, or is too large."""


class CircuitFileError(ParalensError, ValueError):
    """A circuit cannot be written to, or read from, a file; the message says which and why."""


class SymbolicTooLarge(ParalensError, ValueError):
    """A circuit's polynomials have more terms than the caller allowed (``max_terms``)."""


class FileWriteError(ParalensError, OSError):
    """A file cannot be written; the message names the target and the reason."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class EncoderError(ParalensError, ValueError):
    """An encoder or decoder has bad settings, thresholds or categories, meets an unknown category, or a bad dict."""


class NotFittedError(EncoderError):
    """An encoder was used (``transform``, ``n_bits``, ...) before ``fit``."""


class ModelFileError(ParalensError, ValueError):
    """A saved model cannot be read: another kind of file, a newer version, or a corrupt one."""


class FixedPointOverflow(ParalensError, ArithmeticError):
    """A fixed-point value would leave the window ``|n| <= (p - 1) / 2`` and wrap around mod p."""


class NonFiniteError(ParalensError, FloatingPointError):
    """Training produced a NaN or an infinity in the loss or the parameters."""


class ToolNotFound(ParalensError, RuntimeError):
    """An external hardware tool (Icarus Verilog, Yosys) is not installed here."""


class ToolFailed(ParalensError, RuntimeError):
    """An external hardware tool ran and reported an error (its output is in the message)."""


class UnknownDevice(ParalensError, ValueError):
    """An FPGA that ``paralens fpga`` has no entry for; the message lists the ones it has."""


class DoesNotFit(ParalensError, ValueError):
    """A design needs more of an FPGA (LUTs, flip-flops, block RAM, I/O pins) than the device has; the
    message says how much more and what to try instead."""


class MissingRule(ParalensError, NotImplementedError):
    """A meaning (evaluate, reverse, sympy, netlist, verilog, ...) was asked for a generator it has no
    rule for, and the generator has no definition to fall back to."""

    def __init__(self, meaning: str, generator: str, hint: str = ""):
        self.meaning, self.generator = meaning, generator
        super().__init__(f"the meaning {meaning!r} has no rule for the generator {generator!r} "
                         f"(and it has no definition to fall back to)" + (f"; {hint}" if hint else ""))
