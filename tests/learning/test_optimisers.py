"""Optimisers against independent references: torch.optim trajectories (float64),
torch.optim.lr_scheduler values, Optax, and closed-form changes of variables."""

from __future__ import annotations

import numpy as np
import pytest

from paralens.errors import ParameterError
from paralens.learning import optimisers as O
from paralens.learning import schedules as S

try:  # only the comparisons with torch.optim need PyTorch; the other tests run without it
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (the reference optimisers)")

STEPS = 50
SHAPES = {"w": (3, 4), "b": (4,)}


# -- the problem: a quadratic with noise, the gradient depends on the point -------


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    A, c = {}, {}
    for k, shp in SHAPES.items():
        n = int(np.prod(shp))
        M = rng.normal(size=(n, n))
        A[k] = M @ M.T / n + 0.5 * np.eye(n)  # symmetric positive definite
        c[k] = rng.normal(size=n)
    p0 = {k: rng.normal(size=shp) * 2.0 for k, shp in SHAPES.items()}
    return A, c, p0


A, C, P0 = _problem()


def grad_fn(params, t, noise=0.1, scale=1.0):
    """The gradient of f(p) = 1/2 p^T A p - c^T p at ``params``, plus seeded noise for step ``t``."""
    out = {}
    for i, (k, shp) in enumerate(SHAPES.items()):
        p = np.asarray(params[k], dtype=np.float64).ravel()
        xi = np.random.default_rng([7, t, i]).normal(size=p.size)
        out[k] = (scale * (A[k] @ p - C[k] + noise * xi)).reshape(shp)
    return out


def loss_fn(params):
    return sum(0.5 * p.ravel() @ A[k] @ p.ravel() - C[k] @ p.ravel() for k, p in params.items())


def run_ours(opt, p0=P0, steps=STEPS, grad=grad_fn, alpha=1.0):
    """The trajectory of ``opt``: the gradient is taken at ``get(s, p)``, times ``alpha`` (the learning rate)."""
    params = {k: np.array(v) for k, v in p0.items()}
    state = opt.init(params)
    traj, evals = [], []
    for t in range(steps):
        at = opt.get(state, params)
        g = grad(at, t)
        state, params = opt.put(state, params, {k: alpha * v for k, v in g.items()})
        traj.append({k: v.copy() for k, v in params.items()})
        evals.append(opt.get(state, params))
    return traj, evals, state


def run_torch(make, p0=P0, steps=STEPS, grad=grad_fn, clip=None, sched=None, record=None):
    """The trajectory of a torch optimiser ``make(named torch params)`` on the same gradients."""
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p0.items()}
    opt = make(tp)
    sch = sched(opt) if sched else None
    traj, extra = [], []
    for t in range(steps):
        g = grad({k: v.detach().numpy().copy() for k, v in tp.items()}, t)
        for k, v in tp.items():
            v.grad = torch.from_numpy(np.ascontiguousarray(g[k]))
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(list(tp.values()), clip)
        opt.step()
        if sch is not None:
            sch.step()
        traj.append({k: v.detach().numpy().copy() for k, v in tp.items()})
        if record:
            extra.append(record(opt, tp))
    return traj, extra


def assert_same_trajectory(ours, ref, tol=1e-9):
    """Every parameter at every step within ``tol`` (float64 agrees to ~1e-15; the brief's bound is 1e-6)."""
    assert len(ours) == len(ref)
    worst = 0.0
    for t, (a, b) in enumerate(zip(ours, ref)):
        assert set(a) == set(b)
        for k in a:
            worst = max(worst, float(np.max(np.abs(a[k] - b[k]))))
            np.testing.assert_allclose(a[k], b[k], rtol=0, atol=tol, err_msg=f"step {t}, parameter {k}")
    return worst


def params_list(tp):
    return list(tp.values())


# -- named optimisers vs torch.optim --------------------------------------------------

