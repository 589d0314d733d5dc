"""Rational resampling as GNU Octave's *signal* package computes it (``resample``,
``upfirdn``).

AMT models that resample call Octave's ``resample(x, p, q)`` (signal package 1.4.3):
``glasberg2002`` to reach its internal 32 kHz, ``paulick2024`` to keep every fourth
sample of its output. Octave designs a Kaiser-windowed sinc low-pass for ``p/q`` (60 dB
rejection, cut-off ``1/(2·max(p, q))`` of the up-sampled rate, roll-off a tenth of it,
length from Kaiser's formula) and applies it with ``upfirdn`` (upsample by ``p``,
filter, downsample by ``q``), aligned so that the filter is zero-phase. MATLAB's
``resample`` designs with ``firls`` and returns other samples; this module reproduces
Octave's, the ``resample`` of the AMT reference files.

The filtering is polyphase: only the output samples kept are computed, each from the
``len(h)/p`` taps of its phase (one strided ``conv1d`` per phase), so the cost is
``len(output)·len(h)/p`` multiplications; it is linear in ``x`` and differentiable.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from torch_amt._checks import check_positive
from torch_amt.dsp._inputs import check_signal_tensor
from torch_amt.dsp.fir import kaiser

__all__ = ["resample", "resample_filter", "upfirdn"]


def _reduce(p: int, q: int) -> tuple[int, int]:
    p = check_positive(p, "p", integer=True)
    q = check_positive(q, "q", integer=True)
    g = math.gcd(p, q)
    return p // g, q // g


def resample_filter(p: int, q: int) -> torch.Tensor:
    """The anti-aliasing filter of Octave's ``[y, h] = resample(x, p, q)`` (``h``).

    ``p`` and ``q`` are first divided by their greatest common divisor. With the cut-off
    ``fc = 1/(2·max(p, q))`` (normalised to the rate after upsampling by ``p``), 60 dB
    rejection and a roll-off width ``fc/10``, the half-length is
    ``L = ceil((60 - 8) / (28.714 · fc/10))`` and the filter is
    ``h[t] = 2p·fc·sinc(2fc·t) · kaiser(2L + 1, 0.1102·(60 - 8.7))[t + L]``, ``t = -L..L``
    (e.g. 291 taps for ``p/q = 1/4``, 219 for ``2/3``).

    Parameters
    ----------
    p, q : int
        Upsampling and downsampling factors (positive integers).

    Returns
    -------
    Tensor, shape (2L + 1,), float64

    References
    ----------
    Octave *signal* package 1.4.3, ``resample.m``; A. V. Oppenheim, R. W. Schafer and
    J. R. Buck, *Discrete-Time Signal Processing*, Prentice-Hall, 1999, Eqs. (7.62),
    (7.63).
    """
    p, q = _reduce(p, q)
    cutoff = 1.0 / (2.0 * max(p, q))
    rejection_db = 60.0
    half = math.ceil((rejection_db - 8.0) / (28.714 * (cutoff / 10.0)))
    t = np.arange(-half, half + 1, dtype=np.float64)
    ideal = 2 * p * cutoff * np.sinc(2 * cutoff * t)
    beta = 0.1102 * (rejection_db - 8.7)
    return kaiser(2 * half + 1, beta) * torch.from_numpy(ideal)


def _upfirdn_range(x: torch.Tensor, h: torch.Tensor, p: int, q: int, start: int,
                   count: int) -> torch.Tensor:
    """Samples ``start .. start + count - 1`` of ``upfirdn(x, h, p, q)``:
    ``y[m] = Σ_i x[i]·h[m·q - i·p]`` (``x`` zero outside its support).

    The outputs ``m = start + r + p·j`` (``j = 0, 1, ...``) share the phase
    ``(m·q) mod p`` of ``h`` and read ``x`` at a stride of ``q``: one ``conv1d`` each.
    """
    n_x, n_h = x.shape[-1], h.numel()
    lead = x.shape[:-1]
    rows = x.reshape(math.prod(lead), 1, n_x)
    taps = -(-n_h // p)  # ceil(n_h / p) taps per phase
    phases = torch.nn.functional.pad(h, (0, taps * p - n_h)).reshape(taps, p).T  # (p, taps)
    groups = min(p, count)
    firsts = [((start + r) * q) // p - (taps - 1) for r in range(groups)]
    counts = [len(range(r, count, p)) for r in range(groups)]
    if rows.shape[0] == 0 or count == 0:
        return x.new_zeros(*lead, count)
    left = max(0, -min(firsts))
    right = max(0, max(s + q * (n - 1) + taps for s, n in zip(firsts, counts, strict=True))
                - n_x)
    padded = torch.nn.functional.pad(rows, (left, right))
    out = x.new_zeros(rows.shape[0], count)
    for r, (first, n) in enumerate(zip(firsts, counts, strict=True)):
        phase = ((start + r) * q) % p
        taps_r = phases[phase].flip(0).reshape(1, 1, -1)
        segment = padded[..., first + left:first + left + q * (n - 1) + taps]
        out[:, r::p] = torch.nn.functional.conv1d(segment, taps_r, stride=q)[:, 0, :n]
    return out.reshape(*lead, count)


def upfirdn(x: torch.Tensor, h: torch.Tensor, p: int = 1, q: int = 1) -> torch.Tensor:
    """Upsample by ``p``, filter with the FIR ``h``, downsample by ``q`` (Octave ``upfirdn``).

    ``y[m] = Σ_i x[i] h[m·q - i·p]`` for ``m = 0 .. ceil(((T - 1)p + len(h)) / q) - 1``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal, float32 or float64, ``T >= 1``.
    h : Tensor or array_like, shape (n,)
        FIR taps (cast to ``x``'s dtype and device).
    p, q : int
        Upsampling and downsampling factors (positive integers).

    Returns
    -------
    Tensor, shape (..., ceil(((T - 1)p + n) / q))
        Differentiable with respect to ``x`` (and ``h``).

    Raises
    ------
    TypeError
        If ``x`` is not a real floating-point tensor.
    ValueError
        If ``p`` or ``q`` is not a positive integer, ``h`` is empty or ``x`` has no
        samples.
    """
    check_signal_tensor(x, "x", real=True)
    p = check_positive(p, "p", integer=True)
    q = check_positive(q, "q", integer=True)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last (time) axis, got {tuple(x.shape)}")
    h = torch.as_tensor(h).to(dtype=x.dtype, device=x.device).reshape(-1)
    if h.numel() == 0:
        raise ValueError("h must hold at least one tap")
    length = -(-((x.shape[-1] - 1) * p + h.numel()) // q)
    return _upfirdn_range(x, h, p, q, 0, length)


def resample(x: torch.Tensor, p: int, q: int, h: torch.Tensor | None = None) -> torch.Tensor:
    """Resample ``x`` by ``p/q`` along its last axis, as Octave ``resample(x, p, q, h)``.

    ``upfirdn`` with ``h`` pre-padded by ``floor(q - mod(L, q))`` zeros (``L =
    (len(h) - 1)/2``), from output sample ``floor((L + that)/q)`` on: the default (odd,
    symmetric) filter is zero-phase. ``ceil(T·p/q)`` samples are returned (``p``, ``q``
    reduced by their greatest common divisor); the signal is zero outside its support.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal, float32 or float64, time last.
    p, q : int
        Up- and down-sampling factors, or any integers in that ratio (e.g. the new and
        old rates: ``resample(x, 32000, 48000)``).
    h : Tensor, shape (L_h,), optional
        Filter; default :func:`resample_filter(p, q) <resample_filter>`.

    Returns
    -------
    Tensor, shape (..., ceil(T·p/q))
        In the dtype of ``x``; differentiable with respect to ``x`` (and ``h``).
        ``p == q`` returns ``x`` itself, as Octave does.

    Raises
    ------
    TypeError
        If ``x`` is not a real floating-point tensor.
    ValueError
        If ``p`` or ``q`` is not a positive integer, ``h`` is not a non-empty vector, or
        ``x`` has no time axis.

    Notes
    -----
    The sums run in the order of ``torch.nn.functional.conv1d``, not Octave's
    ``upfirdn`` loop: results agree to rounding (~1e-16 relative to the largest term).

    References
    ----------
    Octave *signal* package 1.4.3, ``resample.m``, ``upfirdn.cc``.
    """
    check_signal_tensor(x, "x", real=True)
    if x.ndim == 0:
        raise ValueError("x must have a time axis (shape (..., T)), got a 0-d tensor")
    p, q = _reduce(p, q)
    if h is None:
        h = resample_filter(p, q)
    if not isinstance(h, torch.Tensor) or h.ndim != 1 or h.numel() == 0:
        raise ValueError(f"h must be a non-empty 1-D tensor (the filter), got "
                         f"{tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__}")
    if p == q:
        return x
    h = h.to(dtype=x.dtype, device=x.device)
    half = (h.numel() - 1) / 2.0
    pre = math.floor(q - math.fmod(half, q))
    offset = math.floor((half + pre) / q)
    length = -(-(x.shape[-1] * p) // q)
    return _upfirdn_range(x, torch.nn.functional.pad(h, (pre, 0)), p, q, offset, length)
