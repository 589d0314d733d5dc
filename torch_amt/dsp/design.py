"""Filter design as tensors: ``poly``, ``butter``, ``freqz``.

The designs follow the textbook analogue-prototype route that MATLAB/Octave and
SciPy share (Butterworth poles, frequency pre-warping, bilinear transform, polynomial
expansion), written in torch so that cut-off frequencies can be learnable parameters
and receive gradients.
"""

from __future__ import annotations

import math

import torch

__all__ = ["poly", "butter", "freqz"]

_BTYPES = {"low": "lowpass", "lowpass": "lowpass", "high": "highpass", "highpass": "highpass",
           "bandpass": "bandpass", "band": "bandpass", "pass": "bandpass",
           "bandstop": "bandstop", "stop": "bandstop"}


def poly(roots: torch.Tensor) -> torch.Tensor:
    """Coefficients of the monic polynomial with the given roots (MATLAB/NumPy ``poly``).

    Parameters
    ----------
    roots : Tensor, shape (..., n)
        Roots (real or complex); leading axes are batch axes.

    Returns
    -------
    Tensor, shape (..., n + 1)
        ``[1, c_1, ..., c_n]`` with ``Π_k (z - r_k) = Σ_j c_j z^(n-j)``, expanded one
        root at a time in the given order (the order NumPy and Octave use).
    """
    c = torch.ones(*roots.shape[:-1], 1, dtype=roots.dtype, device=roots.device)
    for k in range(roots.shape[-1]):
        r = roots[..., k : k + 1]
        c = torch.cat([c, torch.zeros_like(c[..., :1])], dim=-1) - torch.cat(
            [torch.zeros_like(c[..., :1]), r * c], dim=-1)
    return c


def _real_if_conjugate(c: torch.Tensor) -> torch.Tensor:
    return c.real if c.is_complex() else c


