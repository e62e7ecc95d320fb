"""Recipes of learned gate networks: data, encoding, network and training, one configuration each.

:class:`GatesConfig` is a complete recipe and :func:`run_gates` runs it (load and split the data by
the one split policy, :func:`paralens.data.splits.load_split`; encode; train; harden).  The
``mnist-gates`` preset of :mod:`paralens.boolean.presets` is :func:`mnist_gates_config`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from paralens.boolean.gate_layers import gate_init
from paralens.boolean.gate_training import train_gate_network
from paralens.data.splits import TEST_FRACTION


@dataclass(frozen=True)
class GatesConfig:
    """A complete recipe: data encoding, network and training (see :func:`run_gates`).

    ``architecture`` names the network (:data:`ARCHITECTURES`): ``"gates"``, two-input gate layers on fixed
    random wiring (difflogic); ``"conv"``, logic-tree convolutions and OR pooling, then gate
    layers (:mod:`~paralens.boolean.gate_conv`); ``"tables"``, k-input nodes in a smaller basis
    (:mod:`~paralens.boolean.gate_tables`); ``"connections"``, two-input gates whose wiring is learned among
    ``candidates`` wires per input (:mod:`~paralens.boolean.gate_connections`; ``local_radius``: the first
    layer's candidates lie near a pixel).  ``extra`` holds the architecture's own options (given to its
    builder as keywords), and must be empty for ``"gates"``.
    """

    dataset: str
    bits_per_feature: int
    encoder_method: str
    widths: tuple
    tau: float
    epochs: int
    batch_size: int
    lr: float
    schedule: str = "constant"
    init: str = "normal"
    init_scale: float = 1.0
    pass_logit: float = 5.0
    local_radius: int | None = None
    local_layers: int = 1
    backend: str = "numpy"
    seed: int = 0
    split_seed: int = 0
    test_fraction: float = TEST_FRACTION
    informative_only: bool = False
    augment_copies: int = 0
    augment_shift: int = 1
    hard_epochs: int = 0
    architecture: str = "gates"
    candidates: int | None = None
    extra: dict = field(default_factory=dict)

    def with_(self, **kw) -> GatesConfig:
        return replace(self, **kw)


def iris_gates_config() -> GatesConfig:
    """The ``iris-gates`` preset (the README's figures): Iris, 3 classes, 8 thermometer bits per feature
    (uniform over the training range), two layers of 240 gates, tau 10, 200 epochs of Adam at 0.05, batch 32.
    Held out: a stratified fifth (:data:`paralens.data.splits.TEST_FRACTION`, 30 flowers) from ``split_seed``;
    the preset trains on the millimetre features (``integer=True``) and sets ``split_seed`` to its seed."""
    return GatesConfig(dataset="iris", bits_per_feature=8, encoder_method="uniform", widths=(240, 240),
                       tau=10.0, epochs=200, batch_size=32, lr=0.05, seed=0, split_seed=0,
                       test_fraction=TEST_FRACTION, backend="numpy")


def mnist_gates_config() -> GatesConfig:
    """MNIST on the bundled subset (6,000 train / 2,000 test): the ``mnist-gates`` preset.

    3 thermometer bits per pixel (thresholds 0.25, 0.5, 0.75 of the range), the training set with 2 copies
    moved by one pixel (18,000 images), 4 layers of 16,000 gates (64,000), the first reading two bits of
    pixels at most 2 apart (only bits that vary in training), tau 30, 10 epochs of Adam at 0.1 with cosine
    decay, batch 100, compiled with JAX (a step takes 113-131 ms against NumPy's 181-241 ms here, same
    lenses).  Measured on the shared 2-core machine (seed 0): 96.05% hardened test accuracy (relaxed
    95.75%), 34,909 circuit gates, 150-330 s of training depending on the other jobs' load (plus about
    40 s to load, encode, shift, evaluate and harden); seeds 1 and 2: 95.9% and 96.0%.
    """
    return GatesConfig(dataset="mnist", bits_per_feature=3, encoder_method="uniform",
                       widths=(16000, 16000, 16000, 16000), tau=30.0, epochs=10, batch_size=100, lr=0.1,
                       schedule="cosine", init="normal", informative_only=True, local_radius=2, local_layers=1,
                       augment_copies=2, augment_shift=1, backend="jax", seed=0)


def mnist_conv_config() -> GatesConfig:
    """The ``mnist-conv`` preset: logic-tree convolutions (:mod:`~paralens.boolean.gate_conv`) on the bundled subset.

    3 thermometer bits per pixel as channels of a 28 x 28 bit image; two blocks of a TreeConv (3 x 3 field,
    trees of depth 3: 8 leaves, 7 gates; 32 then 64 kernels, the gates shared over positions) and 2 x 2 OR
    pooling; two dense layers of 8,000 gates; tau 10; residual (pass-through) initialisation, without which
    this depth does not train (10.0% after an epoch against 72.9%); the training images with 4 copies moved
    by one pixel (30,000); 10 epochs of Adam at 0.1 with cosine decay, the last 2 straight-through; JAX.
    Measured in the README (Results)."""
    return GatesConfig(dataset="mnist", bits_per_feature=3, encoder_method="uniform", widths=(8000, 8000), tau=10.0,
                       epochs=10, batch_size=100, lr=0.1, schedule="cosine", augment_copies=4, augment_shift=1,
                       hard_epochs=2, backend="jax", seed=0, architecture="conv",
                       extra={"blocks": ((32, 3), (64, 3)), "pool": 2, "init": "residual", "dense_init": "residual"})


def mnist_gates_small_config() -> GatesConfig:
    """The ``mnist-gates-small`` preset: learned connections (:mod:`~paralens.boolean.gate_connections`) under a
    budget of 8,000 gates after hardening.

    3 thermometer bits per pixel (the bits that vary in training); 4 layers of 3,000 two-input gates, each
    input a learned choice among 8 candidate wires (the first layer's within 2 pixels), trained straight
    through (forward: the top-1 wires and argmax gates, reverse: the relaxed ones) throughout; tau 12; the
    training images with 2 copies moved by one pixel (without: 94.1%; 4 copies: 95.75%); 8 epochs of Adam at
    0.1 with cosine decay; JAX.  Measured (``benchmarks/mnist_connections.py``, seed 0): 95.7-95.85% hardened
    test with 7,431-7,452 gates; the softmax mixture of the candidates at 4 x 2,000: 94.65%, fixed wiring at
    4 x 3,000: 92.2%."""
    return GatesConfig(dataset="mnist", bits_per_feature=3, encoder_method="uniform", widths=(3000, 3000, 3000, 3000),
                       tau=12.0, epochs=8, batch_size=100, lr=0.1, schedule="cosine", informative_only=True,
                       local_radius=2, augment_copies=2, augment_shift=1, backend="jax", seed=0,
                       architecture="connections", candidates=8,
                       extra={"straight_through": True})


def shifted_copies(x, y, copies: int, shift: int, seed: int = 0, side: int = 28):
    """``x`` (flat ``side x side`` images) with ``copies`` more copies, each image moved by a random
    ``(dy, dx)`` in ``[-shift, shift]^2`` (zeros shifted in); labels repeated. Data augmentation."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 11]))
    imgs = np.asarray(x).reshape(-1, side, side)
    outs, labels = [np.asarray(x)], [np.asarray(y)]
    for _ in range(copies):
        d = rng.integers(-shift, shift + 1, (len(imgs), 2))
        moved = np.zeros_like(imgs)
        for dy in range(-shift, shift + 1):
            for dx in range(-shift, shift + 1):
                sel = np.flatnonzero((d[:, 0] == dy) & (d[:, 1] == dx))
                if len(sel) == 0:
                    continue
                src = imgs[sel][:, max(0, -dy): side - max(0, dy), max(0, -dx): side - max(0, dx)]
                moved[sel, max(0, dy): side - max(0, -dy), max(0, dx): side - max(0, -dx)] = src
        outs.append(moved.reshape(len(imgs), -1))
        labels.append(np.asarray(y))
    return np.concatenate(outs), np.concatenate(labels)


def load_gates_data(cfg: GatesConfig, *, integer: bool = False):
    """``(bits_train, y_train, bits_test, y_test, encoder)`` for a configuration's data set.

    ``integer``: the integer features a saved classifier and its hardware take (MNIST pixels as bytes 0-255,
    the bits the same as on the scaled floats; Iris in millimetres)."""
    from paralens.boolean.encoders import ThermometerEncoder
    from paralens.data.splits import load_split

    if cfg.dataset == "iris":
        xtr, ytr, xte, yte = load_split("iris", seed=cfg.split_seed, fraction=cfg.test_fraction,
                                        integer=integer).arrays()
    elif cfg.dataset == "mnist":
        xtr, ytr, xte, yte = load_split("mnist").arrays()
        if cfg.augment_copies:
            xtr, ytr = shifted_copies(xtr, ytr, cfg.augment_copies, cfg.augment_shift, seed=cfg.seed)
        if integer:
            xtr, xte = np.rint(xtr * 255).astype(np.int64), np.rint(xte * 255).astype(np.int64)
    else:
        raise ValueError(f"unknown data set {cfg.dataset!r}: 'iris' or 'mnist'")
    enc = ThermometerEncoder(cfg.bits_per_feature, method=cfg.encoder_method).fit(xtr)
    return enc.transform(xtr), ytr, enc.transform(xte), yte, enc


#: the networks a recipe can name (:attr:`GatesConfig.architecture`)
ARCHITECTURES = ("gates", "conv", "tables", "connections")


def _gate_inits(cfg: GatesConfig):
    """The two-input gate layers' logits initialisers of a recipe: ``cfg.init`` (a first layer of another kind
    than ``"normal"`` starts normal, so it mixes its inputs)."""
    init = gate_init(cfg.init, scale=cfg.init_scale, pass_logit=cfg.pass_logit)
    if cfg.init != "normal":
        init = [gate_init("normal", scale=cfg.init_scale)] + [init] * (len(cfg.widths) - 1)
    return init


def build_network(cfg: GatesConfig, bits_train, n_classes: int):
    """The relaxed network a recipe trains, for training bits ``bits_train`` (to find the varying bits)."""
    from paralens.boolean.gate_network import GateNetwork

    if cfg.architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {cfg.architecture!r}: choose one of {', '.join(ARCHITECTURES)}")
    n_bits = bits_train.shape[1]
    inputs = None
    if cfg.informative_only:  # the first layer reads only bits that vary on the training data
        inputs = np.flatnonzero(bits_train.min(axis=0) != bits_train.max(axis=0))
    side = int(round(math.sqrt(n_bits // cfg.bits_per_feature)))
    local = None
    if cfg.local_radius is not None:
        local = (cfg.bits_per_feature, side, side, cfg.local_radius)
    extra = dict(cfg.extra)
    if cfg.candidates is not None and cfg.architecture != "connections":
        raise ValueError(f"candidates is for architecture 'connections', not {cfg.architecture!r}")
    if cfg.architecture == "connections":
        from paralens.boolean.gate_connections import connections_network

        if cfg.local_layers != 1:
            raise ValueError("local_layers is for architecture 'gates', not 'connections' (local_radius sets the "
                             "first layer's candidate windows)")
        if "candidates" in extra:
            raise ValueError("give architecture 'connections' its candidates as GatesConfig.candidates, not in extra")
        unknown = sorted(set(extra) - {"temperature", "straight_through", "wire_scale"})
        if unknown:
            raise ValueError(f"architecture 'connections' takes extra options temperature, straight_through and "
                             f"wire_scale, not {unknown}")
        k = 8 if cfg.candidates is None else cfg.candidates
        return connections_network(n_bits, list(cfg.widths), n_classes, candidates=k, seed=cfg.seed, tau=cfg.tau,
                                   init=_gate_inits(cfg), inputs=inputs, local=local, **extra)
    if cfg.architecture == "gates":
        if extra:
            raise ValueError(f"architecture 'gates' takes no extra options, got {sorted(extra)}")
        return GateNetwork(n_bits, list(cfg.widths), n_classes, seed=cfg.seed, tau=cfg.tau, init=_gate_inits(cfg), local=local,
                           inputs=inputs, local_layers=cfg.local_layers)
    for name, default, owners in (("local_radius", None, "architectures 'gates' and 'connections'"),
                                  ("local_layers", 1, "architecture 'gates'")):
        if getattr(cfg, name) != default:
            raise ValueError(f"{name} is for {owners}, not {cfg.architecture!r}")
    if cfg.architecture == "conv":
        from paralens.boolean.gate_conv import conv_network

        for name, default in (("init", "normal"), ("init_scale", 1.0), ("pass_logit", 5.0), ("informative_only", False)):
            if getattr(cfg, name) != default:
                raise ValueError(f"{name} is for architectures 'gates', 'tables' and 'connections', not 'conv' "
                                 "(give its initialisers in extra)")
        if side * side * cfg.bits_per_feature != n_bits:
            raise ValueError(f"architecture 'conv' needs square images; {n_bits} bits are not that")
        return conv_network(side, side, cfg.bits_per_feature, n_classes, dense=tuple(cfg.widths), seed=cfg.seed,
                            tau=cfg.tau, **extra)
    from paralens.boolean.gate_tables import table_network

    return table_network(n_bits, list(cfg.widths), n_classes, seed=cfg.seed, tau=cfg.tau, inputs=inputs,
                         init=cfg.init, scale=cfg.init_scale, residual_logit=cfg.pass_logit, **extra)


def run_gates(cfg: GatesConfig, *, progress: bool = False, verbose: bool = False, backend: str | None = None, epochs: int | None = None,
              eval_every: int = 0, integer: bool = False):
    """Load the data, encode it, train and harden by ``cfg``; returns ``(circuit, info)`` (info has ``encoder``).
    ``integer``: the encoder takes MNIST pixel bytes (see :func:`load_gates_data`).  ``epochs`` overrides the
    recipe's; its last ``cfg.hard_epochs`` (at most all of them) are straight-through epochs."""
    btr, ytr, bte, yte, enc = load_gates_data(cfg, integer=integer)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    net = build_network(cfg, btr, n_classes)
    epochs = epochs or cfg.epochs
    circuit, info = train_gate_network(btr, ytr, n_classes=n_classes, network=net, widths=None,
                                       epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                                       seed=cfg.seed, backend=backend or cfg.backend,
                                       validation=(bte, yte), progress=progress, verbose=verbose,
                                       schedule=cfg.schedule, eval_every=eval_every,
                                       hard_epochs=min(cfg.hard_epochs, epochs))
    info["encoder"] = enc
    info["config"] = cfg
    return circuit, info


__all__ = ["ARCHITECTURES", "GatesConfig", "build_network", "iris_gates_config", "load_gates_data", "mnist_conv_config",
           "mnist_gates_config", "mnist_gates_small_config", "run_gates", "shifted_copies"]
