"""The training loop: epochs, shuffled batches, validation, history, progress, early stopping.

Everything random is derived from one seed: the order of epoch ``e`` from
``(seed, e)`` and the dropout key of step ``t`` from ``(seed, t)``, so that a run
stopped after k epochs and resumed from its checkpoint gives bit-identical
parameters to an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from paralens.backend import get_backend
from paralens.categories.types import ArrayType
from paralens.errors import NonFiniteError  # noqa: F401 - importable from here too
from paralens.learning.supervised import Learner, TrainState, train_step


@dataclass
class History:
    """Per-epoch metrics: ``history.epochs[i]`` is a dict (``epoch``, ``loss``, ``accuracy``, ``val_*``, ``seconds``)."""

    epochs: list[dict] = field(default_factory=list)
    skipped_steps: int = 0

    def __getitem__(self, key: str) -> list:
        return [e.get(key) for e in self.epochs]

    @property
    def last(self) -> dict:
        return self.epochs[-1] if self.epochs else {}


def prepare_targets(model, labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Class indices become one-hot rows when the model outputs a vector of scores; other targets pass."""
    labels = np.asarray(labels)
    cod = getattr(model, "cod", None)
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        k = n_classes
        if k is None and isinstance(cod, ArrayType) and cod.shape and len(cod.shape) == 1:
            k = cod.shape[0]
        if k is None:
            k = int(labels.max()) + 1
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            bad = labels[(labels < 0) | (labels >= k)][0]
            raise ValueError(f"label {int(bad)} is outside the {k} classes 0..{k - 1}")
        out = np.zeros((labels.shape[0], k), dtype=np.float32)
        out[np.arange(labels.shape[0]), labels] = 1.0
        return out
    return labels


def _check_input(model, x) -> None:
    dom = getattr(model, "dom", None)
    if isinstance(dom, ArrayType) and dom.shape is not None and tuple(x.shape[1:]) != dom.shape:
        hint = ""
        if int(np.prod(x.shape[1:])) == int(np.prod(dom.shape)):
            hint = f": reshape the inputs to {dom.shape} (e.g. load the images flat, or add a flatten() layer)"
        raise ValueError(f"{model.label()} expects inputs of shape {dom.shape}, got {tuple(x.shape[1:])}{hint}")


def _first_nonfinite(params: dict) -> str | None:
    for name, v in params.items():
        if not np.all(np.isfinite(np.asarray(v))):
            return name
    return None


def evaluate(learner: Learner, params: dict, x, y, batch_size: int = 1000, n_classes: int | None = None) -> dict:
    """Mean loss and (for classifiers) accuracy of ``params`` on ``(x, y)``, at evaluation (dropout off)."""
    x = np.asarray(x)
    _check_input(learner.model, x)
    targets = prepare_targets(learner.model, y, n_classes)
    B = get_backend(_backend_of_params(params))
    total_loss, correct, n = 0.0, 0, x.shape[0]
    if n == 0:
        raise ValueError("cannot evaluate on an empty data set")
    dtype = next(iter(params.values())).dtype if params else np.float32
    for i in range(0, n, batch_size):
        xb = B.asarray(x[i : i + batch_size], dtype=dtype)
        tb = B.asarray(targets[i : i + batch_size], dtype=dtype) if targets.dtype.kind == "f" else B.asarray(targets[i : i + batch_size])
        pred = learner.model.get(params, xb)
        vals = learner.loss.get({"label": tb}, pred)
        total_loss += float(np.sum(np.asarray(vals)))
        if pred.ndim == 2 and pred.shape[1] > 1 and targets.ndim == 2:
            correct += int(np.sum(np.argmax(np.asarray(pred), 1) == np.argmax(np.asarray(tb), 1)))
    out = {"loss": total_loss / n}
    if targets.ndim == 2 and targets.shape[1] > 1:
        out["accuracy"] = correct / n
    return out


def predict(learner_or_model, params: dict, x, batch_size: int = 1000) -> np.ndarray:
    """The model's outputs on ``x`` (batched, evaluation mode), as a NumPy array."""
    model = getattr(learner_or_model, "model", learner_or_model)
    x = np.asarray(x)
    _check_input(model, x)
    B = get_backend(_backend_of_params(params))
    dtype = next(iter(params.values())).dtype if params else np.float32
    outs = [np.asarray(model.get(params, B.asarray(x[i : i + batch_size], dtype=dtype))) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,))


def _backend_of_params(params):
    from paralens.backend import backend_of

    return backend_of(params).name