def butter(order: int, cutoff, fs: float, btype: str = "low",
           dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Digital Butterworth filter, as ``scipy.signal.butter(order, cutoff, btype, fs=fs)``.

    Parameters
    ----------
    order : int
        Filter order of the low-pass prototype (a band-pass/stop has ``2·order`` poles).
    cutoff : float or Tensor
        Cut-off frequency in Hz (shape ``(..., )``), or a pair ``(..., 2)`` of band
        edges for band filters. May require grad; leading axes give a batch of filters.
    fs : float
        Sampling rate in Hz.
    btype : {'low', 'high', 'bandpass', 'bandstop'}
        Filter type.
    dtype : torch.dtype
        Real dtype of the returned coefficients (ignored if ``cutoff`` is a floating
        tensor, whose dtype is used).

    Returns
    -------
    b, a : Tensor, shape (..., n + 1)
        Numerator and denominator, ``a[..., 0] == 1``.
    """
    if int(order) != order or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    order = int(order)
    if btype not in _BTYPES:
        raise ValueError(f"btype must be one of {sorted(set(_BTYPES))}, got {btype!r}")
    kind = _BTYPES[btype]
    if fs is None or not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs!r}")
    wn = cutoff if isinstance(cutoff, torch.Tensor) else torch.as_tensor(cutoff, dtype=dtype)
    if not wn.is_floating_point():
        wn = wn.to(dtype)
    band = kind in ("bandpass", "bandstop")
    if band and (wn.ndim == 0 or wn.shape[-1] != 2):
        raise ValueError(f"cutoff must be a pair (low, high) for btype={btype!r}")
    if not band and wn.ndim > 0 and wn.shape[-1] == 2 and wn.ndim == 1:
        raise ValueError(f"cutoff must be a single frequency for btype={btype!r}")
    if wn.device.type == "cpu" and bool(((wn <= 0) | (wn >= fs / 2)).any()):
        raise ValueError(f"cutoff must lie strictly between 0 and fs/2 = {fs / 2} Hz, got {wn}")
    ctype = torch.complex128 if wn.dtype == torch.float64 else torch.complex64
    m = torch.arange(-order + 1, order, 2, dtype=wn.dtype, device=wn.device)
    proto = -torch.exp(1j * (math.pi * m / (2 * order)).to(ctype))  # analogue poles, |p| = 1
    fs2 = 4.0  # SciPy designs on a normalised grid with fs = 2
    warped = 2 * fs2 / 2 * torch.tan(math.pi * (2 * wn / fs) / 2)
    if kind == "lowpass":
        p = proto * warped[..., None]
        z = p.new_zeros(*p.shape[:-1], 0)
        k = warped ** order
    elif kind == "highpass":
        p = warped[..., None] / proto
        z = p.new_zeros(*p.shape[:-1], order)
        k = torch.ones_like(warped) * _real_if_conjugate(1 / torch.prod(-proto))
    else:
        bw = warped[..., 1] - warped[..., 0]
        wo = torch.sqrt(warped[..., 0] * warped[..., 1])
        p_lp = proto * (bw / 2)[..., None]
        root = torch.sqrt(p_lp ** 2 - (wo ** 2)[..., None])
        if kind == "bandpass":
            p = torch.cat([p_lp + root, p_lp - root], dim=-1)
            z = p.new_zeros(*p.shape[:-1], order)
            k = bw ** order
        else:
            p_inv = (bw / 2)[..., None] / proto
            root = torch.sqrt(p_inv ** 2 - (wo ** 2)[..., None])
            p = torch.cat([p_inv + root, p_inv - root], dim=-1)
            z0 = (1j * wo.to(ctype))[..., None].expand(*wo.shape, order)
            z = torch.cat([z0, -z0], dim=-1)
            k = torch.ones_like(bw) * _real_if_conjugate(1 / torch.prod(-proto))
    # bilinear transform on the fs = 2 grid
    zz = (fs2 + z) / (fs2 - z)
    pz = (fs2 + p) / (fs2 - p)
    n_missing = p.shape[-1] - z.shape[-1]
    zz = torch.cat([zz, -torch.ones(*zz.shape[:-1], n_missing, dtype=ctype, device=wn.device)],
                   dim=-1)
    gain = k * _real_if_conjugate(torch.prod(fs2 - z, dim=-1) / torch.prod(fs2 - p, dim=-1))
    b = gain[..., None] * _real_if_conjugate(poly(zz))
    a = _real_if_conjugate(poly(pz))
    return b, a


def freqz(b: torch.Tensor, a: torch.Tensor | float = 1.0, n: int = 512,
          fs: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Frequency response of a digital filter at ``n`` points on ``[0, π)`` (``freqz``).

    Parameters
    ----------
    b, a : Tensor, shape (..., nb) / (..., na)
        Filter coefficients (``a`` may be a scalar).
    n : int
        Number of frequencies, ``w_k = π k / n``.
    fs : float, optional
        If given, frequencies are returned in Hz instead of rad/sample.

    Returns
    -------
    w : Tensor, shape (n,)
        Frequencies (rad/sample, or Hz if ``fs`` is given).
    h : Tensor, shape (..., n)
        Complex frequency response ``B(e^{jw}) / A(e^{jw})``.
    """
    b = torch.as_tensor(b)
    a = torch.as_tensor(a, dtype=b.dtype if b.is_floating_point() else torch.float64)
    if a.ndim == 0:
        a = a.reshape(1)
    n_fft = 2 * n
    # evaluate B and A on the n_fft-point grid, keep the first n points (w < π)
    hb = torch.fft.fft(_fold(b, n_fft), n_fft)[..., :n]
    ha = torch.fft.fft(_fold(a, n_fft), n_fft)[..., :n]
    w = torch.arange(n, dtype=torch.float64) * (math.pi / n)
    if fs is not None:
        w = w * fs / (2 * math.pi)
    return w, hb / ha


def _fold(c: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Wrap coefficients longer than the FFT (aliasing in time = sampling the DTFT)."""
    if c.shape[-1] <= n_fft:
        return c
    pad = (-c.shape[-1]) % n_fft
    c = torch.nn.functional.pad(c, (0, pad))
    return c.reshape(*c.shape[:-1], -1, n_fft).sum(-2)
