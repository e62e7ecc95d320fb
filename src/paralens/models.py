"""Model presets: the paper's models and the MNIST baselines, with their training settings.

Each :class:`Preset` builds a parametric lens and names the loss, optimiser,
learning rate, batch size and epochs it is trained with by default.  The paper's
own experiments (``iris-*``, ``mnist-paper-cnn``) use the paper's convention:
learning-rate lens ``alpha = -eps`` and an additive optimiser (gradient update
``p + p'``, or the paper's momentum ``s' = -gamma s + p'`` with ``gamma = -0.1``,
which is heavy-ball momentum 0.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from paralens.categories.lens import identity
from paralens.categories.para import Para, chain
from paralens.categories.types import reals
from paralens.instances import initialisers
from paralens.instances.smooth import conv2d, dense, flatten, linear, max_pool2d, relu
from paralens.learning import losses


def iris_linear() -> Para:
    """The paper's ``linear((4, 3))``: a linear map, no bias."""
    return chain(identity(reals(4)), linear(4, 3, init=initialisers.normal(0.01)))


def iris_dense() -> Para:
    """The paper's ``dense((4, 3), sigmoid)``."""
    return chain(identity(reals(4)), dense(4, 3, "sigmoid", init=initialisers.normal(0.01)))


def iris_hidden() -> Para:
    """The paper's ``dense((4, 20), sigmoid) >> dense((20, 3), sigmoid)``."""
    return chain(identity(reals(4)), dense(4, 20, "sigmoid", init=initialisers.normal(0.01)) >>
                 dense(20, 3, "sigmoid", init=initialisers.normal(0.01)))


def mnist_paper_cnn() -> Para:
    """The paper's MNIST model: conv 3x3 1->3, ReLU, max-pool 2, conv 4x4 3->5, ReLU, max-pool 2,
    flatten, dense 125->10 sigmoid (no convolution biases)."""
    return chain(
        identity(reals(1, 28, 28)),
        conv2d(1, 3, 3, use_bias=False), relu(), max_pool2d(2),
        conv2d(3, 5, 4, use_bias=False), relu(), max_pool2d(2),
        flatten(), dense(125, 10, "sigmoid", init=initialisers.normal(0.01)),
    )


def mnist_mlp() -> Para:
    """784-128-10 with ReLU (logits out; trained with softmax cross-entropy)."""
    return chain(identity(reals(1, 28, 28)), flatten(), dense(784, 128, "relu", init="he_uniform"),
                 dense(128, 10, None))


def mnist_cnn() -> Para:
    """conv 3x3 8, ReLU, pool, conv 3x3 16, ReLU, pool, dense 10."""
    return chain(
        identity(reals(1, 28, 28)),
        conv2d(1, 8, 3, init="he_uniform"), relu(), max_pool2d(2),
        conv2d(8, 16, 3, init="he_uniform"), relu(), max_pool2d(2),
        flatten(), dense(400, 10, None),
    )


def mnist_cnn_large() -> Para:
    """conv 3x3 32, ReLU, pool, conv 3x3 64, ReLU, pool, dense 128 ReLU, dense 10."""
    return chain(
        identity(reals(1, 28, 28)),
        conv2d(1, 32, 3, init="he_uniform"), relu(), max_pool2d(2),
        conv2d(32, 64, 3, init="he_uniform"), relu(), max_pool2d(2),
        flatten(), dense(1600, 128, "relu", init="he_uniform"), dense(128, 10, None),
    )


