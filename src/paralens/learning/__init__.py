"""Learning: losses, learning rates, optimisers and the learning setups (layer 4).

Written once against the category layer: each piece is a (parametric) lens.
Optimisers live in :mod:`paralens.learning.optimisers`, learning rates in
:mod:`paralens.learning.learning_rates`, schedules in
:mod:`paralens.learning.schedules`.
"""

from paralens.learning import learning_rates, optimisers, schedules  # noqa: F401
from paralens.learning.learning_rates import LearningRate  # noqa: F401
from paralens.learning.optimisers import OPTIMISERS, Optimiser, get_optimiser  # noqa: F401
