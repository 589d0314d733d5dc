"""ModulationLowpass: the 20-ms first-order low-pass at the end of AMT ``dau1996``."""

from __future__ import annotations

import math

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.functional.modulation_lowpass import (
    DAU1996_TAU,
    modulation_lowpass_coefficients,
)
from torch_amt.stages.base import IIRFilterStage

__all__ = ["ModulationLowpass"]


class ModulationLowpass(IIRFilterStage):
    """First-order low-pass of time constant ``tau`` (AMT ``dau1996``'s final stage).

    ``y = filter(1 - p, [1, -p], x)`` with ``p = exp(-(1/tau)/fs)``: Dau, Püschel &
    Kohlrausch (1996) integrate the adaptation output with a 20-ms time constant
    (-3 dB near 1/(2π·20 ms) = 8 Hz), the modulation stage of their model. Designed in
    float64 (the pole is within 1.2e-3 of the unit circle at 44.1 kHz), filtered with
    :func:`torch_amt.dsp.lfilter` (MATLAB ``filter``, zero initial state).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    tau : float
        Time constant in seconds (AMT ``dau1996``: 0.02, not an option there).
    learnable : bool
        Make the time constant trainable (parameterised as ``log(tau)``; the coefficients
        are re-designed in float64 whenever it changes).
    dtype : torch.dtype
        dtype of the learnable ``log(tau)`` (default float32). The fixed time constant
        and the coefficients ``b``, ``a`` are float64 buffers; a float32 signal is
        filtered with them (see :class:`~torch_amt.stages.base.Stage`).

    Shape
    -----
    Input ``(..., T)`` (a model's ``(B, F, T)``); output of the same shape.

    References
    ----------
    T. Dau, D. Püschel, and A. Kohlrausch, "A quantitative model of the 'effective' signal
    processing in the auditory system. I. Model structure", J. Acoust. Soc. Am. 99(6),
    3615–3622 (1996).
    """

    amt_function = "dau1996 (final low-pass)"
    float64_buffers = ("tau_value", "b", "a")

    def __init__(self, fs: float, tau: float = DAU1996_TAU, *, learnable: bool = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        tau = _checks.check_positive(tau, "tau")
        self.learnable = _checks.check_bool(learnable, "learnable")
        _checks.check_dtype(dtype)
        b, a = modulation_lowpass_coefficients(self.fs, tau)
        tau_t = torch.tensor(tau, dtype=torch.float64)
        if self.learnable:
            self.log_tau = nn.Parameter(tau_t.log().to(dtype))
        else:
            self.register_buffer("tau_value", tau_t)
        self.register_buffer("b", b)
        self.register_buffer("a", a)

    @property
    def tau(self) -> torch.Tensor:
        """Time constant in seconds, shape ``()``."""
        return self.log_tau.exp() if self.learnable else self.tau_value

    @property
    def cutoff(self) -> float:
        """-3 dB frequency ``1/(2π tau)`` in Hz (the analogue prototype's)."""
        return 1 / (2 * math.pi * float(self.tau.detach()))

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(b, a)`` in force, float64: ``([1 - p], [1, -p])``."""
        if self.learnable:
            return self.cached_design("lowpass", (self.log_tau,), lambda: (
                modulation_lowpass_coefficients(self.fs, self.log_tau.double().exp())))
        return self.b, self.a

    def amt_equivalent(self) -> str:
        return f"filter(1-a, [1 -a], insig), a = exp(-(1/{float(self.tau.detach()):g})/fs)"

    def extra_repr(self) -> str:
        return f"fs={self.fs:g}, tau={float(self.tau.detach()):g}, learnable={self.learnable}"
