"""``paralens gan``: a Wasserstein GAN trained on MNIST digits (weight clipping, or a gradient penalty).

    paralens gan [--data DIR] [--epochs N] [--out samples.png] [--save CKPT] [--gradient-penalty LAMBDA]
                 [--backend numpy|jax] [--judge CKPT | --judge-epochs N] [--seed S] [--json] [-q]

The generated digits are judged by the project's ``mnist-cnn``: a checkpoint (``--judge``) or the
preset trained inside the command on the same data for ``--judge-epochs`` epochs (on the same
backend); the report gives the share of 1,000 samples it classifies with confidence >= 0.9, the
histogram of its classes, and the same share on 1,000 real training digits.

The generator ``R^64 -> R^784`` and the critic ``R^784 -> R`` are dense networks closed as the GAN lens
of :mod:`paralens.learning.gan`; an epoch is as many critic batches as the data has batches.  Without
``--gradient-penalty``: RMSprop on both, the critic's weights clipped to ``[-c, c]`` (Arjovsky et al.);
with it: WGAN-GP, Adam(lr, b1 0, b2 0.9) on both (Gulrajani et al.; lr 3e-4 by default), no clipping.
"""

from __future__ import annotations

import time

import numpy as np

from paralens.cli.common import (
    COUNT,
    POSITIVE_FLOAT,
    SEED,
    UsageError,
    check_data_path,
    float_where,
    refuse,
    report,
    show_progress,
)

LATENT, HIDDEN, PIXELS = 64, 256, 784
DEFAULTS = {"epochs": 5, "batch_size": 64, "n_critic": 5, "lr": 5e-4, "gp_lr": 3e-4, "clip": 0.01, "samples": 64}
JUDGE = {"preset": "mnist-cnn", "epochs": 10, "samples": 1000, "confidence": 0.9}
PENALTY = float_where(lambda v: np.isfinite(v) and v > 0, "a finite number above 0")


def add_parser(sub) -> None:
    """Add ``gan`` to the subcommands ``sub`` (an argparse subparsers object)."""
    g = sub.add_parser("gan", help="train a Wasserstein GAN on MNIST digits and draw its samples",
                       description="A Wasserstein GAN as a parametric lens (the generator and a weight-tied critic, "
                                   "dot-product loss with labels (1, -1), descent-ascent; Arjovsky et al.'s weight "
                                   "clipping, or Gulrajani et al.'s gradient penalty, and n_critic) trained on MNIST; "
                                   "writes a grid of generated digits and judges them with mnist-cnn.")
    g.add_argument("--data", default=None, help="a folder of MNIST IDX files (default: the bundled subset)")
    g.add_argument("--epochs", type=COUNT, default=DEFAULTS["epochs"], help="epochs of critic batches (default 5)")
    g.add_argument("--batch-size", type=COUNT, default=DEFAULTS["batch_size"], help="batch size (default 64)")
    g.add_argument("--n-critic", type=COUNT, default=DEFAULTS["n_critic"],
                   help="critic steps per generator step (default 5)")
    g.add_argument("--lr", type=POSITIVE_FLOAT, default=None,
                   help=f"the step size of RMSprop (default {DEFAULTS['lr']:g}), or with --gradient-penalty "
                        f"of Adam (default {DEFAULTS['gp_lr']:g})")
    g.add_argument("--clip", type=POSITIVE_FLOAT, default=None,
                   help=f"clip the critic's weights to [-c, c] (default {DEFAULTS['clip']:g}; not with a penalty)")
    g.add_argument("--gradient-penalty", type=PENALTY, default=None, metavar="LAMBDA",
                   help="WGAN-GP: penalise LAMBDA (|grad d| - 1)^2 at interpolated points (Gulrajani et al. use "
                        "10) instead of clipping; Adam(lr, 0, 0.9)")
    g.add_argument("--backend", choices=["numpy", "jax"], default=None,
                   help="the array backend (default jax when installed, else numpy); jax compiles each step")
    g.add_argument("--out", default="samples.png", help="the grid of generated digits (PNG, default samples.png)")
    g.add_argument("--save", default=None, metavar="CKPT", help="save the generator and critic to this checkpoint")
    g.add_argument("--judge", default=None, metavar="CKPT",
                   help="an mnist-* checkpoint that judges the samples (default: mnist-cnn trained here)")
    g.add_argument("--judge-epochs", type=COUNT, default=None,
                   help=f"epochs of the mnist-cnn judge trained here (default {JUDGE['epochs']}; not with --judge)")
    g.add_argument("--seed", type=SEED, default=0, help="the random seed (default 0)")
    g.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=cmd_gan)


