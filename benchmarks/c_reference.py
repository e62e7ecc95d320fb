"""A C reference for the bit-packed gate network, generated the way difflogic's ``CompiledLogicNet`` does it.

One C function with one statement per gate over ``uint64_t`` words (64 samples each), every value a local
variable (no slot reuse: the compiler allocates registers), the inputs read from and the outputs written to
arrays of words; a loop over the words of the batch around it.  Compiled with ``gcc -O1 -march=native``
(difflogic's flags; ``-O3`` takes about four times as long to compile for the same speed, issue 22) into a
shared library, called through ``ctypes``, and cached under ``~/.cache/paralens/c_reference/`` by the hash of
its source and flags (a 48,000-gate network takes minutes to compile).

    lib = CReference.build(circuit)          # None (with a note) without gcc
    out = lib.run(words)                     # words (n_inputs, n_words) -> (n_outputs, n_words)
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import time

import numpy as np

from paralens.boolean import packed_compiler as PC
from paralens.boolean.packed_kernels import OP_AND, OP_ANDN, OP_COPY, OP_MUX, OP_NOT, OP_OR, OP_XOR
from paralens.files import atomic_output, atomic_write

CACHE = os.path.join(os.path.expanduser("~"), ".cache", "paralens", "c_reference")

_EXPR = {OP_AND: "{a} & {b}", OP_ANDN: "{a} & ~{b}", OP_XOR: "{a} ^ {b}", OP_OR: "{a} | {b}", OP_NOT: "~{a}",
         OP_MUX: "{b} ^ (({b} ^ {c}) & {a})", OP_COPY: "{a}"}


def c_source(circuit) -> tuple[str, int, int]:
    """The C source of ``circuit`` (GF(2)): ``void net(const uint64_t *in, uint64_t *out, size_t n_words)`` over
    inputs ``in[w * n_in + i]`` and outputs ``out[w * n_out + k]``; returns ``(source, n_in, n_out)``.  The
    gates are the lowered, dead-code-free instructions of :mod:`paralens.boolean.packed_compiler`."""
    n_in = circuit.n_inputs
    code, ob, on, n_values = PC.lower(circuit)
    zero = n_values
    outs = np.where(ob < 0, zero, ob)
    code = PC.drop_dead(code, n_values + 1, outs)
    used = np.zeros(n_values + 1, dtype=bool)
    for arr in (code.a, code.b, code.c):
        used[arr] = True
    used[outs] = True
    lines = ["#include <stdint.h>", "#include <stddef.h>", "",
             "static inline void net1(const uint64_t *restrict in, uint64_t *restrict out) {",
             f"  const uint64_t v{zero} = 0;"]
    lines += [f"  const uint64_t v{i} = in[{i}];" for i in np.flatnonzero(used[:n_in]).tolist()]
    for op, a, b, c, o in zip(*(x.tolist() for x in code)):
        lines.append(f"  const uint64_t v{o} = " + _EXPR[op].format(a=f"v{a}", b=f"v{b}", c=f"v{c}") + ";")
    for k, (v, ng) in enumerate(zip(outs.tolist(), on.tolist())):
        lines.append(f"  out[{k}] = " + (f"~v{v};" if ng else f"v{v};"))
    lines += ["}", "", "void net(const uint64_t *in, uint64_t *out, size_t n_words) {",
              f"  for (size_t w = 0; w < n_words; ++w) net1(in + w * {n_in}, out + w * {len(outs)});", "}", ""]
    return "\n".join(lines), n_in, len(outs)


class CReference:
    """The compiled C function of a circuit (:func:`c_source`), loaded through ``ctypes``."""

    def __init__(self, path: str, n_in: int, n_out: int, seconds: float, cached: bool, flags: list[str]):
        self.path, self.n_in, self.n_out = path, n_in, n_out
        self.compile_seconds, self.cached, self.flags = seconds, cached, flags
        self._fn = ctypes.CDLL(path).net
        self._fn.restype = None
        self._fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]

    @classmethod
    def build(cls, circuit, *, opt: str = "-O1", cache: str = CACHE, say=print):
        """Compile (or load from the cache) ``circuit``'s C function; ``None`` with a note when there is no gcc."""
        gcc = shutil.which("gcc")
        if gcc is None:
            say("C reference skipped: gcc not found (install it, e.g. apt-get install gcc)")
            return None
        src, n_in, n_out = c_source(circuit)
        flags = [opt, "-march=native", "-shared", "-fPIC"]
        version = subprocess.run([gcc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        key = hashlib.sha256("\n".join([src, " ".join(flags), version]).encode()).hexdigest()[:20]
        os.makedirs(cache, exist_ok=True)
        lib = os.path.join(cache, f"net_{key}.so")
        if os.path.exists(lib):
            return cls(lib, n_in, n_out, 0.0, True, flags)
        c_file = os.path.join(cache, f"net_{key}.c")
        atomic_write(c_file, src)
        say(f"compiling the C reference ({len(src) / 1e6:.1f} MB of C, gcc {' '.join(flags[:2])}); cached for "
            f"later runs in {cache}")
        t0 = time.perf_counter()
        with atomic_output(lib) as tmp:
            subprocess.run([gcc, *flags, "-o", tmp, c_file], check=True)
        return cls(lib, n_in, n_out, time.perf_counter() - t0, False, flags)

    def run(self, words: np.ndarray) -> np.ndarray:
        """Outputs ``(n_out, n_words)`` for inputs ``(n_in, n_words)`` (:func:`paralens.fields.pack_bits` layout)."""
        x = np.ascontiguousarray(words.T, dtype=np.uint64)
        return self.run_rows(x).T

    def run_rows(self, x: np.ndarray) -> np.ndarray:
        """Outputs ``(n_words, n_out)`` for inputs already laid out as the C function reads them: ``(n_words, n_in)``."""
        out = np.empty((x.shape[0], self.n_out), dtype=np.uint64)
        self._fn(x.ctypes.data, out.ctypes.data, x.shape[0])
        return out
