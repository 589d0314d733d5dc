"""FIR design as Octave computes it: ``fir2`` (frequency sampling) and minimum phase.

AMT's outer- and middle-ear filters are 512th-order FIR filters designed with
``fir2`` from Octave's *signal* package (1.4.3) and, for the default middle ear,
made minimum phase through the real cepstrum (``hilbert(log|FFT|)``). The
functions here reproduce those computations operation by operation in float64, so
that the designed impulse responses agree with AMT's to a few units in the last
place (the FFTs are the only operations whose rounding differs from Octave's FFTW).

These are design-time routines on constants: they run on the CPU in float64 and
return float64 tensors; cast/move the result where it is used.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.interpolate
import scipy.special
import torch
from numpy.typing import ArrayLike

from torch_amt import _checks

__all__ = ["fir2", "hamming", "hann", "interp1", "kaiser", "minimum_phase", "pchip"]


def hamming(n: int) -> torch.Tensor:
    """Symmetric Hamming window of ``n`` points, Octave ``hamming(n)``.

    ``w[k] = 0.54 - 0.46 cos(2πk / (n - 1))``, ``k = 0..n-1`` (``w = [1]`` for ``n = 1``).
    """
    if n == 1:
        return torch.ones(1, dtype=torch.float64)
    k = np.arange(n, dtype=np.float64)
    return torch.from_numpy(0.54 - 0.46 * np.cos(2 * np.pi * k / (n - 1)))


def hann(n: int) -> torch.Tensor:
    """Symmetric Hann window of ``n`` points, Octave ``hann(n)``.

    ``w[k] = 0.5 - 0.5 cos(2πk / (n - 1))``, ``k = 0..n-1``: zero at both ends
    (``w = [1]`` for ``n = 1``).
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer window length, got {n!r}")
    if n == 1:
        return torch.ones(1, dtype=torch.float64)
    k = np.arange(int(n), dtype=np.float64)
    return torch.from_numpy(0.5 - 0.5 * np.cos(2 * np.pi * k / (n - 1)))


