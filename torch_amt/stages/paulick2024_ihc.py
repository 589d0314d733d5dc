"""Physiological inner-hair-cell stage of Paulick et al. (2024) (AMT 1.6 ``paulick2024_ihc``)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.functional.paulick2024 import paulick2024_ihc, paulick2024_ihc_precharge
from torch_amt.stages.base import Stage

__all__ = ["Paulick2024IHC"]


class Paulick2024IHC(Stage):
    """Inner-hair-cell receptor potential, AMT 1.6 ``paulick2024_ihc(vel, fs)``.

    The basilar-membrane velocity drives a mechano-electrical transduction conductance
    (second-order Boltzmann function of the stereocilia displacement, ``-105 dB`` re the
    velocity), which charges a membrane of 12.5 pF against two potassium conductances
    (forward Euler at ``1/fs``, from a potential pre-charged for 50 ms). The output is the
    receptor potential relative to the pre-charged one, in volts
    (:func:`torch_amt.functional.paulick2024.paulick2024_ihc`). The circuit runs in its
    own kernel with an exact adjoint (:mod:`torch_amt.dsp.membrane`). No parameters.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.

    Shape
    -----
    ``(..., T)`` (typically ``(B, F, T)``) to the same shape, in the input's dtype.

    References
    ----------
    L. Paulick, H. Relaño-Iborra and T. Dau, "The Computational Auditory Signal
    Processing and Perception Model (CASP): A Revised Version", bioRxiv (2024).
    """

    amt_function = "paulick2024_ihc"

    def __init__(self, fs: float) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        #: membrane potential after the pre-charge (V), the output's zero
        self.v_precharge = paulick2024_ihc_precharge(self.fs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Receptor potential (V) of the velocity ``x (..., T)`` (m/s)."""
        x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
        _checks.check_module_input(self, x)
        return paulick2024_ihc(x, self.fs)

    def extra_repr(self) -> str:
        return f"fs={self.fs:g}"
