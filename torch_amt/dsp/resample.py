"""Rational resampling as Octave's *signal* package computes it (``resample``, ``upfirdn``).

AMT models that require a fixed sampling rate (``glasberg2002``: 32 kHz) call Octave's
``resample(x, p, q)`` (signal package 1.4.3): a Kaiser-windowed sinc low-pass designed
for ``p/q`` (60 dB rejection, a roll-off of a tenth of the cut-off), applied by
``upfirdn`` (upsample by ``p``, filter, downsample by ``q``) with the filter's delay
removed. The filter differs from MATLAB's ``resample`` (which designs with ``firls``),
so MATLAB and Octave results differ; this module reproduces Octave's.

The filtering is a polyphase sum evaluated only at the output samples kept, so the
cost is ``len(output) · len(h) / p`` multiplications; it is linear in ``x`` and
differentiable (plain autograd through gathers).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from torch_amt.dsp._inputs import check_signal_tensor
from torch_amt.dsp.fir import kaiser

__all__ = ["resample", "resample_filter", "upfirdn"]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or int(value) != value \
            or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def resample_filter(p: int, q: int) -> torch.Tensor:
    """The anti-aliasing filter of Octave ``[y, h] = resample(x, p, q)``.

    ``p`` and ``q`` are first divided by their greatest common divisor. With the cut-off
    ``fc = 1/(2 max(p, q))`` (normalised to the sampling rate after upsampling by
    ``p``), 60 dB rejection and a roll-off width ``fc/10``, the half-length is
    ``L = ceil((60 - 8) / (28.714 · fc/10))`` (Kaiser's formula) and the filter is
    ``h[t] = 2p·fc·sinc(2fc·t) · kaiser(2L + 1, 0.1102·(60 - 8.7))[t + L]``,
    ``t = -L..L``.

    Parameters
    ----------
    p, q : int
        Upsampling and downsampling factors (positive integers).

    Returns
    -------
    Tensor, shape (2L + 1,), float64

    References
    ----------
    Octave *signal* package 1.4.3, ``resample.m`` (E. Kaiser's window design formulas,
    S. K. Mitra, *Digital Signal Processing*, 2nd ed., eqs. 7.62, 7.63).
    """
    p, q = _positive_int(p, "p"), _positive_int(q, "q")
    g = math.gcd(p, q)
    p, q = p // g, q // g
    cutoff = 1.0 / (2.0 * max(p, q))
    rejection_db = 60.0
    half = math.ceil((rejection_db - 8.0) / (28.714 * (cutoff / 10.0)))
    t = np.arange(-half, half + 1, dtype=np.float64)
    ideal = 2 * p * cutoff * np.sinc(2 * cutoff * t)
    beta = 0.1102 * (rejection_db - 8.7)
    return kaiser(2 * half + 1, beta) * torch.from_numpy(ideal)


def _upfirdn_range(x: torch.Tensor, h: torch.Tensor, p: int, q: int, start: int,
                   count: int) -> torch.Tensor:
    """Samples ``start .. start + count - 1`` of ``upfirdn(x, h, p, q)`` (polyphase)."""
    n_x, n_h = x.shape[-1], h.shape[-1]
    taps = -(-n_h // p)  # ceil(n_h / p) taps per phase
    phases = torch.nn.functional.pad(h, (0, taps * p - n_h)).reshape(taps, p).T  # (p, taps)
    n = (torch.arange(start, start + count, device=x.device) * q)
    base, phase = torch.div(n, p, rounding_mode="floor"), n % p
    right = max(0, int(base.max()) - (n_x - 1)) if count else 0
    xp = torch.nn.functional.pad(x, (taps - 1, right))
    index = base[:, None] - torch.arange(taps, device=x.device)[None, :] + (taps - 1)
    return (xp[..., index] * phases[phase]).sum(-1)


def upfirdn(x: torch.Tensor, h: torch.Tensor, p: int = 1, q: int = 1) -> torch.Tensor:
    """Upsample by ``p``, filter with the FIR ``h``, downsample by ``q`` (Octave ``upfirdn``).

    ``y[m] = Σ_i x[i] h[m·q - i·p]`` for ``m = 0 .. ceil(((T - 1)p + len(h)) / q) - 1``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal.
    h : Tensor, shape (n,)
        FIR taps (cast to ``x``'s dtype and device).
    p, q : int
        Upsampling and downsampling factors.

    Returns
    -------
    Tensor, shape (..., ceil(((T - 1)p + n) / q))
        Differentiable with respect to ``x``.
    """
    x = check_signal_tensor(x, real=True)
    p, q = _positive_int(p, "p"), _positive_int(q, "q")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last (time) axis, got {tuple(x.shape)}")
    h = torch.as_tensor(h).to(dtype=x.dtype, device=x.device).reshape(-1)
    length = -(-((x.shape[-1] - 1) * p + h.numel()) // q)
    return _upfirdn_range(x, h, p, q, 0, length)


def resample(x: torch.Tensor, p: int, q: int) -> torch.Tensor:
    """Resample ``x`` by the rational factor ``p/q`` exactly as Octave ``resample(x, p, q)``.

    The filter is :func:`resample_filter`; the output has ``ceil(T·p/q)`` samples
    (``p``, ``q`` reduced by their greatest common divisor) and is delay-compensated:
    the ``upfirdn`` output of the filter pre-padded with ``floor(q - mod(L, q))`` zeros,
    from sample ``floor((L + that)/q)`` on.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal, time last.
    p, q : int
        New and old rate (or any integers in that ratio), e.g. ``resample(x, 32000,
        48000)``.

    Returns
    -------
    Tensor, shape (..., ceil(T·p/q))
        Differentiable with respect to ``x``. ``p == q`` returns ``x`` itself.

    References
    ----------
    Octave *signal* package 1.4.3, ``resample.m``, ``upfirdn.cc``.
    """
    x = check_signal_tensor(x, real=True)
    p, q = _positive_int(p, "p"), _positive_int(q, "q")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last (time) axis, got {tuple(x.shape)}")
    g = math.gcd(p, q)
    p, q = p // g, q // g
    if p == q:
        return x
    h = resample_filter(p, q).to(dtype=x.dtype, device=x.device)
    n_h = h.numel()
    half = (n_h - 1) / 2.0
    pre = math.floor(q - math.fmod(half, q))
    offset = math.floor((half + pre) / q)
    length = -(-(x.shape[-1] * p) // q)
    h = torch.nn.functional.pad(h, (pre, 0))
    return _upfirdn_range(x, h, p, q, offset, length)
