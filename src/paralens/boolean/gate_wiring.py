"""The fixed wiring of a gate network: which two wires of the layer before each gate reads.

:func:`random_wiring` (balanced fan-outs, no gate reading one wire twice), :func:`permutation_wiring`
(a layer as wide as the one before: every wire read exactly twice), :func:`local_wiring` and
:func:`local_wiring_next` (gates reading nearby pixels), :func:`local_candidates` (the candidate wires of
a learned-connection layer on an image), and :func:`fan_table` (the reverse of the
wiring: which reads each wire feeds, for the layers' reverse derivatives).
"""

from __future__ import annotations

import numpy as np


def random_wiring(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two ``(n_out,)`` index arrays into ``n_in`` wires: gate ``g`` reads ``ia[g]`` and ``ib[g]``.

    The ``2 n_out`` reads run through whole random permutations of the inputs, so every input is read
    ``floor`` or ``ceil`` of ``2 n_out / n_in`` times (at least once when ``2 n_out >= n_in``), and no
    gate reads one wire twice (when ``n_in >= 2``).
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"random_wiring: need n_in, n_out >= 1, got {n_in}, {n_out}")
    reps = -(-2 * n_out // n_in)
    reads = np.concatenate([rng.permutation(n_in) for _ in range(reps)])[: 2 * n_out]
    reads = reads[rng.permutation(2 * n_out)]
    ia, ib = reads[:n_out].copy(), reads[n_out:].copy()
    if n_in >= 2:
        _untangle(ia, ib, rng)
    return ia.astype(np.int64), ib.astype(np.int64)


def permutation_wiring(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Wiring of ``n`` gates on ``n`` wires: gate ``g`` reads wire ``g`` on port a and wire ``ib[g]`` on port b,
    ``ib`` a random permutation without fixed points, so every wire is read exactly twice, once per port.

    The same distribution as :func:`random_wiring` up to the order of the gates (which is arbitrary), and
    cheaper: port a needs no gather and the reverse of copy is one gather (``dx = da + db[ib^-1]``).
    """
    if n < 2:
        raise ValueError(f"permutation_wiring: need n >= 2, got {n}")
    ib = rng.permutation(n)
    for _ in range(100):
        fixed = np.flatnonzero(ib == np.arange(n))
        if len(fixed) == 0:
            break
        other = rng.integers(0, n, len(fixed))
        for g, h in zip(fixed, other):
            if ib[h] != g and ib[g] != h:
                ib[g], ib[h] = ib[h], ib[g]
    fixed = np.flatnonzero(ib == np.arange(n))
    for g in fixed:  # a rotation of the rest fixes any left (n >= 2)
        h = (g + 1) % n
        ib[g], ib[h] = ib[h], ib[g]
    return np.arange(n, dtype=np.int64), ib.astype(np.int64)


def _untangle(ia, ib, rng, rounds: int = 100) -> None:
    """Swap ``ib`` entries between gates until no gate reads one wire on both ports (in place)."""
    for _ in range(rounds):
        bad = np.flatnonzero(ia == ib)
        if len(bad) == 0:
            return
        other = rng.integers(0, len(ia), len(bad))
        for g, h in zip(bad, other):
            if ib[h] != ia[g] and ib[g] != ia[h]:
                ib[g], ib[h] = ib[h], ib[g]
    bad = np.flatnonzero(ia == ib)  # few wires (or one): move the rest to any other wire
    n = max(int(ia.max(initial=0)), int(ib.max(initial=0))) + 1
    ib[bad] = (ia[bad] + 1 + rng.integers(0, max(n - 1, 1), len(bad))) % n


def local_wiring(channels: int, height: int, width: int, n_out: int, radius: int,
                 rng: np.random.Generator, pixels=None) -> tuple[np.ndarray, np.ndarray]:
    """Wiring of a first layer on images whose bits are ``(pixel, channel)`` (pixel-major, as
    :class:`~paralens.boolean.encoders.ThermometerEncoder` orders them, ``channel`` = threshold).

    Gate ``g`` reads a bit of pixel ``p`` (pixels in balanced random order, every pixel read when
    ``n_out >= height * width``) and a bit of a pixel at most ``radius`` rows and columns away
    (inside the image), each at a random channel; never the same bit twice.  ``pixels``: the pixels
    that may be a gate's first (e.g. those that vary in the training data); default all.
    """
    n_pix = height * width
    if channels * n_pix < 2:
        raise ValueError("local_wiring: need at least two input bits")
    cand = np.arange(n_pix) if pixels is None else np.asarray(pixels, dtype=np.int64)
    reps = -(-n_out // len(cand))
    p = cand[np.concatenate([rng.permutation(len(cand)) for _ in range(reps)])[:n_out]]
    r, c = p // width, p % width
    ia = p * channels + rng.integers(0, channels, n_out)
    ib = ia.copy()
    todo = np.arange(n_out)
    while len(todo):  # draw partners; redraw those that hit the gate's own bit
        m = len(todo)
        r2 = np.clip(r[todo] + rng.integers(-radius, radius + 1, m), 0, height - 1)
        c2 = np.clip(c[todo] + rng.integers(-radius, radius + 1, m), 0, width - 1)
        ib[todo] = (r2 * width + c2) * channels + rng.integers(0, channels, m)
        todo = todo[ib[todo] == ia[todo]]
    return ia.astype(np.int64), ib.astype(np.int64)


def local_wiring_next(positions, n_out: int, radius: int, height: int, width: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wiring of a local layer after a local layer whose gates sit at pixels ``positions``.

    Port a reads the gates before in balanced order (gate ``g`` reads gate ``g`` when the widths are
    equal, so every gate before is read); port b a random gate before that sits at most ``radius``
    rows and columns from port a's.  Returns ``(ia, ib, positions of the new gates)`` (port a's):
    receptive fields grow by ``radius`` per layer, like a convolution without weight sharing.
    """
    pos = np.asarray(positions, dtype=np.int64)
    n_in = len(pos)
    if n_out == n_in:
        ia = np.arange(n_in, dtype=np.int64)
    else:
        reps = -(-n_out // n_in)
        ia = np.concatenate([rng.permutation(n_in) for _ in range(reps)])[:n_out].astype(np.int64)
    order = np.argsort(pos, kind="stable")
    counts = np.bincount(pos, minlength=height * width)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    r, c = pos[ia] // width, pos[ia] % width
    ib = np.empty(n_out, dtype=np.int64)
    todo = np.arange(n_out)
    for _ in range(1000):
        if not len(todo):
            break
        m = len(todo)
        r2 = np.clip(r[todo] + rng.integers(-radius, radius + 1, m), 0, height - 1)
        c2 = np.clip(c[todo] + rng.integers(-radius, radius + 1, m), 0, width - 1)
        t = r2 * width + c2
        ok = counts[t] > 0
        pick = order[np.minimum(starts[t] + (rng.random(m) * np.maximum(counts[t], 1)).astype(np.int64), n_in - 1)]
        ib[todo] = pick
        todo = todo[~ok | (pick == ia[todo])]
    if len(todo):  # isolated gates: any other gate
        ib[todo] = (ia[todo] + 1 + rng.integers(0, max(n_in - 1, 1), len(todo))) % n_in
    return ia, ib, pos[ia]


def local_candidates(channels: int, height: int, width: int, n_out: int, n_cand: int, radius: int,
                     rng: np.random.Generator, bits=None) -> np.ndarray:
    """``(n_out, n_cand)`` distinct input bits per gate, all within ``radius`` rows and columns of the gate's
    pixel, on images whose bits are ``(pixel, channel)`` (pixel-major, as :func:`local_wiring`).

    The gates' pixels run through balanced random orders of the pixels with a bit in ``bits`` (the bits the
    candidates should be, e.g. those that vary in the training data; default all), so every such pixel has a
    gate when ``n_out`` is at least their number; each gate's candidates are a random choice without
    replacement among the bits of ``bits`` in its window, topped up with the window's other bits where
    those are too few.  The candidate sets of a learned-connection layer on an image."""
    n_pix = height * width
    if radius < 0:
        raise ValueError(f"local_candidates: radius must be >= 0, got {radius}")
    allowed = np.ones(channels * n_pix, dtype=bool) if bits is None else np.zeros(channels * n_pix, dtype=bool)
    if bits is not None:
        allowed[np.asarray(bits, dtype=np.int64)] = True
    pix = np.flatnonzero(allowed.reshape(n_pix, channels).any(axis=1))
    if len(pix) == 0:
        raise ValueError("local_candidates: no input bits to choose from")
    reps = -(-n_out // len(pix))
    p = pix[np.concatenate([rng.permutation(len(pix)) for _ in range(reps)])[:n_out]]
    d = np.arange(-radius, radius + 1)
    dy, dx, c = (a.ravel() for a in np.meshgrid(d, d, np.arange(channels), indexing="ij"))
    r2, c2 = p[:, None] // width + dy[None], p[:, None] % width + dx[None]
    inside = (r2 >= 0) & (r2 < height) & (c2 >= 0) & (c2 < width)
    bit = np.where(inside, (r2 * width + c2) * channels + c[None], 0)
    # random keys: allowed bits of the window first, then its other bits; bits outside the image never
    key = rng.random(bit.shape) + np.where(allowed[bit], 0.0, 1.0) + np.where(inside, 0.0, np.inf)
    if (np.isfinite(key).sum(axis=1) < n_cand).any():
        raise ValueError(f"local_candidates: a window of radius {radius} holds fewer than {n_cand} bits")
    pick = np.argsort(key, axis=1, kind="stable")[:, :n_cand]
    return np.take_along_axis(bit, pick, axis=1).astype(np.int64)


def gather_table(n_in: int, src) -> np.ndarray:
    """``T`` of shape ``(n_in, fan)``: for each of ``n_in`` wires, the positions in ``src`` (the wires a layer
    reads, flattened) that read it, padded with ``len(src)``, so that with the reads' changes ``D`` (one row
    per position) and a zero row appended, ``dx = sum_j D[T[:, j]]`` (:func:`reverse_gather`): the reverse of
    the gather ``x[src]``, the copies' changes added, as gathers.  Reads of ``src >= n_in`` (padding) are left out."""
    src = np.asarray(src, dtype=np.int64).ravel()
    real = np.flatnonzero(src < n_in)
    s = src[real]
    order = np.argsort(s, kind="stable")
    s, pos = s[order], real[order]
    counts = np.bincount(s, minlength=n_in)
    fan = max(int(counts.max(initial=0)), 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    T = np.full((n_in, fan), len(src), dtype=np.int64)
    T[s, np.arange(len(s)) - starts[s]] = pos
    return T


def fan_table(n_in: int, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """The :func:`gather_table` of a two-input gate layer: positions in ``concat(da, db)``."""
    return gather_table(n_in, np.concatenate([ia, ib]))


def reverse_gather(xp, parts, table):
    """``sum_j D[table[:, j]]`` with ``D`` the row blocks ``parts`` stacked and a zero row appended (the
    reverse of a gather, :func:`gather_table`), in the array namespace ``xp`` (NumPy or traced by JAX).

    A column of ``table`` that reads one part only, without padding, is read from that part directly
    (the part itself when it reads it in order): a layer whose port a reads every wire in order and
    port b a permutation costs one gather and one add, no concatenation."""
    sizes = [int(p.shape[0]) for p in parts]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    stacked = []  # D, built once if a column needs it

    def column(col):
        lo, hi = int(col.min()), int(col.max())
        k = int(np.searchsorted(starts, lo, side="right")) - 1
        if k < len(parts) and hi < starts[k + 1]:
            local = col - starts[k]
            if len(local) == sizes[k] and np.array_equal(local, np.arange(sizes[k])):
                return parts[k]
            return parts[k][local]
        if not stacked:
            zero = xp.zeros((1,) + tuple(parts[0].shape[1:]), dtype=parts[0].dtype)
            stacked.append(xp.concatenate(list(parts) + [zero], axis=0))
        return stacked[0][col]

    out = column(table[:, 0])
    for j in range(1, table.shape[1]):
        out = out + column(table[:, j])
    return out


__all__ = ["fan_table", "gather_table", "reverse_gather", "local_candidates", "local_wiring", "local_wiring_next", "permutation_wiring", "random_wiring"]
