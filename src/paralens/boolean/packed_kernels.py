"""The numba kernels of the bit-packed evaluator: plain Python until :func:`numba_kernels` compiles them.

The kernel
==========

For each block: (1) each row of 64 samples is *encoded* (bits are read as they are, 8 per
``uint64``; ``uint8`` features through a threshold or thermometer encoder are compared with the
integer thresholds, ``x >= floor(t) + 1``, which is ``x > t``: the encoding is fused) and or-ed,
shifted by its row, into 8 accumulators; one 8 x 8 byte transpose per 8 columns, vectorised over
the columns, gives every column's word, and the block's words go to their slots a whole row at a
time (no ``np.packbits``, no transposes of the batch); (2) the program runs (:func:`_k_program`, one
branch per run of one opcode); (3) either the outputs are unpacked to bytes by the inverse transpose,
or the *class head* counts the ones of each class's group as a bit-sliced counter (carry-save adders,
16 outputs at a time: Harley-Seal), compares the classes bit-sliced (a later class wins only when
strictly greater: ties go to the lowest class) and writes the class of every sample: no per-sample
popcount and no ``(N, n_outputs)`` array.

Vector width: a slot holds the block's ``W`` words (8 by default: 512 samples), and the hot steps are small
LLVM intrinsics over ``<W x i64>`` (or ``<64 x i8>``) vectors, so that they use the whole vector registers
(AVX-512 where there is one, AVX2 otherwise) whatever numba's vectorisers decide: a gate is one load per
operand, one operation and one store (:func:`_make_wide`); the encoder compares 64 features of a row at once
(:func:`_make_ge_or`); the class head's Harley-Seal step and carries stay in vector registers
(:func:`_make_counters`).  Measured on the 48,000-gate MNIST network, one core of this machine: the gates
alone 5.2-7.0 M samples/s (2.5 M with numba's own loops over the words, which stayed scalar), the class
head 30 ns a sample (96 before).

The compiler's loops (dead code, the cache schedule, slot allocation) are kernels too.  The opcodes of the
instruction set are :data:`OP_NAMES`.
"""

from __future__ import annotations

import threading

import numpy as np

# opcodes of the kernel
OP_AND, OP_ANDN, OP_XOR, OP_OR, OP_NOT, OP_MUX, OP_COPY = 0, 1, 2, 3, 4, 5, 6
OP_NAMES = ("and", "andn", "xor", "or", "not", "mux", "copy")

# --------------------------------------------------------------------------------------- numba, lazily

_NUMBA: dict = {}
_LOCK = threading.Lock()
_wide = _ge_or = _hs16 = _half = _enc64 = None  # the vector intrinsics, made with numba by numba_kernels() (_make_*)


def numba_kernels():
    """The compiled kernels (a namespace), or ``None`` when numba is not installed.

    The kernels below are plain functions until the first call: then each module-level name is
    replaced by its ``numba.njit(nogil=True, cache=True)`` dispatcher (so kernels calling kernels
    compile against the compiled ones), and the compiled code is cached on disk."""
    if "k" in _NUMBA:
        return _NUMBA["k"]
    with _LOCK:
        return _compile_kernels()


def _compile_kernels():
    if "k" not in _NUMBA:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba ships with galois
            _NUMBA["k"] = None
        else:
            g = globals()
            g["_wide"], g["_ge_or"] = _make_wide(), _make_ge_or()
            g["_hs16"], g["_half"] = _make_counters()
            g["_enc64"] = _make_encode64()
            ns = {}
            for name in _KERNELS:
                g[name] = numba.njit(nogil=True, cache=True, boundscheck=False)(g[name])
                ns[name.removeprefix("_k_")] = g[name]
            from types import SimpleNamespace

            _NUMBA["k"] = SimpleNamespace(**ns)
    return _NUMBA["k"]


# --------------------------------------------------------------------------------------- the kernels
# Plain Python until numba_kernels() compiles them (numba.njit(nogil=True, cache=True)); all word
# arithmetic is uint64 throughout (mixing uint64 and int64 would make numba use float64).

_U1, _U2, _U3, _U4, _U5, _U6, _U7 = (np.uint64(i) for i in range(1, 8))
_U8, _U16, _U32 = np.uint64(8), np.uint64(16), np.uint64(32)
_ZERO, _ONES = np.uint64(0), np.uint64(0xFFFFFFFFFFFFFFFF)
_LO32, _HI32 = np.uint64(0x00000000FFFFFFFF), np.uint64(0xFFFFFFFF00000000)
_LO16, _HI16 = np.uint64(0x0000FFFF0000FFFF), np.uint64(0xFFFF0000FFFF0000)
_LO8, _HI8 = np.uint64(0x00FF00FF00FF00FF), np.uint64(0xFF00FF00FF00FF00)
_BYTE_LSB = np.uint64(0x0101010101010101)


