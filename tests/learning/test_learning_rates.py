"""Learning-rate lenses (paper Def 3.8) and schedules, against torch.optim.lr_scheduler and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paralens.learning import learning_rates as LR
from paralens.learning import optimisers as O
from paralens.learning import schedules as S

# -- learning rates as lenses (L, L') -> (1, 1) -----------------------------------------------


def test_constant_is_the_papers_example_3_9():
    lr = LR.constant(-0.01)
    loss = np.array([0.5, 2.0, 7.0], dtype=np.float32)
    state = lr.init()
    assert state == {}
    dloss, new_state = lr.put(state, loss)
    assert dloss.shape == loss.shape and dloss.dtype == np.float32
    np.testing.assert_array_equal(dloss, np.float32(-0.01))
    assert new_state == {}
    assert lr.get(state, loss) == ()  # the unique map to the terminal object


def test_unit_identity_loss_scaled():
    loss = np.array([0.25, 4.0])
    np.testing.assert_array_equal(LR.unit()(loss), [1.0, 1.0])
    assert LR.unit().name == "unit"
    np.testing.assert_array_equal(LR.identity()(loss), loss)
    np.testing.assert_allclose(LR.loss_scaled(-0.1)(loss), [-0.025, -0.4])
    bits = np.array([0, 1, 1, 0])
    out = LR.identity()(bits)  # Ex 3.10: alpha(l) = l over Z2
    assert out.dtype == bits.dtype
    np.testing.assert_array_equal(out, bits)


def test_scheduled_follows_torch_steplr_with_sign():
    torch = pytest.importorskip("torch")
    lr = LR.scheduled(S.step_decay(0.1, step_size=3, gamma=0.5))  # sign -1: the paper's alpha_t = -eps_t
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    state = lr.init()
    for t in range(10):
        dloss, state = lr.put(state, np.zeros(4))
        assert int(state["step"]) == t + 1 and state["step"].dtype == np.int32
        np.testing.assert_allclose(dloss, -opt.param_groups[0]["lr"], rtol=1e-12)
        opt.step()
        sched.step()
    pos = LR.scheduled(0.5, sign=1.0)
    np.testing.assert_array_equal(pos.put(pos.init(), np.ones(2))[0], [0.5, 0.5])


def test_put_needs_state():
    with pytest.raises(ValueError, match="init"):
        LR.scheduled(0.1).put(None, np.ones(2))


def _linear_regression(seed=0, n=16):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(n, 1))
    return x, y


def _train(lr_lens, opt, steps=60):
    """Per-example squared error l_i = 1/2 |W x_i - y_i|^2; the backward pass is written out by hand:
    dW = sum_i alpha(l)_i (W x_i - y_i) x_i^T (the reverse derivative of the loss and the model)."""
    x, y = _linear_regression()
    params = {"W": np.zeros((1, 3))}
    lr_state, state = lr_lens.init(), opt.init(params)
    for _ in range(steps):
        at = opt.get(state, params)
        r = x @ at["W"].T - y  # (n, 1)
        loss = 0.5 * np.sum(r * r, axis=1)  # (n,)
        dloss, lr_state = lr_lens.put(lr_state, loss)
        dW = ((dloss[:, None] * r).T @ x) / len(x)
        state, params = opt.put(state, params, {"W": dW})
    return params["W"]


def test_the_two_conventions_agree():
    """alpha = -eps with the paper's p + p' is alpha = 1 with the library's p - eps p' (and momentum likewise)."""
    eps = 0.2
    paper = _train(LR.constant(-eps), O.gradient_update())
    library = _train(LR.unit(), O.sgd(eps))
    np.testing.assert_allclose(paper, library, atol=1e-12)
    assert np.abs(paper - np.array([[1.0, -2.0, 0.5]])).max() < 0.2  # it learned
    np.testing.assert_allclose(
        _train(LR.constant(-eps), O.paper_momentum(-0.5)), _train(LR.unit(), O.momentum(eps, 0.5)), atol=1e-12
    )
    # a scheduled learning rate in the lens equals the schedule in the optimiser
    sched = S.exponential_decay(eps, 0.95)
    np.testing.assert_allclose(
        _train(LR.scheduled(sched), O.gradient_update()), _train(LR.unit(), O.sgd(sched)), atol=1e-12
    )
    # loss-scaled: alpha(l) = -eps l weights each example by its loss, which is a different step
    assert np.abs(_train(LR.loss_scaled(-eps), O.gradient_update()) - paper).max() > 1e-3


def test_identity_learning_rate_with_xor_update_learns_a_bit():
    """Poly over Z2 (Ex 3.5, 3.10, 3.13): model b + x, XOR loss, alpha = id, update p XOR p'.
    The reverse derivative of + is copy and of the XOR loss is (alpha, alpha), so p' = alpha(loss)."""
    x = np.array([0, 1, 1, 0, 1])
    y = (x + 1) % 2  # the target bit is b = 1
    opt, lr = O.gradient_update(modulus=2), LR.identity()
    params = {"b": np.array([0])}
    state, lr_state = opt.init(params), lr.init()
    for xi, yi in zip(x, y):
        loss = np.array([(params["b"][0] + xi + yi) % 2])  # 1 where the prediction is wrong
        dloss, lr_state = lr.put(lr_state, loss)
        state, params = opt.put(state, params, {"b": dloss})
    assert params["b"][0] == 1
    assert params["b"].dtype == x.dtype


