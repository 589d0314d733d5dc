"""Zero-phase forward-backward filtering as GNU Octave's signal package computes it."""

from __future__ import annotations

import torch

from torch_amt.dsp._inputs import check_signal_tensor
from torch_amt.dsp.iir import lfilter
from torch_amt.dsp.iir.api import _as_coefficients

__all__ = ["octave_filtfilt"]


def _coefficients(c, name: str, like: torch.Tensor) -> torch.Tensor:
    """``lfilter``'s coefficient check, restricted to real coefficients."""
    t = _as_coefficients(c, name, like)
    if t.is_complex():
        raise TypeError(f"{name} must be real floating-point coefficients, got {t.dtype}")
    return t


def octave_filtfilt(x: torch.Tensor, b, a) -> torch.Tensor:
    """Forward-backward filtering of ``x`` along its last axis, GNU Octave's ``filtfilt``.

    Computes what ``filtfilt(b, a, x)`` of the Octave signal package (1.4.x, the version
    AMT's reference outputs were made with) computes, which is not what
    ``scipy.signal.filtfilt`` computes by default:

    1. with ``n = max(len(a), len(b))``, the signal is extended at both ends by an odd
       reflection of ``3·(n - 1)`` samples: ``2·x[0] - x[3(n-1):0:-1]`` before and
       ``2·x[-1] - x[-2:-3(n-1)-2:-1]`` after (SciPy's default reflects ``3·n``);
    2. the initial state is the steady state of a unit step (Likhterov & Kopeika 2003):
       ``si = reverse(cumsum(reverse(b - k·a)))[1:]`` with the DC gain
       ``k = sum(b) / sum(a)`` (zero state where ``k`` is not finite), scaled by the
       first sample of the extended signal for the forward pass and by the last sample
       of the forward output for the backward pass;
    3. the extension is cut off again.

    ``scipy.signal.filtfilt(b, a, x, padtype='odd', padlen=3*(n-1))`` agrees with it to
    rounding (SciPy's ``lfilter_zi`` solves for the same steady state). Both passes run
    through :func:`torch_amt.dsp.lfilter`, so the result is differentiable with respect
    to ``x``, ``b`` and ``a``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal, float32 or float64; ``T > 3·(n - 1)`` (Octave's condition).
    b, a : Tensor or array_like, shape (..., nb), (..., na)
        Numerator and denominator; leading axes broadcast against those of ``x``. They
        are normalised by ``a[..., 0]`` first (AMT's filters have ``a[0] = 1``, where
        this is exactly Octave's computation).

    Returns
    -------
    Tensor, shape (broadcast leading shape, T)
        The zero-phase filtered signal, in the precision of ``x``.

    Raises
    ------
    TypeError
        If ``x`` or the coefficients are not real floating point.
    ValueError
        If ``T <= 3·(n - 1)`` or ``a[..., 0] == 0``.

    References
    ----------
    I. Likhterov and N. S. Kopeika, "Hardware-efficient technique for minimizing startup
    transients in Direct Form II digital filters", Int. J. Electron. 90(1), 2003.
    GNU Octave signal package, ``filtfilt.m`` (P. Kienzle, F. Potortì, L. Citi).
    """
    check_signal_tensor(x, real=True)
    if x.ndim == 0:
        raise ValueError("x must have at least one (time) axis, got a 0-d tensor")
    b = _coefficients(b, "b", x)
    a = _coefficients(a, "a", x)
    if bool((a[..., 0] == 0).any()):
        raise ValueError("a[..., 0] must be non-zero (the filter is normalised by it)")
    n = max(a.shape[-1], b.shape[-1])
    nrefl = 3 * (n - 1)
    n_t = x.shape[-1]
    if n_t <= nrefl:
        raise ValueError(f"x must be longer than 3*(max(len(a), len(b)) - 1) = {nrefl} samples "
                         f"along its last axis (Octave filtfilt), got {n_t}")
    dtype = torch.promote_types(torch.promote_types(b.dtype, a.dtype), x.dtype)
    b, a = b.to(dtype), a.to(dtype)
    a0 = a[..., :1]
    b = torch.nn.functional.pad(b / a0, (0, n - b.shape[-1]))
    a = torch.nn.functional.pad(a / a0, (0, n - a.shape[-1]))
    dc = b.sum(-1, keepdim=True) / a.sum(-1, keepdim=True)
    state = (b - dc * a).flip(-1).cumsum(-1).flip(-1)[..., 1:]
    state = torch.where(torch.isfinite(dc), state, torch.zeros_like(state))
    if nrefl:
        head = 2 * x[..., :1] - x[..., 1:nrefl + 1].flip(-1)
        tail = 2 * x[..., -1:] - x[..., n_t - 1 - nrefl:n_t - 1].flip(-1)
        v = torch.cat([head, x, tail], dim=-1)
    else:
        v = x
    v = lfilter(v, b, a, zi=state * v[..., :1] if n > 1 else None)
    v = lfilter(v.flip(-1), b, a, zi=state * v[..., -1:] if n > 1 else None).flip(-1)
    return v[..., nrefl:nrefl + n_t]
