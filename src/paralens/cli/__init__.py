"""The command line: ``paralens train``, ``evaluate``, ``predict``, ``export``, ``compare``, ``draw``, ``dream``, ``gan``,
``fpga``, ``models``.

Every option that does not apply to the chosen model, data or method is an error saying so; every
error is one line on stderr with exit status 2.  The commands live in :mod:`paralens.cli.boolean`
(Boolean classifiers: a user's table or a preset) and :mod:`paralens.cli.real` (real-valued presets).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from paralens.cli.common import (
    COUNT,
    FRACTION,
    POSITIVE_FLOAT,
    SEED,
    UsageError,
    check_data_path,
    int_range,
    is_table,
    refuse,
)
from paralens.errors import ParalensError

GUIDE = """paralens train needs something to learn from:
  paralens train --data FILE.csv --target COLUMN --save MODEL.plc    a Boolean classifier on your table
  paralens train --model iris-gates --save iris.plc                   a preset on its bundled data
  paralens models                                                     the presets
(see paralens train --help)"""


def _is_boolean_preset(name: str) -> bool:
    from paralens.models import find_preset, is_boolean

    find_preset(name)  # an unknown name: the one error, listing every preset (real and Boolean)
    return is_boolean(name)


def cmd_train(args) -> int:
    from paralens.cli import boolean, real

    check_data_path(args.data)
    if args.save:  # before any training: a run must not end in a save that fails
        from paralens.files import ensure_writable

        ensure_writable(args.save, make_folder=True)
    if is_table(args.data):
        return boolean.train_table(args)
    if args.model is None:
        if args.data is None:
            print(GUIDE, file=sys.stderr)
            return 2
        raise UsageError(f"--data {args.data} is not a table (.csv or .npz): a folder of MNIST IDX files goes "
                         "with an MNIST preset, --model NAME (see paralens models)")
    if _is_boolean_preset(args.model):
        return boolean.train_preset_model(args)
    refuse(args, boolean.TABLE_ONLY, f"to the real-valued preset {args.model!r} (they are for Boolean classifiers "
                                     "on a table, --data FILE.csv)")
    return real.train(args)


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


def cmd_evaluate(args) -> int:
    from paralens.cli import boolean, real

    if _is_classifier_file(args.checkpoint):
        return boolean.evaluate_model(args)
    refuse(args, ["target"], "to a checkpoint of a real-valued preset")
    if is_table(args.data):
        raise UsageError("a real-valued checkpoint is evaluated on its preset's data (--data: MNIST IDX files)")
    return real.evaluate_checkpoint(args)


def cmd_predict(args) -> int:
    from paralens.cli import boolean

    return boolean.predict(args)


def cmd_export(args) -> int:
    from paralens.cli import boolean

    return boolean.export(args)


def cmd_compare(args) -> int:
    """Boolean classifiers against real-valued baselines on one data set: a table, or JSON rows."""
    from paralens.compare import compare, compare_table, markdown

    if (args.dataset is None) == (args.data is None or not is_table(args.data)):
        raise UsageError("compare needs exactly one of --dataset NAME (bundled) or --data FILE.csv --target COLUMN")
    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        if not methods:
            raise ParalensError("--methods names no method")
    seeds = tuple(range(args.seeds))
    if args.dataset is not None:
        refuse(args, ["target", "test_fraction"], "to a bundled data set (--dataset)")
        table = compare(args.dataset, seeds=seeds, quick=args.quick, hardware=args.hardware, methods=methods,
                        data_dir=args.data, progress=not args.json)
    else:
        from paralens.data.tables import read_table

        data = read_table(args.data, args.target, require_target=True)
        table = compare_table(data, seeds=seeds, quick=args.quick, hardware=args.hardware, methods=methods,
                              fraction=0.2 if args.test_fraction is None else args.test_fraction,
                              progress=not args.json)
    print(json.dumps(table) if args.json else markdown(table))
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


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (what is wrong, and where to read the usage)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _output_options(p, *, progress: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    if progress:
        p.add_argument("-q", "--quiet", "--no-progress", dest="quiet", action="store_true",
                       help="no progress bar (it shows only on a terminal anyway)")
        p.add_argument("-v", "--verbose", action="store_true", help="also one line per epoch")


def _train_parser(sub) -> None:
    t = sub.add_parser("train", help="train a Boolean classifier on your table, or a preset model",
                       description="paralens train --data FILE.csv --target COLUMN [--method gates|rda|vote] "
                                   "--save MODEL.plc trains a Boolean classifier on your table; --model NAME trains "
                                   "a preset (see paralens models) on its bundled data.")
    t.add_argument("--model", default=None, help="a preset name (see `paralens models`)")
    t.add_argument("--data", default=None,
                   help="your table: a CSV file with a header row, or .npz with arrays X and y; for the MNIST "
                        "presets, a folder of MNIST IDX files")
    b = t.add_argument_group("Boolean classifier on a table (--data FILE.csv)")
    b.add_argument("--target", default=None, help="the label column of the CSV file")
    b.add_argument("--method", default=None, choices=["gates", "rda", "vote"],
                   help="learned gate network (default), RDA lookup tables, or the vote optimiser")
    b.add_argument("--layers", type=COUNT, default=None, help="gates: layers of the network (default 2)")
    b.add_argument("--gates", type=COUNT, default=None, help="gates: gates per layer (default 240)")
    b.add_argument("--luts", type=COUNT, default=None, help="rda/vote: lookup tables per class (default 32)")
    b.add_argument("--lut-inputs", type=int_range(1, 16, "inputs per table"), default=None,
                   help="rda/vote: inputs of each table (default 6)")
    b.add_argument("--bits", type=int_range(1, 64, "bits per feature"), default=None,
                   help="thermometer bits per numeric feature (default 8)")
    b.add_argument("--thresholds", default=None, choices=["quantile", "uniform"],
                   help="where the thermometer thresholds go (default quantile)")
    b.add_argument("--decimals", type=int_range(0, 18, "decimals"), default=None,
                   help="fixed point: the ports carry round(x * 10^decimals) (default: from the data)")
    b.add_argument("--test-fraction", type=FRACTION, default=None,
                   help="hold out this stratified fraction for testing (default 0.2)")
    b.add_argument("--tau", type=POSITIVE_FLOAT, default=None, help="gates: temperature of the class sums (10)")
    b.add_argument("--vote-threshold", type=COUNT, default=None, help="vote: votes to flip an entry (default 4)")
    t.add_argument("--epochs", type=COUNT, default=None)
    t.add_argument("--batch-size", type=COUNT, default=None)
    t.add_argument("--lr", type=POSITIVE_FLOAT, default=None, help="step size (the paper's eps)")
    t.add_argument("--seed", type=SEED, default=0, help="every random choice, and the test split (default 0)")
    t.add_argument("--save", default=None, help="where to save the model (written atomically)")
    r = t.add_argument_group("real-valued presets")
    r.add_argument("--optimizer", default=None,
                   help="sgd, momentum, nesterov, adagrad, adam, adamw, rmsprop, paper, paper-momentum")
    r.add_argument("--momentum", type=FRACTION, default=None, help="(default 0.9)")
    r.add_argument("--resume", default=None, help="continue from this checkpoint")
    r.add_argument("--checkpoint-every", type=COUNT, default=None, help="also save every N epochs")
    r.add_argument("--holdout", type=FRACTION, default=None, help="Iris: hold out this stratified fraction")
    r.add_argument("--validate", action="store_true", help="evaluate on the test split after every epoch")
    r.add_argument("--backend", default=None, choices=["numpy", "jax"], help="(default numpy)")
    r.add_argument("--whole-epoch", action="store_true",
                   help="JAX: run each epoch's batches in one compiled lax.scan on the device")
    r.add_argument("--dtype", default=None, choices=["float32", "float64"], help="(default float32)")
    r.add_argument("--skip-nonfinite", action="store_true", help="skip updates that give NaN/inf instead of stopping")
    _output_options(t)
    t.set_defaults(func=cmd_train)


def _model_data_options(p) -> None:
    p.add_argument("--data", default=None, help="a table (CSV with a header row, or .npz); default: the "
                                                "preset's bundled data")
    p.add_argument("--target", default=None, help="the label column (default: the one the model was trained on)")
    p.add_argument("--split", default=None, choices=["test", "train"], help="a preset's split (default test)")


def _export_parser(sub) -> None:
    x = sub.add_parser("export", help="a saved Boolean classifier as hardware (Verilog, testbench, BLIF, figures)")
    x.add_argument("model_file")
    x.add_argument("--verilog", default=None, help="write the Verilog module here")
    x.add_argument("--testbench", default=None, help="write a testbench feeding every row of --data here")
    _model_data_options(x)
    x.add_argument("--blif", default=None, help="write the whole classifier circuit as BLIF here")
    x.add_argument("--pipeline", type=int_range(1, 10**6, "logic levels per stage"), default=None, metavar="K",
                   help="a register stage every K logic levels (a clocked design; reports latency_cycles)")
    x.add_argument("--form", default="parallel", choices=["parallel", "stream"],
                   help="parallel: one port per feature (default); stream: the features over a bus, --lanes per "
                        "cycle, with in_valid / out_valid (reports io_pins, latency_cycles, cycles_per_sample)")
    x.add_argument("--lanes", type=int_range(1, 10**6, "features per cycle"), default=None, metavar="N",
                   help="features per cycle of --form stream (default 1)")
    x.add_argument("--simulate", default=None, choices=["icarus", "verilator"],
                   help="run the --testbench in this simulator and check its labels against predict")
    x.add_argument("--cost", action="store_true",
                   help="the cost split into encoder, network and class head (and the stream form's registers): "
                        "two-input gates, and with Yosys LUT6 / LUT4 of each part")
    x.add_argument("--stats", action="store_true",
                   help="PyRTL and (if present) Yosys figures, and a Yosys proof that the Verilog computes what "
                        "an independent model of predict computes")
    x.add_argument("--no-yosys", action="store_true", help="--stats / --cost without Yosys even where it is installed")
    x.add_argument("--no-formal", action="store_true", help="--stats without the formal check")
    x.add_argument("--yosys-effort", default=None, choices=["auto", "default", "fast"],
                   help="ABC scripts for the cell and LUT counts (auto: fast above 8,000 gates)")
    x.add_argument("--yosys-timeout", type=POSITIVE_FLOAT, default=None, metavar="SECONDS",
                   help="give up on each Yosys run after this long (default 900)")
    x.add_argument("--json", action="store_true")
    x.set_defaults(func=cmd_export)


def build_parser() -> argparse.ArgumentParser:
    from paralens import __version__

    parser = _Parser(prog="paralens", description="Deep learning with parametric lenses: Boolean classifiers "
                                                  "on your data, as hardware.")
    parser.add_argument("--version", action="version", version=f"paralens {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    e = sub.add_parser("evaluate", help="accuracy of a saved model (a Boolean classifier or a checkpoint)")
    e.add_argument("checkpoint")
    _model_data_options(e)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_evaluate)
    pr = sub.add_parser("predict", help="print one predicted label per line (a saved Boolean classifier)")
    pr.add_argument("model_file")
    _model_data_options(pr)
    pr.add_argument("--backend", choices=["numpy", "jax"], default="numpy",
                    help="the engine: numpy, the CPU bit-packed kernel (default); jax, the same netlist as a JAX "
                         "program on JAX's default device (a GPU where there is one; needs paralens[jax])")
    pr.add_argument("--threads", type=COUNT, default=None, metavar="N",
                    help="numpy backend: run the kernel in N threads (default: every core this process may use)")
    pr.set_defaults(func=cmd_predict)
    _export_parser(sub)
    cp = sub.add_parser("compare", help="Boolean classifiers against real-valued baselines on one data set")
    cp.add_argument("--dataset", default=None, choices=["iris", "breast-cancer", "mnist"])
    cp.add_argument("--data", default=None, help="your table (CSV or .npz) instead of --dataset")
    cp.add_argument("--target", default=None, help="the label column of --data")
    cp.add_argument("--test-fraction", type=FRACTION, default=None, help="held out of --data (default 0.2)")
    cp.add_argument("--seeds", type=int_range(1, 1000, "a number of seeds"), default=3,
                    help="number of seeds (0, 1, ...); figures are means")
    cp.add_argument("--methods", default=None, help="comma-separated subset, e.g. rda,gates-M,mlp")
    cp.add_argument("--quick", action="store_true", help="few epochs and small networks (for checks)")
    cp.add_argument("--hardware", action="store_true", help="also the LUT6 count of each circuit (needs Yosys)")
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=cmd_compare)
    from paralens.cli import draw as draw_command
    from paralens.cli import dream as dream_command
    from paralens.cli import fpga as fpga_command
    from paralens.cli import gan as gan_command

    draw_command.add_parser(sub)
    dream_command.add_parser(sub)
    gan_command.add_parser(sub)
    fpga_command.add_parser(sub)
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
    except SystemExit as e:  # --help / --version (0) or a usage error (2), already printed as one line
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
