"""Wasserstein GANs: a constantly supervised parametric lens (thesis Def 7.15, Ex 8.19; paper [2404] §8).

The generator ``(P, g) : Z -> X`` and the critic ``(Q, d) : X -> L`` make the composite

    GAN = ((g ; d) x d) reparametrised by copy on Q  :  Z x X -> L x L,  parameter P x Q

with two tracks, ``z -> d(q, g(p, z))`` (fake) and ``x -> d(q, x)`` (real), and the critic's
parameter copied to both (its put sums the two changes: copy's reverse derivative is addition).
It is closed like supervised learning (:mod:`paralens.learning.supervised`): the dot-product
loss (Ex 3.7) with the constant label ``(1, -1)``, a learning rate, and as optimiser the
tensor of two optimiser lenses, descent on P and ascent on Q.  The put of one step::

    (p_bar, q_bar)        = U(s, (p, q))                     # the tensor's get
    (l_f, l_r)            = GAN(p_bar, q_bar, z, x)          # critic scores, fake and real
    l                     = (1, -1) . (l_f, l_r)             # dot-product loss: d(fake) - d(real)
    l'                    = alpha(l)                         # learning rate (unit: the gradient)
    (l_f', l_r')          = l' (1, -1)                       # the loss's put: the label is a mask
    (p', q')              = R[GAN](p_bar, q_bar, z, x, (l_f', l_r'))   # q' = q'_fake + q'_real
    (s', (p_new, q_new))  = U_desc*(s_P, p, p') x U_asc*(s_Q, q, q')

so the critic ascends ``E d(fake) - E d(real)`` (the Wasserstein estimate of Arjovsky et al.
2017, Theorem 3, with the critic's sign flipped) and the generator descends ``E d(fake)``.
Weight clipping (WGAN): the critic's optimiser ends with :func:`clip_weights` (``[-c, c]``);
``n_critic`` critic puts per generator put, the factor that does not move kept by the identity.

Gradient penalty (WGAN-GP, Gulrajani et al. 2017), ``GAN(..., gradient_penalty=lam)``: the critic's
loss gains ``-lam (|grad_x d(q, x_hat)| - 1)^2`` per sample at ``x_hat = e x_real + (1 - e) g(p, z)``,
``e ~ U[0, 1]``, and its weights are not clipped.  Its change to the critic's parameters needs the
mixed second derivative ``grad_q <grad_x d(q, x_hat), u>`` (``u`` the penalty's change of the input
gradient).  paralens's reverse derivatives are first order (and JAX's autodiff is not used by the
library), so :func:`penalty_put` takes it from the critic's own lens by the *complex step*: one more
put of the critic at ``x_hat + i h u`` gives, by the symmetry of mixed partial derivatives,
``Im R[d]_Q(q, x_hat + i h u, 1) / h = grad_q <grad_x d(q, x_hat), u> + O(h^2)``, exact to rounding
for ``h = 1e-10`` (no difference of nearby values is taken).  It works on NumPy and JAX arrays alike,
for critics whose maps extend to complex inputs as their formulas do (tested: linear, bias, ReLU,
leaky ReLU, tanh, identity; the branches of the piecewise maps follow the real part, as their
almost-everywhere derivatives); :meth:`GAN.init` checks that on the critic (a sigmoid, whose
formula takes ``|x|``, is refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from paralens.backend import backend_of
from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.para import Para
from paralens.categories.types import ArrayType, Product
from paralens.errors import ParalensError
from paralens.learning import losses
from paralens.learning.dreaming import ascent
from paralens.learning.learning_rates import LearningRate, unit
from paralens.learning.optimisers import Optimiser, adam, chain, rmsprop
from paralens.learning.optimisers.base import stateless

GEN, CRITIC = "gen", "critic"
"""The prefixes of the generator's (P) and the critic's (Q) parameters in the composite."""
LABEL = (1.0, -1.0)
"""The constant label ``(y_fake, y_real)`` of the dot-product loss (Ex 8.19)."""
STEP = 1e-10
"""The complex step ``h`` of :func:`penalty_put` (its error is ``O(h^2)``: below rounding in float32)."""


def pair_scores() -> Lens:
    """The lens ``L x L -> L^2`` (``L = R^1``): the two tracks' scores side by side, ``(batch, 2)``."""

    def fn(a):
        return backend_of(a[0]).xp.concatenate([a[0], a[1]], axis=-1)

    def rev(a, dy):
        return dy[:, :1], dy[:, 1:]

    one = ArrayType((1,))
    return R(Map(fn, rev, Product((one, one)), ArrayType((2,)), "pair", linear=True))


