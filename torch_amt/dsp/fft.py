"""Exact linear convolution by FFT (the engine of the ``Fast*`` variants)."""

from __future__ import annotations

import math
import numbers

import scipy.fft
import torch

from torch_amt.dsp._inputs import check_signal_tensor

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
        ``torch.fft``). Zero-size leading axes give an empty result of that shape.

    Raises
    ------
    TypeError
        If ``x`` or ``h`` is not a float32, float64, complex64 or complex128 tensor.
    ValueError
        On a meta tensor, an empty time axis, non-broadcastable leading axes or a
        ``length`` out of range.
    """
    for name, t in (("x", x), ("h", h)):
        check_signal_tensor(t, name)
        if t.ndim == 0 or t.shape[-1] == 0:
            raise ValueError(f"{name} must have a non-empty last (time) axis, got {tuple(t.shape)}")
    if h.device != x.device:
        raise ValueError(f"h is on {h.device} but x is on {x.device}")
    try:
        lead = torch.broadcast_shapes(x.shape[:-1], h.shape[:-1])
    except RuntimeError as err:
        raise ValueError(f"leading axes of x {tuple(x.shape[:-1])} and h "
                         f"{tuple(h.shape[:-1])} do not broadcast") from err
    full = x.shape[-1] + h.shape[-1] - 1
    length = full if length is None else int(length)
    if not 1 <= length <= full:
        raise ValueError(f"length must be in [1, {full}], got {length}")
    dtype = torch.promote_types(x.dtype, h.dtype)
    if math.prod(lead) == 0:  # no rows: the FFT libraries refuse zero-size batches
        return x.new_zeros(*lead, length, dtype=dtype)
    n_fft = scipy.fft.next_fast_len(full, real=not (x.is_complex() or h.is_complex()))
    if x.is_complex() or h.is_complex():
        y = torch.fft.ifft(torch.fft.fft(x.to(dtype), n_fft) * torch.fft.fft(h.to(dtype), n_fft))
    else:
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
        Number of output samples, ``≥ 0``. ``0`` (e.g. ``round(T·fs_out/fs)`` of a signal
        shorter than half an output sample period) gives an empty time axis.

    Returns
    -------
    Tensor, shape (..., length)
        Differentiable with respect to ``x``. Zero-size leading axes give an empty
        result of that shape.

    Raises
    ------
    TypeError
        If ``x`` is not a float32, float64, complex64 or complex128 tensor, or ``length``
        is not an integer.
    ValueError
        On a meta tensor, an empty time axis (with ``length > 0``) or a negative
        ``length``.
    """
    check_signal_tensor(x)
    if isinstance(length, bool) or not isinstance(length, numbers.Real):
        raise TypeError(f"length must be a non-negative integer, got {length!r}")
    if int(length) != length or length < 0:
        raise ValueError(f"length must be a non-negative integer, got {length!r}")
    length = int(length)
    if x.ndim == 0 or (x.shape[-1] == 0 and length > 0):
        raise ValueError(f"x must have a non-empty last (time) axis, got {tuple(x.shape)}")
    if length == 0 or x.numel() == 0:  # nothing to transform (and no zero-size FFT batch)
        return x.new_zeros(*x.shape[:-1], length)
    n_in = x.shape[-1]
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
