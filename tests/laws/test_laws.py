"""The law checker (paralens.laws) on every shipped primitive, and on wrong ones it must catch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paralens import LawViolation, Map, Para, R, laws, reals
from paralens.categories import cartesian as C
from paralens.categories.functor import MapCompose
from paralens.categories.lens import Compose, PrimitiveLens
from paralens.categories.para import ParaLens, ParamSpec
from paralens.categories.types import ArrayType, Product
from paralens.instances import initialisers
from paralens.instances import smooth as S

FAST = settings(max_examples=6, deadline=None, derandomize=True)

seeds = st.integers(0, 2**16)
small_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple)


def assert_ok(report: laws.LawReport, *must_have: str):
    """All passed, some check ran (``ok`` is also true of an empty report), and each law named ran."""
    assert report.ok, str(report)
    ran = {r.law for r in report if r.checks > 0}
    assert ran, f"no check ran: {report}"
    for law in must_have:
        assert law in ran, f"law {law!r} was not checked: {report}"


def positive(shape, batch=2):
    return lambda rng: rng.uniform(0.3, 3.0, (batch,) + tuple(shape))


# -- every smooth primitive -------------------------------------------------------------------------

ELEMENTWISE = {
    "exp": S.exp,
    "sin": S.sin,
    "square": S.square,
    "relu": S.relu,
    "leaky_relu": lambda: S.leaky_relu(0.2),
    "sigmoid": S.sigmoid,
    "tanh": S.tanh,
    "gelu": lambda: S.gelu(approximate=False),
    "gelu_tanh": lambda: S.gelu(approximate=True),
    "softmax": S.softmax,
    "log_softmax": S.log_softmax,
    "identity": S.identity_activation,
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@FAST
@given(seed=seeds, shape=small_shapes)
def test_activation_laws(name, seed, shape):
    assert_ok(laws.check_laws(ELEMENTWISE[name](), shape=shape, seed=seed),
              "reverse derivative", "RD.2 additivity", "RD.6 linearity", "RD.7 symmetry",
              "R functor: lens = (f, R[f])")


@FAST
@given(seed=seeds, shape=small_shapes)
def test_log_laws_on_positive_inputs(seed, shape):
    assert_ok(laws.check_laws(S.log(), sample=positive(shape), seed=seed), "reverse derivative", "RD.7 symmetry")


@FAST
@given(seed=seeds, shape=small_shapes, c=st.floats(-3, 3, allow_nan=False))
def test_arithmetic_laws(seed, shape, c):
    assert_ok(laws.check_laws(S.add2(), shape=shape, seed=seed), "reverse derivative", "RD.6 linear map adjoint")
    assert_ok(laws.check_laws(S.multiply(), shape=shape, seed=seed), "reverse derivative", "RD.7 symmetry")
    assert_ok(laws.check_laws(S.scale(c), shape=shape, seed=seed), "reverse derivative", "RD.6 linear map adjoint")


@FAST
@given(seed=seeds, n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3))
def test_matmul_laws(seed, n, k, m):
    assert_ok(laws.check_laws(S.matmul(n, k, m), seed=seed), "reverse derivative", "RD.7 symmetry")


@FAST
@given(seed=seeds, n_in=st.integers(1, 4), n_out=st.integers(1, 4))
def test_linear_bias_dense_laws(seed, n_in, n_out):
    assert_ok(laws.check_laws(S.linear(n_in, n_out), seed=seed),
              "reverse derivative in parameters", "reverse derivative in input", "RD.7 symmetry",
              "R functor: lens = (f, R[f])", "backward_params = dp of put")
    assert_ok(laws.check_laws(S.bias(n_out), seed=seed), "reverse derivative in parameters",
              "backward_params = dp of put")
    assert_ok(laws.check_laws(S.bias((2, n_out)), seed=seed), "reverse derivative in parameters")
    for act in ("relu", "tanh", "sigmoid", None):
        assert_ok(laws.check_laws(S.dense(n_in, n_out, act), seed=seed),
                  "reverse derivative in parameters", "RD.5 chain rule")


conv_cfg = st.fixed_dictionaries({
    "in_ch": st.integers(1, 2), "out_ch": st.integers(1, 3), "k": st.integers(1, 3),
    "stride": st.integers(1, 2), "padding": st.integers(0, 1), "use_bias": st.booleans(),
    "extra_h": st.integers(0, 3), "extra_w": st.integers(0, 3),
})


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=seeds, cfg=conv_cfg)
def test_conv2d_laws(seed, cfg):
    h = max(cfg["k"] - 2 * cfg["padding"], 1) + cfg["extra_h"]
    w = max(cfg["k"] - 2 * cfg["padding"], 1) + cfg["extra_w"]
    layer = S.conv2d(cfg["in_ch"], cfg["out_ch"], cfg["k"], cfg["stride"], cfg["padding"], cfg["use_bias"])
    report = laws.check_laws(layer, shape=(cfg["in_ch"], h, w), seed=seed)
    assert_ok(report, "reverse derivative in parameters", "reverse derivative in input", "RD.7 symmetry",
              "backward_params = dp of put")
    assert sorted(layer.params) == (["bias", "weight"] if cfg["use_bias"] else ["weight"])


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=seeds, kind=st.sampled_from(["max", "avg"]), size=st.integers(1, 3), stride=st.integers(1, 3),
       c=st.integers(1, 2), extra=st.integers(0, 3))
def test_pool_laws(seed, kind, size, stride, c, extra):
    lens = (S.max_pool2d if kind == "max" else S.avg_pool2d)(size, stride)
    report = laws.check_laws(lens, shape=(c, size + extra, size + extra + 1), seed=seed)
    assert_ok(report, "reverse derivative", "RD.2 additivity", "R functor: lens = (f, R[f])")
    if kind == "avg":  # flagged linear: the adjoint identity is checked too
        assert_ok(report, "RD.6 linear map adjoint", "RD.6 linear map is additive")


@FAST
@given(seed=seeds)
def test_reshaping_and_dropout_laws(seed):
    assert_ok(laws.check_laws(S.flatten(), shape=(2, 3), seed=seed), "reverse derivative", "RD.6 linear map adjoint")
    assert_ok(laws.check_laws(S.reshape(3, 2), shape=(6,), seed=seed), "RD.6 linear map adjoint")
    assert_ok(laws.check_laws(S.reshape((2, 1, 3)), shape=(3, 2), seed=seed), "reverse derivative")
    assert_ok(laws.check_laws(S.dropout(0.5), seed=seed), "reverse derivative")  # evaluation mode: identity


def test_dropout_training_mode_is_a_fixed_linear_map():
    from paralens.backend import get_backend
    from paralens.categories.lens import Context

    B = get_backend("numpy")
    ctx = Context(True, B.key(3), B)
    lens = S.dropout(0.5)
    x = np.ones((2, 8))
    y = lens.get(x, ctx)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).sum() < y.size  # some dropped, kept ones scaled
    assert_ok(laws.check_laws(lens, ctx=ctx, shape=(8,)), "reverse derivative", "RD.2 additivity")


@FAST
@given(seed=seeds, shape=small_shapes)
def test_maps_themselves(seed, shape):
    """A Map (a morphism of C) is checked directly, and against its lens R(map)."""
    for m in (S.relu_map(), S.sigmoid_map(), S.tanh_map(), S.softmax_map(), S.gelu_map(), S.scale_map(2.0),
              S.add_map(), S.multiply_map()):
        assert_ok(laws.check_laws(m, shape=shape, seed=seed), "reverse derivative", "R functor: lens = (f, R[f])")


# -- the Cartesian structure ------------------------------------------------------------------------


@FAST
@given(seed=seeds, shape=small_shapes)
def test_cartesian_primitives(seed, shape):
    t = reals(*shape)
    for lens in (C.copy(), C.delete(), C.add(), C.proj0(), C.proj1(), C.swap(), C.zero(t)):
        assert_ok(laws.check_laws(lens, shape=shape, seed=seed), "RD.2 additivity", "RD.6 linear map adjoint")
        assert_ok(laws.check_laws(lens.map, shape=shape, seed=seed), "reverse derivative")
    # copy, add and swap on product types
    pt = Product((t, reals(2)))
    for lens in (C.copy(pt), C.delete(pt), C.zero(pt), C.swap(t, reals(2))):
        assert_ok(laws.check_laws(lens, seed=seed), "reverse derivative", "RD.6 linear map adjoint")
    assert_ok(laws.check_laws(C.pair(S.sin(), S.exp()), shape=shape, seed=seed), "reverse derivative",
              "RD.5 chain rule")


@FAST
@given(seed=seeds, shape=small_shapes)
def test_rd1_rd3_rd4(seed, shape):
    assert_ok(laws.check_rd3(reals(*shape), reals(2), seed=seed), "RD.3 R[1] = pi_1", "RD.3 R[pi_0] = pi_1 ; iota_0",
              "RD.3 R[pi_1] = pi_1 ; iota_1")
    assert_ok(laws.check_rd4(S.sin(), S.tanh(), shape=shape, seed=seed), "RD.4 pairing")
    assert_ok(laws.check_rd4(S.sigmoid_map(), S.relu_map(), shape=shape, seed=seed), "RD.4 pairing")
    assert_ok(laws.check_rd1(S.sin(), S.square(), shape=shape, seed=seed), "RD.1 sum")
    assert_ok(laws.check_rd1(S.tanh_map(), S.sigmoid_map(), shape=shape, seed=seed), "RD.1 sum")


# -- composites and the category laws ----------------------------------------------------------------


@FAST
@given(seed=seeds, shape=small_shapes)
def test_chain_rule_on_composites(seed, shape):
    assert_ok(laws.check_laws(S.sin() >> S.exp() >> S.tanh(), shape=shape, seed=seed), "RD.5 chain rule",
              "reverse derivative")
    assert_ok(laws.check_laws(S.sigmoid() @ S.softmax(), shape=shape, seed=seed), "R preserves @")
    assert_ok(laws.check_chain_rule(S.tanh_map(), S.sigmoid_map(), shape=shape, seed=seed), "RD.5 chain rule")
    assert_ok(laws.check_chain_rule(S.tanh(), S.sigmoid(), shape=shape, seed=seed), "RD.5 chain rule")
    m = S.tanh_map() >> S.scale_map(3.0) >> S.gelu_map()
    assert isinstance(m, MapCompose)
    assert_ok(laws.check_laws(m, shape=shape, seed=seed), "RD.5 chain rule", "R functor: lens = (f, R[f])")
    assert_ok(laws.check_laws(S.tanh_map() @ S.relu_map(), shape=shape, seed=seed), "R preserves @")
    model = S.linear(3, 4) >> S.bias(4) >> S.relu() >> S.linear(4, 2) >> S.softmax()
    assert_ok(laws.check_laws(model, seed=seed), "RD.5 chain rule", "reverse derivative in parameters",
              "reverse derivative in input", "backward_params = dp of put")
    assert_ok(laws.check_laws(S.linear(3, 2) @ S.bias(2), seed=seed), "R preserves @")


@FAST
@given(seed=seeds, shape=small_shapes)
def test_category_laws(seed, shape):
    names = ("category: associativity", "category: left identity", "category: right identity",
             "category: interchange")
    assert_ok(laws.check_category_laws(S.sin(), S.tanh(), S.sigmoid(), shape=shape, seed=seed), *names)
    assert_ok(laws.check_category_laws(S.tanh_map(), S.scale_map(2.0), S.sigmoid_map(), shape=shape, seed=seed),
              *names)
    assert_ok(laws.check_category_laws(S.linear(3, 3), S.bias(3) >> S.tanh(), S.linear(3, 3), seed=seed), *names)
    assert_ok(laws.check_category_laws(S.linear(2, 3), S.relu(), S.linear(3, 1), seed=seed), *names)


# -- wrong reverse derivatives are caught -------------------------------------------------------------


def bad_sin_map():
    return Map(np.sin, lambda x, d: 1.01 * np.cos(x) * d, reals(3), reals(3), "bad_sin")


def test_wrong_sin_is_caught_and_named():
    report = laws.check_laws(bad_sin_map())
    assert not report.ok
    assert [r.law for r in report.failures] == ["reverse derivative"]
    # about 1% of the directional derivative: the error is far above the tolerance
    worst = report["reverse derivative"]
    assert worst.error > 100 * worst.tolerance
    with pytest.raises(LawViolation) as info:
        report.raise_if_failed()
    msg = str(info.value)
    assert "law 'reverse derivative' fails for bad_sin" in msg
    assert "counterexample: a = [[" in msg and "db = [[" in msg
    # the same through its lens
    with pytest.raises(LawViolation, match="reverse derivative.*bad_sin"):
        laws.check_laws(R(bad_sin_map())).raise_if_failed()


def test_dropped_term_is_caught_by_derivative_and_rd7():
    bad = Map(lambda a: a[0] * a[1], lambda a, d: (d * a[1], np.zeros_like(a[1])),
              Product((reals(2), reals(2))), reals(2), "mul_drops_dy")
    report = laws.check_laws(bad)
    failed = {r.law for r in report.failures}
    assert {"reverse derivative", "RD.7 symmetry"} <= failed
    assert "RD.2 additivity" not in failed  # still linear in the change
    assert "mul_drops_dy" in str(report)


def test_non_additive_reverse_is_caught_by_rd2_and_rd6():
    bad = Map(np.sin, lambda x, d: np.cos(x) * d * np.abs(d), reals(3), reals(3), "sin_nonlinear_in_d")
    failed = {r.law for r in laws.check_laws(bad).failures}
    assert {"RD.2 additivity", "RD.6 linearity", "reverse derivative"} <= failed


def test_wrong_adjoint_of_linear_map_is_caught():
    bad = Map(lambda x: 3.0 * x, lambda x, d: 2.0 * d, reals(3), reals(3), "3x_with_2d", linear=True)
    failed = {r.law for r in laws.check_laws(bad).failures}
    assert {"RD.6 linear map adjoint", "reverse derivative"} <= failed
    # a map flagged linear that is not additive
    affine = Map(lambda x: x + 1.0, lambda x, d: d, reals(2), reals(2), "x+1", linear=True)
    failed = {r.law for r in laws.check_laws(affine).failures}
    assert failed == {"RD.6 linear map is additive", "RD.6 linear map adjoint"}


def test_fast_lens_disagreeing_with_its_map_is_caught():
    m = Map(np.tanh, lambda x, d: (1 - np.tanh(x) ** 2) * d, reals(3), reals(3), "tanh_bad_lens",
            lens=(lambda x: (np.tanh(x), np.tanh(x)), lambda t, d: (1 - t) * d))
    report = laws.check_laws(R(m))
    assert "R functor: lens = (f, R[f])" in {r.law for r in report.failures}
    assert "reverse derivative" in {r.law for r in report.failures}  # the lens itself is wrong too
    assert laws.check_laws(m)["reverse derivative"].passed  # ... but the map is right


class SkippingCompose(Compose):
    """A composite whose backward forgets its last part (a broken chain rule)."""

    def backward(self, residuals, db):
        for f, r in zip(reversed(self.parts[:-1]), reversed(residuals[:-1])):
            db = f.backward(r, db)
        return db


def test_broken_chain_rule_is_caught():
    good = S.sin() >> S.scale(3.0)
    bad = SkippingCompose(list(good.parts), good.dom, good.cod)
    report = laws.check_laws(bad)
    failed = {r.law for r in report.failures}
    assert {"RD.5 chain rule", "reverse derivative"} <= failed
    with pytest.raises(LawViolation, match="RD.5 chain rule"):
        laws.check_chain_rule(bad).raise_if_failed()


def test_wrong_parameter_gradient_is_caught_in_parameters_only():
    def fn(a):
        (w,), x = a
        return x @ w.T

    def rev(a, dy):
        (w,), x = a
        return (2 * dy.T @ x,), dy @ w

    m = Map(fn, rev, Product((Product((reals(2, 3),)), reals(3))), reals(2), "linear_bad_dw")
    bad = ParaLens(R(m), {"weight": ParamSpec((2, 3), initialisers.get("normal"))})
    report = laws.check_laws(bad)
    failed = {r.law for r in report.failures}
    assert "reverse derivative in parameters" in failed
    assert "reverse derivative in input" not in failed
    with pytest.raises(LawViolation, match="reverse derivative in parameters.*linear_bad_dw"):
        report.raise_if_failed()


def test_wrong_parameter_only_backward_is_caught():
    """Training uses backward_params (no input change for the first layer): it must agree with put."""
    good = S.linear(3, 2)
    bad = ParaLens(good.lens, good.params, "linear_bad_fast_dw", backward_params=lambda a, dy: (dy.T @ a[1] * 1.01,))
    report = laws.check_laws(bad)
    assert [r.law for r in report.failures] == ["backward_params = dp of put"]
    # in a chain only the first part's params-only backward is used
    assert [r.law for r in laws.check_laws(bad >> S.tanh()).failures] == ["backward_params = dp of put"]
    assert_ok(laws.check_laws(S.linear(2, 3) >> bad), "backward_params = dp of put", "reverse derivative in parameters")


def test_wrong_projection_is_caught_by_rd3():
    bad_proj = Map(lambda x: x[0], lambda x, d: (d, d), Product((reals(3), reals(3))), reals(3), "proj0_bad")
    report = laws.check_rd3(reals(3), proj0=bad_proj)
    assert [r.law for r in report.failures] == ["RD.3 R[pi_0] = pi_1 ; iota_0"]


def test_wrong_pairing_is_caught_by_rd4(monkeypatch):
    assert_ok(laws.check_rd4(S.sin(), S.tanh(), shape=(3,)), "RD.4 pairing")
    # <f, g> = copy >> (f @ g): with a copy whose put drops the second change, RD.4 breaks
    bad_copy = Map(lambda a: (a, a), lambda a, d: d[0], ArrayType(), Product((ArrayType(), ArrayType())), "copy_bad",
                   infer=lambda dom: Product((dom, dom)))
    report = laws.check_laws(bad_copy, shape=(3,))
    assert "reverse derivative" in {r.law for r in report.failures}
    monkeypatch.setattr(C, "copy", lambda t=None: R(bad_copy))
    report = laws.check_rd4(S.sin(), S.tanh(), shape=(3,))
    assert [r.law for r in report.failures] == ["RD.4 pairing"]
    assert "R[<f, g>](a, (db, dc)) != R[f](a, db) + R[g](a, dc)" in report.failures[0].detail


def test_category_laws_can_fail():
    calls = itertools.count()

    def fwd(a):  # not a function of its input: every call gives a different value
        return a + next(calls), None

    weird = PrimitiveLens(fwd, lambda r, d: d, reals(3), reals(3), "stateful")
    report = laws.check_category_laws(weird, S.sin(), S.tanh())
    assert not report.ok
    assert "category: associativity" in {r.law for r in report.failures}


def test_report_api():
    report = laws.check_laws(S.sigmoid())
    assert report.ok and len(report) == 5 and all(r.checks > 0 for r in report), str(report)
    assert report.raise_if_failed() is report
    text = str(report)
    assert text.startswith("laws of sigmoid: 5 checked, all passed")
    assert "PASS  reverse derivative" in text
    with pytest.raises(KeyError, match="no law 'nope'"):
        report["nope"]
    both = report + laws.check_laws(S.tanh())
    assert len(both) == 10
    bad = laws.check_laws(bad_sin_map())
    assert "1 FAILED" in str(bad) and "FAIL  reverse derivative" in str(bad) and "counterexample" in str(bad)


def test_a_skipped_law_is_reported_as_skipped_never_as_passed():
    from paralens.circuits import elementwise as P

    t = P.bits(2)
    report = laws.check_laws(C.copy(t) >> P.and_(t))  # a composite over Z2 is not checked whole
    r = report["reverse derivative"]
    assert r.skipped and r.status == "SKIPPED" and not r.passed and not r.failed and r.checks == 0
    assert report.skipped == [r] and report.ok and not report.complete and not report.all_checked
    n = len(report)
    text = str(report)
    assert text.splitlines()[0] == f"laws of copy >> and: {n} checked, {n - 1} passed, 1 skipped"
    assert "SKIPPED  reverse derivative" in text and "reduced=True" in text  # the line says why
    assert report.raise_if_failed() is report  # a skip is not a failure ...
    with pytest.raises(LawViolation, match="law 'reverse derivative' was not checked for copy >> and: a composite"):
        report.raise_if_failed(strict=True)  # ... but not a pass either
    # skips, passes and failures are counted apart
    both = report + laws.check_laws(bad_sin_map())
    assert str(both).splitlines()[0].endswith(f"{n + 5} checked, {n + 3} passed, 1 skipped, 1 FAILED")
    with pytest.raises(LawViolation, match="(?s)was not checked for copy >> and.*fails for bad_sin"):
        both.raise_if_failed(strict=True)
    # a law that does not apply is skipped, with why
    rd7 = laws.check_rd7_symmetry(P.and_(t))
    assert rd7.skipped[0].detail == "skipped: checked over the reals only" and rd7.ok and not rd7.complete
    assert laws.check_laws(S.sigmoid()).complete


def test_checker_explains_an_unusable_sample():
    with pytest.raises(ValueError, match="(?s)cannot run conv2d.*needs input \\(channels=2.*shape="):
        laws.check_laws(S.conv2d(2, 3, 3))  # needs shape=(2, H, W)
    with pytest.raises(TypeError, match="unknown option"):
        laws.check_laws(S.sin(), shpe=(3,))
    with pytest.raises(TypeError, match="takes a Map, a Lens or a Para"):
        laws.check_laws(np.sin)


def test_sample_value():
    from paralens import Zp

    rng = np.random.default_rng(0)
    a = laws.sample_value(ArrayType((2, 3)), rng, 4)
    assert a.shape == (4, 2, 3) and a.dtype == np.float64
    z = laws.sample_value(ArrayType((5,), Zp(3)), rng, 100)
    assert z.dtype == np.int64 and set(np.unique(z)) == {0, 1, 2}
    pair = laws.sample_value(Product((reals(1), Product(()))), rng, 2)
    assert pair[0].shape == (2, 1) and pair[1] == ()
    with pytest.raises(ValueError, match="shape"):
        laws.sample_value(ArrayType(), rng)


@pytest.mark.parametrize("p", [2, 3, 5, 7])
def test_lagrange_derivative_matrix_differentiates_monomials(p):
    """sum_t t^k D[s, t] = k s^(k-1) mod p for every k < p: the formal derivative of the monomial."""
    D = laws.lagrange_derivative_matrix(p)
    for k in range(p):
        g = np.array([pow(t, k, p) for t in range(p)])
        for s in range(p):
            want = (k * pow(s, k - 1, p)) % p if k else 0
            assert int(g @ D[s]) % p == want
    if p == 2:
        assert (D == 1).all()  # the Boolean derivative g(0) + g(1)


def test_para_params_sampled_from_specs_and_custom_sampler():
    seen = {}

    def sample_params(rng):
        seen["called"] = True
        return {"weight": rng.uniform(-1, 1, (2, 3))}

    report = laws.check_laws(S.linear(3, 2), sample_params=sample_params, sample=lambda rng: rng.normal(size=(4, 3)))
    assert_ok(report, "reverse derivative in parameters", "reverse derivative in input")
    assert seen["called"]
    assert isinstance(S.linear(3, 2), Para)
