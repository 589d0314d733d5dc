"""Zero-phase filtering as Octave's *signal* package computes it (``filtfilt``)."""

from __future__ import annotations

import numpy as np
import torch

from torch_amt.dsp._inputs import check_signal_tensor
from torch_amt.dsp.iir import lfilter

__all__ = ["filtfilt"]


def filtfilt(x: torch.Tensor, b, a=1.0) -> torch.Tensor:
    """Forward-backward filtering, Octave *signal* 1.4.3 ``filtfilt(b, a, x)``.

    With ``n = max(len(a), len(b))`` the signal is extended at both ends by
    ``3(n - 1)`` samples of odd reflection (``2x[0] - x[3(n-1):0:-1]`` and its mirror at
    the end), filtered forward from the steady state of its first sample (transposed
    direct-form-II state ``x₀·Σ_{k>j}(b_k − K a_k)``, ``K = Σb/Σa``, Likhterov &
    Kopeika), reversed, filtered the same way from its new first sample, reversed
    again and cut back to ``T`` samples. Both passes run through
    :func:`torch_amt.dsp.lfilter` (direct recursion, not FFT), so small output values
    far from a signal's energy keep their relative precision, as in Octave.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal, time last, with ``T > 3(n - 1)`` (Octave's requirement).
    b, a : Tensor or array_like, shape (nb,), (na,)
        Filter coefficients (``a[0] != 0``); ``a = 1`` for an FIR.

    Returns
    -------
    Tensor, shape (..., T)
        Differentiable with respect to ``x`` (and the coefficients, through
        :func:`~torch_amt.dsp.lfilter`).

    Raises
    ------
    ValueError
        If ``T <= 3(n - 1)``, or a coefficient vector is empty.

    References
    ----------
    Octave *signal* package 1.4.3, ``filtfilt.m``; F. Gustafsson, "Determining the
    initial states in forward-backward filtering", IEEE Trans. Signal Process. 44(4),
    988–992 (1996).
    """
    check_signal_tensor(x, real=True)
    b = torch.as_tensor(b, dtype=torch.float64) if not isinstance(b, torch.Tensor) else b
    a = torch.as_tensor(a, dtype=torch.float64) if not isinstance(a, torch.Tensor) else a
    b, a = b.reshape(-1), a.reshape(-1)
    if b.numel() == 0 or a.numel() == 0:
        raise ValueError("b and a must hold at least one coefficient each")
    n = max(b.numel(), a.numel())
    pad = 3 * (n - 1)
    if x.ndim == 0 or x.shape[-1] <= pad:
        length = x.shape[-1] if x.ndim else 0
        raise ValueError(f"x must be longer than 3·(max(len(a), len(b)) - 1) = {pad} samples "
                         f"for filtfilt (Octave's limit), got {length}")
    b_full = torch.nn.functional.pad(b, (0, n - b.numel()))
    a_full = torch.nn.functional.pad(a, (0, n - a.numel()))
    dc = b_full.detach().sum() / a_full.detach().sum()
    if bool(torch.isfinite(dc)):
        c = (b_full - dc * a_full).detach().cpu().numpy()
        state = torch.from_numpy(np.cumsum(c[::-1])[::-1][1:].copy())
    else:
        state = torch.zeros(n - 1, dtype=torch.float64)
    state = state.to(device=x.device, dtype=x.dtype)
    head = 2 * x[..., :1] - x[..., 1:pad + 1].flip(-1)
    tail = 2 * x[..., -1:] - x[..., -pad - 1:-1].flip(-1)
    v = torch.cat([head, x, tail], dim=-1)
    if n == 1:
        return lfilter(lfilter(v, b, a), b, a)
    v = lfilter(v, b, a, zi=state * v[..., :1])
    v = v.flip(-1)
    v = lfilter(v, b, a, zi=state * v[..., :1]).flip(-1)
    return v[..., pad:pad + x.shape[-1]]