T = torch.optim if torch is not None else None
CASES = {
    "sgd": (lambda: O.sgd(0.05), lambda tp: T.SGD(params_list(tp), lr=0.05)),
    "sgd_wd": (lambda: O.sgd(0.05, weight_decay=0.1), lambda tp: T.SGD(params_list(tp), lr=0.05, weight_decay=0.1)),
    "gradient_descent": (lambda: O.gradient_descent(0.05), lambda tp: T.SGD(params_list(tp), lr=0.05)),
    "momentum": (lambda: O.momentum(0.05, 0.9), lambda tp: T.SGD(params_list(tp), lr=0.05, momentum=0.9)),
    "momentum_dampening_wd": (
        lambda: O.momentum(0.05, 0.8, dampening=0.3, weight_decay=0.02),
        lambda tp: T.SGD(params_list(tp), lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.02),
    ),
    "nesterov": (
        lambda: O.nesterov(0.05, 0.9, weight_decay=0.01),
        lambda tp: T.SGD(params_list(tp), lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    "sgd_nesterov_flag": (
        lambda: O.sgd(0.03, momentum=0.7, nesterov=True),
        lambda tp: T.SGD(params_list(tp), lr=0.03, momentum=0.7, nesterov=True),
    ),
    "adagrad": (lambda: O.adagrad(0.1), lambda tp: T.Adagrad(params_list(tp), lr=0.1)),
    "adagrad_all": (
        lambda: O.adagrad(0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.3, eps=1e-6),
        lambda tp: T.Adagrad(
            params_list(tp), lr=0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.3, eps=1e-6
        ),
    ),
    "adam": (lambda: O.adam(0.02), lambda tp: T.Adam(params_list(tp), lr=0.02)),
    "adam_all": (
        lambda: O.adam(0.02, b1=0.8, b2=0.95, eps=1e-6, weight_decay=0.05),
        lambda tp: T.Adam(params_list(tp), lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.05),
    ),
    "adam_amsgrad": (
        lambda: O.adam(0.02, b2=0.9, amsgrad=True),
        lambda tp: T.Adam(params_list(tp), lr=0.02, betas=(0.9, 0.9), amsgrad=True),
    ),
    "adamw": (
        lambda: O.adamw(0.02, weight_decay=0.1),
        lambda tp: T.AdamW(params_list(tp), lr=0.02, weight_decay=0.1),
    ),
    "adamw_amsgrad": (
        lambda: O.adamw(0.02, b1=0.7, b2=0.9, eps=1e-7, weight_decay=0.3, amsgrad=True),
        lambda tp: T.AdamW(params_list(tp), lr=0.02, betas=(0.7, 0.9), eps=1e-7, weight_decay=0.3, amsgrad=True),
    ),
    "rmsprop": (lambda: O.rmsprop(0.01), lambda tp: T.RMSprop(params_list(tp), lr=0.01)),
    "rmsprop_centered": (
        lambda: O.rmsprop(0.01, alpha=0.9, centered=True),
        lambda tp: T.RMSprop(params_list(tp), lr=0.01, alpha=0.9, centered=True),
    ),
    "rmsprop_momentum": (
        lambda: O.rmsprop(0.01, momentum=0.8, weight_decay=0.05),
        lambda tp: T.RMSprop(params_list(tp), lr=0.01, momentum=0.8, weight_decay=0.05),
    ),
    "rmsprop_centered_momentum": (
        lambda: O.rmsprop(0.005, alpha=0.95, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.01),
        lambda tp: T.RMSprop(
            params_list(tp), lr=0.005, alpha=0.95, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.01
        ),
    ),
}


@needs_torch
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch_optim(case):
    ours_f, torch_f = CASES[case]
    ours, _, _ = run_ours(ours_f())
    ref, _ = run_torch(torch_f)
    assert_same_trajectory(ours, ref)
    # the trajectory actually moved (a test that cannot pass by standing still)
    assert np.max(np.abs(ours[-1]["w"] - P0["w"])) > 1e-2


SCHEDULED = {
    "sgd_momentum_steplr": (
        lambda: O.momentum(S.step_decay(0.05, step_size=7, gamma=0.5), 0.9),
        lambda tp: T.SGD(params_list(tp), lr=0.05, momentum=0.9),
        lambda o: T.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    ),
    "adam_cosine": (
        lambda: O.adam(S.cosine_decay(0.05, T_max=20, eta_min=0.001)),
        lambda tp: T.Adam(params_list(tp), lr=0.05),
        lambda o: T.lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.001),
    ),
    "rmsprop_exponential": (
        lambda: O.rmsprop(S.exponential_decay(0.02, 0.95), momentum=0.5),
        lambda tp: T.RMSprop(params_list(tp), lr=0.02, momentum=0.5),
        lambda o: T.lr_scheduler.ExponentialLR(o, gamma=0.95),
    ),
    "adamw_warmup": (
        lambda: O.adamw(S.linear_warmup(0.03, 10, start_value=0.003), weight_decay=0.1),
        lambda tp: T.AdamW(params_list(tp), lr=0.03, weight_decay=0.1),
        lambda o: T.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
    ),
    "adagrad_multistep": (
        lambda: O.adagrad(S.multistep_decay(0.2, [5, 20], 0.3), lr_decay=0.01),
        lambda tp: T.Adagrad(params_list(tp), lr=0.2, lr_decay=0.01),
        lambda o: T.lr_scheduler.MultiStepLR(o, milestones=[5, 20], gamma=0.3),
    ),
}


@needs_torch
@pytest.mark.parametrize("case", sorted(SCHEDULED))
def test_scheduled_lr_matches_torch_scheduler(case):
    ours_f, torch_f, sched = SCHEDULED[case]
    ours, _, _ = run_ours(ours_f())
    ref, _ = run_torch(torch_f, sched=sched)
    assert_same_trajectory(ours, ref)


@needs_torch
def test_torch_comparison_can_fail():
    """The harness notices a small hyperparameter mismatch (so agreement above means something)."""
    ours, _, _ = run_ours(O.adam(0.02, b2=0.99))
    ref, _ = run_torch(lambda tp: T.Adam(params_list(tp), lr=0.02))
    with pytest.raises(AssertionError):
        assert_same_trajectory(ours, ref)


# -- the paper's convention ---------------------------------------------------------------


@needs_torch
def test_gradient_update_with_alpha_minus_eps_is_sgd():
    """Def 3.11, p + p', with the learning rate alpha = -eps (Ex 3.9) is SGD(lr=eps)."""
    eps = 0.05
    ours, _, _ = run_ours(O.gradient_update(), alpha=-eps)
    ref, _ = run_torch(lambda tp: T.SGD(params_list(tp), lr=eps))
    assert_same_trajectory(ours, ref)


@needs_torch
def test_gradient_ascent_ascends():
    ours, _, _ = run_ours(O.gradient_ascent(0.05), alpha=-1.0)  # ascent on -f is descent on f
    ref, _ = run_torch(lambda tp: T.SGD(params_list(tp), lr=0.05))
    assert_same_trajectory(ours, ref)
    _, new = O.gradient_ascent(0.5).put({}, {"x": np.array([1.0])}, {"x": np.array([1.0])})
    assert new["x"][0] == 1.5


def test_gradient_update_mod_2_is_xor():
    rng = np.random.default_rng(0)
    p = rng.integers(0, 2, size=(5, 7))
    d = rng.integers(0, 2, size=(5, 7))
    opt = O.gradient_update(modulus=2)
    _, new = opt.put(opt.init({"p": p}), {"p": p}, {"p": d})
    np.testing.assert_array_equal(new["p"], np.bitwise_xor(p, d))
    assert new["p"].dtype == p.dtype
    # over Z_3: (p + p') mod 3
    p3, d3 = rng.integers(0, 3, size=9), rng.integers(0, 3, size=9)
    _, new3 = O.gradient_update(modulus=3).put({}, {"p": p3}, {"p": d3})
    np.testing.assert_array_equal(new3["p"], (p3 + d3) % 3)


@needs_torch
def test_paper_momentum_is_torch_momentum_with_mu_minus_gamma():
    """Ex 3.15: s' = -gamma s + p', p + s', with alpha = -eps.

    PyTorch: b' = mu b + g, p - eps b'.  Put s = -eps b: then
    s' = -eps (mu b + g) = mu s + (-eps g) = mu s + p', and p - eps b' = p + s';
    so the two agree exactly when mu = -gamma (both start at s = b = 0).
    """
    eps, gamma = 0.05, -0.9
    ours, _, state = run_ours(O.paper_momentum(gamma), alpha=-eps)
    ref, bufs = run_torch(
        lambda tp: T.SGD(params_list(tp), lr=eps, momentum=-gamma),
        record=lambda o, tp: {k: o.state[v]["momentum_buffer"].numpy().copy() for k, v in tp.items()},
    )
    assert_same_trajectory(ours, ref)
    for k in SHAPES:  # the change of variables s = -eps b on the state
        np.testing.assert_allclose(state["velocity"][k], -eps * bufs[-1][k], atol=1e-9)
    # the printed sign with a positive gamma is *not* heavy-ball momentum
    bad, _, _ = run_ours(O.paper_momentum(0.9), alpha=-eps)
    with pytest.raises(AssertionError):
        assert_same_trajectory(bad, ref)


@needs_torch
def test_paper_adagrad_is_torch_adagrad_with_alpha_minus_one():
    """Ex 3.17: G' = G + p'^2, p + eps/(delta + sqrt G') p'; with alpha = -1 it is Adagrad(lr=eps, eps=delta)."""
    ours, _, _ = run_ours(O.paper_adagrad(eps=0.1, delta=1e-7), alpha=-1.0)
    ref, _ = run_torch(lambda tp: T.Adagrad(params_list(tp), lr=0.1, eps=1e-7))
    assert_same_trajectory(ours, ref)


# -- Nesterov: look-ahead form vs PyTorch's form, through the change of variables ------------


def _torch_nesterov(lr, mu):
    return run_torch(
        lambda tp: T.SGD(params_list(tp), lr=lr, momentum=mu, nesterov=True),
        record=lambda o, tp: {k: o.state[v]["momentum_buffer"].numpy().copy() for k, v in tp.items()},
    )


@needs_torch
def test_nesterov_lookahead_matches_torch_after_change_of_variables():
    """Look-ahead form: v' = mu v - lr grad(theta + mu v), theta' = theta + v', gradient at get = theta + mu v.
    PyTorch: p' = p - lr (g + mu b'), b' = mu b + g, gradient at p.  With p = theta + mu v and b = -v / lr
    the two are the same recursion (derivation in nesterov_lookahead's docstring)."""
    lr, mu = 0.05, 0.9
    thetas, looked, state = run_ours(O.nesterov_lookahead(lr, mu))
    ref, bufs = _torch_nesterov(lr, mu)
    # PyTorch's parameters are the look-ahead points get(s, theta) ...
    worst = assert_same_trajectory(looked, ref)
    assert worst < 1e-9
    # ... and not the stored thetas (the two forms store different points)
    assert max(float(np.max(np.abs(a["w"] - b["w"]))) for a, b in zip(thetas, ref)) > 1e-3
    # PyTorch's buffer is -v / lr
    v = state["velocity"]["velocity"]
    for k in SHAPES:
        np.testing.assert_allclose(-v[k] / lr, bufs[-1][k], atol=1e-9)
    # the problem's gradient depends on the point, so evaluating at theta instead would differ
    no_look, _, _ = run_ours(O.paper_momentum(-mu), alpha=-lr)
    with pytest.raises(AssertionError):
        assert_same_trajectory(no_look, ref)


@needs_torch
def test_paper_nesterov_consistent_sign_matches_torch():
    """Ex 3.16 with alpha = -eps, gamma = -mu and look-ahead +mu s is PyTorch's Nesterov, via the same change of variables."""
    eps, mu = 0.05, 0.9
    _, looked, _ = run_ours(O.paper_nesterov(-mu, lookahead=mu), alpha=-eps)
    ref, _ = _torch_nesterov(eps, mu)
    assert_same_trajectory(looked, ref)


@needs_torch
def test_paper_nesterov_as_printed_is_not_nesterov():
    """As printed (look-ahead +gamma s with velocity -gamma s) the signs disagree: no choice of gamma gives PyTorch's."""
    eps, mu = 0.05, 0.9
    ref, _ = _torch_nesterov(eps, mu)
    opt = O.paper_nesterov(-mu)
    assert opt.hyperparams["lookahead"] == -mu
    _, looked, _ = run_ours(opt, alpha=-eps)
    with pytest.raises(AssertionError):
        assert_same_trajectory(looked, ref)


# -- combinators ---------------------------------------------------------------------------


@needs_torch
def test_clip_then_sgd_matches_clip_grad_norm():
    # gradients scaled up so that clipping is active on most (not all) steps
    big = lambda p, t: grad_fn(p, t, noise=1.0, scale=3.0)
    opt = O.chain(O.clip_by_global_norm(2.0), O.sgd(0.05, momentum=0.5))
    ours, _, state = run_ours(opt, grad=big)
    ref, _ = run_torch(lambda tp: T.SGD(params_list(tp), lr=0.05, momentum=0.5), grad=big, clip=2.0)
    assert_same_trajectory(ours, ref)
    assert set(state) == {"clip_by_global_norm", "momentum"}
    # clipping was active on some steps: without it the trajectory differs
    unclipped, _ = run_torch(lambda tp: T.SGD(params_list(tp), lr=0.05, momentum=0.5), grad=big)
    with pytest.raises(AssertionError):
        assert_same_trajectory(ours, unclipped)


@needs_torch
def test_clip_then_adam_matches_torch():
    big = lambda p, t: grad_fn(p, t, noise=1.0, scale=3.0)
    ours, _, _ = run_ours(O.chain(O.clip_by_global_norm(1.0), O.adam(0.02)), grad=big)
    ref, _ = run_torch(lambda tp: T.Adam(params_list(tp), lr=0.02), grad=big, clip=1.0)
    assert_same_trajectory(ours, ref)


def test_chain_threads_updates_left_to_right():
    g = {"x": np.array([3.0, 4.0])}
    p = {"x": np.array([0.0, 0.0])}
    opt = O.chain(O.scale(2.0), O.clip_by_global_norm(1.0, eps=0.0), O.scale(-3.0))
    u, _ = opt.update(g, opt.init(p), p)
    np.testing.assert_allclose(u["x"], -3.0 * np.array([0.6, 0.8]))
    # same blocks by hand
    u1, _ = O.scale(2.0).update(g, {})
    u2, _ = O.clip_by_global_norm(1.0, eps=0.0).update(u1, {})
    u3, _ = O.scale(-3.0).update(u2, {})
    np.testing.assert_allclose(u["x"], u3["x"])
    assert set(opt.init(p)) == {"scale_0", "clip_by_global_norm", "scale_2"}


@needs_torch
def test_partition_matches_torch_param_groups():
    opt = O.partition(
        {"slow": O.sgd(0.01, momentum=0.9, weight_decay=0.1), "fast": O.sgd(0.05, momentum=0.5)},
        {"w": "slow", "b": "fast"},
    )
    ours, _, state = run_ours(opt)
    ref, _ = run_torch(
        lambda tp: T.SGD(
            [
                {"params": [tp["w"]], "lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
                {"params": [tp["b"]], "lr": 0.05, "momentum": 0.5},
            ]
        )
    )
    assert_same_trajectory(ours, ref)
    assert set(state) == {"slow", "fast"}
    assert set(state["slow"]["trace"]["momentum_buffer"]) == {"w"}


@needs_torch
@pytest.mark.parametrize(
    "labels",
    [
        {"w": "adam", "b": "sgd"},  # exact names
        {"*.w": "never", "w*": "adam", "*": "sgd"},  # glob patterns, first match wins
        lambda name: "adam" if name == "w" else "sgd",  # a function
    ],
    ids=["dict", "glob", "callable"],
)
def test_partition_different_optimisers_match_separate_torch_optimisers(labels):
    opts = {"adam": O.adam(0.02), "sgd": O.sgd(0.05, momentum=0.9)}
    if isinstance(labels, dict) and "*.w" in labels:
        opts["never"] = O.sgd(100.0)
    ours, _, _ = run_ours(O.partition(opts, labels))
    both = {}

    def make(tp):
        both["adam"] = T.Adam([tp["w"]], lr=0.02)
        both["sgd"] = T.SGD([tp["b"]], lr=0.05, momentum=0.9)

        class Both:
            def step(self):
                both["adam"].step()
                both["sgd"].step()

        return Both()

    ref, _ = run_torch(make)
    assert_same_trajectory(ours, ref)


def test_partition_errors():
    p = {"w": np.zeros(2), "b": np.zeros(2)}
    with pytest.raises(ParameterError, match="'b' has no label"):
        O.partition({"a": O.sgd(0.1)}, {"w": "a"}).init(p)
    with pytest.raises(ParameterError, match="no optimiser"):
        O.partition({"a": O.sgd(0.1)}, {"w": "a", "b": "zzz"}).init(p)
    with pytest.raises(ParameterError, match="match no parameter"):
        O.partition({"a": O.sgd(0.1)}, {"w": "a", "b": "a", "typo": "a"}).init(p)
    opt = O.partition({"a": O.sgd(0.1), "d": O.sgd(0.2)}, {"w": "a"}, default="d")
    _, new = opt.put(opt.init(p), p, {"w": np.ones(2), "b": np.ones(2)})
    np.testing.assert_allclose(new["b"], -0.2)


@needs_torch
def test_freeze_leaves_params_unchanged():
    # freeze(names, optimiser): the optimiser sees only the other parameters
    opt = O.freeze(["b"], O.adam(0.02))
    ours, _, state = run_ours(opt)
    for step in ours:
        np.testing.assert_array_equal(step["b"], P0["b"])
    assert "b" not in state["trainable"]["scale_by_adam"]["mu"]
    ref, _ = run_torch(lambda tp: T.Adam([tp["w"]], lr=0.02))
    assert_same_trajectory(ours, ref)
    # freeze(names) as the last block of a chain, with a predicate and with a glob
    for spec in (lambda n: n == "b", "b*"):
        ours2, _, _ = run_ours(O.chain(O.adamw(0.02, weight_decay=0.5), O.freeze(spec)))
        for step in ours2:
            np.testing.assert_array_equal(step["b"], P0["b"])
        assert np.max(np.abs(ours2[-1]["w"] - P0["w"])) > 1e-2
    with pytest.raises(ParameterError, match="match no parameter"):
        O.freeze(["bias"], O.sgd(0.1)).init(P0)


# -- the registry: properties every optimiser must have ------------------------------------

SWEEP_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5, "adam": 0.05, "adamw": 0.05,
            "rmsprop": 0.01}


def _structure(tree):
    if isinstance(tree, dict):
        return {k: _structure(v) for k, v in tree.items()}
    return (tuple(np.shape(tree)), str(np.asarray(tree).dtype))


def test_registry_is_complete():
    assert set(O.OPTIMISERS) == {"sgd", "momentum", "nesterov", "adagrad", "adam", "adamw", "rmsprop"}
    assert set(SWEEP_LR) == set(O.OPTIMISERS)


@pytest.mark.parametrize("name", sorted(SWEEP_LR))
def test_registry_sweep(name):
    opt = O.get_optimiser(name, lr=SWEEP_LR[name])
    params = {k: v.astype(np.float32) for k, v in P0.items()}
    state = opt.init(params)
    start = _structure(state)
    leaves = O.tree_leaves(state)
    assert all(np.asarray(x).dtype in (np.float32, np.int32) for x in leaves), f"{name}: state dtypes {start}"
    loss0 = loss_fn(params)
    for t in range(200):
        g = {k: v.astype(np.float32) for k, v in grad_fn(opt.get(state, params), t, noise=0.0).items()}
        state, params = opt.put(state, params, g)
        assert _structure(state) == start, f"{name}: the state changed structure at step {t}"
        assert all(v.dtype == np.float32 for v in params.values()), f"{name}: float32 in, {params} out"
    best = -0.5 * sum(C[k] @ np.linalg.solve(A[k], C[k]) for k in SHAPES)  # the minimum of the quadratic
    assert loss_fn(params) - best < 0.1 * (loss0 - best), f"{name} did not reduce the quadratic"


def test_get_optimiser_errors():
    with pytest.raises(ValueError, match="unknown optimiser 'adamx'"):
        O.get_optimiser("adamx")
    with pytest.raises(TypeError, match="unknown arguments"):
        O.get_optimiser("adam", learning_rate=0.1)
    assert O.get_optimiser("ADAM", lr=0.1).name == "adam"
    with pytest.raises(ValueError, match="Nesterov momentum needs"):
        O.sgd(0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="b2 must be in"):
        O.adam(b2=1.0)


def test_put_errors():
    opt = O.adam(0.1)
    p = {"w": np.zeros(3)}
    with pytest.raises(ValueError, match="init"):
        opt.put(None, p, {"w": np.zeros(3)})
    with pytest.raises(ParameterError, match="missing \\['w'\\], unexpected \\['v'\\]"):
        opt.put(opt.init(p), p, {"v": np.zeros(3)})


def test_state_leaves_are_arrays_and_count_is_int32():
    opt = O.chain(O.clip_by_global_norm(1.0), O.adam(S.cosine_decay(0.1, 10)))
    state = opt.init({"w": np.zeros(3, np.float32)})
    assert state["adam"]["scale_by_adam"]["count"].dtype == np.int32
    assert state["adam"]["scale_by_adam"]["count"].shape == ()
    assert state["adam"]["scale_by_learning_rate"]["count"].dtype == np.int32


# -- against Optax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ours_f, optax_f",
    [
        (lambda: O.adam(0.02), lambda optax: optax.adam(0.02)),
        (lambda: O.adamw(0.02, weight_decay=0.1), lambda optax: optax.adamw(0.02, weight_decay=0.1)),
        (lambda: O.nesterov(0.05, 0.9), lambda optax: optax.sgd(0.05, momentum=0.9, nesterov=True)),
        (
            lambda: O.chain(O.clip_by_global_norm(1.0, eps=0.0), O.momentum(0.05, 0.9)),
            lambda optax: optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.05, momentum=0.9)),
        ),
    ],
    ids=["adam", "adamw", "nesterov", "clip_momentum"],
)
def test_matches_optax(ours_f, optax_f):
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    opt, ref = ours_f(), optax_f(optax)
    params = {k: v.astype(np.float32) for k, v in P0.items()}
    rparams = {k: jnp.asarray(v) for k, v in params.items()}
    state, rstate = opt.init(params), ref.init(rparams)
    for t in range(30):
        g = {k: v.astype(np.float32) for k, v in grad_fn(params, t, noise=1.0, scale=2.0).items()}
        state, params = opt.put(state, params, g)
        rg = {k: v.astype(np.float32) for k, v in grad_fn({k: np.asarray(v) for k, v in rparams.items()}, t,
                                                        noise=1.0, scale=2.0).items()}
        u, rstate = ref.update({k: jnp.asarray(v) for k, v in rg.items()}, rstate, rparams)
        rparams = optax.apply_updates(rparams, u)
    for k in params:
        np.testing.assert_allclose(params[k], np.asarray(rparams[k]), rtol=1e-4, atol=1e-5)


