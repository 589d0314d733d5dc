"""Kernel of the adaptation-loop recurrence (Püschel 1988; Dau et al. 1996a), differentiable.

This is the one nonlinear recurrence of the package with its own kernel (every linear
recursive filter goes through :func:`torch_amt.dsp.lfilter`). It knows nothing about
levels or presets; :mod:`torch_amt.functional.adaptation` derives the coefficients.

Recurrence (per row, per sample ``t``, loops ``j = 1..L`` in series; AMT
``comp_adaptloop``'s arithmetic order)::

    v_0 = x[t]
    q_j = v_{j-1} / s_j                                (divide by the loop's state)
    v_j = factor_j / (1 + exp(expfac_j (q_j - 1))) - offset_j   if limited and q_j > 1
        = q_j                                                    otherwise
    s_j <- a1_j s_j + b0_j v_j                         (one-pole low-pass of the output)
    y[t] = v_L

Backward is the exact reverse-time adjoint. The forward stores the divisor states
``s_j`` of every step (``(N, T, L)``, only when a gradient is needed); the backward
recomputes ``q_j, v_j`` from them and runs, for ``t = T-1..0`` and ``j = L..1``::

    ḡ_j   = ∂L/∂v_j (from loop j+1, or the output) + b0_j λ_j
    ∂L/∂b0_j += λ_j v_j,   ∂L/∂a1_j += λ_j s_j
    ĝ_j   = ḡ_j f_j'(q_j)          (plus the limiter-parameter gradients)
    ∂L/∂v_{j-1} = ĝ_j / s_j,   λ_j <- a1_j λ_j - ĝ_j q_j / s_j

(``λ_j`` = adjoint of the state after the update), in one compiled pass, so a training
step never builds a per-sample autograd graph. Only a backward with ``create_graph=True``
(second derivatives) differentiates the per-sample torch recurrence by autograd instead.

Backends follow :func:`torch_amt.dsp.iir.use_backend` (through
:func:`torch_amt.dsp.iir.resolve_backend`): numba on CPU (parallel over rows), an exact
pure-torch loop elsewhere (or when forced). Both compute in float64 and return float64.
The numba kernels report to :mod:`torch_amt.dsp.profiling`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from torch_amt.dsp._inputs import REAL_SIGNAL_DTYPES, check_signal_tensor
from torch_amt.dsp.iir import resolve_backend
from torch_amt.dsp.profiling import run_kernel

__all__ = ["adaptloop_recurrence"]


# --------------------------------------------------------------------------- numba kernels


@numba.njit(cache=True, inline="always")
def _stage(v, s, r, j, a1, b0, factor, expfac, offset, limited):  # pragma: no cover
    """Loop ``j`` of row ``r`` on ``v``: divide, limit, update the state ``s[j]``."""
    v = v / s[j]
    if limited and v > 1.0:
        v = factor[r, j] / (1.0 + np.exp(expfac[r, j] * (v - 1.0))) - offset[r, j]
    s[j] = a1[r, j] * s[j] + b0[r, j] * v
    return v


@numba.njit(parallel=True, cache=True)
def _nb_forward(x, floor, a1, b0, s0, factor, expfac, offset, corr, mult, limited, store,
                states, y):  # pragma: no cover - compiled
    """Floor, recurrence and output scaling of every row of ``x``.

    Rows ``4q .. 4q+3`` run interleaved in one time loop, so that their long
    divide/exp dependency chains overlap (1.3-1.4x the throughput of one row at a
    time); each row's operations are those of the recurrence above, in order. In the
    last group, indices past the end repeat the last row: the same thread computes it
    twice, with the same values. ``states`` (N, T, L) receives the divisor states when
    ``store``."""
    n_rows, n_t = x.shape
    n_loops = a1.shape[1]
    last = n_rows - 1
    for q in numba.prange((n_rows + 3) // 4):
        r0, r1 = min(4 * q, last), min(4 * q + 1, last)
        r2, r3 = min(4 * q + 2, last), min(4 * q + 3, last)
        u0, u1, u2, u3 = s0[r0].copy(), s0[r1].copy(), s0[r2].copy(), s0[r3].copy()
        lo0, lo1, lo2, lo3 = floor[r0], floor[r1], floor[r2], floor[r3]
        for t in range(n_t):
            v0 = max(np.float64(x[r0, t]), lo0)
            v1 = max(np.float64(x[r1, t]), lo1)
            v2 = max(np.float64(x[r2, t]), lo2)
            v3 = max(np.float64(x[r3, t]), lo3)
            for j in range(n_loops):
                if store:
                    states[r0, t, j] = u0[j]
                    states[r1, t, j] = u1[j]
                    states[r2, t, j] = u2[j]
                    states[r3, t, j] = u3[j]
                v0 = _stage(v0, u0, r0, j, a1, b0, factor, expfac, offset, limited)
                v1 = _stage(v1, u1, r1, j, a1, b0, factor, expfac, offset, limited)
                v2 = _stage(v2, u2, r2, j, a1, b0, factor, expfac, offset, limited)
                v3 = _stage(v3, u3, r3, j, a1, b0, factor, expfac, offset, limited)
            y[r0, t] = (v0 - corr[r0]) * mult[r0]
            y[r1, t] = (v1 - corr[r1]) * mult[r1]
            y[r2, t] = (v2 - corr[r2]) * mult[r2]
            y[r3, t] = (v3 - corr[r3]) * mult[r3]


@numba.njit(parallel=True, cache=True)
def _nb_backward(g, x, floor, mult, states, a1, b0, factor, expfac, offset, limited,
                 gx, ga1, gb0, gs0, gfac, gexp, goff):  # pragma: no cover - compiled
    n_rows, n_t = g.shape
    n_loops = a1.shape[1]
    for r in numba.prange(n_rows):
        lam = np.zeros(n_loops)
        q = np.empty(n_loops)
        v = np.empty(n_loops + 1)
        sig = np.zeros(n_loops)
        acc_a1 = np.zeros(n_loops)
        acc_b0 = np.zeros(n_loops)
        acc_fac = np.zeros(n_loops)
        acc_exp = np.zeros(n_loops)
        acc_off = np.zeros(n_loops)
        lo = floor[r]
        for t in range(n_t - 1, -1, -1):
            xt = np.float64(x[r, t])
            v[0] = max(xt, lo)
            for j in range(n_loops):
                q[j] = v[j] / states[r, t, j]
                if limited and q[j] > 1.0:
                    e = np.exp(expfac[r, j] * (q[j] - 1.0))
                    v[j + 1] = factor[r, j] / (1.0 + e) - offset[r, j]
                    sig[j] = 1.0 / (1.0 + e)
                else:
                    v[j + 1] = q[j]
            gv = g[r, t] * mult[r]
            for j in range(n_loops - 1, -1, -1):
                s = states[r, t, j]
                gvj = gv + b0[r, j] * lam[j]
                acc_b0[j] += lam[j] * v[j + 1]
                acc_a1[j] += lam[j] * s
                if limited and q[j] > 1.0:
                    # f = factor σ - offset, σ = 1 / (1 + exp(expfac (q - 1)))
                    dsig = -sig[j] * (1.0 - sig[j])  # dσ / d(expfac (q - 1))
                    acc_fac[j] += gvj * sig[j]
                    acc_exp[j] += gvj * factor[r, j] * dsig * (q[j] - 1.0)
                    acc_off[j] -= gvj
                    gq = gvj * factor[r, j] * dsig * expfac[r, j]
                else:
                    gq = gvj
                gv = gq / s
                lam[j] = a1[r, j] * lam[j] - gq * q[j] / s
            # d max(x, floor) / dx: 1 above, 1/2 at a tie (as torch.maximum), 0 below
            gx[r, t] = gv if xt > lo else (0.5 * gv if xt == lo else 0.0)
        for j in range(n_loops):
            ga1[r, j] = acc_a1[j]
            gb0[r, j] = acc_b0[j]
            gs0[r, j] = lam[j]
            gfac[r, j] = acc_fac[j]
            gexp[r, j] = acc_exp[j]
            goff[r, j] = acc_off[j]


def _np64(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().numpy(), dtype=np.float64)


def _numba_forward(x, params, affine, limited, store, out_dtype):
    """One pass: floor, recurrence and output scaling; ``x`` read in its own dtype."""
    n_rows, n_t = x.shape
    a1, b0, s0, factor, expfac, offset = (_np64(p) for p in params)
    floor, corr, mult = (_np64(p) for p in affine)
    states = np.empty((n_rows, n_t, a1.shape[1]) if store else (1, 1, 1), dtype=np.float64)
    y = np.empty((n_rows, n_t), dtype=torch.empty(0, dtype=out_dtype).numpy().dtype)
    run_kernel("adaptloop.forward", _nb_forward, x.detach().contiguous().numpy(), floor, a1,
               b0, s0, factor, expfac, offset, corr, mult, limited, store, states, y)
    return torch.from_numpy(y), torch.from_numpy(states) if store else None


def _numba_backward(g, x, states, params, affine, limited):
    a1, b0, _, factor, expfac, offset = (_np64(p) for p in params)
    floor, _, mult = (_np64(p) for p in affine)
    grads = [np.empty(a1.shape) for _ in range(6)]
    gx = np.empty(tuple(g.shape))
    run_kernel("adaptloop.backward", _nb_backward, g.contiguous().numpy(),
               x.detach().contiguous().numpy(), floor, mult, states.numpy(), a1, b0, factor,
               expfac, offset, limited, gx, *grads)
    return [torch.from_numpy(gx)] + [torch.from_numpy(arr) for arr in grads]


# --------------------------------------------------------------------------- torch kernels


def _limit(q, factor, expfac, offset):
    """Limiter output and σ = 1 / (1 + exp(expfac (q - 1))) where ``q > 1``."""
    over = q > 1
    denominator = 1.0 + torch.exp(expfac * (q.clamp_min(1.0) - 1.0))
    value = factor / denominator - offset
    return torch.where(over, value, q), over, 1.0 / denominator


def _torch_forward(x, params, limited, store):
    """The recurrence on rows ``x (N, T)`` sample by sample, with out-of-place torch
    operations only: under grad mode it is differentiable by autograd (the path of
    higher derivatives, see :class:`_AdaptLoopRows`)."""
    # per loop (L tuples of (N,)) and per sample (T columns): unbind, not indexing, so
    # that autograd sees one node per tensor rather than one per element access
    a1, b0, s0, factor, expfac, offset = (p.t().unbind(0) for p in params)
    n_loops, n_t = len(a1), x.shape[1]
    s = list(s0)
    outputs, stored = [], []
    for v in x.unbind(1):
        for j in range(n_loops):
            if store:
                stored.append(s[j])
            v = v / s[j]
            if limited:
                v = _limit(v, factor[j], expfac[j], offset[j])[0]
            s[j] = a1[j] * s[j] + b0[j] * v
        outputs.append(v)
    y = torch.stack(outputs, dim=-1) if outputs else torch.empty_like(x)
    states = torch.stack(stored, dim=-1).reshape(x.shape[0], n_t, n_loops) if store else None
    return y, states


def _torch_backward(g, x, states, params, limited):
    a1, b0, _, factor, expfac, offset = (p.t() for p in params)
    n_loops, n_t = a1.shape[0], x.shape[1]
    zeros = torch.zeros_like(a1)
    lam = list(zeros.clone())
    acc = {k: list(zeros.clone()) for k in ("a1", "b0", "fac", "exp", "off")}
    gx = torch.empty_like(x)
    for t in range(n_t - 1, -1, -1):
        s = states[:, t, :].t()
        v, q, over, sig = [x[:, t]], [], [], []
        for j in range(n_loops):
            q.append(v[j] / s[j])
            if limited:
                value, mask, sg = _limit(q[j], factor[j], expfac[j], offset[j])
                v.append(value)
                over.append(mask)
                sig.append(sg)
            else:
                v.append(q[j])
        gv = g[:, t]
        for j in range(n_loops - 1, -1, -1):
            gvj = gv + b0[j] * lam[j]
            acc["b0"][j] = acc["b0"][j] + lam[j] * v[j + 1]
            acc["a1"][j] = acc["a1"][j] + lam[j] * s[j]
            if limited:
                dsig = -sig[j] * (1.0 - sig[j])
                m = over[j].to(gvj.dtype)
                acc["fac"][j] = acc["fac"][j] + m * gvj * sig[j]
                acc["exp"][j] = acc["exp"][j] + m * gvj * factor[j] * dsig * (q[j] - 1.0)
                acc["off"][j] = acc["off"][j] - m * gvj
                gq = torch.where(over[j], gvj * factor[j] * dsig * expfac[j], gvj)
            else:
                gq = gvj
            gv = gq / s[j]
            lam[j] = a1[j] * lam[j] - gq * q[j] / s[j]
        gx[:, t] = gv
    per_row = [torch.stack(rows, dim=-1)  # lists of L tensors (N,) -> (N, L)
               for rows in (acc["a1"], acc["b0"], lam, acc["fac"], acc["exp"], acc["off"])]
    return [gx, *per_row]


# --------------------------------------------------------------------------- autograd


def _graph_forward(x, params, affine, limited, out_dtype):
    """``(recurrence(max(x, floor)) - corr)·mult`` by differentiable torch operations."""
    floor, corr, mult = affine
    rows = torch.maximum(x.double(), floor[:, None])
    y, _ = _torch_forward(rows, [p.double() for p in params], limited, False)
    return ((y - corr[:, None]) * mult[:, None]).to(out_dtype)


class _AdaptLoopRows(torch.autograd.Function):
    """``y = (recurrence(max(x, floor)) - corr)·mult`` per row, in ``out_dtype``; ``floor``,
    ``corr``, ``mult`` (N,) are constants (no gradient). numba: one fused pass.

    A first-order backward runs the hand-written adjoint. With ``create_graph=True`` the
    backward instead differentiates the sample-by-sample torch recurrence
    (:func:`_torch_forward`) by autograd, so second and higher derivatives are exact;
    that path builds a graph of ``O(T·L)`` small operations (seconds per 10⁴ samples),
    fine for Hessian-vector products on short signals."""

    @staticmethod
    def forward(ctx, x, a1, b0, s0, factor, expfac, offset, limited, floor, corr, mult,
                out_dtype):
        backend = resolve_backend(x.device)
        params = (a1, b0, s0, factor, expfac, offset)
        affine = (floor, corr, mult)
        store = any(ctx.needs_input_grad[:7])
        if backend == "numba":
            y, states = _numba_forward(x, params, affine, limited, store, out_dtype)
        else:
            with torch.no_grad():
                rows = torch.maximum(x.double(), floor[:, None])
                y, states = _torch_forward(rows, [p.double() for p in params], limited, store)
                y = ((y - corr[:, None]) * mult[:, None]).to(out_dtype)
        ctx.backend, ctx.limited, ctx.out_dtype = backend, limited, out_dtype
        if store:
            ctx.states = states
            ctx.save_for_backward(x, *params, *affine)
        return y

    @staticmethod
    def backward(ctx, g):
        x, *params = ctx.saved_tensors
        params, affine = params[:6], params[6:]
        needs = ctx.needs_input_grad[:7]
        if torch.is_grad_enabled():  # create_graph=True: differentiate the torch recurrence
            inputs = [t for t, need in zip((x, *params), needs, strict=True) if need]
            y = _graph_forward(x, params, affine, ctx.limited, ctx.out_dtype)
            grads = iter(torch.autograd.grad(y, inputs, g, create_graph=True,
                                             allow_unused=True))
            out = [(next(grads) if need else None) for need in needs]
            out = [torch.zeros_like(t) if need and gr is None else gr
                   for gr, t, need in zip(out, (x, *params), needs, strict=True)]
            return (*out, None, None, None, None, None)
        if ctx.backend == "numba":
            grads = _numba_backward(g.double(), x, ctx.states, params, affine, ctx.limited)
        else:
            floor, _, mult = affine
            x64 = x.double()
            grads = _torch_backward(g.double() * mult[:, None],
                                    torch.maximum(x64, floor[:, None]), ctx.states,
                                    [p.double() for p in params], ctx.limited)
            tie = x64 == floor[:, None]
            grads[0] = torch.where(x64 > floor[:, None], grads[0],
                                   torch.where(tie, 0.5 * grads[0], 0.0))
        out = [gr.to(device=t.device, dtype=t.dtype) if need else None
               for gr, t, need in zip(grads, (x, *params), needs, strict=True)]
        return (*out, None, None, None, None, None)


def adaptloop_recurrence(x: torch.Tensor, a1: torch.Tensor, b0: torch.Tensor, s0: torch.Tensor,
                         factor: torch.Tensor, expfac: torch.Tensor, offset: torch.Tensor,
                         limited: bool, *, floor: torch.Tensor | None = None,
                         corr: torch.Tensor | None = None, mult: torch.Tensor | None = None,
                         dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Run the adaptation-loop recurrence over rows (see the module docstring).

    Parameters
    ----------
    x : Tensor, shape (N, T)
        Input rows, time last, float32 or float64. The recurrence runs in float64
        whatever the dtype of ``x``.
    a1, b0 : Tensor, shape (N, L)
        One-pole coefficients of each loop's low-pass, per row.
    s0 : Tensor, shape (N, L)
        Initial (steady-state) divisor of each loop.
    factor, expfac, offset : Tensor, shape (N, L)
        Overshoot-limiter constants (ignored when ``limited`` is False).
    limited : bool
        Apply the overshoot limiter where the loop output exceeds 1.
    floor : Tensor, shape (N,), optional
        Minimum level: the recurrence reads ``max(x, floor)`` (in float64; gradient 1
        above, 1/2 at a tie, 0 below, as ``torch.maximum``). Default: no floor.
    corr, mult : Tensor, shape (N,), optional
        Output scaling ``(v_L - corr)·mult`` (AMT's scaling to model units), computed in
        float64. Default 0 and 1. ``floor``, ``corr`` and ``mult`` are constants (no
        gradient); on CPU they are applied inside the one compiled pass, so the input is
        neither copied to float64 nor floored, and the output not scaled, by separate
        tensor passes.
    dtype : torch.dtype
        Output dtype (default float64); the output is rounded once, at the end.

    Returns
    -------
    Tensor, shape (N, T)
        Output of the last loop, scaled by ``corr``/``mult`` if given, in ``dtype``.
        Differentiable w.r.t. ``x`` and every coefficient tensor, by the hand-written
        adjoint; higher derivatives are exact too (see :class:`_AdaptLoopRows`).

    Raises
    ------
    TypeError
        If ``x`` is not a float32 or float64 tensor, or ``dtype`` is not one of them.
    ValueError
        If ``x`` is a meta tensor or not 2-D, or the coefficient shapes differ.
    """
    check_signal_tensor(x, real=True)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, T), got {tuple(x.shape)}")
    if dtype not in REAL_SIGNAL_DTYPES:
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    params = [p.to(torch.float64).expand(x.shape[0], -1).contiguous()
              for p in (a1, b0, s0, factor, expfac, offset)]
    if any(p.shape != params[0].shape for p in params):
        raise ValueError("a1, b0, s0, factor, expfac and offset must have the same shape (N, L)")
    f64 = dict(dtype=torch.float64, device=x.device)
    n_rows = x.shape[0]

    def constant(c, default: float) -> torch.Tensor:
        if c is None:
            return torch.full((n_rows,), default, **f64)
        return c.detach().to(**f64).expand(n_rows).contiguous()

    return _AdaptLoopRows.apply(x.contiguous(), *params, bool(limited),
                                constant(floor, -math.inf), constant(corr, 0.0),
                                constant(mult, 1.0), dtype)
