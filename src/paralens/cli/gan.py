"""``paralens gan``: a Wasserstein GAN (weight clipping, RMSprop, n_critic) trained on MNIST digits.

    paralens gan [--data DIR] [--epochs N] [--out samples.png] [--save CKPT] [--judge CKPT] [--seed S] [--json] [-q]

The generated digits are judged by a classifier: an ``mnist-*`` checkpoint (``--judge``) or else the
``mnist-mlp`` preset trained for a few epochs on the same data inside the command; the report gives the
share of samples it classifies with confidence >= 0.9 and the histogram of its classes.

The generator ``R^64 -> R^784`` and the critic ``R^784 -> R`` are dense networks closed as the GAN lens
of :mod:`paralens.learning.gan`; an epoch is as many critic batches as the data has batches.
"""

from __future__ import annotations

import numpy as np

from paralens.cli.common import COUNT, POSITIVE_FLOAT, SEED, check_data_path, report, show_progress

LATENT, HIDDEN, PIXELS = 64, 256, 784
DEFAULTS = {"epochs": 5, "batch_size": 64, "n_critic": 5, "lr": 5e-4, "clip": 0.01, "samples": 64}
JUDGE = {"preset": "mnist-mlp", "epochs": 10, "samples": 1000, "confidence": 0.9}


def add_parser(sub) -> None:
    """Add ``gan`` to the subcommands ``sub`` (an argparse subparsers object)."""
    g = sub.add_parser("gan", help="train a Wasserstein GAN on MNIST digits and draw its samples",
                       description="A Wasserstein GAN as a parametric lens (the generator and a weight-tied critic, "
                                   "dot-product loss with labels (1, -1), descent-ascent; Arjovsky et al.'s weight "
                                   "clipping and n_critic) trained on MNIST; writes a grid of generated digits.")
    g.add_argument("--data", default=None, help="a folder of MNIST IDX files (default: the bundled subset)")
    g.add_argument("--epochs", type=COUNT, default=DEFAULTS["epochs"], help="epochs of critic batches (default 5)")
    g.add_argument("--batch-size", type=COUNT, default=DEFAULTS["batch_size"], help="batch size (default 64)")
    g.add_argument("--n-critic", type=COUNT, default=DEFAULTS["n_critic"],
                   help="critic steps per generator step (default 5)")
    g.add_argument("--lr", type=POSITIVE_FLOAT, default=DEFAULTS["lr"], help="RMSprop's step size (default 5e-4)")
    g.add_argument("--clip", type=POSITIVE_FLOAT, default=DEFAULTS["clip"],
                   help="clip the critic's weights to [-c, c] (default 0.01)")
    g.add_argument("--out", default="samples.png", help="the grid of generated digits (PNG, default samples.png)")
    g.add_argument("--save", default=None, metavar="CKPT", help="save the generator and critic to this checkpoint")
    g.add_argument("--judge", default=None, metavar="CKPT",
                   help="an mnist-* checkpoint that judges the samples (default: mnist-mlp trained here briefly)")
    g.add_argument("--seed", type=SEED, default=0, help="the random seed (default 0)")
    g.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=cmd_gan)


def mnist_gan(lr: float, clip: float):
    """The MNIST WGAN: dense generator (sigmoid pixels) and critic (leaky ReLU), RMSprop, clipping."""
    from paralens.instances.smooth.layers import dense
    from paralens.learning.gan import GAN, DescentAscent, wgan_critic_optimiser
    from paralens.learning.optimisers import rmsprop

    generator = dense(LATENT, HIDDEN, "relu") >> dense(HIDDEN, PIXELS, "sigmoid")
    critic = dense(PIXELS, HIDDEN, "leaky_relu") >> dense(HIDDEN, 1, "identity")
    return GAN(generator, critic, DescentAscent(rmsprop(lr), wgan_critic_optimiser(lr, clip)))


def progress_bar(args, total: int):
    """One bar (tqdm, shown on a terminal only) whose postfix shows both losses; a callback for ``fit_gan``."""
    if not show_progress(args):
        return None, None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="gan", unit="step", leave=False, dynamic_ncols=True, disable=None)

    def tick(m: dict) -> None:
        bar.update(1)
        if bar.n % 50 == 0:
            bar.set_postfix(W=f"{m['wasserstein']:.4f}", G=f"{m['generator']:.4f}", refresh=False)

    return bar, tick


