"""Learning Boolean classifiers: circuits over GF(2) trained on data and saved as hardware-ready models.

================  =================================================================
``layers``        parametric Boolean layers: LUTs, two-input gates (ANF), GF(2) dense,
                  popcount-threshold units (reverse derivative ascent trains them)
``gatenet``       difflogic-style networks of learned two-input gates (the names of all
                  their parts): ``gate_wiring`` (random, permutation and local wiring),
                  ``gate_layers`` (the relaxed layer), ``gate_network``, ``gate_hardening``
                  (argmax gates to one GF(2) circuit, by ``folding``'s one literal-folding
                  routine), ``gate_training`` (Adam through the real lenses), ``recipes``
``encoders``      features to bits (thresholds, thermometers, one-hot) and class groups
                  back to classes
``classifier``    :class:`CircuitClassifier`: encoder, circuit, decoder; saved as ``.plc``,
                  and the whole classifier as one circuit for hardware
``estimator``     :class:`BooleanClassifier`, the scikit-learn estimator (``paralens.BooleanClassifier``)
``inputs``        raw features as the exact integers of the hardware ports (fixed point, widths)
``hardware``      the classifier as Verilog with a header, and a formal check against an
                  independent model of ``predict``
``train``         reverse derivative ascent (RDA) and the vote optimiser over epochs
``presets``       the named recipes behind ``paralens train --model``
``packed``        the bit-packed runner (64 samples to a word), with ``packed_compiler``
                  (passes from a circuit to a program) and ``packed_kernels`` (numba)
``fixedpoint``    fixed-point linear models as circuits over Z_2^k
================  =================================================================

Built on :mod:`paralens.circuits` (the CRDC of polynomial circuits and its arithmetic
library) and :mod:`paralens.learning` (one learner for every field).
"""


def __getattr__(name: str):
    """``BooleanClassifier`` (scikit-learn is imported only when it is used)."""
    if name == "BooleanClassifier":
        from paralens.boolean.estimator import BooleanClassifier

        return BooleanClassifier
    raise AttributeError(f"module 'paralens.boolean' has no attribute {name!r}")
