"""Learnable frequencies that cannot leave ``(0, fs/2)``: a bounded log-scale map."""

from __future__ import annotations

import math

import torch

__all__ = ["bounded_frequency", "frequency_ceiling"]

LOW_RATIO = 1e-6
"""Lower bound of a learnable frequency, as a fraction of its initial value."""


def frequency_ceiling(f0: torch.Tensor, fs: float) -> torch.Tensor:
    """Upper bound of learnable frequencies starting at ``f0``: ``0.99·fs/2``, or halfway
    between ``f0`` and ``fs/2`` for an ``f0`` above that (always above ``f0``)."""
    nyquist = fs / 2
    return torch.maximum(torch.full_like(f0, 0.99 * nyquist), (f0 + nyquist) / 2)


def bounded_frequency(f0: torch.Tensor, theta: torch.Tensor, fs: float) -> torch.Tensor:
    """``f0 · exp(s(θ))``, a learnable frequency that stays inside ``(0, fs/2)``.

    ``s(θ) = U·tanh(θ/U)`` with ``U = log(ceiling/f0)`` for ``θ > 0`` (the ceiling of
    :func:`frequency_ceiling`) and ``U = log(1/LOW_RATIO)`` for ``θ <= 0``: the identity
    to first (and second) order at ``θ = 0``, so a parameter initialised to zero gives
    ``f0`` itself, bit for bit, and small steps act like the plain ``f0·exp(θ)``; large
    steps saturate smoothly at the bounds instead of leaving the range where the
    filters can be designed.

    Parameters
    ----------
    f0 : Tensor, shape (F,), float64
        Initial frequencies in Hz, ``0 < f0 < fs/2``.
    theta : Tensor, shape (F,)
        The parameter (any float dtype; computed in float64).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    Tensor, shape (F,), float64
    """
    t = theta.to(f0.dtype)
    up = torch.log(frequency_ceiling(f0, fs) / f0).clamp_min(1e-12)
    down = math.log(1 / LOW_RATIO)
    s = torch.where(t > 0, up * torch.tanh(t / up), down * torch.tanh(t / down))
    return f0 * torch.exp(s)
