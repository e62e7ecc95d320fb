"""Compiling the closed supervised lens with JAX: one step, a whole epoch, several devices.

The training layer's home for compilation (the array kernels stay in
:mod:`paralens.backend.jax_backend`); it needs JAX, so import it only where JAX is installed.

The training step of :mod:`paralens.learning.supervised` is the put of the closed
supervised lens, a pure function ``(state, x, y, key) -> (state', metrics)`` of
named trees, so JAX compiles it whole: the model's forward and backward passes
(paralens's own reverse derivatives), the loss, the learning rate and the
optimiser become one XLA program.

* :func:`compile_train_step` -- ``step(state, xb, yb, key) -> (state, metrics)``
  jitted, the state's buffers donated (the update is written in place, so memory
  does not double).  This is the ``step_fn`` :func:`paralens.training.fit.fit`
  takes; ``paralens train --backend jax`` uses it.
* :func:`compile_epoch` -- ``epoch(state, x_all, y_all, order[, key]) -> (state, losses)``:
  every step of an epoch in one ``lax.scan`` on the device (no host round trip per step).
* :func:`data_parallel_train_step` -- the same step over a :class:`jax.sharding.Mesh`:
  the batch axis split across the devices, parameters and optimiser state
  replicated; XLA inserts the all-reduce of the parameter changes.  With
  ``jax.distributed.initialize()`` the mesh spans several hosts.

Random numbers: the dropout key of a step is ``fold_in(key, step)`` with ``step``
the state's step counter, as in :func:`~paralens.training.fit.fit`, so a compiled
epoch and the host loop draw the same masks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from paralens.learning.supervised import train_step

__all__ = ["compile_epoch", "compile_gan_step", "compile_train_step", "data_parallel_train_step", "device_copy", "make_mesh", "replicate"]


def _train_step(*args):
    # looked up here at each trace (tests count the traces by replacing it)
    return train_step(*args)


def device_copy(tree: Any) -> Any:
    """A copy of ``tree`` as fresh JAX arrays (NumPy arrays and Python numbers converted), safe to donate."""
    return jax.tree_util.tree_map(lambda a: jnp.array(a, copy=True), tree)


def _guarded(step: Callable) -> Callable:
    """``step`` that keeps the state before the update when the loss or a parameter is not finite.

    Adds ``metrics["nonfinite"]``: -1 when the update was kept, else the index (in the
    order of ``state.params``) of the first non-finite parameter, or ``len(params)``
    when only the loss is non-finite.  Needed with donation: the caller cannot fall
    back to the state it passed in, whose buffers now belong to the result.
    """

    def guarded(state, xb, yb, key=None):
        new, metrics = step(state, xb, yb, key)
        names = list(new.params)
        leaves = jax.tree_util.tree_leaves
        bad = jnp.stack([~jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in leaves(new.params[n])] or [True]))
                         for n in names] + [~jnp.isfinite(metrics["loss"])])
        ok = ~jnp.any(bad)
        kept = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, state)
        metrics = dict(metrics, nonfinite=jnp.where(ok, -1, jnp.argmax(bad)).astype(jnp.int32))
        return kept, metrics

    return guarded


def _raw_step(learner) -> Callable:
    def step(state, xb, yb, key=None):
        return _train_step(learner, state, xb, yb, key)

    return step


def compile_train_step(learner, donate: bool = True, *, guard: bool = True, mesh: Mesh | None = None):
    """The training step of ``learner``, jitted: ``step(state, xb, yb, key) -> (state, metrics)``.

    Args:
      donate: donate the input state's buffers to the result (``donate_argnums=0``), so
        that parameters and optimiser state are updated in place.  The state passed in
        cannot be used after the call (keep ``new_state``; copy first if you need both).
      guard: when the loss or a parameter comes out non-finite, return the state
        before the update (selected on the device) and say so in ``metrics["nonfinite"]``
        (see :func:`paralens.training.fit.fit`'s ``on_nonfinite``).
      mesh: run data-parallel over this mesh (see :func:`data_parallel_train_step`).

    ``metrics`` holds the batch's mean ``loss`` (and ``accuracy`` for classifiers).
    """
    if mesh is not None:
        return data_parallel_train_step(learner, mesh, donate=donate, guard=guard)
    fn = _raw_step(learner)
    if guard:
        fn = _guarded(fn)
    return jax.jit(fn, donate_argnums=(0,) if donate else ())


def compile_epoch(learner, batch_size: int, *, donate: bool = True, with_metrics: bool = False,
                  mesh: Mesh | None = None):
    """A whole epoch in one compiled ``lax.scan``: ``epoch(state, x_all, y_all, order, key=None)``.

    ``x_all``, ``y_all`` hold the whole training set (inputs, and float targets such as
    one-hot rows) on the device; ``order`` is an integer array of sample indices whose
    length is a multiple of ``batch_size`` (a shuffled permutation, cut to full batches).
    Step ``b`` trains on ``x_all[order[b * batch_size : (b + 1) * batch_size]]``.
    ``key`` (optional) turns on dropout with the key ``fold_in(key, state.step)`` per step.

    Returns ``(state, losses)``, ``losses`` the per-step mean loss (shape ``(steps,)``), or
    with ``with_metrics`` a dict of per-step metrics (``loss``, ``accuracy``).
    With ``mesh``, each batch is split across the mesh's devices (``x_all`` replicated).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    batch_sharding = None if mesh is None else NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))

    def epoch(state, x_all, y_all, order, key=None):
        if order.shape[0] % batch_size:
            raise ValueError(
                f"the order has {order.shape[0]} indices, not a multiple of batch_size={batch_size}; "
                "cut it to full batches (order[: len(order) // batch_size * batch_size])"
            )
        batches = order.reshape(-1, batch_size)

        def body(s, idx):
            xb, yb = jnp.take(x_all, idx, axis=0), jnp.take(y_all, idx, axis=0)
            if batch_sharding is not None:
                xb = lax.with_sharding_constraint(xb, batch_sharding)
                yb = lax.with_sharding_constraint(yb, batch_sharding)
            k = None if key is None else jax.random.fold_in(key, s.step)
            s, m = _train_step(learner, s, xb, yb, k)
            return s, (m if with_metrics else m["loss"])

        return lax.scan(body, state, batches)

    jitted = jax.jit(epoch, donate_argnums=(0,) if donate else ())
    if mesh is None:
        return jitted
    repl = NamedSharding(mesh, PartitionSpec())

    def epoch_on_mesh(state, x_all, y_all, order, key=None):
        return jitted(replicate(state, mesh), _put(x_all, repl), _put(y_all, repl), _put(order, repl),
                      None if key is None else _put(key, repl))

    return epoch_on_mesh


# -- several devices ------------------------------------------------------------------------


def make_mesh(devices=None, axis: str = "batch") -> Mesh:
    """A one-axis mesh over ``devices`` (default: every device of every process, ``jax.devices()``)."""
    devs = list(jax.devices() if devices is None else devices)
    if not devs:
        raise ValueError("no devices to build a mesh on")
    return Mesh(np.array(devs), (axis,))


def _put(x, sharding):
    if isinstance(x, jax.Array) and x.sharding.is_equivalent_to(sharding, x.ndim):
        return x
    return jax.device_put(x, sharding)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """``tree`` with every array replicated on all the devices of ``mesh`` (no copy when it already is)."""
    repl = NamedSharding(mesh, PartitionSpec())
    return jax.tree_util.tree_map(lambda x: _put(x, repl), tree)


def data_parallel_train_step(learner, mesh: Mesh | None = None, *, donate: bool = True,
                             guard: bool = True):
    """The training step split over the batch axis of ``mesh`` (default: all devices).

    ``step(state, xb, yb, key) -> (state, metrics)`` as :func:`compile_train_step`:
    ``xb`` and ``yb`` are split along their first axis across the mesh's devices
    (``NamedSharding(mesh, P(axis))``), the state is replicated; XLA's partitioner
    sums the parameter changes across devices, so the result equals the one-device
    step (up to the order of floating-point sums).  A batch whose size is not a
    multiple of the device count is run replicated (same result, no split).

    Several hosts: call ``jax.distributed.initialize()`` first in every process; then
    the mesh spans all processes' devices and each process passes its *own* slice of
    the global batch (NumPy arrays, equal sizes), assembled with
    ``jax.make_array_from_process_local_data``.
    """
    mesh = make_mesh() if mesh is None else mesh
    axis = mesh.axis_names[0]
    n_dev = mesh.shape[axis]
    batch_sh = NamedSharding(mesh, PartitionSpec(axis))
    repl = NamedSharding(mesh, PartitionSpec())
    fn = _raw_step(learner)
    if guard:
        fn = _guarded(fn)
    jitted = jax.jit(fn, donate_argnums=(0,) if donate else (), out_shardings=(repl, repl))
    multi_process = jax.process_count() > 1

    def shard(a):
        if multi_process and not isinstance(a, jax.Array):
            return jax.make_array_from_process_local_data(batch_sh, np.asarray(a))
        return _put(a, batch_sh if a.shape[0] % n_dev == 0 else repl)

    def step(state, xb, yb, key=None):
        return jitted(replicate(state, mesh), shard(xb), shard(yb), None if key is None else _put(key, repl))

    step.mesh = mesh
    return step


# -- the GAN lens ------------------------------------------------------------------------------------


def compile_gan_step(gan, donate: bool = True):
    """The put of the closed GAN lens (:func:`paralens.learning.gan.gan_step`), jitted:
    ``step(state, z, x, moving, mix) -> (state, metrics)``, one program per ``moving`` (a static tuple
    of factor names), the state's buffers donated unless ``donate=False``."""
    from paralens.learning.gan import gan_step

    def step(state, z, x, moving, mix=None):
        return gan_step(gan, state, z, x, moving, mix)

    return jax.jit(step, static_argnums=(3,), donate_argnums=(0,) if donate else ())
