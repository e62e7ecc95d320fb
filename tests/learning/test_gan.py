"""The Wasserstein GAN lens (paralens.learning.gan): the composite, its put, and a known answer on a mixture."""

import numpy as np
import pytest

from paralens.errors import ParalensError
from paralens.instances.smooth.layers import dense
from paralens.learning.gan import (
    CRITIC,
    GAN,
    GEN,
    DescentAscent,
    check_complex_step,
    clip_weights,
    fit_gan,
    gan_step,
    input_gradient,
    penalty_put,
    split,
    wgan_critic_optimiser,
    wgan_gp_optimiser,
    wgan_schedule,
)
from paralens.learning.optimisers import rmsprop, sgd

CENTRES = np.array([[2.0, 0.0], [-1.0, 1.5], [-1.0, -1.5]])


def mixture(n: int, seed: int) -> np.ndarray:
    """``n`` points of three Gaussians (sd 0.3) at :data:`CENTRES`, float32."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(CENTRES), n)
    return (CENTRES[k] + 0.3 * rng.standard_normal((n, 2))).astype(np.float32)


def small_gan(lr: float = 5e-3, clip: float | None = 0.05) -> GAN:
    gen = dense(2, 32, "relu") >> dense(32, 2, "identity")
    critic = dense(2, 64, "relu") >> dense(64, 1, "identity")
    return GAN(gen, critic, DescentAscent(rmsprop(lr), wgan_critic_optimiser(lr, clip)))


def test_the_composite_has_one_copy_of_the_critic():
    gan = small_gan()
    names = sorted(gan.model.params)
    assert names == ["critic.0.bias", "critic.0.weight", "critic.1.bias", "critic.1.weight",
                     "gen.0.bias", "gen.0.weight", "gen.1.bias", "gen.1.weight"]
    state = gan.init(0)
    z, x = np.ones((3, 2), np.float32), mixture(3, 0)
    scores = np.asarray(gan.model.get(state.params, (z, x)))
    assert scores.shape == (3, 2)
    np.testing.assert_allclose(scores[:, 1], gan.critic_scores(state.params, x), rtol=1e-6)
    np.testing.assert_allclose(scores[:, 0], gan.critic_scores(state.params, gan.sample(state.params, z)), rtol=1e-6)


def test_the_put_sums_the_two_tracks_changes_to_the_critic():
    """Weight tying by copy: q' = R[d]_Q(fake, +1) + R[d]_Q(real, -1), checked against finite differences."""
    gan = small_gan()
    params = gan.init(1).params
    z, x = np.random.default_rng(2).standard_normal((4, 2)), mixture(4, 3).astype(np.float64)
    params = {n: v.astype(np.float64) for n, v in params.items()}
    scores, r = gan.model.forward(params, (z, x))
    label = np.tile([1.0, -1.0], (4, 1))
    grads = gan.model.backward_params(r, label / 4)

    def loss(p):
        return float(np.mean(np.asarray(gan.model.get(p, (z, x))) @ np.array([1.0, -1.0])))

    for name in ("critic.1.weight", "gen.0.weight"):
        e = np.zeros_like(params[name])
        e.flat[0] = 1e-6
        fd = (loss({**params, name: params[name] + e}) - loss({**params, name: params[name] - e})) / 2e-6
        assert grads[name].flat[0] == pytest.approx(fd, rel=1e-4, abs=1e-8)


def test_descent_ascent_moves_only_the_named_factor_and_the_critic_ascends():
    gan = GAN(dense(2, 2, "identity"), dense(2, 1, "identity"), DescentAscent(sgd(0.1), wgan_critic_optimiser(0.1, None)))
    state = gan.init(0)
    z, x = np.ones((8, 2), np.float32), mixture(8, 0)
    before = gan_step(gan, state, z, x, moving=())[1]["wasserstein"]
    critic_only, _ = gan_step(gan, state, z, x, moving=(CRITIC,))
    for n, v in split(state.params)[GEN].items():
        np.testing.assert_array_equal(critic_only.params[n], v)
    assert gan_step(gan, critic_only, z, x, moving=())[1]["wasserstein"] > before
    gen_only, m = gan_step(gan, state, z, x, moving=(GEN,))
    for n, v in split(state.params)[CRITIC].items():
        np.testing.assert_array_equal(gen_only.params[n], v)
    assert gan_step(gan, gen_only, z, x, moving=())[1]["generator"] < m["generator"]


