"""The learner as hardware: reverse derivative ascent on a parametric GF(2) circuit, one example a cycle.

:func:`rda_learner` builds a synchronous PyRTL design for a circuit ``c`` whose
first ``n_params`` inputs are parameters and whose other inputs are data
(paper Ex 4.4; Wilson & Zanasi, reverse derivative ascent).  The parameters
live in a register; each clock cycle takes one example ``(x, y)`` and computes

    prediction   b = c(p, x)
    error        e = b + y                      (XOR: the wrong bits)
    change       (dp, dx) = R[c](p, x, e)       (the reverse derivative, as a circuit)
    update       p <- p + dp                    (XOR)

``R[c] = reverse(c)`` contains ``c`` itself, so the forward pass is built once and
read both for the prediction and by the backward pass.  Outputs: ``params`` (the
register, before the cycle's update), ``pred`` and ``params_next``.

    >>> from paralens.fields import GF
    >>> from paralens.circuits import trace
    >>> c = trace(GF(2), 2, lambda w, x: [w * x])        # learn w so that w x = y
    >>> d = rda_learner(c, 1, init_params=[0])
    >>> simulate_learner(d, [[1], [1], [0]], [[1], [1], [0]]).tolist()
    [[1], [1], [1]]
"""

from __future__ import annotations

import numpy as np

from paralens.synth.netlist import Port, PortLayout, verilog_identifier
from paralens.synth.pyrtl_design import Design, _pyrtl, arith_for, building, lower


def _bits_to_int(bits) -> int:
    return sum(int(b) << i for i, b in enumerate(bits))


def rda_learner(circuit, n_params: int, *, init_params, name: str | None = None) -> Design:
    """A synchronous PyRTL design training ``circuit`` (over GF(2)) by reverse derivative ascent.

    Inputs ``x`` (the ``n_inputs - n_params`` data bits, one word, data input ``i`` = bit ``i``)
    and ``y`` (the target bits); a register ``params_reg`` of ``n_params`` bits starting at
    ``init_params`` (bit ``i`` = parameter ``i``; also its synchronous reset value); outputs
    ``params``, ``pred`` and ``params_next = params + R[c](params, x, pred + y)[:n_params]``,
    which the register takes at the clock edge.  Checked bit for bit against the software
    reverse derivative ascent (NumPy and paralens' Learner) by :func:`simulate_learner`, and in
    Icarus Verilog on the export.
    """
    from paralens.circuits.reverse import reverse

    pyrtl = _pyrtl()
    F = circuit.field
    if not (F.is_finite and F.is_binary):
        raise ValueError(f"rda_learner trains GF(2) circuits (XOR update), not {F.name}")
    n, m = circuit.n_inputs, circuit.n_outputs
    n_params = int(n_params)
    if not 0 < n_params <= n:
        raise ValueError(f"n_params must be in 1 .. {n}, got {n_params}")
    init = np.asarray(init_params, dtype=np.int64).reshape(-1)
    if len(init) != n_params or ((init != 0) & (init != 1)).any():
        raise ValueError(f"init_params must be {n_params} bits")
    n_data = n - n_params
    rc = reverse(circuit)
    ar = arith_for(F)
    block = pyrtl.Block()
    ins: list = []
    with building(block):
        x = pyrtl.Input(bitwidth=n_data, name="x") if n_data else None
        y = pyrtl.Input(bitwidth=m, name="y")
        ins = ([x] if x is not None else []) + [y]
        reg = pyrtl.Register(bitwidth=n_params, name="params_reg", reset_value=_bits_to_int(init))
        p_bits = [reg[i] for i in range(n_params)]
        x_bits = [x[i] for i in range(n_data)]
        y_bits = [y[j] for j in range(m)]
        e_bits = [pyrtl.WireVector(bitwidth=1) for _ in range(m)]
        table = lower(rc, ar, p_bits + x_bits + e_bits)
        nf = getattr(rc, "n_forward_ops", None)
        shared = nf == len(circuit.ops) and all(a.gen is b.gen and a.k == b.k for a, b in zip(rc.ops, circuit.ops))
        if shared:  # reverse() keeps c's wires, those after the inputs shifted past the m changes
            remap = np.arange(circuit.n_wires, dtype=np.int64)
            remap[n:] += m
            pred_bits = [table[int(remap[o])] for o in circuit.outputs]
        else:  # pragma: no cover - a reverse() that does not embed c: build the forward pass again
            fwd = lower(circuit, ar, p_bits + x_bits)
            pred_bits = [fwd[int(o)] for o in circuit.outputs]
        for e, b, t in zip(e_bits, pred_bits, y_bits):
            e <<= b ^ t
        dp = [table[int(o)] for o in rc.outputs[:n_params]]
        new = pyrtl.concat_list([p ^ d for p, d in zip(p_bits, dp)]) if n_params > 1 else p_bits[0] ^ dp[0]
        reg.next <<= new
        o_params = pyrtl.Output(bitwidth=n_params, name="params")
        o_params <<= reg
        o_pred = pyrtl.Output(bitwidth=m, name="pred")
        o_pred <<= pyrtl.concat_list(pred_bits) if m > 1 else pred_bits[0]
        o_next = pyrtl.Output(bitwidth=n_params, name="params_next")
        o_next <<= new
    ports = PortLayout(
        inputs=([Port("x", tuple(range(n_data)), 1)] if n_data else []) + [Port("y", tuple(range(n_data, n_data + m)), 1)],
        outputs=[Port("params", tuple(range(n_params)), 1),
                 Port("pred", tuple(range(n_params, n_params + m)), 1),
                 Port("params_next", tuple(range(n_params + m, 2 * n_params + m)), 1)])
    mname = verilog_identifier(name or (f"{circuit.name}_learner" if circuit.name else "rda_learner"))
    meta = {"n_params": n_params, "n_data": n_data, "n_outputs": m, "init_params": init.tolist(),
            "forward_shared": bool(shared), "reverse_gates": rc.n_gates, "gates": circuit.n_gates}
    return Design(block, ins, [o_params, o_pred, o_next], circuit, ports, mname, [reg], meta)


