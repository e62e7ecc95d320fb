"""Shared test configuration.

The tests mirror the package: ``tests/circuits/``, ``tests/boolean/``, ``tests/synth/``,
``tests/fields/``, ``tests/laws/``, ``tests/learning/``, ``tests/training/``,
``tests/categories/``, ``tests/data/``, and at the top the command line, the README and the
architecture.  Helpers live in ``tests/support.py``; markers: ``slow`` (trains MNIST models,
minutes; ``-m "not slow"`` leaves them out) and ``hardware`` (needs Icarus Verilog or Yosys).
"""


def pytest_report_header(config):
    from support import icarus_available, yosys_available

    tools = [name for name, ok in (("iverilog", icarus_available()), ("yosys", yosys_available())) if ok]
    return f"paralens hardware tools: {', '.join(tools) or 'none (hardware tests skip)'}"