@dataclass(frozen=True)
class Preset:
    """A named model with its default training settings."""

    name: str
    build: Callable[[], Para]
    loss: Callable[[], Para]
    dataset: str  # "iris" or "mnist"
    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    description: str


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("iris-linear", iris_linear, losses.mse, "iris", "paper", 0.01, 1, 400,
               "paper's Iris linear model; MSE, gradient update, alpha=-0.01, batch 1"),
        Preset("iris-dense", iris_dense, losses.mse, "iris", "paper", 0.01, 1, 400,
               "paper's Iris dense model (sigmoid); MSE, gradient update, alpha=-0.01, batch 1"),
        Preset("iris-hidden", iris_hidden, losses.mse, "iris", "paper", 0.01, 1, 400,
               "paper's Iris hidden-20 model (sigmoid); MSE, gradient update, alpha=-0.01, batch 1"),
        Preset("mnist-paper-cnn", mnist_paper_cnn, lambda: losses.mse(reduction="sum"), "mnist", "paper-momentum",
               0.01, 1, 4, "paper's MNIST CNN; MSE, paper momentum gamma=-0.1, alpha=-0.01, batch 1"),
        Preset("mnist-mlp", mnist_mlp, losses.softmax_cross_entropy, "mnist", "adam", 1e-3, 128, 20,
               "784-128-10 ReLU MLP; softmax cross-entropy, Adam"),
        Preset("mnist-cnn", mnist_cnn, losses.softmax_cross_entropy, "mnist", "adam", 1e-3, 128, 20,
               "small CNN (8, 16 filters); softmax cross-entropy, Adam"),
        Preset("mnist-cnn-large", mnist_cnn_large, losses.softmax_cross_entropy, "mnist", "adam", 1e-3, 128, 10,
               "CNN (32, 64 filters, dense 128); softmax cross-entropy, Adam"),
    ]
}


# -- the one registry: the real-valued presets above and the Boolean ones of paralens.boolean.presets --------


def all_presets() -> dict:
    """Every preset by name: the real-valued :data:`PRESETS`, then the Boolean presets
    (:data:`paralens.boolean.presets.PRESETS`, trained, hardened and saved as classifiers)."""
    from paralens.boolean.presets import PRESETS as BOOLEAN

    return {**PRESETS, **BOOLEAN}


def is_boolean(name: str) -> bool:
    """Whether ``name`` is a Boolean preset."""
    from paralens.boolean.presets import PRESETS as BOOLEAN

    return name in BOOLEAN


def unknown_preset(name: str) -> ValueError:
    """The one error for a name that is no preset: it lists every preset, real and Boolean.

    >>> str(unknown_preset("iris_gates")).startswith("unknown model 'iris_gates' (did you mean 'iris-gates'?); "
    ...                                              "choose one of iris-linear, ")
    True
    """
    import difflib

    close = difflib.get_close_matches(str(name), list(all_presets()), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ValueError(f"unknown model {name!r}{hint}; choose one of {', '.join(all_presets())}")


def find_preset(name: str):
    """The preset called ``name``, real (:class:`Preset`) or Boolean; :func:`unknown_preset` otherwise."""
    presets = all_presets()
    if name not in presets:
        raise unknown_preset(name)
    return presets[name]


def get_preset(name: str) -> Preset:
    """The real-valued preset called ``name`` (a Boolean preset's name says so; another, every preset)."""
    if name not in PRESETS:
        if is_boolean(name):
            raise ValueError(f"{name!r} is a Boolean preset: train it with paralens.boolean.presets.train_preset "
                             "(or `paralens train --model " + name + "`)")
        raise unknown_preset(name)
    return PRESETS[name]


def make_optimiser(name: str, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
    """``(optimiser, learning-rate lens)`` for a command-line optimiser name.

    ``paper``: the paper's gradient update ``p + p'`` with ``alpha = -lr`` (Def 3.11, Ex 3.9);
    ``paper-momentum``: the paper's momentum with ``gamma = -0.1`` and ``alpha = -lr`` (Ex 3.15);
    any other name: that optimiser with step size ``lr`` and the unit learning rate.
    """
    from paralens.learning import learning_rates, optimisers

    if name == "paper":
        return optimisers.gradient_update(), learning_rates.constant(-lr)
    if name == "paper-momentum":
        return optimisers.paper_momentum(-0.1), learning_rates.constant(-lr)
    kwargs = {"lr": lr}
    if name in ("momentum", "nesterov"):
        kwargs["momentum"] = momentum
    if weight_decay and name in ("adamw",):
        kwargs["weight_decay"] = weight_decay
    return optimisers.get_optimiser(name, **kwargs), learning_rates.unit()
