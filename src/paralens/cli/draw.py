"""``paralens draw``: the string diagram of a preset, its learner, or a saved Boolean classifier."""

from __future__ import annotations

import os

import numpy as np

from paralens.cli.common import UsageError

_WIDTH = {"iris": 4, "iris2-paper": 4, "iris-paper": 4, "mnist": 784, "mnist01": 784}
_CLASSES = {"iris": 3, "iris2-paper": 2, "iris-paper": 3, "mnist": 10, "mnist01": 2}


def add_parser(sub) -> None:
    d = sub.add_parser("draw", help="draw a model, its learner or a saved Boolean classifier as a string diagram")
    d.add_argument("classifier", nargs="?", default=None, help="a saved Boolean classifier (.plc)")
    d.add_argument("--model", default=None, help="a preset (see `paralens models`)")
    d.add_argument("--out", required=True, help="the picture to write: .svg or .png")
    d.add_argument("--learner", action="store_true", help="the preset's learner: model, loss, learning rate, "
                   "optimiser (a real-valued preset)")
    d.add_argument("--backward", action="store_true", help="both directions of each lens (not for circuits)")
    d.add_argument("--expand", action="store_true", help="every layer opened to its primitives (a Boolean "
                   "preset: to its gates)")
    d.set_defaults(func=cmd_draw)


def _check(args) -> None:
    if (args.classifier is None) == (args.model is None):
        raise UsageError("draw takes either a saved classifier (MODEL.plc) or --model NAME")
    if os.path.splitext(args.out)[1].lower() not in (".svg", ".png"):
        raise UsageError(f"--out {args.out}: name the picture .svg or .png")
    if args.classifier is not None:
        for opt in ("learner", "backward", "expand"):
            if getattr(args, opt):
                raise UsageError(f"--{opt} does not apply to a saved classifier (a circuit, drawn forward)")
        if not os.path.exists(args.classifier):
            raise UsageError(f"{args.classifier}: no such file")


def boolean_model(preset):
    """A Boolean preset's parametric circuit, built for its data's width (gate networks are learned:
    train them and draw the saved classifier)."""
    if preset.build is None:
        raise UsageError(f"{preset.name} is a learned gate network: train it (`paralens train --model "
                         f"{preset.name} --out M.plc`) and draw M.plc")
    bits = np.zeros((1, _WIDTH[preset.dataset]), dtype=np.int64)
    return preset.build(bits, _CLASSES[preset.dataset], 0)


def subject(args):
    """What to draw: the classifier, the Boolean preset's circuit, the preset's model or its learner."""
    from paralens.models import find_preset, is_boolean

    if args.classifier is not None:
        from paralens.boolean.classifier import CircuitClassifier

        return CircuitClassifier.load(args.classifier)
    preset = find_preset(args.model)
    if is_boolean(args.model):
        if args.learner:
            raise UsageError(f"--learner does not apply to a Boolean preset ({args.model}): draw its circuit")
        if args.backward and args.expand:
            raise UsageError("--backward does not apply with --expand to a Boolean preset (a circuit)")
        return boolean_model(preset)
    model = preset.build()
    if not args.learner:
        return model
    from paralens.learning.supervised import Learner
    from paralens.models import make_optimiser

    opt, lr = make_optimiser(preset.optimizer, preset.lr)
    return Learner(model, preset.loss(), opt, lr)


def cmd_draw(args) -> int:
    from paralens.draw import draw

    _check(args)
    try:
        x = subject(args)
    except ValueError as e:
        raise UsageError(str(e)) from None
    d = draw(x, args.out, backward=args.backward, expand=args.expand)
    print(f"wrote {args.out}: {len(d.layout.boxes)} boxes, {len(d.layout.wires)} wires")
    return 0