def default_backend() -> str:
    """``"jax"`` when JAX is installed, else ``"numpy"``."""
    from paralens.backend import available_backends

    return "jax" if "jax" in available_backends() else "numpy"


def mnist_gan(lr: float, clip: float | None = DEFAULTS["clip"], gradient_penalty: float | None = None):
    """The MNIST WGAN: dense generator (sigmoid pixels) and critic (leaky ReLU); RMSprop with the critic
    clipped to ``[-clip, clip]``, or with ``gradient_penalty`` Adam(lr, 0, 0.9) and the penalty."""
    from paralens.instances.smooth.layers import dense
    from paralens.learning.gan import GAN, DescentAscent, wgan_critic_optimiser, wgan_gp_optimiser
    from paralens.learning.optimisers import rmsprop

    generator = dense(LATENT, HIDDEN, "relu") >> dense(HIDDEN, PIXELS, "sigmoid")
    critic = dense(PIXELS, HIDDEN, "leaky_relu") >> dense(HIDDEN, 1, "identity")
    if gradient_penalty:
        return GAN(generator, critic, wgan_gp_optimiser(lr), gradient_penalty=gradient_penalty)
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


def trained_judge(data, epochs: int, seed: int, backend: str):
    """The ``mnist-cnn`` preset trained for ``epochs`` epochs on ``data`` with its own settings: ``(model, params)``."""
    from paralens.learning.supervised import Learner
    from paralens.models import get_preset, make_optimiser
    from paralens.training.fit import fit

    preset = get_preset(JUDGE["preset"])
    model = preset.build()
    optimiser, rate = make_optimiser(preset.optimizer, preset.lr)
    learner = Learner(model, preset.loss(), optimiser, rate)
    x = data.features.reshape(-1, 1, 28, 28)
    state, _ = fit(learner, x, data.labels, epochs=epochs, batch_size=preset.batch_size, seed=seed,
                   backend=backend, progress=False)
    return model, {n: np.asarray(v, np.float32) for n, v in state.params.items()}