def kaiser(n: int, beta: float) -> torch.Tensor:
    """Kaiser window of ``n`` points, Octave *signal* ``kaiser(n, beta)``.

    ``w[k] = I0(2β/N·sqrt(k(N - k))) / I0(β)``, ``N = n - 1``, ``k = 0..N``
    (``w = [1]`` for ``n = 1``); ``I0`` is the modified Bessel function of order 0.
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer window length, got {n!r}")
    if n == 1:
        return torch.ones(1, dtype=torch.float64)
    big_n = int(n) - 1
    k = np.arange(big_n + 1, dtype=np.float64)
    arg = 2 * beta / big_n * np.sqrt(k * (big_n - k))
    return torch.from_numpy(scipy.special.i0(arg) / scipy.special.i0(beta))


def pchip(x: ArrayLike, y: ArrayLike, xi: ArrayLike) -> np.ndarray:
    """Piecewise cubic Hermite interpolation, Octave ``interp1(x, y, xi, 'pchip')``.

    Fritsch–Carlson shape-preserving slopes (harmonic mean of the adjacent secants at
    interior points, the three-point shape-preserving formula at the ends; SLATEC
    ``PCHIM``, which Octave's ``pchip`` calls). As in Octave without an ``extrap``
    argument, points outside ``[x[0], x[-1]]`` (and NaN points) give NaN.

    Parameters
    ----------
    x : array_like, shape (n,)
        Strictly increasing abscissae, ``n >= 2``.
    y : array_like, shape (n,)
        Ordinates.
    xi : array_like, shape (m,)
        Query points.

    Returns
    -------
    ndarray, shape (m,)
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.size < 2 or x.size != y.size or bool((np.diff(x) <= 0).any()):
        raise ValueError("x must be strictly increasing with at least 2 points and y of the "
                         f"same length, got {x.size} and {y.size} points")
    interpolant = scipy.interpolate.PchipInterpolator(x, y, extrapolate=False)
    return interpolant(np.asarray(xi, dtype=np.float64))


def interp1(x: ArrayLike, y: ArrayLike, xi: ArrayLike) -> np.ndarray:
    """Linear interpolation with Octave ``interp1(x, y, xi)``'s arithmetic.

    Octave evaluates ``y[i] + s·(y[i+1] - y[i])`` with ``s = (xi - x[i]) / (x[i+1] - x[i])``
    on the interval found by ``lookup(x, xi, 'lr')`` (points outside ``[x[0], x[-1]]``
    are extrapolated from the end intervals; callers here never leave the range).
    Repeated abscissae (a jump) are resolved as Octave does: the zero-length interval
    is dropped and the value at the jump is the right-hand one.

    Parameters
    ----------
    x : array_like, shape (n,)
        Non-decreasing abscissae, ``n >= 2``.
    y : array_like, shape (n,)
        Ordinates.
    xi : array_like, shape (m,)
        Query points.

    Returns
    -------
    ndarray, shape (m,)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xi = np.asarray(xi, dtype=np.float64)
    dy = np.diff(y)
    jumps = np.flatnonzero(x[:-1] == x[1:])
    if jumps.size:
        x, y, dy = np.delete(x, jumps), np.delete(y, jumps), np.delete(dy, jumps)
    idx = np.clip(np.searchsorted(x, xi, side="right"), 1, x.size - 1) - 1
    s = (xi - x[idx]) / (x[idx + 1] - x[idx])
    return s * dy[idx] + y[idx]


def fir2(n: int, f: ArrayLike, m: ArrayLike, grid_n: int | None = None,
         ramp_n: int | None = None, window: ArrayLike | None = None) -> torch.Tensor:
    """FIR filter of order ``n`` with a piecewise-linear magnitude response (Octave ``fir2``).

    The desired response is sampled on a grid of ``grid_n + 1`` points over ``[0, π]``,
    turned into a zero-phase impulse response by an inverse FFT, centred, truncated to
    ``n + 1`` taps and multiplied by the window. Discontinuities (repeated frequencies)
    are replaced by linear ramps ``ramp_n`` grid points wide.

    Parameters
    ----------
    n : int
        Filter order (``n + 1`` taps), ``n >= 0``.
    f : array_like, shape (k,)
        Band-edge frequencies normalised to Nyquist: non-decreasing, ``f[0] = 0``,
        ``f[-1] = 1``.
    m : array_like, shape (k,)
        Desired magnitude at each ``f``.
    grid_n : int, optional
        Frequency grid size, rounded up to a power of two. Default 512 (or ``n + 1``
        when ``n + 1 >= 1024``), as Octave.
    ramp_n : int, optional
        Transition width (in grid points) at discontinuities. Default ``fix(grid_n/25)``.
    window : array_like, shape (n + 1,), optional
        Shaping window. Default: Hamming window of ``n + 1`` points.

    Returns
    -------
    Tensor, shape (n + 1,), float64
        Filter taps ``b``.

    Raises
    ------
    ValueError
        On an invalid order, frequency vector, grid size or window length.

    References
    ----------
    Octave *signal* package 1.4.3, ``fir2.m`` (P. Kienzle, 2000). AMT's
    ``headphonefilter`` and ``middleearfilter`` call ``fir2(512, f, m)``.
    """
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer filter order, got {n!r}")
    n = int(n)
    f = _checks._real_array(f, "f").ravel()
    m = _checks._real_array(m, "m").ravel()
    if not (np.isfinite(f).all() and np.isfinite(m).all()):
        raise ValueError("f and m must be finite")
    if f.size < 2 or f[0] != 0 or f[-1] != 1 or bool((np.diff(f) < 0).any()):
        raise ValueError("f must be non-decreasing, start at 0 and end at 1 (Nyquist), got "
                         f"{f.tolist()}")
    if f.size != m.size:
        raise ValueError(f"f and m must have the same length, got {f.size} and {m.size}")
    if window is None:
        w = hamming(n + 1).numpy()
    else:
        w = np.asarray(window, dtype=np.float64).ravel()
        if w.size != n + 1:
            raise ValueError(f"window must have n + 1 = {n + 1} points, got {w.size}")
    if grid_n is None:
        grid_n = 512 if n + 1 < 1024 else n + 1
    if int(grid_n) != grid_n or grid_n < 1:
        raise ValueError(f"grid_n must be a positive integer, got {grid_n!r}")
    grid_n = 1 << max(0, math.ceil(math.log2(grid_n)))
    if 2 * grid_n < n + 1:
        raise ValueError(f"grid_n = {grid_n} must be at least half the filter length {n + 1}")
    if ramp_n is None:
        ramp_n = grid_n // 25
    if ramp_n > 0:
        base_f, base_m = f.copy(), m.copy()
        idx = np.flatnonzero(np.diff(f) == 0)
        f[idx] -= ramp_n / grid_n / 2
        f[idx + 1] += ramp_n / grid_n / 2
        f = np.unique(np.clip(np.concatenate([f, base_f[idx]]), 0.0, 1.0))
        m = interp1(base_f, base_m, f)
    grid = interp1(f, m, np.arange(grid_n + 1, dtype=np.float64) / grid_n)
    if n % 2 == 0:
        h = np.fft.ifft(np.concatenate([grid, grid[grid_n - 1:0:-1]]))
        half = n // 2
        b = np.real(np.concatenate([h[h.size - half:], h[:half + 1]]))
    else:
        h = np.fft.ifft(np.concatenate([grid, np.zeros(2 * grid_n), grid[grid_n - 1:0:-1]]))
        b = 2 * np.real(np.concatenate([h[h.size - n::2], h[1:n + 1:2]]))
    return torch.from_numpy(b * w)


def minimum_phase(b: ArrayLike) -> torch.Tensor:
    """Minimum-phase FIR with the same magnitude response (AMT ``middleearfilter``).

    Computes ``real(ifft(|X| · exp(-j·imag(hilbert(log|X|)))))`` with ``X = fft(b)``,
    the homomorphic (real-cepstrum) construction AMT uses; ``hilbert`` is Octave's
    analytic-signal routine (FFT, one-sided weighting ``[1, 2, …, 2, (1), 0, …]``, IFFT).

    Parameters
    ----------
    b : array_like or Tensor, shape (n,)
        FIR taps with no zeros of ``fft(b)``.

    Returns
    -------
    Tensor, shape (n,), float64

    References
    ----------
    A. V. Oppenheim and R. W. Schafer, *Discrete-Time Signal Processing*, ch. 13
    (homomorphic systems). AMT 1.4.0 ``middleearfilter.m`` (``'minimum'`` flag).
    """
    b = _checks.check_values(b.detach() if isinstance(b, torch.Tensor) else b, "b")
    b = b.cpu().numpy().ravel()
    spectrum = np.fft.fft(b)
    n = b.size
    weights = np.zeros(n)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[1:n // 2] = 2.0
        weights[n // 2] = 1.0
    else:
        weights[1:(n + 1) // 2] = 2.0
    analytic = np.fft.ifft(np.fft.fft(np.log(np.abs(spectrum))) * weights)
    return torch.from_numpy(np.real(np.fft.ifft(np.abs(spectrum) * np.exp(-1j * analytic.imag))))