def _k_dead_code(need, a, b, c, out, live):
    for i in range(len(out) - 1, -1, -1):
        if need[out[i]]:
            live[i] = True
            need[a[i]] = True
            need[b[i]] = True
            need[c[i]] = True


def _k_allocate(a, b, c, out, last, slot, n_slots):
    """Slots for the instructions' values (those without one yet), lowest free slot first (a binary min-heap);
    the operands of an instruction are freed after its output is placed, so no instruction writes a slot it
    reads."""
    heap = np.empty(len(out) + n_slots + 1, dtype=np.int64)
    hn = 0
    for i in range(len(out)):
        if slot[out[i]] < 0:
            if hn > 0:
                s = heap[0]
                hn -= 1
                x = heap[hn]
                j = 0
                while True:  # sift down
                    l = 2 * j + 1
                    if l >= hn:
                        break
                    r = l + 1
                    m = l if (r >= hn or heap[l] <= heap[r]) else r
                    if heap[m] < x:
                        heap[j] = heap[m]
                        j = m
                    else:
                        break
                heap[j] = x
            else:
                s = n_slots
                n_slots += 1
            slot[out[i]] = s
        for t in range(3):
            v = a[i] if t == 0 else (b[i] if t == 1 else c[i])
            if t >= 1 and v == a[i]:
                continue
            if t == 2 and v == b[i]:
                continue
            if last[v] == i:
                x = slot[v]
                j = hn
                hn += 1
                while j > 0:  # sift up
                    p = (j - 1) // 2
                    if heap[p] > x:
                        heap[j] = heap[p]
                        j = p
                    else:
                        break
                heap[j] = x
    return n_slots


def _k_push(stack, top, p, i):
    stack[p, top[p]] = i
    top[p] += 1


def _k_frees(i, opnd, nop, uses, pinned):
    """How many of instruction ``i``'s operands it reads last (their slots are freed after it)."""
    p = 0
    for q in range(nop[i]):
        v = opnd[i, q]
        if uses[v] == 1 and not pinned[v]:
            p += 1
    return p


def _k_pop(stack, top, done, prio):
    """The ready instruction that frees the most slots (the latest made ready among equals), or -1."""
    for p in range(3, -1, -1):
        while top[p] > 0:
            top[p] -= 1
            i = stack[p, top[p]]
            if not done[i] and prio[i] == p:
                return i
    return -1


def _k_schedule(op, opnd, nop, out, n_values, pinned, chunk, order):
    """A list schedule of the instructions for cache: greedily, the ready instructions that free the most
    slots, ``chunk`` at a time (all ready together, so independent), each chunk sorted by opcode (runs of one
    opcode for the kernel); ``opnd[i, :nop[i]]`` are instruction ``i``'s distinct operands.  Writes ``order``."""
    n = len(out)
    producer = np.full(n_values, -1, dtype=np.int64)
    uses = np.zeros(n_values, dtype=np.int64)
    for i in range(n):
        producer[out[i]] = i
        for q in range(nop[i]):
            uses[opnd[i, q]] += 1
    start = np.zeros(n_values + 1, dtype=np.int64)
    for v in range(n_values):
        start[v + 1] = start[v] + uses[v]
    fill = start[:-1].copy()
    readers = np.empty(start[n_values], dtype=np.int64)
    waiting = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for q in range(nop[i]):
            v = opnd[i, q]
            readers[fill[v]] = i
            fill[v] += 1
            if producer[v] >= 0:
                waiting[i] += 1
    done = np.zeros(n, dtype=np.bool_)
    prio = np.zeros(n, dtype=np.int64)
    stack = np.empty((4, 4 * n + 4), dtype=np.int64)
    top = np.zeros(4, dtype=np.int64)
    for i in range(n):
        if waiting[i] == 0:
            prio[i] = _k_frees(i, opnd, nop, uses, pinned)
            _k_push(stack, top, prio[i], i)
    sel = np.empty(max(chunk, 1), dtype=np.int64)
    n_done = 0
    while n_done < n:
        k = 0
        while k < chunk:
            i = _k_pop(stack, top, done, prio)
            if i < 0:
                break
            done[i] = True
            sel[k] = i
            k += 1
        for x in range(1, k):  # by opcode (insertion sort, stable)
            y = sel[x]
            j = x - 1
            while j >= 0 and op[sel[j]] > op[y]:
                sel[j + 1] = sel[j]
                j -= 1
            sel[j + 1] = y
        for x in range(k):
            i = sel[x]
            order[n_done] = i
            n_done += 1
            for q in range(nop[i]):
                v = opnd[i, q]
                uses[v] -= 1
                if uses[v] == 1 and not pinned[v]:  # its last reader now frees it
                    for t in range(start[v], start[v + 1]):
                        j = readers[t]
                        if not done[j] and waiting[j] == 0:
                            prio[j] += 1
                            _k_push(stack, top, prio[j], j)
            o = out[i]
            for t in range(start[o], start[o + 1]):
                j = readers[t]
                waiting[j] -= 1
                if waiting[j] == 0:
                    prio[j] = _k_frees(j, opnd, nop, uses, pinned)
                    _k_push(stack, top, prio[j], j)


