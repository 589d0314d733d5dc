"""Rational-factor resampling as GNU Octave's ``resample(x, p, q)`` computes it.

Octave's *signal* package (1.4.3) resamples by ``p/q`` with a polyphase FIR: a
Kaiser-windowed sinc (60 dB stop-band rejection, cut-off ``1/(2·max(p, q))`` of the
up-sampled rate, roll-off a tenth of it, length from Oppenheim & Schafer's Eq. 7.63)
applied with ``upfirdn`` and aligned so that the filter is zero-phase. This module
reproduces the design (:func:`octave_resample_filter`) and the filtering with the same
alignment and output length (:func:`resample`).

MATLAB's ``resample`` differs: it designs its filter with ``firls`` (length
``2·10·max(p, q) + 1``, Kaiser window β = 5) and returns other samples; what is
reproduced here is Octave's, the ``resample`` of the AMT reference files.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special
import torch

from torch_amt._checks import check_positive
from torch_amt.dsp._inputs import check_signal_tensor

__all__ = ["octave_kaiser", "octave_resample_filter", "resample"]


def octave_kaiser(m: int, beta: float) -> torch.Tensor:
    """Kaiser window of ``m`` points, Octave ``kaiser(m, beta)``.

    ``w[k] = I0(2β/N·sqrt(k(N - k))) / I0(β)``, ``N = m - 1``, ``k = 0..N``
    (``[1]`` for ``m = 1``). Float64, CPU.
    """
    m = check_positive(m, "m", integer=True)
    if m == 1:
        return torch.ones(1, dtype=torch.float64)
    n = m - 1
    k = np.arange(m, dtype=np.float64)
    arg = 2 * beta / n * np.sqrt(k * (n - k))
    return torch.from_numpy(scipy.special.i0(arg) / scipy.special.i0(beta))


def _reduce(p: int, q: int) -> tuple[int, int]:
    p = check_positive(p, "p", integer=True)
    q = check_positive(q, "q", integer=True)
    g = math.gcd(p, q)
    return p // g, q // g


def octave_resample_filter(p: int, q: int) -> torch.Tensor:
    """The anti-aliasing filter Octave's ``[y, h] = resample(x, p, q)`` designs (``h``).

    Parameters
    ----------
    p, q : int
        Up- and down-sampling factors (reduced by their greatest common divisor first).

    Returns
    -------
    Tensor, shape (2L + 1,), float64
        ``h = kaiser(2L+1, β) · 2p·fc·sinc(2·fc·t)``, ``t = -L..L``, with
        ``fc = 1/(2·max(p, q))``, ``L = ceil(52 / (28.714 · fc/10))`` and
        ``β = 0.1102·(60 - 8.7)`` (e.g. 291 taps for ``p/q = 1/4``).

    References
    ----------
    A. V. Oppenheim, R. W. Schafer and J. R. Buck, *Discrete-Time Signal Processing*,
    Prentice-Hall, 1999, Eqs. (7.62), (7.63).
    """
    p, q = _reduce(p, q)
    rejection_db = -20.0 * -3.0
    cutoff = 1 / (2 * max(p, q))
    roll_off = cutoff / 10.0
    half = math.ceil((rejection_db - 8.0) / (28.714 * roll_off))
    t = np.arange(-half, half + 1, dtype=np.float64)
    x = 2 * cutoff * t
    sinc = np.ones_like(x)
    nonzero = x != 0
    sinc[nonzero] = np.sin(np.pi * x[nonzero]) / (np.pi * x[nonzero])
    ideal = 2 * p * cutoff * sinc
    beta = 0.1102 * (rejection_db - 8.7)
    return octave_kaiser(2 * half + 1, beta) * torch.from_numpy(ideal)


def resample(x: torch.Tensor, p: int, q: int, h: torch.Tensor | None = None) -> torch.Tensor:
    """Resample ``x`` by ``p/q`` along its last axis, as Octave ``resample(x, p, q, h)``.

    Up-sampling by ``p`` (zeros inserted), filtering with ``h`` and down-sampling by
    ``q``, aligned as Octave aligns it: ``y[k] = Σ_i h[c + q·k - i] · u[i]`` with ``u``
    the up-sampled signal and ``c = q·offset - nz_pre`` (Octave's padding of ``h``), so
    that the default (odd, symmetric) filter is zero-phase. ``ceil(T·p/q)`` samples are
    returned. The signal is zero outside its support (no periodic extension).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal, float32 or float64.
    p, q : int
        Up- and down-sampling factors (reduced by their greatest common divisor).
    h : Tensor, shape (L_h,), optional
        Filter; default :func:`octave_resample_filter(p, q) <octave_resample_filter>`.

    Returns
    -------
    Tensor, shape (..., ceil(T·p/q))
        In the dtype of ``x``; differentiable with respect to ``x`` (and ``h``).

    Raises
    ------
    TypeError
        If ``x`` is not a float32/float64 tensor.
    ValueError
        If ``p`` or ``q`` is not a positive integer, ``h`` is empty or not a vector, or
        ``x`` has no time axis.

    Notes
    -----
    ``p = q`` returns ``x`` itself, as Octave does. The sums run in the order of
    ``torch.nn.functional.conv1d``, not Octave's ``upfirdn`` loop: results agree to
    rounding (~1e-16 relative to the largest term).
    """
    check_signal_tensor(x, "x", real=True)
    if x.ndim == 0:
        raise ValueError("x must have a time axis (shape (..., T)), got a 0-d tensor")
    p, q = _reduce(p, q)
    if h is None:
        h = octave_resample_filter(p, q)
    if not isinstance(h, torch.Tensor) or h.ndim != 1 or h.numel() == 0:
        raise ValueError(f"h must be a non-empty 1-D tensor (the filter), got "
                         f"{tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__}")
    if p == 1 and q == 1:
        return x
    n_x = x.shape[-1]
    n_h = h.numel()
    n_y = math.ceil(n_x * p / q)
    half = (n_h - 1) / 2
    nz_pre = math.floor(q - math.fmod(half, q))
    offset = math.floor((half + nz_pre) / q)
    shift = q * offset - nz_pre - (n_h - 1)  # u index of the first tap of y[0]
    lead = x.shape[:-1]
    rows = x.reshape(-1, 1, n_x)
    if p > 1:
        up = rows.new_zeros(rows.shape[0], 1, (n_x - 1) * p + 1)
        up[..., ::p] = rows
        rows = up
    n_u = rows.shape[-1]
    left = -shift
    right = max(0, q * (n_y - 1) + shift + n_h - n_u)
    if left < 0:
        rows = rows[..., -left:]
        left = 0
    rows = torch.nn.functional.pad(rows, (left, right))
    taps = h.flip(0).to(dtype=x.dtype, device=x.device).reshape(1, 1, -1)
    if rows.shape[0] == 0 or n_y == 0:
        return x.new_zeros(*lead, n_y)
    y = torch.nn.functional.conv1d(rows, taps, stride=q)[..., :n_y]
    return y.reshape(*lead, n_y)
