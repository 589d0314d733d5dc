"""Analytic signal by FFT, as Octave's (signal package) and SciPy's ``hilbert`` compute it."""

from __future__ import annotations

import math

import torch

from torch_amt.dsp._inputs import check_signal_tensor

__all__ = ["hilbert"]


def hilbert(x: torch.Tensor, n: int | None = None) -> torch.Tensor:
    """Analytic signal of ``x`` along its last axis (Octave/MATLAB/SciPy ``hilbert``).

    The spectrum ``X = fft(x, n)`` is multiplied by ``h`` (``h[0] = 1``, ``h[k] = 2`` for
    the positive frequencies, ``h[n/2] = 1`` for even ``n``, ``0`` for the negative
    frequencies) and transformed back: ``ifft(X · h)``. The positive half of ``X`` is
    computed as ``rfft(x, n)`` (half the work of a complex FFT; the same values up to
    FFT rounding). Its real part is ``x`` (for
    ``n = T``) and its modulus is the Hilbert envelope. Differentiable (plain torch FFTs).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal; time is the last axis.
    n : int, optional
        FFT length (``x`` is zero-padded or truncated to it). Default ``T``.

    Returns
    -------
    Tensor, shape (..., n)
        Complex analytic signal (complex64 for float32 input, complex128 for float64).
        Zero-size leading axes give an empty result of that shape.

    Raises
    ------
    TypeError
        If ``x`` is not a float32 or float64 tensor.
    ValueError
        On a meta tensor, a 0-d or empty ``x`` (without ``n``) or ``n < 1``.

    References
    ----------
    D. Gabor, "Theory of communication," J. IEE 93(26), 429–457 (1946).
    S. L. Marple, "Computing the discrete-time analytic signal via FFT," IEEE Trans.
    Signal Process. 47(9), 2600–2603 (1999).
    """
    check_signal_tensor(x, real=True)
    if x.ndim == 0:
        raise ValueError("x must have at least one (time) axis, got a 0-d tensor")
    if n is None and x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last (time) axis, got {tuple(x.shape)}")
    n = x.shape[-1] if n is None else int(n)
    if n < 1:
        raise ValueError(f"n must be a positive FFT length, got {n}")
    if math.prod(x.shape[:-1]) == 0:  # no rows (the FFT libraries refuse zero-size batches)
        dtype = torch.complex64 if x.dtype == torch.float32 else torch.complex128
        return x.new_zeros(*x.shape[:-1], n, dtype=dtype)
    # the one-sided spectrum (rfft) holds every bin the analytic signal keeps; ifft to n
    # points zero-fills the negative frequencies
    spectrum = torch.fft.rfft(x, n=n, dim=-1)
    h = torch.full((n // 2 + 1,), 2.0, dtype=x.dtype, device=x.device)
    h[0] = 1
    if n % 2 == 0:
        h[-1] = 1
    return torch.fft.ifft(spectrum * h, n=n, dim=-1)
