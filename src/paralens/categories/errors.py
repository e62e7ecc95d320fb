"""The error types (kept importable from here; they live in :mod:`paralens.errors`)."""

from paralens.errors import *  # noqa: F401,F403
from paralens.errors import __all__  # noqa: F401
