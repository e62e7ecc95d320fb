"""Learning Boolean classifiers: circuits over GF(2) trained on data and saved as hardware-ready models.

================  =================================================================
``layers``        parametric Boolean layers: LUTs, two-input gates (ANF), GF(2) dense,
                  popcount-threshold units (reverse derivative ascent trains them)
``gatenet``       difflogic-style networks of learned two-input gates: relaxed, trained
                  with Adam through the real lenses, hardened to one GF(2) circuit
``encoders``      features to bits (thresholds, thermometers, one-hot) and class groups
                  back to classes
``classifier``    :class:`BooleanClassifier`: encoder, circuit, decoder; saved as ``.plc``,
                  and the whole classifier as one circuit for hardware
``train``         reverse derivative ascent (RDA) and the vote optimiser over epochs
``presets``       the named recipes behind ``paralens train --model``
``packed``        the bit-packed compiler and numba kernels (64 samples to a word)
``fixedpoint``    fixed-point linear models as circuits over Z_2^k
================  =================================================================

Built on :mod:`paralens.circuits` (the CRDC of polynomial circuits and its arithmetic
library) and :mod:`paralens.learning` (one learner for every field).
"""