def _k_transpose8(v0, v1, v2, v3, v4, v5, v6, v7):
    """The transpose of the 8 x 8 byte matrix whose rows are ``v0 .. v7`` (byte ``c`` of ``v_j`` is entry ``(j, c)``)."""
    t0 = (v0 & _LO32) | (v4 << _U32)
    t4 = (v0 >> _U32) | (v4 & _HI32)
    t1 = (v1 & _LO32) | (v5 << _U32)
    t5 = (v1 >> _U32) | (v5 & _HI32)
    t2 = (v2 & _LO32) | (v6 << _U32)
    t6 = (v2 >> _U32) | (v6 & _HI32)
    t3 = (v3 & _LO32) | (v7 << _U32)
    t7 = (v3 >> _U32) | (v7 & _HI32)
    s0 = (t0 & _LO16) | ((t2 << _U16) & _HI16)
    s2 = ((t0 >> _U16) & _LO16) | (t2 & _HI16)
    s1 = (t1 & _LO16) | ((t3 << _U16) & _HI16)
    s3 = ((t1 >> _U16) & _LO16) | (t3 & _HI16)
    s4 = (t4 & _LO16) | ((t6 << _U16) & _HI16)
    s6 = ((t4 >> _U16) & _LO16) | (t6 & _HI16)
    s5 = (t5 & _LO16) | ((t7 << _U16) & _HI16)
    s7 = ((t5 >> _U16) & _LO16) | (t7 & _HI16)
    r0 = (s0 & _LO8) | ((s1 << _U8) & _HI8)
    r1 = ((s0 >> _U8) & _LO8) | (s1 & _HI8)
    r2 = (s2 & _LO8) | ((s3 << _U8) & _HI8)
    r3 = ((s2 >> _U8) & _LO8) | (s3 & _HI8)
    r4 = (s4 & _LO8) | ((s5 << _U8) & _HI8)
    r5 = ((s4 >> _U8) & _LO8) | (s5 & _HI8)
    r6 = (s6 & _LO8) | ((s7 << _U8) & _HI8)
    r7 = ((s6 >> _U8) & _LO8) | (s7 & _HI8)
    return r0, r1, r2, r3, r4, r5, r6, r7


# -- packing: 64 rows of bytes (0/1) -> one word per column -----------------------------------------------
# (1) row r's bytes, read 8 columns per uint64, are shifted by r % 8 and or-ed into acc[r // 8] (a vectorised
# pass per row, no transposes of the batch); (2) per 8 columns, the 8 x 8 byte transpose of acc[:, g] gives
# the 8 columns' words (byte j: rows 8j .. 8j + 7), stored to their slots.


def _k_accumulate_row(row, r, acc):
    a = acc[r >> 3]
    k = np.uint64(r & 7)
    for g in range(a.shape[0]):
        a[g] |= row[g] << k


def _k_encode_row(x, U, M, nf8, acc, r):
    """One row ``r`` of features into the accumulators' bytes: bit ``r % 8`` of ``acc[r // 8, j * nf8 + i]`` is
    ``x[i] >= U[j, i]`` and ``M[j, i]`` (64 features at a time, :func:`_make_ge_or`; fewer than 64 one by one)."""
    k, nf = U.shape
    a = acc[r >> 3]
    bit = np.uint8(1 << (r & 7))
    n64 = nf - nf % 64
    for j in range(k):
        for i in range(0, n64, 64):
            _ge_or(a, j * nf8 + i, x, i, U, j * nf + i, M, bit)
        if n64 != nf and nf >= 64:  # the rest: the last 64 features again (or-ing a bit twice changes nothing)
            _ge_or(a, j * nf8 + nf - 64, x, nf - 64, U, j * nf + nf - 64, M, bit)
        elif n64 != nf:
            u = U[j]
            mk = M[j]
            o = j * nf8
            for i in range(nf):
                if x[i] >= u[i] and mk[i]:
                    a[o + i] |= bit


