"""What every command shares: argument types, the options a command was given, and the report."""

from __future__ import annotations

import argparse
import json
import math
import os

from paralens.errors import ParalensError


class UsageError(ParalensError):
    """An option or combination of options that does not apply (exit status 2, one line)."""


def int_range(lo: int, hi: int, what: str = "an integer"):
    """An argparse type: an integer in ``lo .. hi`` (argparse turns the error into one line)."""

    def parse(text: str) -> int:
        try:
            v = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{text} is out of range: {what} in {lo} .. {hi}")
        return v

    return parse


def float_where(ok, what: str):
    """An argparse type: a number for which ``ok(v)`` holds (``what`` says which)."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{text} must be {what}")
        return v

    return parse


POSITIVE_FLOAT = float_where(lambda v: math.isfinite(v) and v > 0, "a finite number above 0")
FRACTION = float_where(lambda v: 0 <= v < 1, "a fraction in [0, 1)")
OPEN_FRACTION = float_where(lambda v: 0 < v < 1, "a fraction strictly between 0 and 1")
COUNT = int_range(1, 10**9, "a whole number")
SEED = int_range(0, 2**32 - 1, "a seed")


def given(args, names) -> list[str]:
    """The options among ``names`` (argparse destinations) that were given on the command line: every
    optional option defaults to ``None`` or ``False``, so a given one is anything else."""
    return [n for n in names if getattr(args, n, None) not in (None, False)]


def flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def refuse(args, names, why: str) -> None:
    """A :class:`UsageError` naming the first option of ``names`` that was given: it does not apply ``why``."""
    bad = given(args, names)
    if bad:
        raise UsageError(f"{flag(bad[0])} does not apply {why}")


def is_table(path: str | None) -> bool:
    """Whether ``--data`` names a user's table (a CSV or .npz file) rather than a folder of MNIST files."""
    return path is not None and path.lower().endswith((".csv", ".tsv", ".txt", ".npz"))


def check_data_path(path: str | None) -> None:
    if path is not None and not os.path.exists(path):
        raise UsageError(f"--data {path}: no such file or folder")


def show_progress(args) -> bool:
    """A progress bar unless ``--quiet`` or ``--json`` (tqdm also hides it when stderr is not a terminal)."""
    return not getattr(args, "quiet", False) and not getattr(args, "json", False)


def report(result: dict, as_json: bool) -> None:
    """The result: one JSON object, or one ``key: value`` line each (floats to four places)."""
    if as_json:
        print(json.dumps(result))
        return
    for k, v in result.items():
        if v is None or isinstance(v, dict | list):
            continue
        print(f"{k:>18}: {v:.4f}" if isinstance(v, float) else f"{k:>18}: {v}")


def figures_lines(fig: dict) -> dict:
    """The gate counts and depths, with what each counts, for the report."""
    return {
        "network_gates": fig["network_gates"],
        "network_depth": fig["network_depth"],
        "classifier_gates": fig["classifier_gates"],
        "classifier_depth": fig["classifier_depth"],
        "gates_note": "network = the learned gates; classifier = the whole circuit from port integers to class "
                      "(input comparators, network, class counts, argmax); two-input gates, logic levels",
    }
