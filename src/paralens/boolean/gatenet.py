"""Learned logic-gate networks: relaxed to real gates, trained as parametric lenses, hardened to one GF(2) circuit.

The method of Petersen, Borgelt, Kuehne and Deussen, "Deep Differentiable Logic
Gate Networks" (NeurIPS 2022, *difflogic*), written with paralens' own lenses:

* A :class:`GateNetwork` is ``L`` layers of two-input gates with **fixed random
  wiring** (seeded): gate ``g`` of a layer reads wires ``ia[g]`` and ``ib[g]`` of
  the layer before; when ``2 * width >= width_before`` every wire of the layer
  before is read at least once, and fan-outs are balanced.  An optional *local*
  first layer (``local=(channels, height, width, radius)``) reads two bits of
  nearby pixels.
* Each gate is relaxed (:mod:`paralens.circuits.relax`) to the softmax mixture
  of the 16 two-input Boolean functions, each read as its multilinear real
  polynomial ``c0 + c1 a + c2 b + c3 ab`` (``and = ab``, ``or = a + b - ab``,
  ``xor = a + b - 2ab``, ...).  Its trainable parameter is the ``(width, 16)``
  array of logits.  A layer is a :class:`GateLayer`, a parametric lens
  (``Para``) with a hand-written reverse derivative, computed through the
  backend's array namespace, so the same lens runs on NumPy arrays and, inside
  one compiled step, on JAX arrays (``fit(..., backend="jax")``).
* The head :class:`GroupSum` splits the last layer's ``n`` outputs into
  ``n_classes`` groups; the score of a class is the sum of its group divided by
  ``tau``, trained with softmax cross-entropy.
* :func:`harden` replaces each gate by its most likely function (argmax of the
  logits) and emits the network as **one** GF(2) :class:`~paralens.circuits.Circuit`
  with one bundled operation per (layer, gate kind); pass-through and constant
  gates become wiring and constants (propagated, so gates reading constants or
  one wire twice fold away), learned NOT gates are absorbed where a consumer can
  take the negation, and gates no output depends on are pruned.  The circuit
  outputs the last layer's bits; :class:`~paralens.boolean.encoders.GroupSumDecoder`
  turns them into classes.

Train with :func:`train_gate_network` (bits in, hardened circuit and metrics
out), or :func:`run_gates` (an encoder, a data set and a configuration:
:func:`iris_gates_config`, :func:`mnist_gates_config`).

One module per concept; this one gathers them (and holds the recipes):

=====================================  ==========================================================
:mod:`paralens.circuits.truth`         the sixteen two-input functions (names, tables, polynomials)
:mod:`~paralens.boolean.gate_wiring`   the fixed random and local wiring
:mod:`~paralens.boolean.gate_layers`   the relaxed layer :class:`GateLayer`, :class:`GroupSum`, :func:`gate_init`
:mod:`~paralens.boolean.gate_network`  :class:`GateNetwork`
:mod:`~paralens.boolean.folding`       literal folding of two-input gates (shared with the packed compiler)
:mod:`~paralens.boolean.gate_hardening`  :func:`harden`
:mod:`~paralens.boolean.gate_training` :func:`train_gate_network`, :func:`circuit_accuracy`
=====================================  ==========================================================

Measured here (a 2-core machine shared with other jobs, load 2-7; times are wall clock):

* MNIST subset, :func:`mnist_gates_config`: 96.05% hardened test accuracy (relaxed
  95.75%) with 64,000 learned gates (34,909 in the hardened circuit), 226 s of
  training on JAX.  What mattered, each at 10 epochs of 6,000 images: the learning rate (0.02: 89.9%,
  0.05: 92.5%, 0.1: 93.3%, 0.2: 94.4% with locality); a local first layer on varying bits (+1.3 points at
  0.1); two copies of the training images moved by one pixel (96.05% against 94.9% for 30 epochs of the
  6,000 originals, the same number of steps, which fit the training set to 99.97%; moves of up to two
  pixels: 95.3%).  Three seeds of the preset: 96.05%, 95.9%, 96.0% hardened.  Did not help: ``tau`` 10 (faster to fit, but 3 points lost when hardened), ``tau``
  60 (slower), the residual (pass-through) initialisation at this depth (88.1% vs 89.9%), locality
  beyond the first layer (``local_layers`` 2 or 3: 94.3% and 93.8% vs 94.6%).
* Iris, :func:`iris_gates_config`: 95.6-100% held out on 24 splits and seeds (mean 97%), about a second.

    >>> import numpy as np
    >>> net = GateNetwork(4, widths=[8, 6], n_classes=2, seed=0, tau=1.0)
    >>> params = net.init(0)
    >>> params["0.logits"].shape, params["1.logits"].shape
    ((8, 16), (6, 16))
    >>> bits = np.array([[0, 1, 1, 0], [1, 1, 0, 0]], dtype=np.uint8)
    >>> c = harden(params, net)
    >>> bool((c.evaluate(bits).view(np.ndarray) == net.predict_bits(params, bits)).all())
    True
"""

from __future__ import annotations

from paralens.boolean.gate_hardening import harden
from paralens.boolean.gate_layers import GateLayer, GroupSum, gate_init
from paralens.boolean.gate_network import GateNetwork
from paralens.boolean.gate_training import circuit_accuracy, train_gate_network
from paralens.boolean.gate_wiring import local_wiring, permutation_wiring, random_wiring

# the recipes (GatesConfig, iris_gates_config, ...) live in paralens.boolean.recipes; importable from here too
from paralens.boolean.recipes import (
    GatesConfig,
    iris_gates_config,
    load_gates_data,
    mnist_gates_config,
    run_gates,
    shifted_copies,
)
from paralens.circuits.truth import COEFFS, GATE_NAMES, TRUTH

__all__ = [
    "COEFFS", "GATE_NAMES", "TRUTH", "GateLayer", "GateNetwork", "GatesConfig", "GroupSum", "circuit_accuracy",
    "gate_init", "harden", "iris_gates_config", "load_gates_data", "local_wiring", "mnist_gates_config",
    "permutation_wiring", "random_wiring", "run_gates", "shifted_copies", "train_gate_network",
]