def test_weight_clipping_keeps_the_critic_in_range():
    opt = clip_weights(0.01)
    params = {"w": np.array([0.5, -0.005, -3.0])}
    _, new = opt.put(opt.init(params), params, {"w": np.array([0.0, 0.001, 0.0])})
    np.testing.assert_allclose(new["w"], [0.01, -0.004, -0.01])
    gan = small_gan(clip=0.02)
    state, _ = fit_gan(gan, gan.init(0), mixture(256, 0), 2, steps=6, batch_size=16, n_critic=5)
    assert max(np.abs(v).max() for v in split(state.params)[CRITIC].values()) <= 0.02 + 1e-7
    with pytest.raises(ValueError):
        clip_weights(0.0)


def test_the_schedule_alternates_n_critic_critic_steps_and_one_generator_step():
    moves = wgan_schedule(2)
    assert [moves(k) for k in range(6)] == [(CRITIC,), (CRITIC,), (GEN,)] * 2
    assert wgan_schedule(0)(7) == (GEN, CRITIC)
    with pytest.raises(ValueError):
        wgan_schedule(-1)


def mixture_fit(gan: GAN, seed: int, steps: int = 8000):
    """Train ``gan`` on 4,000 mixture points (data seed ``100 + seed``, parameters and batches ``seed``):
    ``(mean error, covariance error, untrained covariance error, wasserstein history)``, errors entrywise
    on 4,000 samples (latents from ``1000 + seed``)."""
    data = mixture(4000, 100 + seed)
    state = gan.init(seed)
    z = np.random.default_rng(1000 + seed).standard_normal((4000, 2)).astype(np.float32)
    untrained = np.abs(np.cov(np.asarray(gan.sample(state.params, z)).T) - np.cov(data.T)).max()
    state, history = fit_gan(gan, state, data, 2, steps=steps, batch_size=64, n_critic=5, seed=seed)
    samples = np.asarray(gan.sample(state.params, z))
    return (np.abs(samples.mean(0) - data.mean(0)).max(), np.abs(np.cov(samples.T) - np.cov(data.T)).max(),
            untrained, history["wasserstein"])


MEAN_TOL, COV_TOL = 0.25, 0.5
"""The stated tolerances (README): entrywise, against the data's mean (about (0, 0)) and covariance
(variances about 2.1 and 1.6).  Measured over seeds of :func:`mixture_fit`: clipping passes 12 of 12
(seeds 0-11; largest errors 0.234 and 0.496), the penalty 10 of 10 (seeds 0-9; 0.187 and 0.474).
At the old tolerances (0.15, 0.4) clipping passed 10 of 12."""


@pytest.mark.parametrize("seed", [0, 1])
def test_the_generator_learns_a_mixture_of_gaussians(seed):
    """Known answer (weight clipping; about 3 s a seed): after 8000 puts (n_critic 5) the samples' mean and
    covariance are within the stated tolerances of the data's, and the critic's Wasserstein estimate
    falls to under a third of its early value."""
    mean_err, cov_err, untrained, w = mixture_fit(small_gan(), seed)
    assert untrained > COV_TOL  # the test can fail
    assert mean_err < MEAN_TOL and cov_err < COV_TOL
    assert len(w) == 8000 * 5 // 6 + 1
    assert w[-500:].mean() < w[:200].mean() / 3


def gp_gan(lam: float = 1.0) -> GAN:
    gen = dense(2, 32, "relu") >> dense(32, 2, "identity")
    critic = dense(2, 64, "leaky_relu") >> dense(64, 1, "identity")
    return GAN(gen, critic, wgan_gp_optimiser(3e-3, 0.5, 0.9), gradient_penalty=lam)


@pytest.mark.slow
def test_the_penalised_generator_learns_a_mixture_of_gaussians():
    """Known answer for WGAN-GP (lambda 1, Adam(3e-3, 0.5, 0.9), no clipping): the same tolerances, and the
    estimate falls to under a third.  About 9 s with one BLAS thread; OpenBLAS's threaded complex matrix
    products (the complex step) took minutes on a loaded two-core machine, hence slow."""
    mean_err, cov_err, untrained, w = mixture_fit(gp_gan(), 0)
    assert untrained > COV_TOL
    assert mean_err < MEAN_TOL and cov_err < COV_TOL
    assert w[-500:].mean() < w[:200].mean() / 3


