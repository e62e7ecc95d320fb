"""``paralens dream``: deep dreaming of a real checkpoint (gradient ascent on the input) or of a saved
Boolean classifier (reverse derivative ascent on its input bits, within a budget of bits).

    paralens dream CHECKPOINT --target-class 3 [--steps N] [--lr X] [--l2 X] [--from-sample K] --out dream.png
    paralens dream CHECKPOINT --target-class all --out dreams.png            the ten classes in a grid
    paralens dream MODEL.plc --target-class 3 [--from-sample K] [--budget B] [--margin M] --out dream.png

A Boolean image model writes the starting and the dreamt image side by side; a Boolean model of
other data (Iris) prints the dreamt features and takes no ``--out``.
"""

from __future__ import annotations

import argparse

import numpy as np

from paralens.cli.common import COUNT, POSITIVE_FLOAT, UsageError, float_where, int_range, refuse, report
from paralens.errors import ParalensError

#: options of each kind of model; the other kind's are errors
REAL_ONLY = ["steps", "lr", "l2"]
BOOLEAN_ONLY = ["budget", "margin"]
DEFAULTS = {"steps": 200, "lr": 0.1, "l2": 0.0, "budget": 200, "margin": 0}
SIDE = 28


def target_classes(text: str):
    """An argparse type: a class index, or ``all``."""
    if text == "all":
        return "all"
    return int_range(0, 10**6, "a class index or 'all'")(text)


def add_parser(sub) -> None:
    """Add ``dream`` to the subcommands ``sub`` (an argparse subparsers object)."""
    d = sub.add_parser("dream", help="deep dreaming: an input a model takes for a chosen class",
                       description="Deep dreaming (the paper's Ex 4.5): a real checkpoint's input by gradient "
                                   "ascent on the class's score, or a Boolean classifier's input bits by reverse "
                                   "derivative ascent within a budget of bits.")
    d.add_argument("model_file", help="a checkpoint of an image preset (mnist-*) or a saved Boolean classifier (.plc)")
    d.add_argument("--target-class", type=target_classes, required=True, help="a class index, or 'all' (a grid)")
    d.add_argument("--from-sample", type=int_range(0, 10**9, "a sample index"), default=None, metavar="K",
                   help="start from test sample K (default: a blank image for a checkpoint, sample 0 for a "
                        "Boolean classifier)")
    d.add_argument("--out", default=None, help="write the image here (PNG, written atomically)")
    r = d.add_argument_group("real-valued checkpoints")
    r.add_argument("--steps", type=COUNT, default=None, help="gradient ascent steps (default 200)")
    r.add_argument("--lr", type=POSITIVE_FLOAT, default=None, help="the positive learning rate alpha (default 0.1)")
    r.add_argument("--l2", type=float_where(lambda v: v > 0, "above 0"), default=None,
                   help="weight of the L2 regulariser on the input (default none)")
    b = d.add_argument_group("Boolean classifiers")
    b.add_argument("--budget", type=int_range(0, 10**9, "a number of bits"), default=None,
                   help="the most input bits that may change (default 200)")
    b.add_argument("--margin", type=int_range(0, 10**9, "a count"), default=None,
                   help="go on until the target's group count leads by this much (default 0: until predicted)")
    d.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    d.set_defaults(func=cmd_dream)


def _option(args, name: str):
    v = getattr(args, name, None)
    return DEFAULTS[name] if v is None else v


def cmd_dream(args) -> int:
    """Run ``paralens dream``."""
    if args.out is not None:
        from paralens.files import ensure_writable

        ensure_writable(args.out, make_folder=True)
    from paralens.cli import _is_classifier_file  # here: paralens.cli imports this module

    if _is_classifier_file(args.model_file):
        refuse(args, REAL_ONLY, "to a Boolean classifier (they are for real-valued checkpoints)")
        return dream_classifier(args)
    refuse(args, BOOLEAN_ONLY, "to a real-valued checkpoint (they are for Boolean classifiers)")
    return dream_checkpoint(args)


# -- pictures ----------------------------------------------------------------------------------------