def epoch_order(seed: int, epoch: int, n: int, shuffle: bool = True) -> np.ndarray:
    """The order of the samples in ``epoch`` (0-based), a pure function of ``(seed, epoch)``."""
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng(np.random.SeedSequence([int(seed), 1, int(epoch)])).permutation(n)


def fit(
    learner: Learner,
    x,
    y,
    *,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    state: TrainState | None = None,
    start_epoch: int = 0,
    validation: tuple | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
    n_classes: int | None = None,
    backend: str = "numpy",
    dtype: str = "float32",
    progress: bool = True,
    verbose: bool = False,
    early_stopping: int | None = None,
    monitor: str = "val_loss",
    on_nonfinite: str = "raise",
    checkpoint: Callable[[TrainState, int, History], None] | None = None,
    checkpoint_every: int | None = None,
    step_fn: Callable | None = None,
    use_dropout: bool = True,
    whole_epoch: bool = False,
) -> tuple[TrainState, History]:
    """Train ``learner`` on ``(x, y)`` for ``epochs`` epochs; returns ``(state, history)``.

    Args:
      x, y: inputs (batch first) and targets (class indices, one-hot rows, or real targets).
      state: a state to continue from (e.g. loaded from a checkpoint) with ``start_epoch``
        the number of epochs it has done; default a fresh ``learner.init(seed)``.
      validation: ``(x_val, y_val)`` evaluated after each epoch (``val_loss``, ``val_accuracy``).
      progress: one progress bar for the whole run (tqdm; shown only on a terminal), with the
        running loss; ``verbose``: also one line per epoch with its metrics.
      early_stopping: stop when ``monitor`` has not improved for this many epochs.
      on_nonfinite: ``"raise"`` stops with :class:`NonFiniteError` naming the step and the first
        offending parameter (the last checkpoint written is kept); ``"skip"`` drops that update.
      checkpoint: called as ``checkpoint(state, epochs_done, history)`` every ``checkpoint_every`` epochs.
      step_fn: the step to run (default :func:`train_step`; a backend may pass a compiled one).
        With ``backend="jax"`` and no ``step_fn``, the step is compiled with
        :func:`paralens.training.compile.compile_train_step` (a given ``state`` is copied first,
        because the compiled step donates its input buffers).
      whole_epoch: (``backend="jax"`` only) run each epoch's full batches in one compiled
        ``lax.scan`` (:func:`paralens.training.compile.compile_epoch`), the last partial batch
        through the step.  Same batches, keys and results as the step loop, but the progress bar and
        the non-finite check (``on_nonfinite="raise"`` only) act once per epoch.
    """
    x, targets = _checked_data(learner, x, y, batch_size, on_nonfinite, n_classes)
    B = get_backend(backend)
    fresh = state is None
    if state is None:
        state = learner.init(seed, dtype=dtype, backend=B)
    epoch_runner = None
    if B.name == "jax" and (step_fn is None or whole_epoch):  # compiled step / whole-epoch scan (bottom of file)
        state, step_fn, epoch_runner = _jax_setup(learner, state, fresh, step_fn, whole_epoch, on_nonfinite, x,
                                                  targets, batch_size, dtype, seed, use_dropout)
    elif whole_epoch:
        raise ValueError(f"whole_epoch=True needs backend='jax', not {backend!r}")
    loop = _Loop(
        learner=learner, x=x, targets=targets, B=B, batch_size=batch_size, dtype=dtype,
        tdtype=dtype if targets.dtype.kind == "f" else None,
        step=step_fn or (lambda s, xb, yb, k: train_step(learner, s, xb, yb, k)),
        base_key=B.key(seed), random=use_dropout and learner.model.uses_randomness(),
        on_nonfinite=on_nonfinite, history=History(),
        n_batches=x.shape[0] // batch_size if drop_last else math.ceil(x.shape[0] / batch_size),
    )
    stopper = _EarlyStopping(early_stopping, monitor)
    bar = _progress_bar(progress, loop.n_batches * max(0, epochs - start_epoch))
    try:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            order = epoch_order(seed, epoch, x.shape[0], shuffle)
            if bar is not None:
                bar.set_description(f"epoch {epoch + 1}/{epochs}", refresh=False)
            if epoch_runner is not None:  # JAX whole epoch: every batch in one call, then no batch loop
                state, *sums = epoch_runner(state, order, epoch, bar)
            else:
                state, *sums = _run_batches(loop, state, order, epoch, bar)
            record = _epoch_record(learner, state, epoch, t0, *sums, validation=validation, n_classes=n_classes)
            loop.history.epochs.append(record)
            if verbose:
                _report(record)
            if checkpoint is not None and checkpoint_every and (epoch + 1) % checkpoint_every == 0:
                checkpoint(state, epoch + 1, loop.history)
            if stopper.should_stop(record):
                break
    finally:
        if bar is not None:
            bar.close()
    return state, loop.history


