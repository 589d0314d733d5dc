"""Kernel of a one-compartment RC membrane driven by a time-varying conductance.

The membrane potential ``v`` of a capacitance ``C`` with one conductance ``g[t]`` that
changes every sample (reversal potential ``e_g``) and ``K`` fixed leak conductances
``gl_k`` (reversal potentials ``el_k``) is integrated by forward Euler with step ``dt``,
in this arithmetic order (per row, per sample ``t``)::

    i    = (-g[t]) · (v - e_g)
    i    = i + (-gl_k) · (v - el_k)          for k = 1..K, in order
    v    = v + (i · dt) / C
    y[t] = v

This is the receptor-potential circuit of hair-cell models (e.g. Paulick et al. 2024,
AMT ``paulick2024_ihc``: one mechano-electrical transduction conductance and two
potassium conductances); the kernel knows nothing about hair cells. The recurrence is
linear in ``v`` with time-varying coefficients, so the backward is the exact
reverse-time adjoint (``λ`` the adjoint of ``v`` after step ``t``)::

    ∂L/∂g[t] = λ_t · (-(v_{t-1} - e_g) · dt / C)
    λ_{t-1}  = ∂L/∂y[t-1] + λ_t · (1 - (g[t] + Σ gl_k) · dt / C)

computed in one compiled pass from the stored potentials. Backends follow
:func:`torch_amt.dsp.iir.resolve_backend`: numba on CPU (parallel over rows); elsewhere a
pure-torch formulation with no loop over samples (the step is an affine map of ``v``, so
the whole signal is one parallel affine scan, :func:`torch_amt.dsp.scan.affine_scan`,
equal to the sequential steps up to rounding). Both compute in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import torch
from torch.autograd.function import once_differentiable

from torch_amt.dsp._inputs import REAL_SIGNAL_DTYPES, check_signal_tensor
from torch_amt.dsp.iir import resolve_backend
from torch_amt.dsp.profiling import run_kernel
from torch_amt.dsp.scan import affine_scan

__all__ = ["membrane_potential"]


@numba.njit(parallel=True, cache=True)
def _nb_forward(g, v0, e_g, leak_g, leak_e, dt, cap, y):  # pragma: no cover - compiled
    n_rows, n_t = g.shape
    n_leak = leak_g.shape[0]
    for r in numba.prange(n_rows):
        v = v0[r]
        for t in range(n_t):
            i = (-g[r, t]) * (v - e_g)
            for k in range(n_leak):
                i = i + (-leak_g[k]) * (v - leak_e[k])
            v = v + (i * dt) / cap
            y[r, t] = v


@numba.njit(parallel=True, cache=True)
def _nb_backward(gy, g, v0, v, e_g, leak_sum, dt, cap, gg):  # pragma: no cover - compiled
    n_rows, n_t = g.shape
    for r in numba.prange(n_rows):
        lam = 0.0
        for t in range(n_t - 1, -1, -1):
            lam = lam + gy[r, t]
            before = v[r, t - 1] if t > 0 else v0[r]
            gg[r, t] = lam * (-(before - e_g) * dt / cap)
            lam = lam * (1.0 - (g[r, t] + leak_sum) * dt / cap)


def _torch_forward(g, v0, e_g, leak_g, leak_e, dt, cap):
    """The recurrence without a loop over samples: one Euler step is the affine map
    ``v <- (1 - (g[t] + Σ gl_k)·dt/C)·v + (g[t]·e_g + Σ gl_k·el_k)·dt/C``, solved for the
    whole signal by :func:`~torch_amt.dsp.scan.affine_scan` (equal to the sequential
    steps up to rounding)."""
    rate = dt / cap
    alpha = 1.0 - (g + float(sum(leak_g))) * rate
    drive = float(sum(gk * ek for gk, ek in zip(leak_g, leak_e, strict=True)))
    beta = (g * e_g + drive) * rate
    return affine_scan(alpha, beta, v0)


def _torch_backward(gy, g, v0, v, e_g, leak_sum, dt, cap):
    """The adjoint of :func:`_torch_forward`: ``λ_t = gy[t] + α_{t+1}·λ_{t+1}`` by a
    reversed affine scan, then ``∂L/∂g[t] = λ_t·(-(v_{t-1} - e_g)·dt/C)``."""
    alpha = 1.0 - (g + leak_sum) * (dt / cap)
    shifted = torch.cat([torch.ones_like(alpha[:, :1]), alpha.flip(1)[:, :-1]], dim=1)
    lam = affine_scan(shifted, gy.flip(1), torch.zeros_like(v0)).flip(1)
    before = torch.cat([v0[:, None], v[:, :-1]], dim=1)
    return lam * (-(before - e_g) * dt / cap)


class _Membrane(torch.autograd.Function):
    """``y = potential(g)`` per row; ``v0`` and the circuit constants carry no gradient."""

    @staticmethod
    def forward(ctx, g, v0, e_g, leak_g, leak_e, dt, cap, out_dtype):
        backend = resolve_backend(g.device)
        g64 = g.detach().to(torch.float64).contiguous()
        v064 = v0.detach().to(device=g.device, dtype=torch.float64).contiguous()
        if backend == "numba":
            y = np.empty(tuple(g64.shape), dtype=np.float64)
            run_kernel("membrane.forward", _nb_forward, g64.numpy(), v064.numpy(), e_g,
                       np.asarray(leak_g, dtype=np.float64),
                       np.asarray(leak_e, dtype=np.float64), dt, cap, y)
            v = torch.from_numpy(y)
        else:
            v = _torch_forward(g64, v064, e_g, leak_g, leak_e, dt, cap)
        ctx.backend, ctx.consts = backend, (e_g, float(sum(leak_g)), dt, cap)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(g64, v064, v)
        return v.to(out_dtype)

    @staticmethod
    @once_differentiable  # the adjoint recursion is not itself differentiable: a second
    def backward(ctx, gy):  # derivative is an explicit error, never a silent zero
        g64, v064, v = ctx.saved_tensors
        gy64 = gy.detach().to(torch.float64).contiguous()
        if ctx.backend == "numba":
            gg = np.empty(tuple(g64.shape), dtype=np.float64)
            run_kernel("membrane.backward", _nb_backward, gy64.numpy(), g64.numpy(),
                       v064.numpy(), v.numpy(), *ctx.consts, gg)
            grad = torch.from_numpy(gg)
        else:
            grad = _torch_backward(gy64, g64, v064, v, *ctx.consts)
        return grad.to(gy.dtype), None, None, None, None, None, None, None


def membrane_potential(g: torch.Tensor, v0: torch.Tensor | float, e_g: float,
                       leak_g: Sequence[float], leak_e: Sequence[float], dt: float,
                       capacitance: float, *, dtype: torch.dtype | None = None
                       ) -> torch.Tensor:
    """Potential of an RC membrane with a time-varying conductance (module docstring).

    Parameters
    ----------
    g : Tensor, shape (N, T)
        The time-varying conductance of each row (S), float32 or float64. The
        recurrence runs in float64.
    v0 : Tensor, shape (N,), or float
        Potential before the first sample (V); no gradient.
    e_g : float
        Reversal potential of ``g`` (V).
    leak_g, leak_e : sequence of float
        Fixed conductances (S) and their reversal potentials (V), summed in order.
    dt : float
        Time step (s), e.g. ``1/fs``.
    capacitance : float
        Membrane capacitance (F).
    dtype : torch.dtype, optional
        Output dtype (default: that of ``g``).

    Returns
    -------
    Tensor, shape (N, T)
        The potential after each sample, ``y[t] = v_t``. Differentiable with respect to
        ``g`` by the exact adjoint (first derivatives).

    Raises
    ------
    TypeError
        If ``g`` is not a float32/float64 tensor.
    ValueError
        If ``g`` is not 2-D, ``v0`` does not match its rows, the leak lists differ in
        length, or a constant is not finite (``dt``, ``capacitance`` must be positive).
    """
    check_signal_tensor(g, "g", real=True)
    if g.ndim != 2:
        raise ValueError(f"g must have shape (N, T), got {tuple(g.shape)}")
    dtype = g.dtype if dtype is None else dtype
    if dtype not in REAL_SIGNAL_DTYPES:
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    leak_g = [float(v) for v in leak_g]
    leak_e = [float(v) for v in leak_e]
    if len(leak_g) != len(leak_e):
        raise ValueError(f"leak_g and leak_e must have the same length, got {len(leak_g)} "
                         f"and {len(leak_e)}")
    consts = [float(e_g), float(dt), float(capacitance), *leak_g, *leak_e]
    if not all(np.isfinite(consts)) or dt <= 0 or capacitance <= 0:
        raise ValueError("e_g, dt, capacitance and the leak constants must be finite, dt and "
                         "capacitance positive")
    if not isinstance(v0, torch.Tensor):
        v0 = torch.full((g.shape[0],), float(v0), dtype=torch.float64)
    if v0.shape != (g.shape[0],):
        raise ValueError(f"v0 must have shape ({g.shape[0]},) (one value per row of g), got "
                         f"{tuple(v0.shape)}")
    return _Membrane.apply(g, v0, float(e_g), leak_g, leak_e, float(dt), float(capacitance),
                           dtype)
