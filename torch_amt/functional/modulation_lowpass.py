"""The first-order modulation low-pass that ends AMT 1.4.0's ``dau1996`` model.

Dau, Püschel & Kohlrausch (1996) integrate the adaptation output with a first-order
low-pass of time constant 20 ms (-3 dB near 8 Hz). AMT computes it as
``filter(1 - a, [1, -a], insig)`` with ``a = exp(-(1/0.02)/fs)``; :func:`modulation_lowpass`
does the same with :func:`torch_amt.dsp.lfilter`.
"""

from __future__ import annotations

import math

import torch

from torch_amt import _checks
from torch_amt.dsp.streaming import lfilter

__all__ = ["DAU1996_TAU", "modulation_lowpass", "modulation_lowpass_coefficients"]

DAU1996_TAU = 0.02
"""Time constant of the ``dau1996`` modulation low-pass in seconds (20 ms)."""


def modulation_lowpass_coefficients(fs: float, tau: float | torch.Tensor = DAU1996_TAU
                                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(b, a)`` of the low-pass ``y[n] = (1-p) x[n] + p y[n-1]``, ``p = exp(-(1/τ)/fs)``.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    tau : float or Tensor, shape ()
        Time constant in seconds (AMT ``dau1996``: 0.02). A tensor keeps its autograd
        graph (a learnable time constant); it is computed in float64.

    Returns
    -------
    b : Tensor, float64, shape (1,)
        ``[1 - p]``.
    a : Tensor, float64, shape (2,)
        ``[1, -p]``.
    """
    fs = _checks.check_fs(fs)
    if isinstance(tau, torch.Tensor):
        pole = torch.exp(-(1 / tau.double()) / fs)
        return (1 - pole).reshape(1), torch.stack([torch.ones_like(pole), -pole])
    tau = _checks.check_positive(tau, "tau")
    pole = math.exp(-(1 / tau) / fs)  # AMT: exp(-(1/0.02)/fs), the same rounding
    return (torch.tensor([1 - pole], dtype=torch.float64),
            torch.tensor([1.0, -pole], dtype=torch.float64))


def modulation_lowpass(x: torch.Tensor, fs: float,
                       tau: float | torch.Tensor = DAU1996_TAU) -> torch.Tensor:
    """AMT ``dau1996``'s final low-pass ``filter(1-a, [1 -a], x)``, ``a = exp(-(1/τ)/fs)``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal (the adaptation output), time on the last axis.
    fs : float
        Sampling rate in Hz.
    tau : float or Tensor
        Time constant in seconds (0.02).

    Returns
    -------
    Tensor, shape (..., T)
        Filtered with zero initial state (MATLAB ``filter``).

    References
    ----------
    T. Dau, D. Püschel, and A. Kohlrausch, "A quantitative model of the 'effective' signal
    processing in the auditory system. I. Model structure", J. Acoust. Soc. Am. 99(6),
    3615–3622 (1996).
    """
    x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
    b, a = modulation_lowpass_coefficients(fs, tau)
    return lfilter(x, b.to(x.device), a.to(x.device))
