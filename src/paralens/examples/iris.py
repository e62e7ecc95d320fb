"""The paper's Iris experiments (numeric-optics-python ``experiments/iris.py``), in paralens.

Each model is closed with the paper's pieces, exactly as in its Fig. 2:
MSE loss (Ex 3.4), learning-rate lens alpha(l) = -0.01 (Ex 3.9) and the gradient
update p + p' (Def 3.11), trained for 400 epochs with batch size 1::

    python -m paralens.examples.iris [--model hidden] [--epochs 400] [--holdout 0.2]

Prints the training accuracy (the paper's figure) and, with ``--holdout``, the
accuracy on a held-out stratified split.
"""

from __future__ import annotations

import argparse

from paralens import data
from paralens.learning import learning_rates, losses, optimisers
from paralens.learning.supervised import Learner
from paralens.models import iris_dense, iris_hidden, iris_linear
from paralens.training.fit import evaluate, fit

MODELS = {"linear": iris_linear, "dense": iris_dense, "hidden": iris_hidden}


def run(model: str = "hidden", epochs: int = 400, holdout: float = 0.0, seed: int = 0, progress: bool = False):
    """Train one of the paper's Iris models; returns ``(train metrics, held-out metrics or None)``."""
    learner = Learner(MODELS[model](), losses.mse(), optimisers.gradient_update(), learning_rates.constant(-0.01))
    ds = data.load_iris()
    test = None
    if holdout:
        test, ds = data.stratified_split(ds, holdout, seed=seed)  # (held-out part, rest)
    state, _ = fit(learner, ds.features, ds.labels, epochs=epochs, batch_size=1, seed=seed, progress=progress)
    train_m = evaluate(learner, state.params, ds.features, ds.labels)
    test_m = evaluate(learner, state.params, test.features, test.labels) if test is not None else None
    return train_m, test_m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(MODELS), default="hidden")
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--holdout", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    train_m, test_m = run(args.model, args.epochs, args.holdout, args.seed, progress=True)
    print(f"iris-{args.model}: training accuracy {train_m['accuracy']:.4f}")
    if test_m is not None:
        print(f"iris-{args.model}: held-out ({args.holdout:.0%}) accuracy {test_m['accuracy']:.4f}")


if __name__ == "__main__":
    main()