@pytest.mark.parametrize("act", ["leaky_relu", "tanh"])
def test_the_penalty_put_equals_jax_autodiff_of_the_direct_formula(act):
    """``penalty_put`` (complex step through the critic's own put) against ``jax.grad`` of
    ``sum_b dl_b lam (|grad_x d(x_b)| - 1)^2`` written out for a three-layer critic, float64."""
    jax = pytest.importorskip("jax", reason="install JAX: pip install 'paralens[jax]'")
    jnp = jax.numpy
    critic = dense(3, 16, act) >> dense(16, 8, act) >> dense(8, 1, "identity")
    q = critic.init(0, dtype="float64")
    rng = np.random.default_rng(1)
    x, dl, lam = rng.standard_normal((6, 3)), rng.random(6), 10.0
    dq = penalty_put(critic, q, x, input_gradient(critic, q, x), lam, dl)

    def direct(p):
        f = (lambda a: jnp.where(a > 0, a, 0.01 * a)) if act == "leaky_relu" else jnp.tanh
        w = [(p[f"{i}.weight"], p[f"{i}.bias"]) for i in range(3)]

        def d(xx):
            h = f(f(xx @ w[0][0].T + w[0][1]) @ w[1][0].T + w[1][1])
            return (h @ w[2][0].T + w[2][1])[0]

        g = jax.vmap(jax.grad(d))(x)
        return jnp.sum(dl * lam * (jnp.sqrt(jnp.sum(g * g, axis=1)) - 1) ** 2)

    with jax.enable_x64(True):
        ref = jax.grad(direct)({n: jnp.asarray(v) for n, v in q.items()})
        ref = {n: np.asarray(v) for n, v in ref.items()}
    assert np.abs(ref["0.weight"]).max() > 1e-2  # the second-order term is there
    for n in q:
        np.testing.assert_allclose(dq[n], ref[n], rtol=1e-6, atol=1e-9 * np.abs(ref[n]).max() + 1e-12)


def test_the_penalty_put_equals_finite_differences_on_numpy():
    """Independent of JAX: the penalty's change of q against central differences of the penalty itself
    (its input gradient taken by the critic's put), tanh critic, float64."""
    critic = dense(2, 8, "tanh") >> dense(8, 1, "identity")
    q = critic.init(3, dtype="float64")
    rng = np.random.default_rng(4)
    x, dl, lam = rng.standard_normal((5, 2)), rng.random(5), 2.0
    dq = penalty_put(critic, q, x, input_gradient(critic, q, x), lam, dl)

    def penalty(p):
        g = input_gradient(critic, p, x)
        return float(np.sum(dl * lam * (np.sqrt(np.sum(g * g, axis=1) + 1e-12) - 1) ** 2))

    for name in q:
        for i in range(q[name].size):
            e = np.zeros_like(q[name])
            e.flat[i] = 1e-6
            fd = (penalty({**q, name: q[name] + e}) - penalty({**q, name: q[name] - e})) / 2e-6
            assert dq[name].flat[i] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_a_critic_without_a_complex_extension_is_refused():
    for act in ("leaky_relu", "relu", "tanh"):
        check_complex_step(dense(2, 4, act) >> dense(4, 4, act) >> dense(4, 1, "identity"))
    with pytest.raises(ParalensError, match="complex step"):
        check_complex_step(dense(2, 4, "sigmoid") >> dense(4, 1, "identity"))
    with pytest.raises(ParalensError, match="complex step"):
        GAN(dense(2, 2, "identity"), dense(2, 4, "sigmoid") >> dense(4, 1, "identity"), gradient_penalty=10).init(0)


def test_the_penalty_replaces_clipping_and_needs_its_interpolation_weights():
    gen, critic = dense(2, 2, "identity"), dense(2, 4, "leaky_relu") >> dense(4, 1, "identity")
    with pytest.raises(ValueError, match="replaces weight clipping"):
        GAN(gen, critic, DescentAscent(rmsprop(1e-3), wgan_critic_optimiser(1e-3, 0.01)), gradient_penalty=10)
    with pytest.raises(ValueError, match="gradient_penalty"):
        GAN(gen, critic, gradient_penalty=-1.0)
    gan = GAN(gen, critic, gradient_penalty=10)
    assert "adam" in gan.optimiser.ascend.name
    state, z, x = gan.init(0), np.ones((4, 2), np.float32), mixture(4, 0)
    with pytest.raises(ValueError, match="mix"):
        gan_step(gan, state, z, x, (CRITIC,))
    _, m = gan_step(gan, state, z, x, (GEN,))  # the generator's put needs no penalty
    assert "penalty" not in m
    _, m = gan_step(gan, state, z, x, (CRITIC,), mix=np.full(4, 0.5, np.float32))
    assert m["penalty"] == pytest.approx(10 * (float(m["grad_norm"]) - 1) ** 2, rel=0.2)


