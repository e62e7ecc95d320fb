"""The paper's MNIST experiment (numeric-optics-python ``experiments/mnist.py``), in paralens.

Model: conv 3x3 1->3, ReLU, max-pool 2, conv 4x4 3->5, ReLU, max-pool 2, flatten,
dense 125->10 sigmoid (no convolution biases).  Closed with the MSE loss, the
learning-rate lens alpha(l) = -0.01 and the paper's momentum (Ex 3.15) with
gamma = -0.1 (i.e. heavy-ball momentum 0.1), 4 epochs, batch size 1::

    python -m paralens.examples.mnist_paper [--epochs 4] [--data DIR]

Prints the test accuracy on the bundled subset's test split.
"""

from __future__ import annotations

import argparse

from paralens import data
from paralens.learning import learning_rates, losses, optimisers
from paralens.learning.supervised import Learner
from paralens.models import mnist_paper_cnn
from paralens.training.fit import evaluate, fit


def run(epochs: int = 4, data_dir=None, seed: int = 0, progress: bool = False, limit: int | None = None):
    """Train the paper's CNN; returns ``(train metrics, test metrics)``."""
    learner = Learner(mnist_paper_cnn(), losses.mse(), optimisers.paper_momentum(-0.1),
                      learning_rates.constant(-0.01))
    directory = data_dir or data.mnist_subset()
    train = data.load_mnist(directory, "train")
    test = data.load_mnist(directory, "test")
    x, y = train.features[:limit], train.labels[:limit]
    state, _ = fit(learner, x, y, epochs=epochs, batch_size=1, seed=seed, progress=progress)
    return evaluate(learner, state.params, x, y), evaluate(learner, state.params, test.features, test.labels)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--data", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    train_m, test_m = run(args.epochs, args.data, args.seed, progress=True)
    print(f"mnist-paper-cnn: train accuracy {train_m['accuracy']:.4f}, test accuracy {test_m['accuracy']:.4f}")


if __name__ == "__main__":
    main()