def gan_composite(generator: Para, critic: Para) -> Para:
    """``(P x Q, GAN) : Z x X -> L^2``: fake and real tracks with the critic weight-tied by copy.

    Parameters are ``"gen.<name>"`` (the generator's) and ``"critic.<name>"`` (the critic's, one
    copy feeding both tracks).  Input ``(z, x_real)``; output ``(batch, 2)``: ``(d(g(z)), d(x))``.
    """
    fake = generator.named(GEN) >> critic.named("fake")
    tracks = (fake @ critic.named("real")) >> pair_scores()
    return tracks.tie({f"{CRITIC}.{n}": [f"fake.{n}", f"real.{n}"] for n in critic.params})


def clip_weights(c: float) -> Optimiser:
    """The block that keeps parameters in ``[-c, c]`` (WGAN weight clipping): the last in a :func:`chain`.

    Its update maps ``u`` to ``clip(p + u, -c, c) - p``, so ``put`` lands on the clipped parameters.
    """
    if not c > 0:
        raise ValueError(f"clip_weights: c must be above 0, got {c}")

    def update(updates, params):
        xp = backend_of(params).xp
        return {n: xp.clip(params[n] + u, -c, c) - params[n] for n, u in updates.items()}

    return stateless("clip_weights", update, c=c)


def wgan_critic_optimiser(lr: float = 5e-5, clip: float | None = 0.01) -> Optimiser:
    """The critic's lens in Arjovsky et al.: RMSprop made to ascend, then weight clipping (``None``: none)."""
    up = ascent(rmsprop(lr))
    return up if clip is None else chain(up, clip_weights(clip), name=f"clip({up.name}, {clip})")


def owner(name: str) -> str:
    """Which factor of ``P x Q`` a composite parameter belongs to: :data:`GEN` or :data:`CRITIC`."""
    return name.split(".", 1)[0]


def split(tree: dict) -> dict[str, dict]:
    """``{gen: ..., critic: ...}``: a composite parameter tree cut into its factors."""
    parts: dict[str, dict] = {GEN: {}, CRITIC: {}}
    for n, v in tree.items():
        parts[owner(n)][n] = v
    return parts


@dataclass(frozen=True)
class DescentAscent:
    """The tensor of two optimiser lenses on ``P x Q``: ``descend`` on the generator, ``ascend`` on the critic.

    Its state is ``{"gen": s_P, "critic": s_Q}``.  ``put(..., moving=...)`` runs the factors named in
    ``moving`` and the identity lens on the others (parameters and state kept), for ``n_critic``.
    """

    descend: Optimiser
    ascend: Optimiser

    def factors(self) -> dict[str, Optimiser]:
        return {GEN: self.descend, CRITIC: self.ascend}

    def init(self, params: dict) -> dict:
        return {k: opt.init(split(params)[k]) for k, opt in self.factors().items()}

    def get(self, state: dict, params: dict) -> dict:
        parts = split(params)
        return {n: v for k, opt in self.factors().items() for n, v in opt.get(state[k], parts[k]).items()}

    def put(self, state: dict, params: dict, grads: dict, moving: Iterable[str] = (GEN, CRITIC)):
        moving = set(moving)
        ps, gs = split(params), split(grads)
        new_state, new_params = dict(state), {}
        for k, opt in self.factors().items():
            if k in moving:
                new_state[k], ps[k] = opt.put(state[k], ps[k], gs[k])
            new_params.update(ps[k])
        return new_state, new_params


class GANState(NamedTuple):
    """What a step changes: the composite's parameters ``P x Q``, the tensor's state, the learning rate's state."""

    params: dict
    opt_state: dict
    lr_state: object
    step: int


