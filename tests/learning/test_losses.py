"""Loss lenses: get and put against PyTorch autograd (float64) and closed forms; stability."""

import numpy as np
import pytest

from paralens.learning import losses

try:  # only the comparisons with autograd need PyTorch; the closed forms run without it
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (the autograd reference)")


def _torch_grads(fn, bt, bp, dl):
    t = torch.tensor(bt, requires_grad=True)
    p = torch.tensor(bp, requires_grad=True)
    v = fn(t, p)
    v.backward(torch.tensor(dl))
    return v.detach().numpy(), t.grad.numpy(), p.grad.numpy()


def _ours(loss, bt, bp, dl):
    v, r = loss.forward({"label": bt}, bp)
    dp, dbp = loss.backward(r, dl)
    return v, dp["label"], dbp


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    bp = rng.normal(size=(5, 4))
    bt = rng.dirichlet(np.ones(4), size=5)
    dl = rng.normal(size=5)
    return bt, bp, dl


@needs_torch
def test_mse_paper_convention(data):
    bt, bp, dl = data
    ref = _torch_grads(lambda t, p: 0.5 * ((p - t) ** 2).sum(-1), bt, bp, dl)
    for a, b in zip(_ours(losses.mse(), bt, bp, dl), ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@needs_torch
def test_mse_pytorch_convention(data):
    bt, bp, dl = data
    ref = _torch_grads(lambda t, p: ((p - t) ** 2).mean(-1), bt, bp, dl)
    for a, b in zip(_ours(losses.mse(half=False, mean_over_outputs=True), bt, bp, dl), ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@needs_torch
def test_softmax_cross_entropy(data):
    bt, bp, dl = data
    ref = _torch_grads(lambda t, p: torch.nn.functional.cross_entropy(p, t, reduction="none"), bt, bp, dl)
    for a, b in zip(_ours(losses.softmax_cross_entropy(), bt, bp, dl), ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_softmax_cross_entropy_paper_change_for_one_hot():
    """Ex 4.2: for a probability label the prediction's change is alpha (softmax(b_p) - b_t)."""
    bp = np.array([[1.0, 2.0, 3.0]])
    bt = np.array([[0.0, 1.0, 0.0]])
    _, _, dbp = _ours(losses.softmax_cross_entropy(), bt, bp, np.array([-0.5]))
    s = np.exp(bp) / np.exp(bp).sum()
    np.testing.assert_allclose(dbp, -0.5 * (s - bt))


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    bp = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4]], dtype=np.float32)
    bt = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    v, dt, dbp = _ours(losses.softmax_cross_entropy(), bt, bp, np.ones(2, np.float32))
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(dbp)) and np.all(np.isfinite(dt))
    np.testing.assert_allclose(v, [1e4, 2e4 + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(dbp[0], [1.0, -1.0, 0.0], atol=1e-6)


@needs_torch
def test_binary_cross_entropy(data):
    _, bp, dl = data
    t = (np.random.default_rng(1).random(bp.shape) > 0.5).astype(float)
    ref = _torch_grads(
        lambda t_, p: torch.nn.functional.binary_cross_entropy_with_logits(p, t_, reduction="none").sum(-1), t, bp, dl
    )
    for a, b in zip(_ours(losses.binary_cross_entropy(), t, bp, dl), ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    v, _, d = _ours(losses.binary_cross_entropy(), np.array([[1.0, 0.0]]), np.array([[-1e4, 1e4]]), np.ones(1))
    np.testing.assert_allclose(v, [2e4])
    np.testing.assert_allclose(d, [[-1.0, 1.0]])


def test_dot_loss_paper_example(data):
    bt, bp, dl = data
    v, dt, dp = _ours(losses.dot(), bt, bp, dl)
    np.testing.assert_allclose(v, (bt * bp).sum(-1))
    np.testing.assert_allclose(dt, dl[:, None] * bp)
    np.testing.assert_allclose(dp, dl[:, None] * bt)


def test_xor_loss_over_z2():
    bt = np.array([[0, 1, 1, 0]])
    bp = np.array([[1, 1, 0, 0]])
    v, dt, dp = _ours(losses.xor(), bt, bp, np.array([[1, 0, 1, 1]]))
    np.testing.assert_array_equal(v, [[1, 0, 1, 0]])
    np.testing.assert_array_equal(dt, [[1, 0, 1, 1]])
    np.testing.assert_array_equal(dp, [[1, 0, 1, 1]])


def test_loss_rejects_a_wrong_reduction():
    with pytest.raises(ValueError, match="reduction"):
        losses.mse(reduction="avg")
