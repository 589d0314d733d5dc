"""Filter design as tensors: ``poly``, ``butter``, ``freqz``.

The designs follow the textbook analogue-prototype route that MATLAB/Octave and
SciPy share (Butterworth poles, frequency pre-warping, bilinear transform, polynomial
expansion), written in torch so that cut-off frequencies can be learnable parameters
and receive gradients.

AMT's low-frequency filters are so ill-conditioned that one unit in the last place of
a coefficient moves their output by up to ~1e-3 relative (King 2019's 2-Hz modulation
band-pass). :func:`butter` therefore returns, by default, the coefficients Octave's
``butter`` computes, bit for bit (:func:`octave_butter`: the same operations in the
same order with IEEE doubles), while its gradient is that of the differentiable torch
design of the same function.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from torch_amt import _checks

__all__ = ["poly", "roots", "butter", "octave_butter", "freqz", "straight_through"]

_BTYPES = {"low": "lowpass", "lowpass": "lowpass", "high": "highpass", "highpass": "highpass",
           "bandpass": "bandpass", "band": "bandpass", "pass": "bandpass",
           "bandstop": "bandstop", "stop": "bandstop"}


def poly(roots: torch.Tensor) -> torch.Tensor:
    """Coefficients of the monic polynomial with the given roots (MATLAB/NumPy ``poly``).

    Expanded as Octave's ``poly`` does, ``y(2:j+1) -= v(j) .* y(1:j)`` one root at a time
    in the given order, with complex products written out in real arithmetic
    (``ac - bd``, ``ad + bc``): that is what Octave computes, so float64 coefficients
    equal Octave's bit for bit (vectorised complex multiplication may use fused
    multiply-adds and differ in the last bit). Differentiable.

    Parameters
    ----------
    roots : Tensor, shape (..., n)
        Roots (real or complex); leading axes are batch axes.

    Returns
    -------
    Tensor, shape (..., n + 1)
        ``[1, c_1, ..., c_n]`` with ``Π_k (z - r_k) = Σ_j c_j z^(n-j)``; complex when
        ``roots`` is complex.
    """
    if not isinstance(roots, torch.Tensor):
        raise TypeError(f"roots must be a torch.Tensor, got {type(roots).__name__}")
    if not (roots.is_floating_point() or roots.is_complex()):
        raise TypeError(f"roots must be a real or complex floating-point tensor, got "
                        f"{roots.dtype}")
    if roots.ndim == 0:
        raise ValueError("roots must have at least one axis (the roots), got a 0-d tensor")
    if not roots.is_complex():
        c = torch.ones(*roots.shape[:-1], 1, dtype=roots.dtype, device=roots.device)
        for k in range(roots.shape[-1]):
            zero = torch.zeros_like(c[..., :1])
            c = torch.cat([c, zero], -1) - torch.cat([zero, roots[..., k:k + 1] * c], -1)
        return c
    rr, ri = roots.real, roots.imag
    cr = torch.ones(*roots.shape[:-1], 1, dtype=rr.dtype, device=rr.device)
    ci = torch.zeros_like(cr)
    for k in range(roots.shape[-1]):
        vr, vi = rr[..., k:k + 1], ri[..., k:k + 1]
        pr = vr * cr - vi * ci
        pi = vr * ci + vi * cr
        zero = torch.zeros_like(cr[..., :1])
        cr = torch.cat([cr, zero], -1) - torch.cat([zero, pr], -1)
        ci = torch.cat([ci, zero], -1) - torch.cat([zero, pi], -1)
    return torch.complex(cr, ci)


def roots(a: torch.Tensor) -> torch.Tensor:
    """Roots of the polynomials ``a (N, n+1)`` (``a[:, 0] == 1``), as companion eigenvalues.

    Backward stable: the roots are exact for coefficients within rounding of ``a``.

    Returns
    -------
    Tensor, shape (N, n), complex
    """
    n = a.shape[-1] - 1
    companion = torch.zeros(a.shape[0], n, n, dtype=a.dtype, device=a.device)
    companion[:, 0, :] = -a[:, 1:]
    if n > 1:
        idx = torch.arange(n - 1, device=a.device)
        companion[:, idx + 1, idx] = 1
    return torch.linalg.eigvals(companion)


def _poly_scalar(roots: list[complex]) -> list[complex]:
    """:func:`poly` for Python complex scalars (same expansion, same rounding), for
    :func:`octave_butter`, which designs one filter at a time in scalar arithmetic."""
    y = [complex(1.0)] + [complex(0.0)] * len(roots)
    for j, r in enumerate(roots, start=1):
        prev = y[:j]
        for i in range(j):
            y[i + 1] = y[i + 1] - r * prev[i]
    return y


def _csqrt(z: complex) -> complex:
    """glibc ``csqrt`` for finite, normal arguments (what Octave's ``sqrt`` calls)."""
    re, im = z.real, z.imag
    if im == 0.0:
        if re < 0:
            return complex(0.0, math.copysign(math.sqrt(-re), im))
        return complex(abs(math.sqrt(re)), math.copysign(0.0, im))
    if re == 0.0:
        r = math.sqrt(0.5 * abs(im))
        return complex(r, math.copysign(r, im))
    d = float(np.hypot(re, im))
    if re > 0:
        r = math.sqrt(0.5 * (d + re))
        s = 0.5 * (im / r)
    else:
        s = math.sqrt(0.5 * (d - re))
        r = abs(0.5 * (im / s))
    return complex(r, math.copysign(s, im))


def _bilinear_point(x: complex) -> complex:
    """``(2 + x·T) / (2 - x·T)`` with T = 2, component-wise as Octave evaluates it."""
    return complex(2 + x.real * 2, x.imag * 2) / complex(2 - x.real * 2, -(x.imag * 2))


def octave_butter(order: int, wn, btype: str = "low") -> tuple[np.ndarray, np.ndarray]:
    """Octave signal-package ``[b, a] = butter(order, wn, btype)``, bit for bit.

    ``wn`` is normalised to the Nyquist frequency (a pair for ``'bandpass'``). Kuc's
    analogue prototype poles, pre-warping, ``sftrans``, ``bilinear`` (T = 2) and ``poly``
    are evaluated in Octave's order with IEEE double operations and the C library's
    elementary functions.

    Returns
    -------
    b, a : ndarray, float64
    """
    order = _checks.check_positive(order, "order", integer=True)
    btype = _checks.check_choice(btype, "btype", ("low", "lowpass", "high", "highpass",
                                                  "bandpass", "band", "pass"))
    edges = _checks._real_array(wn, "wn").reshape(-1)
    if edges.size != (2 if btype in ("bandpass", "band", "pass") else 1):
        raise ValueError(f"wn must be {'two band edges' if edges.size != 1 else 'one cut-off'} "
                         f"for btype={btype!r}, got {edges.size} value(s)")
    if not (np.all(np.isfinite(edges)) and np.all(edges > 0) and np.all(edges < 1)):
        raise ValueError(f"wn must lie strictly between 0 and 1 (normalised to the Nyquist "
                         f"frequency), got {edges.tolist()}")
    if edges.size == 2 and not edges[0] < edges[1]:
        raise ValueError(f"wn band edges must be increasing, got {edges.tolist()}")
    w = [math.tan(math.pi * float(v) / 2) for v in edges]
    poles = []
    for k in range(1, order + 1):
        theta = math.pi * (2 * k + order - 1) / (2 * order)
        poles.append(complex(math.cos(theta), math.sin(theta)))
    if order % 2 == 1:
        poles[(order + 1) // 2 - 1] = complex(-1.0)
    zeros: list[complex] = []
    if btype in ("low", "lowpass"):
        gain = 1.0 * (1.0 / w[0]) ** float(-order)
        poles = [complex(w[0] * p.real, w[0] * p.imag) for p in poles]
    elif btype in ("high", "highpass"):
        prod = complex(1.0)
        for p in poles:
            prod = prod * (-p)
        gain = 1.0 * (1 / prod).real
        poles = [w[0] / p for p in poles]
        zeros = [complex(0.0)] * order
    elif btype in ("bandpass", "band", "pass"):
        fl, fh = w
        gain = 1.0 * (1.0 / (fh - fl)) ** float(-order)
        half = (fh - fl) / 2
        centre = [complex(p.real * half, p.imag * half) for p in poles]
        roots = [_csqrt(c * c - fh * fl) for c in centre]
        poles = ([c + r for c, r in zip(centre, roots, strict=True)]
                 + [c - r for c, r in zip(centre, roots, strict=True)])
        zeros = [complex(0.0)] * order
    else:
        raise ValueError(f"octave_butter supports 'low', 'high' and 'bandpass', got {btype!r}")
    num = complex(1.0)
    for z in zeros:
        num = num * complex((2 - z.real * 2) / 2, (-(z.imag * 2)) / 2)
    den = complex(1.0)
    for p in poles:
        den = den * complex((2 - p.real * 2) / 2, (-(p.imag * 2)) / 2)
    zgain = ((gain * num.real / den) if num.imag == 0 else (gain * num / den)).real
    zpoles = [_bilinear_point(p) for p in poles]
    zzeros = [_bilinear_point(z) for z in zeros]
    zzeros += [complex(-1.0)] * (len(zpoles) - len(zzeros))
    b = np.array([(zgain * c).real for c in _poly_scalar(zzeros)])
    a = np.array([c.real for c in _poly_scalar(zpoles)])
    return b, a


def _real_if_conjugate(c: torch.Tensor) -> torch.Tensor:
    return c.real if c.is_complex() else c


def butter(order: int, cutoff, fs: float, btype: str = "low",
           dtype: torch.dtype = torch.float64, *, exact: bool = True
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Digital Butterworth filter: MATLAB/Octave ``butter(order, cutoff/(fs/2), btype)``.

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
    exact : bool
        ``True`` (default): the values are Octave's, bit for bit (:func:`octave_butter`;
        low, high and band-pass), the gradient that of the torch design below.
        ``False``: the torch design alone, which equals ``scipy.signal.butter`` to
        ~1e-16 and may differ from Octave in the last bit.

    Returns
    -------
    b, a : Tensor, shape (..., n + 1)
        Numerator and denominator, ``a[..., 0] == 1``.
    """
    order = _checks.check_positive(order, "order", integer=True)
    _checks.check_choice(btype, "btype", sorted(set(_BTYPES)))
    kind = _BTYPES[btype]
    fs = _checks.check_fs(fs)
    wn = (cutoff if isinstance(cutoff, torch.Tensor)
          else torch.as_tensor(_checks.check_values(cutoff, "cutoff"), dtype=dtype))
    if not wn.is_floating_point():
        wn = wn.to(dtype)
    band = kind in ("bandpass", "bandstop")
    if band and (wn.ndim == 0 or wn.shape[-1] != 2):
        raise ValueError(f"cutoff must be a pair (low, high) for btype={btype!r}")
    if wn.device.type == "cpu":  # (no host synchronisation on accelerators)
        if not bool(((wn > 0) & (wn < fs / 2)).all()):
            raise ValueError(f"cutoff must lie strictly between 0 and fs/2 = {fs / 2} Hz, "
                             f"got {wn}")
        if band and not bool((wn[..., 0] < wn[..., 1]).all()):
            raise ValueError(f"cutoff must be an increasing pair (low, high) for "
                             f"btype={btype!r}, got {wn}")
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
    if exact and kind != "bandstop":
        b, a = _with_octave_values(b, a, order, (2 * wn / fs).detach(), kind)
    return b, a


def straight_through(exact, differentiable: torch.Tensor) -> torch.Tensor:
    """The values of ``exact`` with the gradient of ``differentiable``.

    For two evaluations of the same function that differ only in rounding (e.g. AMT's
    Octave arithmetic and a differentiable torch design): the forward pass carries AMT's
    bits, the backward pass the torch design's derivative.

    Parameters
    ----------
    exact : array_like or Tensor
        Reference values, same shape as ``differentiable``.
    differentiable : Tensor
        The differentiable evaluation.

    Returns
    -------
    Tensor
        Equal to ``exact`` (in ``differentiable``'s dtype and device).
    """
    value = torch.as_tensor(exact, dtype=differentiable.dtype, device=differentiable.device)
    if not differentiable.requires_grad:
        return value
    return differentiable + (value - differentiable).detach()


def _with_octave_values(b: torch.Tensor, a: torch.Tensor, order: int, wn: torch.Tensor,
                        kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Octave's values for ``b, a`` with their gradient (:func:`straight_through`)."""
    band = kind == "bandpass"
    flat = wn.reshape(-1, 2) if band else wn.reshape(-1)
    rows = [octave_butter(order, w.tolist(), kind.replace("pass", "") if not band else kind)
            for w in flat.cpu().to(torch.float64)]
    b_exact = np.stack([r[0] for r in rows]).reshape(b.shape)
    a_exact = np.stack([r[1] for r in rows]).reshape(a.shape)
    return straight_through(b_exact, b), straight_through(a_exact, a)


def _freqz_coefficients(c, name: str) -> torch.Tensor:
    """Polynomial coefficients for :func:`freqz`: real or complex numbers, at least one."""
    if isinstance(c, torch.Tensor):
        t = c
    else:
        arr = (_checks._as_array(c, name) if not isinstance(c, (str, bytes))
               else np.asarray(object()))
        if arr.dtype.kind not in "iufc":
            raise TypeError(f"{name} must be real or complex filter coefficients, got "
                            f"{type(c).__name__}")
        t = torch.as_tensor(arr if arr.dtype.kind in "fc" else arr.astype(np.float64))
    if t.dtype == torch.bool:
        raise TypeError(f"{name} must be real or complex filter coefficients, got bool")
    if not (t.is_floating_point() or t.is_complex()):
        t = t.to(torch.float64)
    if t.ndim == 0:
        t = t.reshape(1)
    if t.shape[-1] == 0:
        raise ValueError(f"{name} must hold at least one coefficient, got shape {tuple(t.shape)}")
    return t


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
    n = _checks.check_positive(n, "n", integer=True)
    if fs is not None:
        fs = _checks.check_fs(fs)
    b = _freqz_coefficients(b, "b")
    a = _freqz_coefficients(a, "a")
    if not a.is_complex() and a.dtype != b.dtype and b.is_floating_point():
        a = a.to(b.dtype)
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