@dataclass(frozen=True)
class GAN:
    """A generator and a critic closed as a WGAN (the composite, dot loss with ``(1, -1)``, descent-ascent).

    Args:
      generator: ``Z -> X``.
      critic: ``X -> R^1``.
      optimiser: a :class:`DescentAscent`; the default is the original WGAN's
        (RMSprop 5e-5 both, the critic's weights clipped to ``[-0.01, 0.01]``).
      learning_rate: the learning-rate lens (default the unit: optimisers carry the step size).
      gradient_penalty: ``lam`` of WGAN-GP (``None`` or 0: none, weight clipping instead).  With a
        penalty the default optimiser is Gulrajani et al.'s, Adam(1e-4, b1 0, b2 0.9) on both factors,
        and a given one must not clip the critic's weights.
    """

    generator: Para
    critic: Para
    optimiser: DescentAscent | None = None
    learning_rate: LearningRate | None = None
    gradient_penalty: float | None = None

    def __post_init__(self):
        lam = self.gradient_penalty
        if lam is not None and not (np.isfinite(lam) and lam >= 0):
            raise ValueError(f"gradient_penalty must be a finite number >= 0 (or None), got {lam}")
        if self.optimiser is None:
            object.__setattr__(self, "optimiser", wgan_gp_optimiser() if lam else
                               DescentAscent(rmsprop(5e-5), wgan_critic_optimiser()))
        elif lam and clips(self.optimiser.ascend):
            raise ValueError(f"gradient_penalty={lam} replaces weight clipping, but the critic's optimiser "
                             f"{self.optimiser.ascend.name} clips its weights")
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", unit())
        object.__setattr__(self, "model", gan_composite(self.generator, self.critic))
        object.__setattr__(self, "loss", losses.dot(2, reduction="mean"))

    def init(self, seed: int, dtype: str = "float32", backend="numpy") -> GANState:
        """Fresh parameters ``P x Q`` from ``seed`` with the tensor's and the learning rate's states.

        With a gradient penalty, first checks that the critic admits the complex step (:func:`check_complex_step`).
        """
        if self.gradient_penalty:
            check_complex_step(self.critic, seed)
        params = self.model.init(seed, dtype=dtype, backend=backend)
        step = backend_of(params).asarray(0, dtype="int32") if backend == "jax" else 0
        return GANState(params, self.optimiser.init(params), self.learning_rate.init(), step)

    def sample(self, params: dict, z):
        """The generator's get: ``g(p, z)``."""
        return generator_get(self.generator, params, z)

    def critic_scores(self, params: dict, x):
        """The critic's get ``d(q, x)``, shape ``(batch,)``."""
        return np.asarray(self.critic.get(factor(params, CRITIC), x))[:, 0]


def factor(params: dict, which: str) -> dict:
    """The parameters of the generator (``which = GEN``) or the critic (``CRITIC``) under their own names."""
    return {n.split(".", 1)[1]: v for n, v in split(params)[which].items()}


def generator_get(generator: Para, params: dict, z):
    """``g(p, z)`` from the composite's parameters (the ``gen.*`` factor)."""
    return generator.get(factor(params, GEN), z)


def wgan_gp_optimiser(lr: float = 1e-4, b1: float = 0.0, b2: float = 0.9) -> DescentAscent:
    """Gulrajani et al.'s descent-ascent for WGAN-GP: Adam(lr, b1, b2) descending on P and ascending on Q."""
    return DescentAscent(adam(lr, b1, b2), ascent(adam(lr, b1, b2)))


def clips(optimiser: Optimiser) -> bool:
    """Whether ``optimiser`` is or ends in :func:`clip_weights` (a :func:`chain` records its parts' names)."""
    return optimiser.name == "clip_weights" or "clip_weights" in optimiser.hyperparams.get("parts", ())


def _per_sample(v, x):
    """``v`` of shape ``(batch,)`` shaped to broadcast against ``x`` ``(batch, ...)``."""
    return v.reshape((-1,) + (1,) * (x.ndim - 1))


def input_gradient(critic: Para, q: dict, x):
    """``R[d]_X(q, x, 1)``: the critic's put on its input, each score's gradient at its sample."""
    scores, r = critic.forward(q, x)
    return critic.backward(r, backend_of(x).xp.ones_like(scores))[1]


