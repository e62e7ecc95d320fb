"""Running the external hardware tools (Icarus, Verilator): one subprocess rule, a timeout as one error."""

from __future__ import annotations

import subprocess

from paralens.errors import ToolFailed


def run_tool(cmd: list[str], timeout: float, cwd=None, *, what: str | None = None,
             hint: str = "") -> subprocess.CompletedProcess:
    """Run ``cmd`` (in ``cwd``) capturing its text output; :class:`ToolFailed` when it runs past ``timeout``
    seconds, saying ``what`` (default the program) did not finish, and ``hint``, what to do about it."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"{what or cmd[0]} did not finish within {timeout:.0f} s{hint}") from None
