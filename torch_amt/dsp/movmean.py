"""Moving average with a (possibly non-integer) window, shrunk at the ends (``movmean``)."""

from __future__ import annotations

import math

import torch

from torch_amt.dsp._inputs import check_signal_tensor

__all__ = ["movmean", "movmean_window"]


def movmean_window(length: float) -> tuple[int, int]:
    """Samples ``(back, forward)`` of the window of length ``length`` around a sample.

    The window of sample ``i`` holds the samples ``j`` with ``i - w/2 <= j < i + w/2``:
    ``back = floor(w/2)``, ``forward = ceil(w/2) - 1``. For an integer ``w`` this is
    MATLAB's ``movmean(x, w)`` (centred for odd ``w``, one more sample back for even
    ``w``); for a non-integer ``w`` it is the same interval rule (the one of MATLAB's
    ``'SamplePoints'`` windows; MATLAB's own choice for a non-integer length is not
    documented, see :func:`movmean`).

    Raises
    ------
    ValueError
        If ``length`` is not a positive, finite number.
    """
    length = float(length)
    if not math.isfinite(length) or length <= 0:
        raise ValueError(f"length must be a positive window length in samples, got {length}")
    return math.floor(length / 2), math.ceil(length / 2) - 1


def movmean(x: torch.Tensor, length: float) -> torch.Tensor:
    """Moving average of ``x`` along its last axis, MATLAB ``movmean(x, length)``.

    Each output sample is the mean of the samples of its window
    (:func:`movmean_window`), the window shrunk to the samples that exist at the ends
    (MATLAB's default ``'Endpoints', 'shrink'``).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal, float32 or float64.
    length : float
        Window length in samples (positive; need not be an integer).

    Returns
    -------
    Tensor, shape (..., T)
        Differentiable with respect to ``x``.

    Notes
    -----
    The reference files of AMT 1.6 ``paulick2024_roi`` (window ``25/fc·fs`` samples) were
    made with an Octave stand-in using this window rule; MATLAB's rule for a
    non-integer length is assumed, not verified (reference README, ``octave_shim_note``).
    """
    check_signal_tensor(x, "x", real=True)
    back, forward = movmean_window(length)
    n_t = x.shape[-1]
    rows = x.reshape(-1, 1, n_t)
    ones = torch.ones(1, 1, back + forward + 1, dtype=x.dtype, device=x.device)
    padded = torch.nn.functional.pad(rows, (back, forward))
    sums = torch.nn.functional.conv1d(padded, ones) if rows.shape[0] else rows
    t = torch.arange(n_t, device=x.device)
    counts = (torch.clamp(t + forward, max=n_t - 1) - torch.clamp(t - back, min=0) + 1)
    return (sums / counts.to(x.dtype)).reshape(x.shape)