def save_images(path: str, images: list, titles: list[str], columns: int) -> None:
    """Grey images ``(28, 28)`` in [0, 1] on a grid of ``columns``, with titles, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from paralens.files import atomic_output

    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.8 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, titles):
        ax.imshow(np.asarray(img).reshape(SIDE, SIDE), cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


# -- real-valued checkpoints -------------------------------------------------------------------------


def _checkpoint_model(path: str):
    """The preset and its parameters from a checkpoint that names an image preset."""
    from paralens.models import get_preset
    from paralens.training.checkpoint import load_checkpoint

    desc = load_checkpoint(path).model
    name = desc.get("preset") if isinstance(desc, dict) else None
    if name is None:
        raise ParalensError(f"{path} does not name a preset model; dream with paralens.learning.dreaming.dream")
    preset = get_preset(name)
    if preset.dataset != "mnist":
        raise UsageError(f"{path} is a checkpoint of {name!r}: paralens dream takes image presets (mnist-*)")
    model = preset.build()
    ck = load_checkpoint(path, expect_params={k: s.shape for k, s in model.params.items()})
    return preset, model, {k: np.asarray(v, dtype=np.float32) for k, v in ck.params.items()}


def _real_start(args) -> np.ndarray:
    if args.from_sample is None:
        return np.zeros((1, 1, SIDE, SIDE), np.float32)
    from paralens.data.splits import load_split

    x = load_split("mnist", flat=False).x_test
    if args.from_sample >= len(x):
        raise UsageError(f"--from-sample {args.from_sample}: the test split has {len(x)} samples")
    return np.asarray(x[args.from_sample: args.from_sample + 1], np.float32)


def dream_checkpoint(args) -> int:
    from paralens.learning.dreaming import dream

    preset, model, params = _checkpoint_model(args.model_file)
    x0 = _real_start(args)
    n_classes = int(np.asarray(model.get(params, x0)).shape[-1])
    targets = list(range(n_classes)) if args.target_class == "all" else [args.target_class]
    if targets[-1] >= n_classes:
        raise UsageError(f"--target-class {targets[-1]}: {preset.name} has classes 0 .. {n_classes - 1}")
    steps, lr, l2 = _option(args, "steps"), _option(args, "lr"), _option(args, "l2")
    images, titles, predicted, finals = [], [], [], []
    for t in targets:
        x, hist = dream(model, params, x0, t, steps=steps, lr=lr, l2=l2, clip=(0.0, 1.0))
        logits = hist["logits"][-1, 0]
        predicted.append(int(np.argmax(logits)))
        finals.append(float(logits[t]))
        images.append(x[0, 0])
        titles.append(f"{t}: logit {logits[t]:.1f}")
    if args.out is not None:
        save_images(args.out, images, titles, columns=min(len(images), 5))
    result = {"model": preset.name, "target_class": args.target_class, "steps": steps, "lr": lr, "l2": l2,
              "start_logit": float(np.asarray(model.get(params, x0))[0, targets[0]]) if len(targets) == 1 else None,
              "final_logit": finals[0] if len(targets) == 1 else None,
              "predicted": predicted[0] if len(targets) == 1 else " ".join(map(str, predicted)),
              "dreamt_as_target": sum(p == t for p, t in zip(predicted, targets)), "out": args.out}
    report(result, args.json)
    return 0


# -- Boolean classifiers -----------------------------------------------------------------------------


def _samples(clf):
    dataset = clf.info.get("dataset")
    if dataset is None:
        raise UsageError(f"{clf.name} does not name its data set (a preset's classifier does); dream it with "
                         "paralens.boolean.dreaming.dream_bits")
    from paralens.boolean.presets import load_integer_data

    _, _, x, y = load_integer_data(dataset, None, clf.info.get("seed", 0))
    return x, y


def _features(clf, values) -> str:
    """``name=value`` for each feature."""
    return " ".join(f"{n}={v}" for n, v in zip(clf.feature_names, np.asarray(values).tolist()))


def dream_classifier(args) -> int:
    from paralens.boolean.classifier import CircuitClassifier
    from paralens.boolean.dreaming import dream_bits
    from paralens.circuits.reverse import reverse

    clf = CircuitClassifier.load(args.model_file)
    image = clf.n_features == SIDE * SIDE
    if args.out is not None and not image:
        raise UsageError(f"--out: {clf.name} is not an image model ({clf.n_features} features); without --out "
                         "the dreamt features are printed")
    x, _ = _samples(clf)
    k = 0 if args.from_sample is None else args.from_sample
    if k >= len(x):
        raise UsageError(f"--from-sample {k}: the test split has {len(x)} samples")
    targets = list(range(clf.n_classes)) if args.target_class == "all" else [args.target_class]
    if targets[-1] >= clf.n_classes:
        raise UsageError(f"--target-class {targets[-1]}: {clf.name} has classes 0 .. {clf.n_classes - 1}")
    budget, margin = _option(args, "budget"), _option(args, "margin")
    rc = reverse(clf.circuit)
    dreams = [dream_bits(clf, x[k], t, budget=budget, margin=margin, rc=rc) for t in targets]
    start_class = int(clf.predict(x[k][None], packed=False)[0])
    if args.out is not None:
        images = [np.asarray(x[k], np.float64) / 255.0] + [np.asarray(d.features, np.float64) / 255.0 for d in dreams]
        titles = [f"sample {k}: {start_class}"] + [f"-> {d.predicted} ({d.bits_changed} bits)" for d in dreams]
        save_images(args.out, images, titles, columns=min(len(images), 6))
    one = dreams[0] if len(dreams) == 1 else None
    result = {"model": clf.name, "from_sample": k, "start_class": start_class, "target_class": args.target_class,
              "budget": budget, "bits_changed": one.bits_changed if one else " ".join(str(d.bits_changed) for d in dreams),
              "predicted": one.predicted if one else " ".join(str(d.predicted) for d in dreams),
              "margin": one.margins[-1] if one else None,
              "dreamt_as_target": sum(d.predicted == t for d, t in zip(dreams, targets)), "out": args.out}
    if not image:
        result["start_features"] = _features(clf, dreams[0].start_features)
        for d, t in zip(dreams, targets):
            result[f"features_{t}"] = _features(clf, d.features)
    report(result, args.json)
    return 0


def parser() -> argparse.ArgumentParser:
    """A parser with only ``dream``, for tests and for running this module before it is registered."""
    p = argparse.ArgumentParser(prog="paralens")
    add_parser(p.add_subparsers(dest="command", required=True))
    return p


if __name__ == "__main__":  # ``python -m paralens.cli.dream ARGS`` is ``paralens dream ARGS``
    import sys

    args = parser().parse_args(["dream", *sys.argv[1:]])
    try:
        sys.exit(args.func(args))
    except (ParalensError, ValueError, OSError) as exc:
        print(f"paralens: error: {exc}", file=sys.stderr)
        sys.exit(2)