def penalty_put(critic: Para, q: dict, x_hat, g, lam: float, dl) -> dict:
    """The change to ``q`` of the gradient penalty ``lam (|g| - 1)^2`` per sample, ``g = R[d]_X(q, x_hat, 1)``.

    ``dl`` ``(batch,)`` is the change of each sample's penalty (the learning rate's output, over the
    batch for a mean).  The penalty's change of the input gradient is ``u = dl 2 lam (|g| - 1) g / |g|``
    and its change of ``q``, ``grad_q <g(q), u>``, is the imaginary part of the critic's put at
    ``x_hat + i h u`` over ``h`` (the complex step, :data:`STEP`; see the module).
    """
    xp = backend_of(x_hat).xp
    norm = grad_norm(g)
    u = _per_sample(dl * 2 * lam * (norm - 1) / norm, g) * g
    scores, r = critic.forward(q, x_hat + (1j * STEP) * u)
    dq = critic.backward_params(r, xp.ones_like(scores))
    return {n: (xp.imag(v) / STEP).astype(q[n].dtype) for n, v in dq.items()}


def grad_norm(g):
    """``|g|`` per sample, ``(batch,)`` (with ``1e-12`` under the root: finite where ``g = 0``)."""
    xp = backend_of(g).xp
    return xp.sqrt(xp.sum((g * g).reshape(g.shape[0], -1), axis=1) + 1e-12)


def check_complex_step(critic: Para, seed: int = 0, tol: float = 1e-5) -> None:
    """Refuse a critic whose maps do not extend to complex inputs as their formulas (see the module).

    At float64 parameters from ``seed`` and one random input ``x`` and direction ``u``, the complex step
    ``Im R[d]_Q(q, x + i h u, 1) / h`` must agree with the central difference of ``R[d]_Q(q, -, 1)``
    along ``u`` within ``tol`` (relative to the largest entry).
    """
    shape = getattr(critic.dom, "shape", None)
    if shape is None:
        raise ParalensError(f"the gradient penalty needs the critic's input shape; {critic.label()} has none")
    rng = np.random.default_rng(seed)
    q = critic.init(seed, dtype="float64")
    x, u = rng.standard_normal((2, 1) + tuple(shape))

    def put_q(a):
        scores, r = critic.forward(q, a)
        return critic.backward_params(r, np.ones_like(scores))

    step = {n: np.imag(v) / STEP for n, v in put_q(x + 1j * STEP * u).items()}
    h = 1e-6
    hi, lo = put_q(x + h * u), put_q(x - h * u)
    scale = max(1.0, *(float(np.abs(v).max()) for v in step.values()))
    worst = max(float(np.abs(step[n] - (hi[n] - lo[n]) / (2 * h)).max()) for n in step) / scale
    if not worst <= tol:
        raise ParalensError(f"the gradient penalty's complex step does not hold for the critic {critic.label()} "
                            f"(off by {worst:.2g}): use maps that extend to complex inputs (no sigmoid)")


def gan_step(gan: GAN, state: GANState, z, x, moving: Iterable[str] = (GEN, CRITIC), mix=None):
    """The put of the closed GAN lens: ``(state, z, x) -> (state', metrics)``.

    ``moving`` names the factors whose optimiser runs (:data:`GEN`, :data:`CRITIC` or both: simultaneous
    descent-ascent).  ``metrics["wasserstein"]`` is the batch's mean loss ``E d(fake) - E d(real)``,
    the critic's estimate of the Wasserstein distance; ``"generator"`` is ``E d(fake)``.
    With a gradient penalty and the critic moving, ``mix`` ``(batch,)`` in ``[0, 1]`` places the
    interpolated points ``mix x + (1 - mix) g(z)``; ``metrics`` then also holds the batch's mean
    ``"penalty"`` and ``"grad_norm"`` (``|grad_x d|`` there).  Runs on NumPy or JAX arrays (jit-able).
    """
    if len(z) != len(x):
        raise ValueError(f"gan_step: {len(z)} latent samples but {len(x)} real ones (the tracks pair them)")
    moving = tuple(moving)
    penalised = bool(gan.gradient_penalty) and CRITIC in moving
    if penalised and mix is None:
        raise ValueError("gan_step: the gradient penalty needs mix, the interpolation weights (batch,)")
    xp = backend_of(x).xp
    label = xp.broadcast_to(xp.asarray(LABEL, dtype=x.dtype), (len(x), 2))
    p_bar = gan.optimiser.get(state.opt_state, state.params)
    scores, r_model = gan.model.forward(p_bar, (z, x))
    values, r_loss = gan.loss.forward({"label": label}, scores)
    metrics = {"wasserstein": xp.mean(values), "generator": xp.mean(scores[:, 0])}
    if penalised:
        q, lam = factor(p_bar, CRITIC), gan.gradient_penalty
        w = _per_sample(mix.astype(x.dtype), x)
        x_hat = w * x + (1 - w) * generator_get(gan.generator, p_bar, z)
        g = input_gradient(gan.critic, q, x_hat)
        norm = grad_norm(g)
        penalty = lam * (norm - 1) ** 2
        dl, lr_state = gan.learning_rate.put(state.lr_state, values - penalty)
        dq = penalty_put(gan.critic, q, x_hat, g, lam, dl / len(x))
        metrics.update(penalty=xp.mean(penalty), grad_norm=xp.mean(norm))
    else:
        dl, lr_state = gan.learning_rate.put(state.lr_state, values)
    _, dscores = gan.loss.backward(r_loss, dl / len(x))
    grads = gan.model.backward_params(r_model, dscores)
    if penalised:  # the critic maximises the loss minus the penalty
        grads = {**grads, **{f"{CRITIC}.{n}": grads[f"{CRITIC}.{n}"] - v for n, v in dq.items()}}
    opt_state, params = gan.optimiser.put(state.opt_state, state.params, grads, moving)
    return GANState(params, opt_state, lr_state, state.step + 1), metrics


