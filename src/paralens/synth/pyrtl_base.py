"""The PyRTL import and working-block handling every PyRTL module of :mod:`paralens.synth` shares
(the bottom of the synth modules that use PyRTL: it imports no other of them)."""

from __future__ import annotations

import contextlib


def pyrtl_module():
    """The ``pyrtl`` module, with a clear error when it is missing."""
    try:
        import pyrtl
    except ImportError as e:  # pragma: no cover - pyrtl is a dependency of paralens.synth
        raise ImportError("paralens.synth needs PyRTL: pip install pyrtl") from e
    return pyrtl


@contextlib.contextmanager
def building(block):
    """Make ``block`` PyRTL's working block for the duration, then restore the previous one."""
    pyrtl = pyrtl_module()
    with pyrtl.set_working_block(block, no_sanity_check=True):
        yield block
