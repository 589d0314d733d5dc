"""Exact linear convolution by FFT (the engine of the ``Fast*`` variants)."""

from __future__ import annotations

import numbers

import scipy.fft
import torch

__all__ = ["fftconvolve", "fftresample"]


def fftconvolve(x: torch.Tensor, h: torch.Tensor, length: int | None = None) -> torch.Tensor:
    """Linear (not circular) convolution of ``x`` with ``h`` along the last axis by FFT.

    Both operands are zero-padded to a fast FFT length of at least
    ``T_x + T_h - 1`` samples, so no part of the result wraps around; the result is
    then cut to ``length`` samples. With ``length = T_x`` this is the causal FIR
    filtering ``y[t] = Σ_k h[k] x[t-k]``, i.e. ``lfilter(x, h, [1])``.

    Parameters
    ----------
    x : Tensor, shape (..., T_x)
        Signal (real or complex).
    h : Tensor, shape (..., T_h)
        Impulse response(s); leading axes broadcast against those of ``x``.
    length : int, optional
        Number of output samples to keep, ``1 ≤ length ≤ T_x + T_h - 1``. Default: the
        full convolution, ``T_x + T_h - 1``.

    Returns
    -------
    Tensor, shape (broadcast leading shape, length)
        Differentiable with respect to ``x`` and ``h`` (plain autograd through
        ``torch.fft``).
    """
    for name, t in (("x", x), ("h", h)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not (t.is_floating_point() or t.is_complex()):
            raise TypeError(f"{name} must be a floating-point or complex tensor, got {t.dtype}")
        if t.ndim == 0 or t.shape[-1] == 0:
            raise ValueError(f"{name} must have a non-empty last (time) axis, got {tuple(t.shape)}")
    full = x.shape[-1] + h.shape[-1] - 1
    length = full if length is None else int(length)
    if not 1 <= length <= full:
        raise ValueError(f"length must be in [1, {full}], got {length}")
    n_fft = scipy.fft.next_fast_len(full, real=not (x.is_complex() or h.is_complex()))
    if x.is_complex() or h.is_complex():
        dtype = torch.promote_types(x.dtype, h.dtype)
        y = torch.fft.ifft(torch.fft.fft(x.to(dtype), n_fft) * torch.fft.fft(h.to(dtype), n_fft))
    else:
        dtype = torch.promote_types(x.dtype, h.dtype)
        y = torch.fft.irfft(torch.fft.rfft(x.to(dtype), n_fft) * torch.fft.rfft(h.to(dtype), n_fft),
                            n_fft)
    return y[..., :length]


def fftresample(x: torch.Tensor, length: int) -> torch.Tensor:
    """Fourier interpolation of ``x`` to ``length`` samples (LTFAT ``fftresample``).

    For real signals the one-sided spectrum (``rfft``) is cut or zero-padded to
    ``length // 2 + 1`` bins, transformed back with ``irfft`` to ``length`` samples and
    scaled by ``length / T``, as LTFAT 2.5 computes it (AMT's ``dau1997`` and
    ``king2019`` use it for their final ``subfs`` resampling). Complex signals use the
    two-sided spectrum, cut or zero-padded symmetrically in the middle.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal, treated as one period of a periodic signal.
    length : int
        Number of output samples.

    Returns
    -------
    Tensor, shape (..., length)
        Differentiable with respect to ``x``.
    """
    if not isinstance(x, torch.Tensor) or not (x.is_floating_point() or x.is_complex()):
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"x must be a floating-point or complex torch.Tensor, got {got}")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last (time) axis, got {tuple(x.shape)}")
    if isinstance(length, bool) or not isinstance(length, numbers.Real):
        raise TypeError(f"length must be a positive integer, got {length!r}")
    if int(length) != length or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    length, n_in = int(length), x.shape[-1]
    if x.is_complex():
        spec = torch.fft.fft(x)
        keep = min(length, n_in)
        low, high = (keep + 1) // 2, keep // 2
        out = spec.new_zeros(*spec.shape[:-1], length)
        out[..., :low] = spec[..., :low]
        if high:
            out[..., length - high:] = spec[..., n_in - high:]
        return torch.fft.ifft(out) / n_in * length
    spec = torch.fft.rfft(x)
    bins = length // 2 + 1
    if bins <= spec.shape[-1]:
        spec = spec[..., :bins]
    else:
        spec = torch.nn.functional.pad(spec, (0, bins - spec.shape[-1]))
    return torch.fft.irfft(spec, length) / n_in * length