def _k_transpose_all(acc, T):
    """``T[c, g]``: the word of column ``8 g + c`` (64 rows) from the accumulated ``acc[j, g]`` (8 x 8 byte
    transposes, one per 8 columns; vectorised across column groups)."""
    a0, a1, a2, a3, a4, a5, a6, a7 = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
    T0, T1, T2, T3, T4, T5, T6, T7 = T[0], T[1], T[2], T[3], T[4], T[5], T[6], T[7]
    for g in range(acc.shape[1]):
        v0, v1, v2, v3, v4, v5, v6, v7 = a0[g], a1[g], a2[g], a3[g], a4[g], a5[g], a6[g], a7[g]
        t0 = (v0 & _LO32) | (v4 << _U32)
        t4 = (v0 >> _U32) | (v4 & _HI32)
        t1 = (v1 & _LO32) | (v5 << _U32)
        t5 = (v1 >> _U32) | (v5 & _HI32)
        t2 = (v2 & _LO32) | (v6 << _U32)
        t6 = (v2 >> _U32) | (v6 & _HI32)
        t3 = (v3 & _LO32) | (v7 << _U32)
        t7 = (v3 >> _U32) | (v7 & _HI32)
        s0 = (t0 & _LO16) | ((t2 << _U16) & _HI16)
        s2 = ((t0 >> _U16) & _LO16) | (t2 & _HI16)
        s1 = (t1 & _LO16) | ((t3 << _U16) & _HI16)
        s3 = ((t1 >> _U16) & _LO16) | (t3 & _HI16)
        s4 = (t4 & _LO16) | ((t6 << _U16) & _HI16)
        s6 = ((t4 >> _U16) & _LO16) | (t6 & _HI16)
        s5 = (t5 & _LO16) | ((t7 << _U16) & _HI16)
        s7 = ((t5 >> _U16) & _LO16) | (t7 & _HI16)
        T0[g] = (s0 & _LO8) | ((s1 << _U8) & _HI8)
        T1[g] = ((s0 >> _U8) & _LO8) | (s1 & _HI8)
        T2[g] = (s2 & _LO8) | ((s3 << _U8) & _HI8)
        T3[g] = ((s2 >> _U8) & _LO8) | (s3 & _HI8)
        T4[g] = (s4 & _LO8) | ((s5 << _U8) & _HI8)
        T5[g] = ((s4 >> _U8) & _LO8) | (s5 & _HI8)
        T6[g] = (s6 & _LO8) | ((s7 << _U8) & _HI8)
        T7[g] = ((s6 >> _U8) & _LO8) | (s7 & _HI8)


def _k_transpose_slots(acc, col_slot8, V, w):
    """Word ``w`` of every column from the accumulated ``acc[j, g]`` (:func:`_k_transpose8`, one per 8 columns),
    stored straight into the slots ``V[col_slot8[c, g], w]`` of column ``8 g + c`` (columns without a slot
    write to a spare slot): no intermediate array of the block's words."""
    a0, a1, a2, a3, a4, a5, a6, a7 = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
    c0, c1, c2, c3 = col_slot8[0], col_slot8[1], col_slot8[2], col_slot8[3]
    c4, c5, c6, c7 = col_slot8[4], col_slot8[5], col_slot8[6], col_slot8[7]
    for g in range(acc.shape[1]):
        r = _k_transpose8(a0[g], a1[g], a2[g], a3[g], a4[g], a5[g], a6[g], a7[g])
        V[c0[g], w] = r[0]
        V[c1[g], w] = r[1]
        V[c2[g], w] = r[2]
        V[c3[g], w] = r[3]
        V[c4[g], w] = r[4]
        V[c5[g], w] = r[5]
        V[c6[g], w] = r[6]
        V[c7[g], w] = r[7]