@pytest.mark.parametrize("lam", [None, 1.0])
def test_the_compiled_jax_step_equals_the_numpy_step(lam):
    """Twelve puts (n_critic 2) through ``compile_gan_step`` on JAX arrays and through ``gan_step`` on NumPy."""
    pytest.importorskip("jax", reason="install JAX: pip install 'paralens[jax]'")
    from paralens.training.compile import compile_gan_step

    gan = gp_gan(lam) if lam else small_gan()
    data = mixture(256, 0)
    runs = []
    for backend, step_fn in (("numpy", None), ("jax", compile_gan_step(gan))):
        state, history = fit_gan(gan, gan.init(0, backend=backend), data, 2, steps=12, batch_size=16, n_critic=2,
                                 step_fn=step_fn)
        runs.append(({n: np.asarray(v) for n, v in state.params.items()}, history))
    (p_np, h_np), (p_jax, h_jax) = runs
    assert sorted(h_np) == sorted(h_jax) == (["generator", "grad_norm", "penalty", "wasserstein"] if lam
                                              else ["generator", "wasserstein"])
    for n in p_np:
        np.testing.assert_allclose(p_jax[n], p_np[n], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(h_jax["wasserstein"], h_np["wasserstein"], rtol=1e-3, atol=1e-5)


@pytest.mark.slow
def test_the_gan_command_writes_samples_a_checkpoint_and_a_verdict(tmp_path, capsys):
    """``paralens gan`` for one epoch on the bundled digits, judged by mnist-cnn trained 3 epochs here
    (86 s measured on a loaded two-core machine, hence slow): the PNG, the checkpoint, the JSON report."""
    import argparse
    import json

    from paralens.cli import gan as gan_cli
    from paralens.training.checkpoint import load_checkpoint

    parser = argparse.ArgumentParser(prog="paralens")
    gan_cli.add_parser(parser.add_subparsers())
    out, ckpt = tmp_path / "s.png", tmp_path / "g.safetensors"
    args = parser.parse_args(["gan", "--epochs", "1", "--judge-epochs", "3", "--out", str(out), "--save", str(ckpt),
                              "--json", "-q"])
    assert gan_cli.cmd_gan(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(load_checkpoint(ckpt).params) == sorted(gan_cli.mnist_gan(1e-3, 0.01).model.params)
    assert result["steps"] == -(-6000 // 64) * 6 // 5
    assert sum(map(int, result["class_histogram"].split())) == 1000
    assert 0.0 <= result["confident_0.9"] <= 1.0
    assert result["real_confident_0.9"] > 0.5  # the judge knows real digits
    assert result["wasserstein_last"] < result["wasserstein_first"]
    assert result["judge"] == "mnist-cnn trained 3 epochs" and result["method"] == "weight clipping 0.01"


@pytest.mark.parametrize("argv, message", [
    (["--gradient-penalty", "10", "--clip", "0.01"], "--clip does not apply with --gradient-penalty"),
    (["--judge", "j.safetensors", "--judge-epochs", "3"], "--judge-epochs does not apply with --judge"),
])
def test_options_that_do_not_go_together_are_refused_before_work(tmp_path, argv, message):
    import argparse

    from paralens.cli import gan as gan_cli

    parser = argparse.ArgumentParser(prog="paralens")
    gan_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["gan", "--out", str(tmp_path / "s.png"), "-q", *argv])
    with pytest.raises(ParalensError, match=message):
        gan_cli.cmd_gan(args)
    assert not (tmp_path / "s.png").exists()


def test_a_judge_that_is_no_checkpoint_fails_before_training(tmp_path):
    import argparse

    from paralens.cli import gan as gan_cli

    parser = argparse.ArgumentParser(prog="paralens")
    gan_cli.add_parser(parser.add_subparsers())
    bad = tmp_path / "judge.safetensors"
    bad.write_bytes(b"not a checkpoint")
    args = parser.parse_args(["gan", "--judge", str(bad), "--out", str(tmp_path / "s.png"), "-q"])
    with pytest.raises(ParalensError):
        gan_cli.cmd_gan(args)
    assert not (tmp_path / "s.png").exists()