# -- compiling: a put is a pure function of arrays -------------------------------------------

JIT_CASES = {
    **{name: (lambda name=name: O.get_optimiser(name, lr=SWEEP_LR[name])) for name in SWEEP_LR},
    "adam_amsgrad_cosine": lambda: O.adam(S.cosine_decay(0.05, 3), amsgrad=True, weight_decay=0.01),
    "rmsprop_full": lambda: O.rmsprop(S.linear_warmup(0.01, 2, after=S.exponential_decay(0.01, 0.9)),
                                      momentum=0.5, centered=True, weight_decay=0.1),
    "momentum_dampening_step": lambda: O.momentum(S.step_decay(0.05, 2), 0.9, dampening=0.2),
    "adagrad_decay": lambda: O.adagrad(0.1, lr_decay=0.1, initial_accumulator_value=0.1),
    "clip_chain": lambda: O.chain(O.clip_by_global_norm(1.0), O.sgd(0.05)),
    "partition": lambda: O.partition({"a": O.adam(0.01), "s": O.sgd(0.05, momentum=0.9)}, {"w": "a", "b": "s"}),
    "freeze": lambda: O.freeze("b", O.adamw(0.02)),
    "freeze_block": lambda: O.chain(O.adam(0.02), O.freeze("b")),
    "gradient_update": lambda: O.gradient_update(),
    "paper_momentum": lambda: O.paper_momentum(-0.9),
    "paper_nesterov": lambda: O.paper_nesterov(-0.9, lookahead=0.9),
    "nesterov_lookahead": lambda: O.nesterov_lookahead(S.exponential_decay(0.05, 0.9), 0.9),
    "paper_adagrad": lambda: O.paper_adagrad(0.1),
}


@pytest.mark.parametrize("case", sorted(JIT_CASES))
def test_jit_put_matches_numpy(case):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    opt = JIT_CASES[case]()
    traces = []

    def step(state, params, t):
        traces.append(1)
        at = opt.get(state, params)
        g = {k: 0.5 * at[k] - 0.1 + 0.01 * t * at[k] ** 2 for k in at}  # a point-dependent gradient
        return opt.put(state, params, g)

    jstep = jax.jit(step)
    params = {k: v.astype(np.float32) for k, v in P0.items()}
    jparams = {k: jnp.asarray(v) for k, v in params.items()}
    state, jstate = opt.init(params), opt.init(jparams)
    for t in range(6):
        state, params = step(state, params, np.float32(t))
        jstate, jparams = jstep(jstate, jparams, jnp.float32(t))
    assert sum(traces) == 6 + 1, "the compiled step was traced more than once: the state changes type"
    for k in params:
        assert jparams[k].dtype == jnp.float32
        np.testing.assert_allclose(np.asarray(jparams[k]), params[k], rtol=2e-5, atol=2e-6)
    assert _structure(jax.tree_util.tree_map(np.asarray, jstate)) == _structure(state)
