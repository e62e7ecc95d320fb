"""Training a gate network: Adam on the relaxed network, then hardened and measured."""

from __future__ import annotations

import math
import time

import numpy as np

from paralens.boolean.gate_hardening import harden
from paralens.boolean.gate_network import GateNetwork
from paralens.circuits.syntax import Circuit
from paralens.errors import ShapeError


def _ensure_bits(bits, who: str) -> np.ndarray:
    a = np.asarray(bits)
    if a.ndim != 2:
        raise ShapeError(f"{who}: expected bits of shape (n, n_bits), got {a.shape}")
    if a.dtype.kind not in "biu":
        if not np.all((a == 0) | (a == 1)):
            raise ValueError(f"{who}: bits must be 0 or 1")
    return a.astype(np.uint8)


def circuit_accuracy(circuit: Circuit, decoder, bits, labels) -> float:
    """Accuracy of a hardened circuit (bit-packed GF(2) evaluation) with a group-sum decoder."""
    out = circuit.evaluate(np.asarray(bits, dtype=np.int64), packed=True).view(np.ndarray)
    return float(np.mean(decoder.predict(out) == np.asarray(labels)))


def train_gate_network(bits_train, y_train, *, widths, n_classes: int, epochs: int = 10, batch_size: int = 100,
                       lr: float = 0.01, seed: int = 0, tau: float = 1.0, backend: str = "numpy",
                       validation: tuple | None = None, progress: bool = False, verbose: bool = False, init=None, local=None,
                       inputs=None, local_layers: int = 1, schedule: str = "constant",
                       network: GateNetwork | None = None,
                       eval_every: int = 0, hard_epochs: int = 0):
    """Train a relaxed gate network on bits, harden it, and measure both.

    Args:
      bits_train: ``(n, n_bits)`` of 0/1 (an encoder's output); ``y_train``: class indices.
      widths, n_classes, seed, tau, init, local, inputs, local_layers: of the :class:`GateNetwork`
        (or give ``network``, built already).
      epochs, batch_size, lr: Adam on softmax cross-entropy of the group sums, mini-batches.
      schedule: ``"constant"`` or ``"cosine"`` (cosine decay of the learning rate to 0 over the run).
      backend: ``"numpy"`` or ``"jax"`` (each epoch one compiled ``lax.scan``, ``fit``'s ``whole_epoch``: the
        results of step by step, without a host round trip per step; the progress bar moves once per epoch).
      validation: ``(bits, labels)`` held out: reported as ``test`` accuracies (relaxed and hardened).
      progress: one progress bar (on a terminal); verbose: a line per epoch.
      eval_every: also record the hardened validation accuracy every this many epochs (0: only at the end).
      hard_epochs: the last this many of the ``epochs`` train the straight-through network
        (:meth:`GateNetwork.straight_through`: hardened forward, relaxed reverse), from where the relaxed
        epochs left the parameters and the optimiser; so the trained network's outputs are the hardened
        circuit's and the hardening gap closes.

    Returns:
      ``(circuit, info)``: the hardened GF(2) circuit (outputs: the last layer's bits) and a dict with
      ``relaxed_train_accuracy``, ``hardened_train_accuracy``, ``relaxed_test_accuracy``,
      ``hardened_test_accuracy`` (with ``validation``), ``gates`` (the circuit's gates, after folding and
      pruning), ``network_gates`` (learned gates, ``sum(widths)``), ``depth``, ``seconds`` (wall clock of
      training, with compilation, without the ``eval_every`` evaluations), ``cpu_seconds`` (this process's
      CPU time meanwhile), ``history`` (per epoch), ``params``, ``network``, ``decoder``.
    """
    from paralens.learning import losses, optimisers, schedules
    from paralens.learning.supervised import Learner
    from paralens.training.fit import evaluate, fit

    if not 0 <= int(hard_epochs) <= int(epochs):
        raise ValueError(f"hard_epochs must be between 0 and epochs ({epochs}), got {hard_epochs}")
    x = _ensure_bits(bits_train, "train_gate_network")
    y = np.asarray(y_train, dtype=np.int64)
    net = network or GateNetwork(x.shape[1], widths, n_classes, seed=seed, tau=tau, init=init, local=local,
                                 inputs=inputs, local_layers=local_layers)
    steps = epochs * math.ceil(len(x) / batch_size)
    if schedule == "cosine":
        rate = schedules.cosine_decay(lr, max(steps, 1), 0.0, hold=True)
    elif schedule == "constant":
        rate = lr
    else:
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    learner = Learner(net.para(), losses.softmax_cross_entropy(), optimisers.adam(rate))
    hard_learner = Learner(net.straight_through().para(), losses.softmax_cross_entropy(), optimisers.adam(rate)) \
        if hard_epochs else None
    val = None
    if validation is not None:
        val = (_ensure_bits(validation[0], "validation"), np.asarray(validation[1], dtype=np.int64))
    dec = net.decoder()
    eval_seconds = [0.0]

    def watch(state, epochs_done, history):  # hardened validation accuracy, every eval_every epochs
        t = time.perf_counter()
        ps = {k: np.asarray(v) for k, v in state.params.items()}
        history.epochs[-1]["val_hardened_accuracy"] = circuit_accuracy(harden(ps, net), dec, val[0], val[1])
        eval_seconds[0] += time.perf_counter() - t
        if verbose:
            print(f"epoch {epochs_done}: hardened validation accuracy {history.epochs[-1]['val_hardened_accuracy']:.4f}")

    t0, c0 = time.perf_counter(), time.process_time()
    common = dict(batch_size=batch_size, seed=seed, backend=backend, progress=progress, verbose=verbose,
                  n_classes=n_classes, checkpoint=watch if (val is not None and eval_every) else None,
                  checkpoint_every=eval_every or None, whole_epoch=backend == "jax")
    soft_epochs = int(epochs) - int(hard_epochs)
    state, hist = fit(learner, x, y, epochs=soft_epochs, **common) if soft_epochs else (None, None)
    history_rows = list(hist.epochs) if hist is not None else []
    if hard_epochs:
        state, hist = fit(hard_learner, x, y, epochs=int(epochs), state=state, start_epoch=soft_epochs, **common)
        history_rows += [dict(row, straight_through=True) for row in hist.epochs]
    seconds = time.perf_counter() - t0 - eval_seconds[0]
    cpu_seconds = time.process_time() - c0
    params = {k: np.asarray(v) for k, v in state.params.items()}
    circuit = harden(params, net)
    info = {
        "relaxed_train_accuracy": evaluate(learner, params, x, y, n_classes=n_classes)["accuracy"],
        "hardened_train_accuracy": circuit_accuracy(circuit, dec, x, y),
        "gates": circuit.n_gates,
        "network_gates": net.n_gates,
        "depth": circuit.depth(),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "epochs": epochs,
        "hard_epochs": int(hard_epochs),
        "backend": backend,
        "history": history_rows,
        "params": params,
        "network": net,
        "decoder": dec,
    }
    if val is not None:
        info["relaxed_test_accuracy"] = evaluate(learner, params, val[0], val[1], n_classes=n_classes)["accuracy"]
        info["hardened_test_accuracy"] = circuit_accuracy(circuit, dec, val[0], val[1])
    return circuit, info


__all__ = ["circuit_accuracy", "train_gate_network"]