# -- the pieces of fit: one epoch's batches, one step's check, the epoch's record, progress, early stopping --


def _checked_data(learner, x, y, batch_size, on_nonfinite, n_classes):
    """``(x, targets)`` as arrays, after the checks fit makes before it trains."""
    if on_nonfinite not in ("raise", "skip"):
        raise ValueError(f"on_nonfinite must be 'raise' or 'skip', got {on_nonfinite!r}")
    x = np.asarray(x)
    if x.shape[0] == 0:
        raise ValueError("the training set is empty")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise ValueError("the training inputs contain NaN or infinite values")
    _check_input(learner.model, x)
    targets = prepare_targets(learner.model, y, n_classes)
    if targets.shape[0] != x.shape[0]:
        raise ValueError(f"{x.shape[0]} inputs but {targets.shape[0]} targets")
    return x, targets


@dataclass
class _Loop:
    """What every step of one call of :func:`fit` shares."""

    learner: Learner
    x: np.ndarray
    targets: np.ndarray
    B: object
    batch_size: int
    dtype: str
    tdtype: str | None
    step: Callable
    base_key: object
    random: bool
    on_nonfinite: str
    history: History
    n_batches: int


def _progress_bar(progress: bool, total: int):
    """One bar for the whole run, in batches; tqdm shows it only on a terminal (``disable=None``)."""
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="batch", leave=False, dynamic_ncols=True, disable=None)


def _run_batches(loop: _Loop, state, order, epoch: int, bar):
    """One epoch, step by step: ``(state, loss_sum, acc_sum, seen, metrics)``."""
    B, batch_size = loop.B, loop.batch_size
    loss_sum, acc_sum, seen, metrics = 0.0, 0.0, 0, {}
    for b in range(loop.n_batches):
        idx = order[b * batch_size : (b + 1) * batch_size]
        xb = B.asarray(loop.x[idx], dtype=loop.dtype)
        yb = B.asarray(loop.targets[idx], dtype=loop.tdtype)
        key = B.fold_in(loop.base_key, int(state.step)) if loop.random else None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # non-finite values are checked below, by name; no warnings meanwhile
            new_state, metrics = loop.step(state, xb, yb, key)
        loss = float(metrics["loss"])
        bad = _nonfinite_in_step(loss, new_state, metrics)
        if bad is not None:
            if "nonfinite" in metrics:  # a guarded compiled step returned the old state (its input was donated)
                state = new_state
            if loop.on_nonfinite == "skip":
                loop.history.skipped_steps += 1
                if bar is not None:
                    bar.update(1)
                continue
            raise NonFiniteError(
                f"non-finite values at step {int(state.step)} (epoch {epoch + 1}, batch {b + 1}): {bad} is NaN or "
                "infinite; the parameters before this step are kept (last checkpoint untouched). Lower the "
                "learning rate, clip gradients, or pass on_nonfinite='skip' (--skip-nonfinite)."
            )
        state = new_state
        m = len(idx)
        loss_sum += loss * m
        if "accuracy" in metrics:
            acc_sum += float(metrics["accuracy"]) * m
        seen += m
        if bar is not None:
            post = {"loss": f"{loss_sum / seen:.4f}"}
            if "accuracy" in metrics:
                post["acc"] = f"{acc_sum / seen:.3f}"
            bar.set_postfix(post, refresh=False)
            bar.update(1)
    return state, loss_sum, acc_sum, seen, metrics


def _nonfinite_in_step(loss: float, new_state, metrics: dict) -> str | None:
    """What of a step came out NaN or infinite (the loss, a parameter), in words; None when all is finite."""
    bad = None if math.isfinite(loss) else "the loss"
    name = _nonfinite_param(new_state.params, metrics)
    if name is not None:
        bad = f"parameter {name!r}" if bad is None else f"the loss (first non-finite parameter: {name!r})"
    return bad


def _epoch_record(learner, state, epoch, t0, loss_sum, acc_sum, seen, metrics, *, validation, n_classes) -> dict:
    """The epoch's entry of the history, with the validation metrics when there is a validation set."""
    record = {"epoch": epoch + 1, "loss": loss_sum / max(seen, 1), "seconds": time.perf_counter() - t0}
    if acc_sum or "accuracy" in metrics:
        record["accuracy"] = acc_sum / max(seen, 1)
    if validation is not None:
        ev = evaluate(learner, state.params, validation[0], validation[1], n_classes=n_classes)
        record.update({f"val_{k}": v for k, v in ev.items()})
    return record


