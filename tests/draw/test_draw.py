"""String diagrams: the layout's geometry (boxes, wires, labels), determinism, and the command."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from paralens.circuits.syntax import Builder, Circuit
from paralens.cli.common import UsageError
from paralens.draw import draw, layout_of
from paralens.draw.geometry import Rect, Wire, problems, segment_crosses
from paralens.fields import GF
from paralens.instances.smooth import dense, relu, sigmoid
from paralens.learning.supervised import Learner
from paralens.models import PRESETS, find_preset, make_optimiser

F = GF(2)


def learner(name="iris-hidden"):
    p = find_preset(name)
    opt, lr = make_optimiser(p.optimizer, p.lr)
    return Learner(p.build(), p.loss(), opt, lr)


def dozen_gates() -> Circuit:
    b = Builder(F, 4)
    x = b.inputs()
    a = b.mul(x[[0, 1, 2]], x[[1, 2, 3]])  # 3
    n = b.neg(a)  # 3 (not over GF(2))
    s = b.add(n[[0, 1]], a[[1, 2]])  # 2
    m = b.mul(s, x[[3, 0]])  # 2
    o = b.add(m[[0]], m[[1]])  # 1
    return b.build([o, b.mul(o, x[[2]])])  # 1: twelve gates


def big_bundled(n=5000) -> Circuit:
    b = Builder(F, 64)
    rng = np.random.default_rng(0)
    x = b.inputs()
    h = b.mul(x[rng.integers(0, 64, n)], x[rng.integers(0, 64, n)])
    y = b.add(h[rng.integers(0, n, n)], x[rng.integers(0, 64, n)])
    return b.build([y[:10]])


def boxes(lay, kind=None):
    return [b for b in lay.boxes if kind is None or b.kind == kind]


def test_segment_check_sees_a_wire_through_a_box_and_not_one_beside_it():
    r = Rect(10, 10, 10, 10)
    assert segment_crosses((0, 15), (30, 15), r)
    assert not segment_crosses((0, 20), (30, 20), r)  # along the edge
    assert not segment_crosses((0, 15), (10, 15), r)  # ends on the edge


def test_problems_reports_overlaps_and_crossings():
    from paralens.draw.geometry import Box, Layout, Text

    b = (Box(Rect(0, 0, 10, 10), "a", "lens"), Box(Rect(5, 5, 10, 10), "b", "lens"))
    lay = Layout(20, 20, b, (Wire(((0, 2), (20, 2)), "w"),), (Text(Rect(0, 0, 3, 3), "t"),))
    got = problems(lay)
    assert "boxes 0 and 1 overlap" in got and "wire 'w' crosses box 'a'" in got and "label 't' lies on box 0" in got


def test_preset_mlp_one_box_per_layer_left_to_right():
    lay = layout_of(find_preset("mnist-mlp").build())
    assert [b.label for b in lay.boxes] == ["flatten", "dense(784->128, relu)", "dense(128->10, identity)"]
    xs = [b.rect.x for b in lay.boxes]
    assert xs == sorted(xs) and all(a.rect.x + a.rect.w < b.rect.x for a, b in zip(lay.boxes, lay.boxes[1:]))
    assert len({b.rect.y + b.rect.h / 2 for b in lay.boxes}) == 1  # on one axis
    assert problems(lay) == []


def test_parameter_wires_enter_their_box_from_above():
    lay = layout_of(find_preset("mnist-mlp").build())
    params = [w for w in lay.wires if w.kind == "param"]
    assert [w.label for w in params] == ["2.weight: R[128, 784]", "2.bias: R[128]", "3.weight: R[10, 128]",
                                         "3.bias: R[10]"]
    for w in params:
        (x0, y0), (x1, y1) = w.points
        box = next(b.rect for b in lay.boxes if b.rect.x < x1 < b.rect.x + b.rect.w)
        assert x0 == x1 and y0 > y1 == box.y + box.h


def test_expand_opens_layers_to_primitives():
    m = find_preset("iris-hidden").build()
    assert len(boxes(layout_of(m))) == 2
    lay = layout_of(m, expand=True)
    assert [b.label for b in lay.boxes] == ["linear(4->20)", "bias(20)", "sigmoid", "linear(20->3)", "bias(3)",
                                            "sigmoid"]
    assert problems(lay) == []


@pytest.mark.parametrize("backward", [False, True])
def test_learner_optimiser_above_the_model_then_loss_and_learning_rate(backward):
    lay = layout_of(learner(), backward=backward)
    assert problems(lay) == []
    (opt,) = boxes(lay, "optimiser")
    model = boxes(lay, "para")
    (loss,) = boxes(lay, "loss")
    (lr,) = boxes(lay, "learning rate")
    assert opt.label == "gradient_update" and loss.label == "mse" and lr.label == "constant"
    assert all(opt.rect.y > m.rect.y + m.rect.h for m in model)
    assert opt.rect.x <= model[0].rect.x
    assert opt.rect.x + opt.rect.w >= model[-1].rect.x + model[-1].rect.w - 1e-9  # spans the model
    assert model[-1].rect.x + model[-1].rect.w < loss.rect.x < lr.rect.x
    # every model parameter wire runs from the optimiser's bottom edge to its layer's top
    for w in (w for w in lay.wires if w.kind == "param" and "weight" in w.label):
        assert w.points[0][1] == opt.rect.y
    labels = {t.text for t in lay.texts}
    assert {"S × P", "label: R[batch, 3]", "R[batch, 4]", "R[batch, 3]"} <= labels


def test_backward_wires_run_below_the_forward_ones():
    lay = layout_of(dense(4, 3, "sigmoid") >> relu(), backward=True)
    fwd = [w for w in lay.wires if w.kind == "forward"]
    bwd = [w for w in lay.wires if w.kind == "backward"]
    assert len(fwd) == len(bwd) == 3
    assert all(f.points[0][1] > b.points[0][1] for f, b in zip(fwd, bwd))
    assert {w.label for w in bwd} == {"R[batch, 4]'", "R[batch, 3]'"}  # relu's type in place
    assert [w.label for w in lay.wires if w.kind == "param-back"] == ["weight': R[3, 4]", "bias': R[3]"]
    assert problems(lay) == []


def test_tensor_of_two_lenses_is_stacked():
    lay = layout_of(sigmoid() @ (relu() >> sigmoid()))
    top, *bottom = lay.boxes
    assert [b.label for b in lay.boxes] == ["sigmoid", "relu", "sigmoid"]
    assert all(b.rect.y + b.rect.h < top.rect.y for b in bottom)
    ins = [w for w in lay.wires if w.points[0][0] == 0.0]
    assert len(ins) == 2 and ins[0].points[0][1] > ins[1].points[0][1]
    assert problems(lay) == []


def test_a_dozen_gates_are_drawn_one_by_one():
    c = dozen_gates()
    assert c.n_gates == 12
    lay = layout_of(c)
    assert len(lay.boxes) == 12 and problems(lay) == []
    assert sorted({b.label for b in lay.boxes}) == ["add", "mul", "not"] or \
        sorted({b.label for b in lay.boxes}) == ["add", "mul", "neg"]
    assert {"x0: GF(2)", "x3: GF(2)", "y0", "y1"} <= {t.text for t in lay.texts}
    # every gate in its own column, left to right in the circuit's order
    xs = [b.rect.x for b in lay.boxes]
    assert xs == sorted(xs) and len(set(xs)) == 12


def test_a_ten_thousand_gate_circuit_is_drawn_by_bundled_operation():
    c = big_bundled()
    assert c.n_gates == 10_000
    lay = layout_of(c)
    assert [b.label for b in lay.boxes] == ["mul ×5000", "add ×5000"]
    assert problems(lay) == [] and lay.width < 1000
    assert {"x: GF(2)^64", "y0..y9 (10)"} <= {t.text for t in lay.texts}


def test_svg_is_deterministic_and_names_the_parts():
    x = learner()
    a, b = draw(x).svg(), draw(x).svg()
    assert a == b
    text = a.decode()
    assert "<dc:date>" not in text
    for name in ("gradient_update", "mse", "dense(4-&gt;20, sigmoid)", "1.weight: R[20, 4]"):
        assert name in text


def test_save_writes_svg_and_png(tmp_path):
    d = draw(dozen_gates(), tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d.save(tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_bytes() == d.svg() and d._repr_svg_().startswith("<?xml")
    with pytest.raises(ValueError, match="svg or .png"):
        d.save(tmp_path / "c.pdf")


def test_circuits_are_not_drawn_backward():
    with pytest.raises(ValueError, match="forward only"):
        layout_of(dozen_gates(), backward=True)


# -- the command ----------------------------------------------------------------------------


def run(argv):
    from paralens.cli import draw as cli

    ap = argparse.ArgumentParser()
    cli.add_parser(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["draw", *argv])
    return args.func(args)


def test_command_draws_a_learner_and_a_boolean_preset(tmp_path):
    out = tmp_path / "l.svg"
    assert run(["--model", "iris-hidden", "--learner", "--backward", "--out", str(out)]) == 0
    assert b"gradient_update" in out.read_bytes()
    assert run(["--model", "iris3-rda", "--expand", "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["--out", "x.svg"], "either"),
    (["m.plc", "--model", "iris-hidden", "--out", "x.svg"], "either"),
    (["--model", "iris-hidden", "--out", "x.pdf"], ".svg or .png"),
    (["--model", "iris3-rda", "--learner", "--out", "x.svg"], "--learner does not apply"),
    (["--model", "iris3-rda", "--expand", "--backward", "--out", "x.svg"], "--backward does not apply"),
    (["--model", "iris-gates", "--out", "x.svg"], "train it"),
    (["--model", "nope", "--out", "x.svg"], "unknown model"),
])
def test_command_refuses_wrong_combinations(argv, message):
    with pytest.raises(UsageError, match=message):
        run(argv)


def test_command_refuses_options_for_a_saved_classifier(tmp_path):
    f = tmp_path / "m.plc"
    f.write_bytes(b"")
    with pytest.raises(UsageError, match="--backward does not apply to a saved classifier"):
        run([str(f), "--backward", "--out", str(tmp_path / "x.svg")])


def test_command_draws_a_saved_classifier(tmp_path):
    from paralens.boolean.presets import train_preset

    clf, _ = train_preset("iris-rda")
    clf.save(tmp_path / "m.plc")
    out = tmp_path / "c.svg"
    assert run([str(tmp_path / "m.plc"), "--out", str(out)]) == 0
    lay = layout_of(clf)
    assert problems(lay) == [] and len(lay.boxes) == clf.circuit.n_gates == 14 and out.read_bytes() == draw(clf).svg()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_real_preset_and_its_learner_lay_out_cleanly(name):
    for x in (find_preset(name).build(), learner(name)):
        for expand in (False, True):
            for backward in (False, True):
                assert problems(layout_of(x, expand=expand, backward=backward)) == [], (name, expand, backward)


def test_a_tensor_of_parametric_lenses_keeps_each_factors_parameter_wires():
    lay = layout_of(dense(4, 3, "sigmoid") @ dense(2, 5, None), backward=True)
    assert problems(lay) == []
    top, bottom = lay.boxes
    assert [w.label for w in lay.wires if w.kind == "param"] == ["0.weight: R[3, 4]", "0.bias: R[3]",
                                                                 "1.weight: R[5, 2]", "1.bias: R[5]"]
    low = [w for w in lay.wires if w.kind == "param" and w.label.startswith("1.")]
    assert all(bottom.rect.y + bottom.rect.h < w.points[0][1] < top.rect.y for w in low)


def test_reversed_wires_are_marked_in_the_middle_of_their_longest_segment():
    from paralens.draw.render import arrow_at

    assert arrow_at(((0, 0), (2, 0), (2, 10), (3, 10))) == (2, 5)
    assert arrow_at(((10, 5), (0, 5))) == (5, 5)