def test_learning_rates_jit():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    for lens in (LR.constant(-0.01), LR.unit(), LR.identity(), LR.loss_scaled(-0.5),
                 LR.scheduled(S.cosine_decay(0.1, 5))):
        put = jax.jit(lens.put)
        state, jstate = lens.init(), lens.init("jax")
        loss = np.array([0.5, 1.5], dtype=np.float32)
        for _ in range(3):
            d, state = lens.put(state, loss)
            jd, jstate = put(jstate, jnp.asarray(loss))
            assert jd.dtype == jnp.float32
            np.testing.assert_allclose(np.asarray(jd), d, rtol=1e-6)


# -- schedules vs torch.optim.lr_scheduler --------------------------------------------------------


def _torch_lrs(make_sched, base_lr, steps):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_sched(opt, torch.optim.lr_scheduler)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


SCHEDULE_CASES = {
    "step": (S.step_decay(0.1, 4, 0.3), 0.1, lambda o, L: L.StepLR(o, step_size=4, gamma=0.3)),
    "multistep": (S.multistep_decay(0.1, [3, 7, 8], 0.5), 0.1,
                  lambda o, L: L.MultiStepLR(o, milestones=[3, 7, 8], gamma=0.5)),
    "exponential": (S.exponential_decay(0.2, 0.9), 0.2, lambda o, L: L.ExponentialLR(o, gamma=0.9)),
    "cosine": (S.cosine_decay(0.1, 10, eta_min=0.005), 0.1,
               lambda o, L: L.CosineAnnealingLR(o, T_max=10, eta_min=0.005)),
    "linear_warmup": (S.linear_warmup(0.1, 8, start_value=0.025), 0.1,
                      lambda o, L: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8)),
    "constant": (S.constant(0.07), 0.07, lambda o, L: L.ConstantLR(o, factor=1.0, total_iters=0)),
}


@pytest.mark.parametrize("case", sorted(SCHEDULE_CASES))
def test_schedules_match_torch(case):
    sched, base, make = SCHEDULE_CASES[case]
    steps = 35  # past T_max, the milestones and the warm-up
    ref = _torch_lrs(make, base, steps)
    ours = np.array([float(sched(t)) for t in range(steps)])
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    # an array step gives the same values
    ours_arr = np.array([float(sched(np.int32(t))) for t in range(steps)])
    np.testing.assert_allclose(ours_arr, ours, rtol=1e-12)


def test_schedules_by_hand():
    hold = S.cosine_decay(1.0, 4, hold=True)
    assert [round(float(hold(t)), 6) for t in (3, 4, 5, 100)] == [round(0.5 * (1 + math.cos(math.pi * 3 / 4)), 6),
                                                                   0.0, 0.0, 0.0]
    warm = S.linear_warmup(1.0, 4, after=S.cosine_decay(1.0, 10))
    assert [float(warm(t)) for t in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert math.isclose(float(warm(9)), 0.5 * (1 + math.cos(math.pi * 5 / 10)))
    j = S.join([S.constant(1.0), S.constant(2.0), S.exponential_decay(4.0, 0.5)], [2, 3])
    assert [float(j(t)) for t in range(6)] == [1.0, 1.0, 2.0, 4.0, 2.0, 1.0]
    assert float(S.inverse_time_decay(1.0, 0.5)(4)) == pytest.approx(1 / 3)
    assert float(S.linear_warmup(0.3, 0)(0)) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="boundaries"):
        S.join([S.constant(1.0)], [3])
    with pytest.raises(ValueError, match="step_size"):
        S.step_decay(1.0, 0)
    with pytest.raises(TypeError, match="schedule"):
        S.as_schedule("fast")


def test_schedules_jit():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    for sched, _, _ in SCHEDULE_CASES.values():
        f = jax.jit(sched)
        for t in (0, 3, 9, 20):
            np.testing.assert_allclose(float(f(jnp.int32(t))), float(sched(t)), rtol=1e-6)
    j = jax.jit(S.linear_warmup(1.0, 4, after=S.step_decay(1.0, 2, 0.5)))
    assert [round(float(j(jnp.int32(t))), 6) for t in range(8)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.5]