def _report(record: dict) -> None:
    from tqdm.auto import tqdm

    tqdm.write("epoch {epoch}: ".format(**record) + ", ".join(
        f"{k} {v:.4f}" for k, v in record.items() if k not in ("epoch",)))


class _EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs (never, when ``patience`` is falsy)."""

    def __init__(self, patience: int | None, monitor: str):
        self.patience, self.monitor = patience, monitor
        self.best, self.since_best = math.inf, 0

    def should_stop(self, record: dict) -> bool:
        if not self.patience:
            return False
        value = record.get(self.monitor)
        if value is None:
            raise ValueError(f"early stopping monitors {self.monitor!r}, which is not recorded: {sorted(record)}")
        score = value if "loss" in self.monitor else -value
        if score < self.best:
            self.best, self.since_best = score, 0
            return False
        self.since_best += 1
        return self.since_best >= self.patience


# -- JAX: the compiled step and the whole-epoch scan (paralens.training.compile) ------------------------


def _nonfinite_param(params: dict, metrics: dict) -> str | None:
    """The first non-finite parameter; a guarded compiled step has found it on the device already."""
    if "nonfinite" not in metrics:
        return _first_nonfinite(params)
    i = int(metrics["nonfinite"])
    names = list(params)
    return names[i] if 0 <= i < len(names) else None


def _jax_setup(learner, state, fresh, step_fn, whole_epoch, on_nonfinite, x, targets, batch_size, dtype, seed,
               use_dropout):
    """``(state, step_fn, epoch_runner)`` for the JAX backend: the step compiled (unless given), and with
    ``whole_epoch`` a runner ``(state, order, epoch, bar) -> (state, loss_sum, acc_sum, seen, metrics)``."""
    import jax

    from paralens.training import compile as jax_compile

    if np.dtype(dtype) == np.float64 and not jax.config.jax_enable_x64:
        raise ValueError("dtype='float64' on JAX needs 64-bit JAX: call jax.config.update('jax_enable_x64', True) "
                         "(or train inside `with jax.enable_x64(True):`) before fit")
    if not fresh:
        state = jax_compile.device_copy(state)  # the compiled functions donate the state they are given
    if step_fn is None:
        step_fn = jax_compile.compile_train_step(learner)
    if not whole_epoch:
        return state, step_fn, None
    if on_nonfinite != "raise":
        raise ValueError("whole_epoch=True checks for non-finite values once per epoch: use on_nonfinite='raise'")
    B = get_backend("jax")
    epoch_fn = jax_compile.compile_epoch(learner, batch_size, with_metrics=True)
    xj = B.asarray(x, dtype=dtype)
    yj = B.asarray(targets, dtype=dtype if targets.dtype.kind == "f" else None)
    base_key = B.key(seed) if use_dropout and learner.model.uses_randomness() else None

    def run(state, order, epoch, bar):
        full = len(order) // batch_size * batch_size
        step0 = int(state.step)
        loss_sum, acc_sum, seen, metrics = 0.0, 0.0, 0, {}
        losses = np.zeros(0)
        if full:
            state, m = epoch_fn(state, xj, yj, B.asarray(order[:full]), base_key)
            losses = np.asarray(m["loss"], dtype=np.float64)
            loss_sum, seen = float(losses.sum()) * batch_size, full
            if "accuracy" in m:
                acc_sum = float(np.asarray(m["accuracy"], dtype=np.float64).sum()) * batch_size
            metrics = {k: v[-1] for k, v in m.items()}
        if full < len(order):  # the last, partial batch
            idx = order[full:]
            key = None if base_key is None else B.fold_in(base_key, int(state.step))
            state, metrics = step_fn(state, xj[idx], yj[idx], key)
            losses = np.append(losses, float(metrics["loss"]))
            loss_sum += float(metrics["loss"]) * len(idx)
            acc_sum += float(metrics.get("accuracy", 0.0)) * len(idx)
            seen += len(idx)
        bad = np.flatnonzero(~np.isfinite(losses))
        name = _first_nonfinite(state.params)
        if len(bad) or name is not None:
            where = f"the loss from step {step0 + int(bad[0])} (batch {int(bad[0]) + 1})" if len(bad) else (
                f"parameter {name!r}")
            raise NonFiniteError(
                f"non-finite values in epoch {epoch + 1} (whole-epoch mode): {where} is NaN or infinite; the last "
                "checkpoint is untouched. Lower the learning rate, clip gradients, or train without whole_epoch "
                "to skip such updates (on_nonfinite='skip')."
            )
        if bar is not None:
            bar.update(-(-len(order) // batch_size))
        return state, loss_sum, acc_sum, seen, metrics

    return state, step_fn, run
