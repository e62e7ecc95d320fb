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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from paralens.categories.functor import Map, R
from paralens.categories.lens import Lens
from paralens.categories.para import Para
from paralens.categories.types import ArrayType, Product
from paralens.learning import losses
from paralens.learning.dreaming import ascent
from paralens.learning.learning_rates import LearningRate, unit
from paralens.learning.optimisers import Optimiser, chain, rmsprop
from paralens.learning.optimisers.base import stateless

GEN, CRITIC = "gen", "critic"
"""The prefixes of the generator's (P) and the critic's (Q) parameters in the composite."""
LABEL = (1.0, -1.0)
"""The constant label ``(y_fake, y_real)`` of the dot-product loss (Ex 8.19)."""


def pair_scores() -> Lens:
    """The lens ``L x L -> L^2`` (``L = R^1``): the two tracks' scores side by side, ``(batch, 2)``."""

    def fn(a):
        return np.concatenate([a[0], a[1]], axis=-1)

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
        return {n: np.clip(params[n] + u, -c, c) - params[n] for n, u in updates.items()}

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
    """

    generator: Para
    critic: Para
    optimiser: DescentAscent | None = None
    learning_rate: LearningRate | None = None

    def __post_init__(self):
        if self.optimiser is None:
            object.__setattr__(self, "optimiser", DescentAscent(rmsprop(5e-5), wgan_critic_optimiser()))
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", unit())
        object.__setattr__(self, "model", gan_composite(self.generator, self.critic))
        object.__setattr__(self, "loss", losses.dot(2, reduction="mean"))

    def init(self, seed: int, dtype: str = "float32") -> GANState:
        """Fresh parameters ``P x Q`` from ``seed`` with the tensor's and the learning rate's states."""
        params = self.model.init(seed, dtype=dtype)
        return GANState(params, self.optimiser.init(params), self.learning_rate.init(), 0)

    def sample(self, params: dict, z):
        """The generator's get: ``g(p, z)``."""
        return generator_get(self.generator, params, z)

    def critic_scores(self, params: dict, x):
        """The critic's get ``d(q, x)``, shape ``(batch,)``."""
        q = {n.split(".", 1)[1]: v for n, v in split(params)[CRITIC].items()}
        return np.asarray(self.critic.get(q, x))[:, 0]


def generator_get(generator: Para, params: dict, z):
    """``g(p, z)`` from the composite's parameters (the ``gen.*`` factor)."""
    return generator.get({n.split(".", 1)[1]: v for n, v in split(params)[GEN].items()}, z)


def gan_step(gan: GAN, state: GANState, z, x, moving: Iterable[str] = (GEN, CRITIC)):
    """The put of the closed GAN lens: ``(state, z, x) -> (state', metrics)``.

    ``moving`` names the factors whose optimiser runs (:data:`GEN`, :data:`CRITIC` or both: simultaneous
    descent-ascent).  ``metrics["wasserstein"]`` is the batch's mean loss ``E d(fake) - E d(real)``,
    the critic's estimate of the Wasserstein distance; ``"generator"`` is ``E d(fake)``.
    """
    if len(z) != len(x):
        raise ValueError(f"gan_step: {len(z)} latent samples but {len(x)} real ones (the tracks pair them)")
    label = np.broadcast_to(np.asarray(LABEL, dtype=x.dtype), (len(x), 2))
    p_bar = gan.optimiser.get(state.opt_state, state.params)
    scores, r_model = gan.model.forward(p_bar, (z, x))
    values, r_loss = gan.loss.forward({"label": label}, scores)
    dl, lr_state = gan.learning_rate.put(state.lr_state, values)
    _, dscores = gan.loss.backward(r_loss, dl / len(x))
    grads = gan.model.backward_params(r_model, dscores)
    opt_state, params = gan.optimiser.put(state.opt_state, state.params, grads, moving)
    metrics = {"wasserstein": float(np.mean(values)), "generator": float(np.mean(scores[:, 0]))}
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
            n_critic: int = 5, seed: int = 0, progress: Callable[[dict], None] | None = None):
    """``steps`` puts of :func:`gan_step` on batches of ``data`` and standard normal latents; ``(state, history)``.

    ``history`` holds ``"wasserstein"``, the estimate at each critic step (the loss the critic
    maximises), and ``"generator"``, ``E d(fake)`` at each generator step (the loss it minimises).
    ``progress(metrics)`` is called after each step.
    """
    rng = np.random.default_rng(seed)
    moves = wgan_schedule(n_critic)
    w, g = [], []
    for k in range(int(steps)):
        x = data[rng.integers(0, len(data), batch_size)]
        z = rng.standard_normal((batch_size, latent_dim)).astype(data.dtype)
        moving = moves(k)
        state, m = gan_step(gan, state, z, x, moving)
        if CRITIC in moving:
            w.append(m["wasserstein"])
        if GEN in moving:
            g.append(m["generator"])
        if progress is not None:
            progress(m)
    return state, {"wasserstein": np.array(w), "generator": np.array(g)}
