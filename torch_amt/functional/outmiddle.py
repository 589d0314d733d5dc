"""The outer- and middle-ear filter of Breebaart et al. (2001), AMT
``breebaart2001_outmiddlefilter``.

One second-order recursion combines the transfer of the outer and middle ear: a band-pass
made of a first-order high-pass with its pole at ``r`` (1 kHz) and a first-order
low-pass with its pole at ``q`` (4 kHz), each pole the root inside the unit circle of
``z^2 - 2(2 - cos(2πf/fs))z + 1``::

    y[n] = (1-q)·r·x[n] - (1-q)·r·x[n-1] + (q+r)·y[n-1] - q·r·y[n-2]

AMT runs this loop with zero initial state; :func:`breebaart2001_outmiddlefilter` runs it
with :func:`torch_amt.dsp.lfilter` on ``b = [(1-q)r, -(1-q)r]``, ``a = [1, -(q+r), qr]``.
"""

from __future__ import annotations

import math

import torch

from torch_amt import _checks
from torch_amt.dsp.iir import lfilter

__all__ = ["breebaart2001_outmiddlefilter", "outmiddle_coefficients"]


def _pole(f: float, fs: float) -> float:
    c = math.cos(2 * math.pi * f / fs)
    return 2 - c - math.sqrt((c - 2) ** 2 - 1)


def outmiddle_coefficients(fs: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(b, a)`` of AMT's ``breebaart2001_outmiddlefilter`` at ``fs``, float64.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    b : Tensor, shape (2,)
        ``[(1-q)·r, -(1-q)·r]``.
    a : Tensor, shape (3,)
        ``[1, -(q+r), q·r]``, with the poles ``q`` (4 kHz) and ``r`` (1 kHz).
    """
    fs = _checks.check_fs(fs)
    q, r = _pole(4000.0, fs), _pole(1000.0, fs)
    gain = (1 - q) * r
    return (torch.tensor([gain, -gain], dtype=torch.float64),
            torch.tensor([1.0, -(q + r), q * r], dtype=torch.float64))


def breebaart2001_outmiddlefilter(x: torch.Tensor, fs: float) -> torch.Tensor:
    """AMT ``breebaart2001_outmiddlefilter(x, fs)`` along the last axis.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Sound pressure (AMT's 100-dB convention in ``breebaart2001``: no level gain).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    Tensor, shape (..., T)

    References
    ----------
    J. Breebaart, S. van de Par, and A. Kohlrausch, "Binaural processing model based on
    contralateral inhibition. I. Model structure", J. Acoust. Soc. Am. 110(2),
    1074–1088 (2001).
    """
    x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
    b, a = outmiddle_coefficients(fs)
    return lfilter(x, b.to(x.device), a.to(x.device))