def learner_rows(design, X, Y) -> np.ndarray:
    """The rows fed to a learner design: data inputs then targets, ``(N, n_data + n_outputs)``."""
    X = np.asarray(X, dtype=np.int64).reshape(len(Y), -1) if np.size(X) else np.zeros((len(Y), 0), dtype=np.int64)
    Y = np.asarray(Y, dtype=np.int64).reshape(len(Y), -1)
    if X.shape[1] != design.meta["n_data"] or Y.shape[1] != design.meta["n_outputs"]:
        raise ValueError(f"{design.name} takes {design.meta['n_data']} data bits and "
                         f"{design.meta['n_outputs']} target bits per example")
    return np.hstack([X, Y])


def simulate_learner(design, X, Y, *, init_params=None, simulator: str = "fast",
                     return_predictions: bool = False):
    """Clock the learner design once per example ``(X[t], Y[t])``; returns the parameters after
    each step, ``(N, n_params)`` (and with ``return_predictions=True`` also the predictions
    ``(N, n_outputs)`` made before each update).  ``init_params`` overrides the register's start."""
    from paralens.synth.simulation import _port_steps, run_steps

    rows = learner_rows(design, X, Y)
    steps = _port_steps(design, rows)
    regs = None
    if init_params is not None:
        regs = {design.registers[0]: _bits_to_int(np.asarray(init_params).reshape(-1))}
    res = run_steps(design, steps, simulator=simulator, register_values=regs)
    out = design.ports.unpack_outputs([res[nm] for nm in design.output_names], design.n_outputs)
    k, m = design.meta["n_params"], design.meta["n_outputs"]
    params = out[:, k + m:]
    return (params, out[:, k:k + m]) if return_predictions else params


def rda_reference(circuit, n_params: int, init_params, X, Y) -> np.ndarray:
    """Software reverse derivative ascent with ``circuit.evaluate`` and ``reverse(circuit).evaluate``
    (batch size 1): the parameters after each step, ``(N, n_params)``."""
    from paralens.circuits.reverse import reverse

    rc = reverse(circuit)
    p = np.asarray(init_params, dtype=np.int64).reshape(-1).copy()
    X = np.asarray(X, dtype=np.int64).reshape(len(Y), -1)
    Y = np.asarray(Y, dtype=np.int64).reshape(len(Y), -1)
    hist = []
    for x, y in zip(X, Y):
        px = np.concatenate([p, x])[None]
        e = np.asarray(circuit.evaluate(px), dtype=np.int64)[0] ^ y
        dp = np.asarray(rc.evaluate(np.concatenate([px[0], e])[None]), dtype=np.int64)[0, :n_params]
        p = p ^ dp
        hist.append(p.copy())
    return np.array(hist, dtype=np.int64).reshape(len(hist), n_params)