def _make_wide():
    """``_wide(V, a, b, c, z, op, proto)``: ``V[z:z+W] = op(V[a:a+W], V[b:b+W], V[c:c+W])`` as one operation on a
    ``<W x i64>`` vector (``W = len(proto)``, the words of a block; ``op`` a literal opcode), so that one gate
    is one load per operand, one vector instruction and one store at the machine's full vector width (LLVM
    lowers ``<8 x i64>`` to one AVX-512 register, or two AVX2 ones), whatever numba's vectorisers do."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _wide(typingctx, V, a, b, c, z, op, proto):
        if not (isinstance(op, types.IntegerLiteral) and isinstance(proto, types.UniTuple)):
            return None
        W, code = proto.count, op.literal_value
        sig = types.void(V, a, b, c, z, op, proto)

        def codegen(context, builder, signature, args):
            data = context.make_array(signature.args[0])(context, builder, args[0]).data
            vt = ir.VectorType(ir.IntType(64), W)

            def word(k):  # the vector at element offset args[k]
                return builder.bitcast(builder.gep(data, [args[k]]), vt.as_pointer())

            x = builder.load(word(1), align=8)
            ones = ir.Constant(vt, [ir.Constant(ir.IntType(64), -1)] * W)
            if code == OP_NOT:
                r = builder.xor(x, ones)
            elif code == OP_COPY:
                r = x
            else:
                y = builder.load(word(2), align=8)
                if code == OP_AND:
                    r = builder.and_(x, y)
                elif code == OP_ANDN:
                    r = builder.and_(x, builder.xor(y, ones))
                elif code == OP_XOR:
                    r = builder.xor(x, y)
                elif code == OP_OR:
                    r = builder.or_(x, y)
                else:  # mux(s, x, y) = y if s else x; here x is the select, y and c the data
                    d = builder.load(word(3), align=8)
                    r = builder.xor(y, builder.and_(builder.xor(y, d), x))
            builder.store(r, word(4), align=8)
            return context.get_dummy_value()

        return sig, codegen

    return _wide


def _make_ge_or():
    """``_ge_or(acc, ao, x, xo, U, uo, M, bit)``: ``acc[ao + t] |= bit`` where ``x[xo + t] >= U[uo + t]`` and
    ``M[uo + t]``, for ``t < 64`` (flat offsets, bytes): 64 comparisons as one ``<64 x i8>`` vector operation
    (AVX-512BW: one compare into a mask register)."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _ge_or(typingctx, acc, ao, x, xo, U, uo, M, bit):
        sig = types.void(acc, ao, x, xo, U, uo, M, bit)

        def codegen(context, builder, signature, args):
            vt = ir.VectorType(ir.IntType(8), 64)

            def vec(k, off):
                data = context.make_array(signature.args[k])(context, builder, args[k]).data
                return builder.bitcast(builder.gep(data, [args[off]]), vt.as_pointer())

            xv = builder.load(vec(2, 3), align=1)
            uv = builder.load(vec(4, 5), align=1)
            mv = builder.load(vec(6, 5), align=1)
            b = context.cast(builder, args[7], signature.args[7], types.uint8)
            splat = builder.insert_element(ir.Constant(vt, None), b, ir.Constant(ir.IntType(32), 0))
            splat = builder.shuffle_vector(splat, ir.Constant(vt, None), ir.Constant(ir.VectorType(ir.IntType(32), 64), [0] * 64))
            zero = ir.Constant(vt, [0] * 64)
            cond = builder.and_(builder.icmp_unsigned(">=", xv, uv), builder.icmp_unsigned("!=", mv, zero))
            pa = vec(0, 1)
            builder.store(builder.or_(builder.load(pa, align=1), builder.select(cond, splat, zero)), pa, align=1)
            return context.get_dummy_value()

        return sig, codegen

    return _ge_or


