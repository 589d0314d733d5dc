"""Auditory frequency scales of AMT/LTFAT on the ERB-rate scale.

Torch versions of LTFAT's ``freqtoaud`` / ``audtofreq`` (scale ``'erb'``), ``audfiltbw``,
``erbspace`` and ``erbspacebw`` as AMT 1.4.0 uses them (LTFAT 2.5.0). The arithmetic is
done in the same order as LTFAT, so float64 results agree with AMT to about one ulp
(1e-15 relative), and the centre frequencies of every AMT filterbank can be reproduced.

All functions accept Python numbers, sequences, NumPy arrays or tensors and return
tensors: float64 unless a floating-point tensor (or ``dtype``) says otherwise. The
conversions are elementwise torch expressions and differentiable; ``erbspace`` and
``erbspacebw`` are differentiable with respect to tensor-valued limits.

References
----------
B. R. Glasberg and B. C. J. Moore, "Derivation of auditory filter shapes from
notched-noise data," Hearing Research 47, 103-138 (1990).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from torch_amt import _checks
from torch_amt.dsp import libm

__all__ = [
    "centre_frequencies",
    "audfiltbw",
    "audtofreq",
    "erbspace",
    "erbspacebw",
    "erbtofreq",
    "freqtoaud",
    "freqtoerb",
]

ArrayLike = float | Sequence[float] | np.ndarray | torch.Tensor

ERB_SCALE_FACTOR = 9.2645
"""ERB-rate units per natural-log unit in LTFAT's ``freqtoaud(f, 'erb')``."""
ERB_SCALE_SLOPE = 0.00437
"""Frequency factor (1/Hz) inside the logarithm of LTFAT's ERB-rate scale."""
ERB_BW_MIN = 24.7
"""ERB (Hz) of the auditory filter at 0 Hz, Glasberg & Moore (1990)."""
ERB_BW_QUALITY = 9.265
"""Asymptotic quality factor fc/ERB of the auditory filter, Glasberg & Moore (1990)."""


def _as_tensor(x: ArrayLike, name: str, dtype: torch.dtype | None) -> torch.Tensor:
    """Convert ``x`` to a real floating-point tensor and reject NaN."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name} must be real, got a complex tensor")
        target = dtype or (x.dtype if x.is_floating_point() else torch.float64)
        t = x.to(target)
    else:
        arr = _checks._as_array(x, name)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be real numbers, got {arr.dtype} values")
        t = torch.as_tensor(arr.astype(np.float64), dtype=dtype or torch.float64)
    if bool(torch.isnan(t).any()):
        raise ValueError(f"{name} contains NaN")
    return t


def _as_scalar(x: ArrayLike, name: str, dtype: torch.dtype | None) -> torch.Tensor:
    """Convert ``x`` to a finite 0-d tensor."""
    t = _as_tensor(x, name, dtype)
    if t.numel() != 1:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(t.shape)}")
    t = t.reshape(())
    if not bool(torch.isfinite(t)):
        raise ValueError(f"{name} must be finite, got {t.item()}")
    return t


def _result_dtype(*values: ArrayLike | None) -> torch.dtype:
    """Promoted dtype of the floating-point tensors among ``values`` (float64 if none)."""
    dtypes = [v.dtype for v in values if isinstance(v, torch.Tensor) and v.is_floating_point()]
    if not dtypes:
        return torch.float64
    result = dtypes[0]
    for d in dtypes[1:]:
        result = torch.promote_types(result, d)
    return result


def _check_limits(flow: torch.Tensor, fhigh: torch.Tensor) -> None:
    if flow.item() < 0:
        raise ValueError(f"flow must be non-negative, got {flow.item()} Hz")
    if fhigh.item() < 0:
        raise ValueError(f"fhigh must be non-negative, got {fhigh.item()} Hz")
    if flow.item() > fhigh.item():
        raise ValueError(
            f"flow must be less than or equal to fhigh, got flow={flow.item()} Hz > "
            f"fhigh={fhigh.item()} Hz"
        )


def _check_scale(scale: str) -> None:
    if scale != "erb":
        raise ValueError(f"scale must be 'erb' (the only scale implemented), got {scale!r}")


def freqtoerb(freq: ArrayLike, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert frequencies (Hz) to ERB-rate units, LTFAT ``freqtoaud(f, 'erb')``.

    ``erb = 9.2645 * sign(f) * log(1 + |f| * 0.00437)``: 0 Hz is 0 ERB, and one unit
    is one equivalent rectangular bandwidth (ERB) of the auditory filter.

    Parameters
    ----------
    freq : float, sequence, ndarray or Tensor, any shape
        Frequencies in Hz (negative values map to negative ERB-rates).
    dtype : torch.dtype, optional
        Output dtype; default: that of a floating-point tensor input, else float64.

    Returns
    -------
    Tensor, same shape as ``freq``
        ERB-rate (ERB number).

    Raises
    ------
    ValueError
        If ``freq`` contains NaN.

    References
    ----------
    Glasberg & Moore (1990), Eq. 4; constants as in LTFAT 2.5.0 ``freqtoaud``.
    """
    f = _as_tensor(freq, "freq", dtype)
    return ERB_SCALE_FACTOR * torch.sign(f) * torch.log(1 + torch.abs(f) * ERB_SCALE_SLOPE)


