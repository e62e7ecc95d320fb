"""The category Smooth: real arrays, maps with reverse derivative ``R[f](x, v) = J[f](x)^T v``.

Primitive maps (``*_map``, morphisms of C) and their lenses (through R) and
parametric lenses (layers).  Every array has a leading batch dimension.
"""

from paralens.instances.smooth.activations import (
    ACTIVATIONS,
    activation,
    gelu,
    gelu_map,
    identity_activation,
    leaky_relu,
    leaky_relu_map,
    log_softmax,
    relu,
    relu_map,
    sigmoid,
    sigmoid_map,
    softmax,
    softmax_map,
    tanh,
    tanh_map,
)
from paralens.instances.smooth.layers import (
    avg_pool2d,
    bias,
    bias_map,
    conv2d,
    conv2d_map,
    dense,
    dropout,
    flatten,
    flatten_map,
    linear,
    linear_map,
    max_pool2d,
    pool2d_map,
    reshape,
    reshape_map,
)
from paralens.instances.smooth.primitives import (
    add2,
    add_map,
    elementwise,
    elementwise_map,
    exp,
    log,
    matmul,
    matmul_map,
    multiply,
    multiply_map,
    scale,
    scale_map,
    sin,
    square,
)

__all__ = [
    "add_map", "multiply_map", "scale_map", "matmul_map", "elementwise_map",
    "add2", "multiply", "scale", "matmul", "elementwise", "exp", "log", "sin", "square",
    "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "identity_activation",
    "relu_map", "leaky_relu_map", "sigmoid_map", "tanh_map", "gelu_map", "softmax_map",
    "ACTIVATIONS", "activation",
    "linear", "bias", "dense", "conv2d", "max_pool2d", "avg_pool2d", "flatten", "reshape", "dropout",
    "linear_map", "bias_map", "conv2d_map", "pool2d_map", "flatten_map", "reshape_map",
]