def _make_encode64():
    """``_enc64(acc, X8, r0, i, U, M, levels)``: 64 rows ``r0 ..`` of features ``i .. i + 63`` of ``X8`` encoded by
    ``k = len(levels)`` levels of thresholds: byte ``j * nf8 + i + t`` of ``acc[g]`` (``nf8 = acc.shape[1] * 8 //
    k``) gets bit ``r`` of the comparisons ``X8[r0 + 8 g + r, i + t] >= U[j, i + t]`` (and ``M[j, i + t]``).  The
    ``8 k`` accumulators stay in vector registers for the 64 rows and are stored once (not or-ed: the bytes of
    a chunk are written by it alone, so overlapping chunks store the same values)."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _enc64(typingctx, acc, X8, r0, i, U, M, levels):
        if not isinstance(levels, types.UniTuple):
            return None
        k = levels.count
        sig = types.void(acc, X8, r0, i, U, M, levels)

        def codegen(context, builder, signature, args):
            i8, i64 = ir.IntType(8), ir.IntType(64)
            vt = ir.VectorType(i8, 64)
            arrs = [context.make_array(signature.args[n])(context, builder, args[n]) for n in (0, 1, 4, 5)]
            accd, xd, ud, md = (a.data for a in arrs)
            acc_row = builder.mul(builder.extract_value(arrs[0].shape, 1), ir.Constant(i64, 8))  # bytes a row
            nf = builder.extract_value(arrs[1].shape, 1)
            nf8 = builder.udiv(acc_row, ir.Constant(i64, k))
            accb = builder.bitcast(accd, i8.as_pointer())

            def vec(base, off):
                return builder.bitcast(builder.gep(base, [off]), vt.as_pointer())

            zero = ir.Constant(vt, [0] * 64)
            uv, mv = [], []
            for j in range(k):
                off = builder.add(builder.mul(ir.Constant(i64, j), nf), args[3])
                uv.append(builder.load(vec(ud, off), align=1))
                mv.append(builder.icmp_unsigned("!=", builder.load(vec(md, off), align=1), zero))
            a = [[zero] * 8 for _ in range(k)]
            for r in range(64):
                row = builder.add(args[2], ir.Constant(i64, r))
                xv = builder.load(vec(xd, builder.add(builder.mul(row, nf), args[3])), align=1)
                bit = ir.Constant(vt, [1 << (r & 7)] * 64)
                for j in range(k):
                    hit = builder.and_(builder.icmp_unsigned(">=", xv, uv[j]), mv[j])
                    a[j][r >> 3] = builder.or_(a[j][r >> 3], builder.select(hit, bit, zero))
            for j in range(k):
                col = builder.add(builder.mul(ir.Constant(i64, j), nf8), args[3])
                for g in range(8):
                    off = builder.add(builder.mul(ir.Constant(i64, g), acc_row), col)
                    builder.store(a[j][g], vec(accb, off), align=1)
            return context.get_dummy_value()

        return sig, codegen

    return _enc64


def _make_counters():
    """``_hs16(V, vo, neg, no, acc, carry, proto)``: one Harley-Seal step on vectors of ``W = len(proto)`` words:
    the 16 slots at ``V[vo + k W]`` (xor ``neg[no + k]``) into the counters ``acc`` (ones, twos, fours, eights:
    ``4 W`` words), the sixteens into ``carry``; ``_half(P, po, C, proto)``: ``P[po:po + W], C = P ^ C, P & C``
    (a half adder: the carry moves up one plane).  All in vector registers (15 carry-save adders for 16 rows)."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    def _csa(b, x, y, z):
        u = b.xor(x, y)
        return b.or_(b.and_(x, y), b.and_(u, z)), b.xor(u, z)


    @intrinsic
    def _hs16(typingctx, V, vo, neg, no, acc, carry, proto):
        """One Harley-Seal step: the 16 slots at V[vo + k W] (xor neg[no + k]) into the counters acc (ones, twos,
        fours, eights: 4 W words) and the sixteens into carry (W words)."""
        if not isinstance(proto, types.UniTuple):
            return None
        W = proto.count
        sig = types.void(V, vo, neg, no, acc, carry, proto)

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            vt = ir.VectorType(i64, W)
            def data(k):
                return context.make_array(signature.args[k])(context, builder, args[k]).data
            Vd, nd, ad, cd = data(0), data(2), data(4), data(5)
            def vptr(base, off):
                return builder.bitcast(builder.gep(base, [off]), vt.as_pointer())
            def splat(x):
                v = builder.insert_element(ir.Constant(vt, None), x, ir.Constant(ir.IntType(32), 0))
                return builder.shuffle_vector(v, ir.Constant(vt, None), ir.Constant(ir.VectorType(ir.IntType(32), W), [0] * W))
            g = []
            for k in range(16):
                row = builder.load(vptr(Vd, builder.add(args[1], ir.Constant(i64, k * W))), align=8)
                ng = builder.load(builder.gep(nd, [builder.add(args[3], ir.Constant(i64, k))]))
                g.append(builder.xor(row, splat(ng)))
            accs = [vptr(ad, ir.Constant(i64, j * W)) for j in range(4)]
            o, tw, fo, ei = (builder.load(p, align=8) for p in accs)
            twA, o = _csa(builder, o, g[0], g[1])
            twB, o = _csa(builder, o, g[2], g[3])
            foA, tw = _csa(builder, tw, twA, twB)
            twA, o = _csa(builder, o, g[4], g[5])
            twB, o = _csa(builder, o, g[6], g[7])
            foB, tw = _csa(builder, tw, twA, twB)
            eiA, fo = _csa(builder, fo, foA, foB)
            twA, o = _csa(builder, o, g[8], g[9])
            twB, o = _csa(builder, o, g[10], g[11])
            foA, tw = _csa(builder, tw, twA, twB)
            twA, o = _csa(builder, o, g[12], g[13])
            twB, o = _csa(builder, o, g[14], g[15])
            foB, tw = _csa(builder, tw, twA, twB)
            eiB, fo = _csa(builder, fo, foA, foB)
            six, ei = _csa(builder, ei, eiA, eiB)
            for p, v in zip(accs, (o, tw, fo, ei)):
                builder.store(v, p, align=8)
            builder.store(six, vptr(cd, ir.Constant(i64, 0)), align=8)
            return context.get_dummy_value()

        return sig, codegen


    @intrinsic
    def _half(typingctx, P, po, C, proto):
        """P[po: po + W], C[:W] = P ^ C, P & C (a half adder on vectors: the carry moves up one plane)."""
        W = proto.count
        sig = types.void(P, po, C, proto)

        def codegen(context, builder, signature, args):
            vt = ir.VectorType(ir.IntType(64), W)
            pd = context.make_array(signature.args[0])(context, builder, args[0]).data
            cd = context.make_array(signature.args[2])(context, builder, args[2]).data
            pp = builder.bitcast(builder.gep(pd, [args[1]]), vt.as_pointer())
            cp = builder.bitcast(cd, vt.as_pointer())
            p, c = builder.load(pp, align=8), builder.load(cp, align=8)
            builder.store(builder.xor(p, c), pp, align=8)
            builder.store(builder.and_(p, c), cp, align=8)
            return context.get_dummy_value()

        return sig, codegen


    return _hs16, _half


def _k_run(V, instr, s, e, W, op, proto):
    """Instructions ``s .. e - 1`` of opcode ``op`` (a literal) on the flat slots ``V`` (``W`` words a slot)."""
    for i in range(s, e):
        _wide(V, np.intp(instr[i, 0]) * W, np.intp(instr[i, 1]) * W, np.intp(instr[i, 2]) * W,
              np.intp(instr[i, 3]) * W, op, proto)