def judge(model, params: dict, images, confidence: float = JUDGE["confidence"]) -> dict:
    """The classifier's verdict on ``images`` ``(n, 784)``: the share classified with probability >= ``confidence``
    and the count of each predicted class (all samples)."""
    logits = np.asarray(model.get(params, np.asarray(images, np.float32).reshape(-1, 1, 28, 28)), np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    classes = p.argmax(axis=1)
    return {"confident_share": float(np.mean(p.max(axis=1) >= confidence)),
            "class_histogram": np.bincount(classes, minlength=p.shape[1]).tolist()}


def checked_options(args) -> tuple[str, float]:
    """``(backend, lr)`` after refusing the options that do not go together (before any work)."""
    if args.gradient_penalty is not None:
        refuse(args, ["clip"], "with --gradient-penalty (the penalty replaces weight clipping)")
    if args.judge is not None:
        refuse(args, ["judge_epochs"], "with --judge (the judge is trained only without one)")
    backend = args.backend or default_backend()
    if backend == "jax":
        from paralens.backend import available_backends

        if "jax" not in available_backends():
            raise UsageError('--backend jax needs JAX: install it with pip install "paralens[jax]"')
    lr = args.lr if args.lr is not None else DEFAULTS["gp_lr" if args.gradient_penalty else "lr"]
    return backend, lr


def train(gan, data, args, backend: str):
    """``fit_gan`` on ``backend`` (JAX: the step compiled) for ``args.epochs`` epochs; ``(state, history)``."""
    from paralens.learning.gan import fit_gan

    steps = args.epochs * -(-len(data) // args.batch_size) * (args.n_critic + 1) // args.n_critic
    state, step_fn = gan.init(args.seed, backend=backend), None
    if backend == "jax":
        from paralens.training.compile import compile_gan_step

        step_fn = compile_gan_step(gan)
    bar, tick = progress_bar(args, steps)
    state, history = fit_gan(gan, state, data, LATENT, steps=steps, batch_size=args.batch_size,
                             n_critic=args.n_critic, seed=args.seed, progress=tick, step_fn=step_fn)
    if bar is not None:
        bar.close()
    return state, history


def cmd_gan(args) -> int:
    """Run ``paralens gan``."""
    from paralens.cli.dream import save_images
    from paralens.data.idx import load_mnist
    from paralens.files import ensure_writable

    check_data_path(args.data)
    backend, lr = checked_options(args)
    ensure_writable(args.out, make_folder=True)
    if args.save is not None:
        ensure_writable(args.save, make_folder=True)
    if args.judge is not None:  # before training: a bad checkpoint fails at once
        from paralens.cli.dream import _checkpoint_model

        _, judge_model, judge_params = _checkpoint_model(args.judge)
    dataset = load_mnist(args.data, flat=True)
    data = dataset.features.astype(np.float32)
    gan = mnist_gan(lr, args.clip or DEFAULTS["clip"], args.gradient_penalty)
    t0 = time.perf_counter()
    state, history = train(gan, data, args, backend)
    seconds = time.perf_counter() - t0
    params = {n: np.asarray(v) for n, v in state.params.items()}
    z = np.random.default_rng(args.seed + 1).standard_normal((DEFAULTS["samples"], LATENT)).astype(np.float32)
    images = np.asarray(gan.sample(params, z))
    save_images(args.out, list(images), [""] * len(images), columns=8)
    if args.save is not None:
        from paralens.training.checkpoint import save_checkpoint

        save_checkpoint(args.save, params, state.opt_state, step=int(state.step), epoch=args.epochs,
                        model={"gan": "mnist-wgan", "latent": LATENT, "hidden": HIDDEN,
                               "gradient_penalty": args.gradient_penalty})
    judge_epochs = args.judge_epochs or JUDGE["epochs"]
    if args.judge is None:
        judge_model, judge_params = trained_judge(dataset, judge_epochs, args.seed, backend)
    z = np.random.default_rng(args.seed + 2).standard_normal((JUDGE["samples"], LATENT)).astype(np.float32)
    verdict = judge(judge_model, judge_params, np.asarray(gan.sample(params, z)))
    baseline = judge(judge_model, judge_params, data[: JUDGE["samples"]])
    w = history["wasserstein"]
    tenth = max(1, len(w) // 10)
    c = JUDGE["confidence"]
    report({"steps": int(state.step), "samples": len(data), "backend": backend,
            "method": f"gradient penalty {args.gradient_penalty:g}" if args.gradient_penalty
            else f"weight clipping {args.clip or DEFAULTS['clip']:g}", "lr": lr, "seconds": round(seconds, 1),
            "wasserstein_first": float(w[:tenth].mean()), "wasserstein_last": float(w[-tenth:].mean()),
            **({"grad_norm_last": float(history["grad_norm"][-tenth:].mean())} if args.gradient_penalty else {}),
            "out": args.out, **({"checkpoint": args.save} if args.save else {}),
            "judge": args.judge or f"{JUDGE['preset']} trained {judge_epochs} epochs",
            f"confident_{c}": verdict["confident_share"],
            "class_histogram": " ".join(map(str, verdict["class_histogram"])),
            f"real_confident_{c}": baseline["confident_share"]}, args.json)
    return 0
