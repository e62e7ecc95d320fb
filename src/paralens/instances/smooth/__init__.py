"""The category Smooth: real arrays, maps with reverse derivative ``R[f](x, v) = J[f](x)^T v``.

Primitive maps (``*_map``, morphisms of C) and their lenses (through R) and
parametric lenses (layers).  Every array has a leading batch dimension.
"""

from paralens.instances.smooth.primitives import (
    add_map, multiply_map, scale_map, matmul_map, elementwise_map,
    add2, multiply, scale, matmul, elementwise, exp, log, sin, square,
)
from paralens.instances.smooth.activations import (
    relu, leaky_relu, sigmoid, tanh, gelu, softmax, log_softmax, identity_activation,
    relu_map, leaky_relu_map, sigmoid_map, tanh_map, gelu_map, softmax_map,
    ACTIVATIONS, activation,
)
from paralens.instances.smooth.layers import (
    linear, bias, dense, conv2d, max_pool2d, avg_pool2d, flatten, reshape, dropout,
    linear_map, bias_map, conv2d_map, pool2d_map, flatten_map, reshape_map,
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
