"""The Wasserstein GAN lens (paralens.learning.gan): the composite, its put, and a known answer on a mixture."""

import numpy as np
import pytest

from paralens.instances.smooth.layers import dense
from paralens.learning.gan import (
    CRITIC,
    GAN,
    GEN,
    DescentAscent,
    clip_weights,
    fit_gan,
    gan_step,
    split,
    wgan_critic_optimiser,
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


def test_the_generator_learns_a_mixture_of_gaussians():
    """Known answer (seeded; about 6 s): after 8000 puts (n_critic 5) the samples' mean is within 0.15
    and covariance within 0.4 (entrywise; the data's variances are about 2.1 and 1.6) of the data's;
    the critic's Wasserstein estimate falls to under a third of its early value."""
    data = mixture(4000, 1)
    gan = small_gan()
    state = gan.init(0)
    z = np.random.default_rng(2).standard_normal((4000, 2)).astype(np.float32)
    untrained = np.asarray(gan.sample(state.params, z))
    assert np.abs(np.cov(untrained.T) - np.cov(data.T)).max() > 0.4  # the test can fail
    state, history = fit_gan(gan, state, data, 2, steps=8000, batch_size=64, n_critic=5, seed=0)
    samples = np.asarray(gan.sample(state.params, z))
    assert np.abs(samples.mean(0) - data.mean(0)).max() < 0.15
    assert np.abs(np.cov(samples.T) - np.cov(data.T)).max() < 0.4
    w = history["wasserstein"]
    assert len(w) == 8000 * 5 // 6 + 1
    assert w[-500:].mean() < w[:200].mean() / 3


def test_the_gan_command_writes_samples_a_checkpoint_and_a_verdict(tmp_path, capsys):
    """``paralens gan`` for one epoch on the bundled digits (about 6 s): the PNG, the checkpoint, the JSON report."""
    import argparse
    import json

    from paralens.cli import gan as gan_cli
    from paralens.training.checkpoint import load_checkpoint

    parser = argparse.ArgumentParser(prog="paralens")
    gan_cli.add_parser(parser.add_subparsers())
    out, ckpt = tmp_path / "s.png", tmp_path / "g.safetensors"
    args = parser.parse_args(["gan", "--epochs", "1", "--out", str(out), "--save", str(ckpt), "--json", "-q"])
    assert gan_cli.cmd_gan(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(load_checkpoint(ckpt).params) == sorted(gan_cli.mnist_gan(1e-3, 0.01).model.params)
    assert result["steps"] == -(-6000 // 64) * 6 // 5
    assert sum(map(int, result["class_histogram"].split())) == 1000
    assert 0.0 <= result["confident_0.9"] <= 1.0
    assert result["real_confident_0.9"] > 0.5  # the judge knows real digits
    assert result["wasserstein_last"] < result["wasserstein_first"]


def test_a_judge_that_is_no_checkpoint_fails_before_training(tmp_path):
    import argparse

    from paralens.cli import gan as gan_cli
    from paralens.errors import ParalensError

    parser = argparse.ArgumentParser(prog="paralens")
    gan_cli.add_parser(parser.add_subparsers())
    bad = tmp_path / "judge.safetensors"
    bad.write_bytes(b"not a checkpoint")
    args = parser.parse_args(["gan", "--judge", str(bad), "--out", str(tmp_path / "s.png"), "-q"])
    with pytest.raises(ParalensError):
        gan_cli.cmd_gan(args)
    assert not (tmp_path / "s.png").exists()