def trained_judge(data, seed: int):
    """The ``mnist-mlp`` preset trained for ``JUDGE["epochs"]`` epochs on ``data``: ``(model, params)``."""
    from paralens.learning.supervised import Learner
    from paralens.models import get_preset, make_optimiser
    from paralens.training.fit import fit

    preset = get_preset(JUDGE["preset"])
    model = preset.build()
    optimiser, rate = make_optimiser(preset.optimizer, preset.lr)
    learner = Learner(model, preset.loss(), optimiser, rate)
    x = data.features.reshape(-1, 1, 28, 28)
    state, _ = fit(learner, x, data.labels, epochs=JUDGE["epochs"], batch_size=preset.batch_size, seed=seed,
                   progress=False)
    return model, state.params


def judge(model, params: dict, images, confidence: float = JUDGE["confidence"]) -> dict:
    """The classifier's verdict on ``images`` ``(n, 784)``: the share classified with probability >= ``confidence``
    and the count of each predicted class (all samples)."""
    logits = np.asarray(model.get(params, np.asarray(images, np.float32).reshape(-1, 1, 28, 28)), np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    classes = p.argmax(axis=1)
    return {"confident_share": float(np.mean(p.max(axis=1) >= confidence)),
            "class_histogram": np.bincount(classes, minlength=p.shape[1]).tolist()}


def cmd_gan(args) -> int:
    """Run ``paralens gan``."""
    from paralens.cli.dream import save_images
    from paralens.data.idx import load_mnist
    from paralens.files import ensure_writable
    from paralens.learning.gan import fit_gan

    check_data_path(args.data)
    ensure_writable(args.out, make_folder=True)
    if args.save is not None:
        ensure_writable(args.save, make_folder=True)
    if args.judge is not None:  # before training: a bad checkpoint fails at once
        from paralens.cli.dream import _checkpoint_model

        _, judge_model, judge_params = _checkpoint_model(args.judge)
    dataset = load_mnist(args.data, flat=True)
    data = dataset.features.astype(np.float32)
    gan = mnist_gan(args.lr, args.clip)
    steps = args.epochs * -(-len(data) // args.batch_size) * (args.n_critic + 1) // args.n_critic
    bar, tick = progress_bar(args, steps)
    state, history = fit_gan(gan, gan.init(args.seed), data, LATENT, steps=steps, batch_size=args.batch_size,
                             n_critic=args.n_critic, seed=args.seed, progress=tick)
    if bar is not None:
        bar.close()
    z = np.random.default_rng(args.seed + 1).standard_normal((DEFAULTS["samples"], LATENT)).astype(np.float32)
    images = np.asarray(gan.sample(state.params, z))
    save_images(args.out, list(images), [""] * len(images), columns=8)
    if args.save is not None:
        from paralens.training.checkpoint import save_checkpoint

        save_checkpoint(args.save, state.params, state.opt_state, step=int(state.step), epoch=args.epochs,
                        model={"gan": "mnist-wgan", "latent": LATENT, "hidden": HIDDEN})
    if args.judge is None:
        judge_model, judge_params = trained_judge(dataset, args.seed)
    z = np.random.default_rng(args.seed + 2).standard_normal((JUDGE["samples"], LATENT)).astype(np.float32)
    verdict = judge(judge_model, judge_params, np.asarray(gan.sample(state.params, z)))
    baseline = judge(judge_model, judge_params, data[: JUDGE["samples"]])
    w = history["wasserstein"]
    tenth = max(1, len(w) // 10)
    report({"steps": int(state.step), "samples": len(data), "wasserstein_first": float(w[:tenth].mean()),
            "wasserstein_last": float(w[-tenth:].mean()), "out": args.out,
            **({"checkpoint": args.save} if args.save else {}),
            "judge": args.judge or f"{JUDGE['preset']} trained {JUDGE['epochs']} epochs",
            f"confident_{JUDGE['confidence']}": verdict["confident_share"],
            "class_histogram": " ".join(map(str, verdict["class_histogram"])),
            f"real_confident_{JUDGE['confidence']}": baseline["confident_share"]}, args.json)
    return 0