def erbtofreq(erb: ArrayLike, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert ERB-rate units to frequencies (Hz), LTFAT ``audtofreq(erb, 'erb')``.

    Inverse of :func:`freqtoerb`: ``f = (1/0.00437) * sign(erb) * (exp(|erb|/9.2645) - 1)``.

    Parameters
    ----------
    erb : float, sequence, ndarray or Tensor, any shape
        ERB-rate values.
    dtype : torch.dtype, optional
        Output dtype; default: that of a floating-point tensor input, else float64.

    Returns
    -------
    Tensor, same shape as ``erb``
        Frequencies in Hz.

    Raises
    ------
    ValueError
        If ``erb`` contains NaN, or a value maps beyond the dtype's range.
    """
    return _erb_to_hz(_as_tensor(erb, "erb", dtype), "erb")


def _erb_to_hz(a: torch.Tensor, name: str) -> torch.Tensor:
    """The ERB-rate to Hz map of :func:`erbtofreq`; ``ValueError`` naming ``name`` where a
    finite ERB number maps beyond the dtype's range (``|erb|`` above ~6570 in float64)."""
    f = (1 / ERB_SCALE_SLOPE) * torch.sign(a) * (torch.exp(torch.abs(a) / ERB_SCALE_FACTOR) - 1)
    overflow = torch.isinf(f) & torch.isfinite(a)
    if bool(overflow.any()):
        raise ValueError(f"{name} = {a[overflow].flatten()[0].item()} ERB is a frequency beyond "
                         f"the range of {a.dtype} (the ERB-rate scale grows exponentially)")
    return f


def freqtoaud(
    freq: ArrayLike, scale: str = "erb", *, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Convert frequencies (Hz) to auditory-scale units, LTFAT ``freqtoaud``.

    Parameters
    ----------
    freq : float, sequence, ndarray or Tensor, any shape
        Frequencies in Hz.
    scale : {'erb'}
        Auditory scale. Only LTFAT's default ``'erb'`` (the one AMT uses) exists here.
    dtype : torch.dtype, optional
        Output dtype.

    Returns
    -------
    Tensor, same shape as ``freq``
        Values on the auditory scale, see :func:`freqtoerb`.

    Raises
    ------
    ValueError
        For another ``scale`` or NaN in ``freq``.
    """
    _check_scale(scale)
    return freqtoerb(freq, dtype=dtype)


def audtofreq(
    aud: ArrayLike, scale: str = "erb", *, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Convert auditory-scale units to frequencies (Hz), LTFAT ``audtofreq``.

    Parameters
    ----------
    aud : float, sequence, ndarray or Tensor, any shape
        Values on the auditory scale.
    scale : {'erb'}
        Auditory scale; only ``'erb'``.
    dtype : torch.dtype, optional
        Output dtype.

    Returns
    -------
    Tensor, same shape as ``aud``
        Frequencies in Hz, see :func:`erbtofreq`.

    Raises
    ------
    ValueError
        For another ``scale`` or NaN in ``aud``.
    """
    _check_scale(scale)
    return _erb_to_hz(_as_tensor(aud, "aud", dtype), "aud")


def audfiltbw(fc: ArrayLike, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Equivalent rectangular bandwidth of the auditory filter, LTFAT ``audfiltbw``.

    ``ERB(fc) = 24.7 + fc / 9.265`` Hz (Glasberg & Moore 1990, Eq. 3).

    Parameters
    ----------
    fc : float, sequence, ndarray or Tensor, any shape
        Centre frequencies in Hz, non-negative.
    dtype : torch.dtype, optional
        Output dtype.

    Returns
    -------
    Tensor, same shape as ``fc``
        Bandwidths in Hz.

    Raises
    ------
    ValueError
        If ``fc`` contains NaN or negative values.
    """
    f = _as_tensor(fc, "fc", dtype)
    if bool((f < 0).any()):
        raise ValueError("fc must be non-negative (Hz)")
    return ERB_BW_MIN + f / ERB_BW_QUALITY


def erbspace(
    flow: ArrayLike, fhigh: ArrayLike, n: int, *, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """``n`` frequencies equidistant on the ERB-rate scale, LTFAT ``erbspace``.

    The ERB-rates of ``flow`` and ``fhigh`` are joined by a linspace; the end points are
    then set to exactly ``flow`` and ``fhigh`` (as LTFAT ``audspace`` does).

    Parameters
    ----------
    flow, fhigh : float or 0-d Tensor
        Lowest and highest frequency in Hz, ``0 <= flow <= fhigh``.
    n : int
        Number of points, positive.
    dtype : torch.dtype, optional
        Output dtype.

    Returns
    -------
    Tensor, shape (n,)
        Frequencies in Hz, increasing.

    Raises
    ------
    ValueError
        For a non-positive or non-integer ``n``, NaN/infinite/negative limits or
        ``flow > fhigh``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    dtype = dtype or _result_dtype(flow, fhigh)
    lo = _as_scalar(flow, "flow", dtype)
    hi = _as_scalar(fhigh, "fhigh", dtype)
    _check_limits(lo, hi)
    limits = freqtoerb(torch.stack([lo, hi]))
    if n == 1:
        return hi.reshape(1)
    exact = (lo.dtype == torch.float64 and lo.device.type == "cpu"
             and not (lo.requires_grad or hi.requires_grad))
    if exact:  # the C library's log and exp, as Octave (torch's may differ in the last bit)
        limits = torch.tensor([ERB_SCALE_FACTOR * math.copysign(1.0, float(v))
                               * math.log(1 + abs(float(v)) * ERB_SCALE_SLOPE)
                               for v in (lo, hi)], dtype=torch.float64)
    a = _octave_linspace(limits[0], limits[1], n)[1:-1]
    if exact:
        inner = (1 / ERB_SCALE_SLOPE) * torch.sign(a) * (
            libm.exp(torch.abs(a) / ERB_SCALE_FACTOR) - 1)
    else:
        inner = erbtofreq(a)
    return torch.cat([lo.reshape(1), inner, hi.reshape(1)])


def _octave_linspace(x1: torch.Tensor, x2: torch.Tensor, n: int) -> torch.Tensor:
    """Octave 7's ``linspace(x1, x2, n)`` (n >= 2): built symmetrically from both ends,
    ``x1 + i·δ`` in the first half and ``x2 - i·δ`` in the second, the middle element of
    an odd ``n`` as ``(x1 + x2)/2``."""
    delta = (x2 - x1) / (n - 1)
    i = torch.arange(n, dtype=x1.dtype)
    j = (n - 1) - i
    out = torch.where(i < n // 2, x1 + i * delta, x2 - j * delta)
    if n % 2 == 1:
        out[n // 2] = torch.zeros((), dtype=x1.dtype) if bool(x1 == -x2) else (x1 + x2) / 2
    out[0], out[-1] = x1, x2
    return out


def erbspacebw(
    flow: ArrayLike,
    fhigh: ArrayLike,
    bwmul: ArrayLike = 1.0,
    basef: ArrayLike | None = None,
    *,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Frequencies spaced ``bwmul`` ERB apart between two limits, LTFAT ``erbspacebw``.

    Reproduces LTFAT 2.5.0 ``audspacebw(flow, fhigh, bwmul, basef, 'erb')`` operation for
    operation (this is how every AMT filterbank gets its centre frequencies):

    * without ``basef``: ``n = floor(R / bwmul)`` with ``R`` the ERB-rate range; the
      ``n + 1`` points ``erb(flow) + k * bwmul + (R - n * bwmul) / 2``, ``k = 0..n``, are
      centred in the range;
    * with ``basef``: the points ``erb(basef) + k * bwmul`` for
      ``k = -floor((erb(basef) - erb(flow)) / bwmul) .. floor((erb(fhigh) - erb(basef)) / bwmul)``,
      so ``basef`` is on the grid. ``basef`` may lie outside ``[flow, fhigh]`` (AMT's
      ``dau1997(x, fs, 3500, 4600)`` keeps ``basef = 1000``); the points are still the grid
      points inside the range.

    Parameters
    ----------
    flow, fhigh : float or 0-d Tensor
        Frequency range in Hz, ``0 <= flow <= fhigh``.
    bwmul : float or 0-d Tensor, default 1.0
        Spacing in ERB, positive.
    basef : float or 0-d Tensor, optional
        Frequency in Hz that must be one of the points (LTFAT's ``hitme``).
    dtype : torch.dtype, optional
        Output dtype.

    Returns
    -------
    Tensor, shape (n,)
        Frequencies in Hz, increasing (empty when no grid point falls in the range).

    Raises
    ------
    ValueError
        For NaN/infinite/negative limits, ``flow > fhigh``, a non-positive ``bwmul`` or a
        NaN/infinite/negative ``basef``.

    References
    ----------
    LTFAT 2.5.0 ``auditory/audspacebw.m`` (P. L. Søndergaard).
    """
    dtype = dtype or _result_dtype(flow, fhigh, bwmul, basef)
    lo = _as_scalar(flow, "flow", dtype)
    hi = _as_scalar(fhigh, "fhigh", dtype)
    _check_limits(lo, hi)
    bw = _as_scalar(bwmul, "bwmul", dtype)
    if bw.item() <= 0:
        raise ValueError(f"bwmul must be positive, got {bw.item()}")
    if basef is None:
        limits = freqtoerb(torch.stack([lo, hi]))
        audrange = limits[1] - limits[0]
        n = math.floor((audrange / bw).item())
        remainder = audrange - n * bw
        points = limits[0] + torch.arange(n + 1, dtype=lo.dtype) * bw + remainder / 2
        return erbtofreq(points)
    hit = _as_scalar(basef, "basef", dtype)
    if hit.item() < 0:
        raise ValueError(f"basef must be non-negative, got {hit.item()} Hz")
    limits = freqtoerb(torch.stack([lo, hi, hit]))
    nlow = math.floor(((limits[2] - limits[0]) / bw).item())
    nhigh = math.floor(((limits[1] - limits[2]) / bw).item())
    points = torch.arange(-nlow, nhigh + 1, dtype=lo.dtype) * bw + limits[2]
    return erbtofreq(points)


def centre_frequencies(fs: float, fc=None, flow: float = 80.0, fhigh: float = 8000.0,
                       bwmul: float = 1.0, basef: float | None = None) -> torch.Tensor:
    """The validated centre frequencies of a filterbank: ``fc`` as given, or AMT's grid.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (the frequencies must lie below ``fs/2``).
    fc : sequence or Tensor, shape (F,), optional
        Explicit centre frequencies in Hz.
    flow, fhigh, bwmul, basef
        Without ``fc``: :func:`erbspacebw` ``(flow, fhigh, bwmul, basef)``, AMT's grid.

    Returns
    -------
    Tensor, shape (F,), float64
        Detached from any graph.

    Raises
    ------
    ValueError
        If the grid is empty, ``basef`` or a frequency is not in ``(0, fs/2)`` (the
        message names ``fhigh`` when the grid came from it).
    """
    fs = _checks.check_fs(fs)
    source = None
    if fc is None:
        if basef is not None:
            _checks.check_frequencies(basef, fs, "basef")
        fc = erbspacebw(flow, fhigh, bwmul, basef, dtype=torch.float64)
        source = f"fhigh = {fhigh} Hz"
        if fc.numel() == 0:
            raise ValueError(f"no centre frequency between flow = {flow} Hz and "
                             f"fhigh = {fhigh} Hz")
    elif isinstance(fc, torch.Tensor):
        fc = fc.detach().to(torch.float64)
    return _checks.check_frequencies(fc, fs, "fc", source=source).reshape(-1)