def _k_program(V, runs, instr, proto):
    """Run the instructions on the slots ``V`` (flat: slot ``s`` is ``V[s * W: (s + 1) * W]``, ``W = len(proto)``),
    a run of one opcode at a time (one branch per run)."""
    W = len(proto)
    for r in range(runs.shape[0]):
        op, s, e = runs[r, 0], runs[r, 1], runs[r, 2]
        if op == 0:
            _k_run(V, instr, s, e, W, 0, proto)
        elif op == 1:
            _k_run(V, instr, s, e, W, 1, proto)
        elif op == 2:
            _k_run(V, instr, s, e, W, 2, proto)
        elif op == 3:
            _k_run(V, instr, s, e, W, 3, proto)
        elif op == 4:
            _k_run(V, instr, s, e, W, 4, proto)
        elif op == 5:
            _k_run(V, instr, s, e, W, 5, proto)
        else:
            _k_run(V, instr, s, e, W, 6, proto)


def _k_unpack(V, out_first, out_neg, n_out8, resv, row0, nrows, w):
    """Word ``w`` of the output slots (negations applied) as rows ``row0 ..`` of bytes (``resv``: 8 per word)."""
    for g in range(n_out8 // 8):
        b = 8 * g
        s = out_first + b
        t0 = V[s, w] ^ out_neg[b]
        t1 = V[s + 1, w] ^ out_neg[b + 1]
        t2 = V[s + 2, w] ^ out_neg[b + 2]
        t3 = V[s + 3, w] ^ out_neg[b + 3]
        t4 = V[s + 4, w] ^ out_neg[b + 4]
        t5 = V[s + 5, w] ^ out_neg[b + 5]
        t6 = V[s + 6, w] ^ out_neg[b + 6]
        t7 = V[s + 7, w] ^ out_neg[b + 7]
        v = _k_transpose8(t0, t1, t2, t3, t4, t5, t6, t7)
        for j in range(8):
            vj = v[j]
            for k in range(8):
                r = 8 * j + k
                if r < nrows:
                    resv[row0 + r, g] = (vj >> np.uint64(k)) & _BYTE_LSB


def _k_count(V, first, out_neg, base, m, P, acc, carry, proto):
    """Bit-sliced counts ``P`` (planes, LSB first) of the ones of outputs ``base .. base + m - 1`` (slots
    ``first + base ..``), per sample: 16 outputs at a time through the vector Harley-Seal step, the rest one
    by one; ``W = len(proto)`` words a slot."""
    W = len(proto)
    flat = V.reshape(V.size)
    Pf = P.reshape(P.size)
    L = P.shape[0]
    P[:] = 0
    full = m // 16
    if full:
        acc[:] = 0
        accf = acc.reshape(acc.size)
        for q in range(full):
            b = base + 16 * q
            _hs16(flat, (first + b) * W, out_neg, b, accf, carry, proto)
            for j in range(4, L):
                _half(Pf, j * W, carry, proto)
        for j in range(4):  # ones + 2 twos + 4 fours + 8 eights + 16 (planes 4..): already a binary number
            P[j, :] = acc[j]
    for t in range(16 * full, m):
        row = V[first + base + t]
        ng = out_neg[base + t]
        for w in range(W):
            carry[w] = row[w] ^ ng
        for j in range(L):
            _half(Pf, j * W, carry, proto)


def _k_head(V, first, out_neg, n_classes, m, P, best, idx, acc, carry, gt, pred, row0, N, proto):
    """The class of every sample of the block: most ones in its group, ties to the lowest class (bit-sliced)."""
    W = V.shape[1]
    L = P.shape[0]
    nb = idx.shape[0]
    for c in range(n_classes):
        _k_count(V, first, out_neg, c * m, m, P, acc, carry, proto)
        if c == 0:
            best[:] = P
            idx[:] = 0
            continue
        gt[:] = 0
        for j in range(L):  # from the LSB: gt = (count > best on bits 0 .. j)
            p = P[j]
            q = best[j]
            for w in range(W):
                x = p[w]
                y = q[w]
                gt[w] = (x & ~y) | (~(x ^ y) & gt[w])
        for j in range(L):
            p = P[j]
            q = best[j]
            for w in range(W):
                q[w] ^= (q[w] ^ p[w]) & gt[w]
        for j in range(nb):
            mask = _ONES if (c >> j) & 1 else _ZERO
            q = idx[j]
            for w in range(W):
                q[w] = (q[w] & ~gt[w]) | (gt[w] & mask)
    for w in range(W):
        r = row0 + 64 * w
        n = min(64, N - r)
        for s in range(n):
            v = 0
            for j in range(nb):
                v |= np.int64((idx[j, w] >> np.uint64(s)) & _U1) << j
            pred[r + s] = v


def _k_pack_block(source, N, X8, X64, U, M, nf8, col_slot, col_slot8, blk, acc, V, levels):
    """Block ``blk`` (samples ``64 W blk ..``) of the inputs into the input slots of ``V``.

    ``source`` 0: bits, ``X64`` = ``(N, n_inputs / 8)`` words of 8 bytes (0/1); 1: ``X8`` ``(N, n_features)``
    bytes, encoded by ``U``, ``M`` (``levels``: a tuple of ``len(U)`` zeros, the levels as a type for
    :func:`_make_encode64`); 2: ``X64`` = ``(n_inputs, n_words)`` words already packed (whole blocks)."""
    W = V.shape[1]
    if source == 2:  # (col_slot8: the slot of column 8 g + c as [c, g], a spare slot where there is none)
        c0 = blk * W
        for i in range(len(col_slot)):
            s = col_slot[i]
            if s >= 0:
                row = V[s]
                src = X64[i]
                for w in range(W):
                    row[w] = src[c0 + w]
        return
    acc8 = acc.view(np.uint8)
    nf = X8.shape[1]
    row0 = blk * 64 * W
    for w in range(W):
        r0 = row0 + 64 * w
        if r0 >= N:
            break
        if source == 1 and r0 + 64 <= N and nf >= 64:  # 64 whole rows: 64 features at a time, in registers
            for i in range(0, nf - 63, 64):
                _enc64(acc, X8, r0, i, U, M, levels)
            if nf % 64:
                _enc64(acc, X8, r0, nf - 64, U, M, levels)
        else:
            acc[:] = 0
            for r in range(min(64, N - r0)):
                if source == 0:
                    _k_accumulate_row(X64[r0 + r], r, acc)
                else:
                    _k_encode_row(X8[r0 + r], U, M, nf8, acc8, r)
        _k_transpose_slots(acc, col_slot8, V, w)


def _k_unpack_block(V, out_first, out_neg, n_out8, out_words, blk, N):
    W = V.shape[1]
    row0 = blk * 64 * W
    for w in range(W):
        r0 = row0 + 64 * w
        if r0 >= N:
            break
        _k_unpack(V, out_first, out_neg, n_out8, out_words, r0, min(64, N - r0), w)


def _k_blocks(b0, b1, source, N, X8, X64, U, M, nf8, col_slot, col_slot8, acc, V, flat, runs, instr,
              proto, levels, mode, out_first, out_neg, n_out8, out_words, n_classes, m, P, best, idx, hacc, carry, gt, pred):
    """Blocks ``b0 .. b1 - 1``, each packed (:func:`_k_pack_block`), run (:func:`_k_program`) and unpacked into
    ``out_words`` (``mode`` 0) or decoded into classes in ``pred`` (:func:`_k_head`): one call per thread."""
    W = V.shape[1]
    for blk in range(b0, b1):
        _k_pack_block(source, N, X8, X64, U, M, nf8, col_slot, col_slot8, blk, acc, V, levels)
        _k_program(flat, runs, instr, proto)
        if mode == 0:
            _k_unpack_block(V, out_first, out_neg, n_out8, out_words, blk, N)
        else:
            _k_head(V, out_first, out_neg, n_classes, m, P, best, idx, hacc, carry, gt, pred, blk * 64 * W, N, proto)


def _k_pack_words(X64, N, col8, out):
    """``out[col, w]``: bit ``s`` is sample ``64 w + s`` of column ``col`` (``X64``: rows of 8 bytes 0/1 per word);
    32 words at a time, each column's run of words written whole."""
    G = X64.shape[1]
    Wb = 32
    acc = np.zeros((8, max(G, 1)), dtype=np.uint64)
    T_all = np.zeros((Wb, 8, max(G, 1)), dtype=np.uint64)
    n_words = out.shape[1]
    for w0 in range(0, n_words, Wb):
        nw = min(Wb, n_words - w0)
        for w in range(nw):
            r0 = (w0 + w) * 64
            acc[:] = 0
            for r in range(min(64, N - r0)):
                _k_accumulate_row(X64[r0 + r], r, acc)
            _k_transpose_all(acc, T_all[w])
        for c in range(8):
            cs = col8[c]
            for g in range(G):
                col = cs[g]
                if col >= 0:
                    row = out[col]
                    for w in range(nw):
                        row[w0 + w] = T_all[w, c, g]


_KERNELS = ("_k_dead_code", "_k_allocate", "_k_push", "_k_frees", "_k_pop", "_k_schedule", "_k_transpose8", "_k_accumulate_row", "_k_encode_row", "_k_transpose_all",
            "_k_transpose_slots",
            "_k_run", "_k_program", "_k_unpack", "_k_count", "_k_head", "_k_pack_block", "_k_unpack_block", "_k_blocks",
            "_k_pack_words")


__all__ = ["OP_NAMES", "numba_kernels"]
