"""The gate section of benchmarks/bench_training.py: the PyTorch difflogic step computes what paralens's step does."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest


def _bench():
    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_training.py"
    spec = importlib.util.spec_from_file_location("bench_training", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_torch_reference_matches_paralens_steps():
    """Three steps from the same logits: the same losses (forward) and so the same Adam updates (reverse),
    for difflogic's 16-function mixture and its 4-coefficient reading, against paralens on NumPy (and JAX)."""
    pytest.importorskip("torch", reason="pip install torch (a dev dependency)")
    bt = _bench()
    net, params, xs, ys = bt.gate_setup(24, 3, 40, 8, 3, tau=2.0, seed=1)
    engines = ["numpy", "torch", "torch4"]
    try:
        import jax  # noqa: F401

        engines.append("jax-epoch")
    except ImportError:
        pass
    losses = {e: (bt.torch_engine(net, params, 0.05, collapsed=e == "torch4") if e.startswith("torch")
                  else bt.paralens_engine(net, params, e, 0.05))(xs, ys) for e in engines}
    assert len(set(np.round(losses["numpy"], 3))) == 3  # the steps change the loss: a real comparison
    for e in engines[1:]:
        np.testing.assert_allclose(losses[e], losses["numpy"], rtol=1e-5, atol=1e-6)


def test_bench_gates_reports_every_engine():
    pytest.importorskip("torch", reason="pip install torch (a dev dependency)")
    r = _bench().bench_gates(["numpy", "torch"], rounds=1, steps=1, n_bits=16, layers=2, width=20, batch=4)
    assert r["same_losses"] and r["gates"] == 40
    assert r["torch"]["ratio_to_torch"] == 1.0 and r["numpy"]["samples_per_second"] > 0