def wgan_schedule(n_critic: int) -> Callable[[int], tuple[str, ...]]:
    """Which factors move at step ``k``: the critic ``n_critic`` times, then the generator once.

    ``n_critic = 0`` is simultaneous descent-ascent (both at every step).
    """
    if n_critic < 0:
        raise ValueError(f"n_critic must be >= 0, got {n_critic}")
    if n_critic == 0:
        return lambda k: (GEN, CRITIC)
    return lambda k: (GEN,) if k % (n_critic + 1) == n_critic else (CRITIC,)


def fit_gan(gan: GAN, state: GANState, data: np.ndarray, latent_dim: int, *, steps: int, batch_size: int = 64,
            n_critic: int = 5, seed: int = 0, progress: Callable[[dict], None] | None = None,
            step_fn: Callable | None = None):
    """``steps`` puts of :func:`gan_step` on batches of ``data`` and standard normal latents; ``(state, history)``.

    ``history`` holds ``"wasserstein"``, the estimate at each critic step (the loss the critic
    maximises), and ``"generator"``, ``E d(fake)`` at each generator step (the loss it minimises);
    with a gradient penalty also ``"penalty"`` and ``"grad_norm"`` at each critic step.
    ``progress(metrics)`` is called after each step.  Batches, latents and interpolation weights come
    from ``seed`` on the host (the same on every backend) and are put on the backend of
    ``state.params``; ``step_fn(state, z, x, moving, mix)`` replaces :func:`gan_step` (e.g. the
    compiled step of :func:`paralens.training.compile.compile_gan_step`).
    """
    rng = np.random.default_rng(seed)
    moves = wgan_schedule(n_critic)
    B = backend_of(state.params)
    data_on = B.asarray(data)
    step = step_fn or (lambda s, z, x, moving, mix: gan_step(gan, s, z, x, moving, mix))
    hist: dict[str, list] = {"wasserstein": [], "generator": [], "penalty": [], "grad_norm": []}
    for k in range(int(steps)):
        idx = rng.integers(0, len(data), batch_size)
        z = rng.standard_normal((batch_size, latent_dim)).astype(data.dtype)
        mix = rng.random(batch_size).astype(data.dtype) if gan.gradient_penalty else None
        moving = moves(k)
        state, m = step(state, B.asarray(z), data_on[B.asarray(idx)] if B.name == "jax" else data_on[idx],
                        moving, None if mix is None else B.asarray(mix))
        m = {n: float(v) for n, v in m.items()}
        for n in ("wasserstein", "penalty", "grad_norm") if CRITIC in moving else ():
            if n in m:
                hist[n].append(m[n])
        if GEN in moving:
            hist["generator"].append(m["generator"])
        if progress is not None:
            progress(m)
    return state, {n: np.array(v) for n, v in hist.items() if v or n in ("wasserstein", "generator")}
