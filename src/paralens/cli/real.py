"""``paralens train`` and ``evaluate`` for the real-valued presets (checkpoints in safetensors)."""

from __future__ import annotations

import time

from paralens.cli.common import report
from paralens.errors import ParalensError

#: options of real-valued training: (destination, default when not given)
REAL_DEFAULTS = {"momentum": 0.9, "holdout": 0.0, "backend": "numpy", "dtype": "float32"}


def _load_data(dataset: str, data_dir: str | None, holdout: float, seed: int):
    """``(x_train, y_train, x_test, y_test)`` for a preset's data set (test None for Iris without a holdout)."""
    from paralens.data.splits import load_split

    return load_split(dataset, data_dir=data_dir, seed=seed, fraction=holdout, flat=False).arrays()


def _build(preset_name: str, optimizer: str | None, lr: float | None, momentum: float):
    from paralens.learning.supervised import Learner
    from paralens.models import get_preset, make_optimiser

    preset = get_preset(preset_name)
    opt_name = optimizer or preset.optimizer
    step_size = preset.lr if lr is None else lr
    opt, rate = make_optimiser(opt_name, step_size, momentum=momentum)
    return preset, Learner(preset.build(), preset.loss(), opt, rate), opt_name, step_size


def train(args) -> int:
    """Train a real-valued preset (its own data, or MNIST IDX files in ``--data``), save a checkpoint."""
    for k, v in REAL_DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    from paralens.training.fit import evaluate, fit
    from paralens.training.resume import checkpointer, load_train_state, save_train_state

    t0 = time.perf_counter()
    if args.backend == "jax" and args.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)  # JAX computes in 32 bits unless told otherwise
    preset, learner, opt_name, step_size = _build(args.model, args.optimizer, args.lr, args.momentum)
    epochs = preset.epochs if args.epochs is None else args.epochs
    batch_size = preset.batch_size if args.batch_size is None else args.batch_size
    x, y, xt, yt = _load_data(preset.dataset, args.data, args.holdout, args.seed)
    description = {
        "preset": preset.name, "optimizer": opt_name, "lr": step_size, "momentum": args.momentum,
        "batch_size": batch_size, "seed": args.seed, "holdout": args.holdout, "backend": args.backend,
    }
    state, start_epoch = None, 0
    if args.resume:
        state, start_epoch, ck = load_train_state(args.resume, learner, backend=args.backend)
        prev = ck.model if isinstance(ck.model, dict) else {}
        if prev.get("preset") not in (None, preset.name):
            raise ParalensError(f"checkpoint {args.resume} is for model {prev.get('preset')!r}, not {preset.name!r}")
        if start_epoch >= epochs:
            raise ParalensError(f"checkpoint {args.resume} has already done {start_epoch} of {epochs} epochs")
    save_path = args.save
    checkpoint = checkpointer(save_path, seed=args.seed, model=description) if save_path else None

    state, history = fit(
        learner, x, y, epochs=epochs, batch_size=batch_size, seed=args.seed, state=state, start_epoch=start_epoch,
        validation=None if xt is None or not args.validate else (xt, yt), backend=args.backend,
        progress=not args.quiet and not args.json, verbose=args.verbose, on_nonfinite="skip" if args.skip_nonfinite else "raise",
        checkpoint=checkpoint, checkpoint_every=args.checkpoint_every, dtype=args.dtype,
        whole_epoch=args.whole_epoch,
    )
    train_metrics = evaluate(learner, state.params, x, y)
    result = {
        "model": preset.name, "optimizer": opt_name, "lr": step_size, "batch_size": batch_size,
        "epochs": epochs, "train_loss": train_metrics["loss"], "train_accuracy": train_metrics.get("accuracy"),
        "test_loss": None, "test_accuracy": None, "seed": args.seed, "backend": args.backend,
    }
    if xt is not None:
        test_metrics = evaluate(learner, state.params, xt, yt)
        result.update(test_loss=test_metrics["loss"], test_accuracy=test_metrics.get("accuracy"))
    if history.skipped_steps:
        result["skipped_steps"] = history.skipped_steps
    if save_path:
        save_train_state(save_path, state, epoch=epochs, seed=args.seed, model=description)
        result["saved"] = save_path
    result["seconds"] = time.perf_counter() - t0
    report(result, args.json)
    return 0




def evaluate_checkpoint(args) -> int:
    """Losses and accuracies of a real-valued checkpoint on its preset's data."""
    from paralens.training.checkpoint import load_checkpoint
    from paralens.training.fit import evaluate

    ck = load_checkpoint(args.checkpoint)
    desc = ck.model if isinstance(ck.model, dict) else {}
    if "preset" not in desc:
        raise ParalensError(f"{args.checkpoint} does not name a preset model; load it with the Python API")
    preset, learner, _, _ = _build(desc["preset"], desc.get("optimizer"), desc.get("lr"), desc.get("momentum", 0.9))
    ck = load_checkpoint(args.checkpoint, expect_params={k: s.shape for k, s in learner.model.params.items()})
    x, y, xt, yt = _load_data(preset.dataset, args.data, desc.get("holdout", 0.0), desc.get("seed", 0))
    result = {"model": preset.name, "epochs": ck.epoch, "checkpoint": args.checkpoint}
    tr = evaluate(learner, ck.params, x, y)
    result.update(train_loss=tr["loss"], train_accuracy=tr.get("accuracy"), test_loss=None, test_accuracy=None)
    if xt is not None:
        te = evaluate(learner, ck.params, xt, yt)
        result.update(test_loss=te["loss"], test_accuracy=te.get("accuracy"))
    report(result, args.json)
    return 0


