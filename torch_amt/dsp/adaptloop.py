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
:func:`torch_amt.dsp.iir.resolve_backend`): numba on CPU (rows spread over
``torch.get_num_threads()`` threads, :mod:`torch_amt.dsp.iir.threads`); on CUDA with
Triton installed, Triton kernels (:mod:`torch_amt.dsp.iir.triton_kernels`: one program
per block of rows, the time loop inside, states in registers); elsewhere (or when
forced on CPU) a pure-torch formulation with no loop over samples: per loop, Newton's
method over the whole time axis with parallel affine scans (see the comment above
:func:`_affine_scan`), equal to the sequential recurrence up to rounding (~1e-15
relative). Both compute in float64. The numba kernels report to
:mod:`torch_amt.dsp.profiling`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from torch_amt.dsp._inputs import REAL_SIGNAL_DTYPES, check_signal_tensor
from torch_amt.dsp.iir import resolve_backend, triton_kernels
from torch_amt.dsp.iir.threads import parallel_for
from torch_amt.dsp.profiling import run_kernel
from torch_amt.dsp.scan import affine_scan as _affine_scan

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


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_forward(lo, hi, x, floor, a1, b0, s0, factor, expfac, offset, corr, mult, limited, store,
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
    for q in numba.prange(lo, hi):
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


def _nb_forward(x, floor, a1, b0, s0, factor, expfac, offset, corr, mult, limited, store,
                states, y):
    """:func:`_k_forward` on every group of four rows, spread over threads."""
    parallel_for(_k_forward, (x.shape[0] + 3) // 4, x, floor, a1, b0, s0, factor, expfac,
                 offset, corr, mult, limited, store, states, y)


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_backward(lo, hi, g, x, floor, mult, states, a1, b0, factor, expfac, offset, limited,
                need_params, gx, ga1, gb0, gs0, gfac, gexp, goff):  # pragma: no cover
    """The adjoint of the module docstring for rows ``4p .. 4p+3``, ``p`` in ``[lo, hi)``.

    As in :func:`_k_forward`, four rows run interleaved (the inner loops over ``k``
    hold four independent dependency chains), each with the operations of the serial
    adjoint in its order; in the last group, indices past the end repeat the last row,
    computed twice by the same thread with the same values. ``g`` is read and ``gx``
    written in their own dtypes (the adjoint runs in double precision). Without
    ``need_params`` the sums over time of the parameter gradients are skipped (``ga1``
    .. ``goff`` are then left unset, except ``gs0``). The forward values are recomputed
    with the forward's operations (``q = v / S``), so every limiter branch is the one
    the forward took; the adjoint divides once per loop and sample
    (``g_v = g_q / S`` and ``g_q q / S = g_v q``)."""
    n_rows, n_t = g.shape
    n_loops = a1.shape[1]
    last = n_rows - 1
    for p in numba.prange(lo, hi):
        rows = np.empty(4, dtype=np.int64)
        for k in range(4):
            rows[k] = min(4 * p + k, last)
        lam = np.zeros((4, n_loops))
        q = np.empty((4, n_loops))
        v = np.empty((4, n_loops + 1))
        sig = np.zeros((4, n_loops))
        acc_a1 = np.zeros((4, n_loops))
        acc_b0 = np.zeros((4, n_loops))
        acc_fac = np.zeros((4, n_loops))
        acc_exp = np.zeros((4, n_loops))
        acc_off = np.zeros((4, n_loops))
        xt = np.empty(4)
        gv = np.empty(4)
        for t in range(n_t - 1, -1, -1):
            for k in range(4):
                xt[k] = np.float64(x[rows[k], t])
                v[k, 0] = max(xt[k], floor[rows[k]])
            for j in range(n_loops):
                for k in range(4):
                    r = rows[k]
                    q[k, j] = v[k, j] / states[r, t, j]
                    if limited and q[k, j] > 1.0:
                        e = np.exp(expfac[r, j] * (q[k, j] - 1.0))
                        v[k, j + 1] = factor[r, j] / (1.0 + e) - offset[r, j]
                        sig[k, j] = 1.0 / (1.0 + e)
                    else:
                        v[k, j + 1] = q[k, j]
            for k in range(4):
                gv[k] = np.float64(g[rows[k], t]) * mult[rows[k]]
            for j in range(n_loops - 1, -1, -1):
                for k in range(4):
                    r = rows[k]
                    s = states[r, t, j]
                    gvj = gv[k] + b0[r, j] * lam[k, j]
                    if need_params:
                        acc_b0[k, j] += lam[k, j] * v[k, j + 1]
                        acc_a1[k, j] += lam[k, j] * s
                    if limited and q[k, j] > 1.0:
                        # f = factor σ - offset, σ = 1 / (1 + exp(expfac (q - 1)))
                        dsig = -sig[k, j] * (1.0 - sig[k, j])  # dσ / d(expfac (q - 1))
                        if need_params:
                            acc_fac[k, j] += gvj * sig[k, j]
                            acc_exp[k, j] += gvj * factor[r, j] * dsig * (q[k, j] - 1.0)
                            acc_off[k, j] -= gvj
                        gq = gvj * factor[r, j] * dsig * expfac[r, j]
                    else:
                        gq = gvj
                    gv[k] = gq / s
                    lam[k, j] = a1[r, j] * lam[k, j] - gv[k] * q[k, j]
            for k in range(4):
                # d max(x, floor) / dx: 1 above, 1/2 at a tie (as torch.maximum), 0 below
                lo_r = floor[rows[k]]
                gx[rows[k], t] = gv[k] if xt[k] > lo_r else (
                    0.5 * gv[k] if xt[k] == lo_r else 0.0)
        for k in range(4):
            r = rows[k]
            for j in range(n_loops):
                ga1[r, j] = acc_a1[k, j]
                gb0[r, j] = acc_b0[k, j]
                gs0[r, j] = lam[k, j]
                gfac[r, j] = acc_fac[k, j]
                gexp[r, j] = acc_exp[k, j]
                goff[r, j] = acc_off[k, j]


def _nb_backward(g, x, floor, mult, states, a1, b0, factor, expfac, offset, limited,
                 need_params, gx, ga1, gb0, gs0, gfac, gexp, goff):
    """:func:`_k_backward` on every group of four rows, spread over threads."""
    parallel_for(_k_backward, (g.shape[0] + 3) // 4, g, x, floor, mult, states, a1, b0,
                 factor, expfac, offset, limited, need_params, gx, ga1, gb0, gs0, gfac, gexp,
                 goff)


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


def _numba_backward(g, x, states, params, affine, limited, needs):
    """The adjoint kernel on ``g`` (read in its own dtype); the gradients for the flags
    ``needs`` (x, a1, b0, s0, factor, expfac, offset), ``gx`` in ``x``'s dtype."""
    a1, b0, _, factor, expfac, offset = (_np64(p) for p in params)
    floor, _, mult = (_np64(p) for p in affine)
    need_params = any(needs[1:3]) or any(needs[4:])
    grads = [np.zeros(a1.shape) for _ in range(6)]
    gx = np.empty(tuple(g.shape), dtype=torch.empty(0, dtype=x.dtype).numpy().dtype)
    run_kernel("adaptloop.backward", _nb_backward, g.detach().contiguous().numpy(),
               x.detach().contiguous().numpy(), floor, mult, states.numpy(), a1, b0, factor,
               expfac, offset, limited, need_params, gx, *grads)
    return [torch.from_numpy(gx)] + [torch.from_numpy(arr) for arr in grads]


# --------------------------------------------------------------------------- torch kernels
#
# The pure-torch path (GPUs without Triton, or CPU when forced) has no loop over samples.
# Loop by loop, the divisor states of the whole signal are the solution of the causal
# system  S[t+1] = a1 S[t] + b0 f(u[t] / S[t])  (S[0] = s0, u = the loop's input): it is
# solved by Newton's method over the whole time axis (Lim et al. 2024, "Parallelizing
# non-linear sequential models over the sequence length", ICLR): each iteration
# linearises f around the current states and solves the resulting linear time-varying
# recurrence  S[t+1] = D[t] S[t] + c[t]  exactly by a parallel affine scan
# (:func:`_affine_scan`). The Jacobian D[t] = a1 - b0 f'(q) q / S is what the adjoint
# needs too, so the backward is one reversed affine scan per loop. Newton is exact after
# at most T iterations on any causal system (iteration k fixes sample k) and converges
# quadratically near the solution; on the loops' contractive, smooth (the limiter is C¹
# at q = 1) dynamics it stops after a few iterations. The converged states equal the
# sequential ones up to the rounding of the scan (~1e-15 relative), and every output
# sample is then computed from them by the same per-sample formula.

_NEWTON_MAX_ITER = 200
_NEWTON_TOL = 4.0 * torch.finfo(torch.float64).eps


def _limit(q, factor, expfac, offset):
    """Limiter output and σ = 1 / (1 + exp(expfac (q - 1))) where ``q > 1``."""
    over = q > 1
    denominator = 1.0 + torch.exp(expfac * (q.clamp_min(1.0) - 1.0))
    value = factor / denominator - offset
    return torch.where(over, value, q), over, 1.0 / denominator


def _loop_output(u, s, factor, expfac, offset, limited):
    """One loop's output ``v = f(u / s)`` for every sample, and ``q = u / s``, the
    limiter's mask and σ (see :func:`_limit`); the per-sample formula of the recurrence."""
    q = u / s
    if not limited:
        return q, q, None, None
    v, over, sig = _limit(q, factor[:, None], expfac[:, None], offset[:, None])
    return v, q, over, sig


def _loop_slope(q, over, sig, factor, expfac):
    """``f'(q)``: 1 below the limiter, ``factor·expfac·dσ`` above it
    (``dσ = σ(σ - 1)``, the derivative by ``expfac (q - 1)``). In place on its own
    temporaries: for the solve and the adjoint, which run without a graph."""
    if over is None:
        return torch.ones_like(q)
    return torch.where(over, (sig - 1.0).mul_(sig).mul_((factor * expfac)[:, None]), 1.0)


def _solve_loop(u, a1, b0, s0, factor, expfac, offset, limited):
    """Divisor states ``S (N, T)`` (the state before each sample) of one loop driven by
    ``u (N, T)``, by Newton's method over time; see the comment above.

    One iteration is about 30 passes over the signal (the limiter's output by the
    forward's formula, that of :func:`_limit`, so the fixed point is the forward's). The
    initial guess is the unlimited loop's equilibrium
    ``S² = u`` with ``u`` low-passed as the loop low-passes it,
    ``S = sqrt(lowpass(u))``: measured on Dau1997, 23 iterations over the five loops
    instead of 26 from ``lowpass(sqrt(u))``."""
    n_t = u.shape[1]
    if n_t == 0:
        return u.clone()
    a1c, b0c = a1[:, None], b0[:, None]
    factor_c, expfac_c, offset_c = factor[:, None], expfac[:, None], offset[:, None]
    s = torch.empty_like(u)
    s[:, 0] = s0
    if n_t > 1:
        s[:, 1:] = _affine_scan(a1c.expand(-1, n_t - 1), b0c * u[:, :-1], s0 * s0).sqrt_()
    previous = math.inf
    change = math.inf
    for _ in range(min(_NEWTON_MAX_ITER, n_t + 1)):
        q = u / s
        over = sig = None
        v = q
        if limited:
            # _limit's values, in place on its own temporaries: _limit stays out of
            # place for the differentiable per-sample recurrence, and calling it here
            # made the Dau1997 solves 17% slower (98 -> 116 ms, fresh allocations)
            over = q > 1.0
            denominator = q.clamp_min(1.0).sub_(1.0).mul_(expfac_c).exp_().add_(1.0)
            v = torch.where(over, torch.div(factor_c, denominator).sub_(offset_c), q)
            sig = denominator.reciprocal_()
        # f'(q)·q / S
        slope_q = (q / s if over is None
                   else _loop_slope(q, over, sig, factor, expfac).mul_(q).div_(s))
        # the Jacobian, clipped to [-1, 1]: far from the solution (a sharp onset seen
        # through lagging states) it can be ≪ -1 and its linearisation would blow up
        d = torch.addcmul(a1c, b0c, slope_q, value=-1.0).clamp_(-1.0, 1.0)
        c = (a1c - d).mul_(s).addcmul_(b0c, v)
        new = torch.empty_like(s)
        new[:, 0] = s0
        if n_t > 1:
            new[:, 1:] = _affine_scan(d[:, :-1], c[:, :-1], s0)
        ratio = new / s  # s > 0
        low, high = torch.aminmax(ratio)
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or low < 1e-3:
            # keep every state positive and finite (iteration k is exact for the first
            # k samples whatever the slope used, and their states are never touched
            # here, so neither safeguard can stop the convergence)
            new = torch.where(torch.isfinite(new), new, s)
            new = torch.maximum(new, s * 1e-3)
            change = float((new - s).abs_().div_(s).max())
        else:
            change = max(high - 1.0, 1.0 - low)
        s = new
        if _converged(change, previous):
            return s
        previous = change
    raise RuntimeError("the adaptation loop's Newton iteration did not converge "
                       f"(last relative change {change:.3g})")


def _converged(change: float, previous: float) -> bool:
    """Whether the Newton iterate whose relative change was ``change`` (after one of
    ``previous``) is the solution to rounding.

    * the step was below the rounding of the states (``_NEWTON_TOL``);
    * stalled at the rounding level of the scan (below 1e-13 and no longer halving);
    * in the quadratic regime: two consecutive steps below 1e-4 and the last one below
      1e-10. Newton's error after a step of size ``c`` is about ``K·c²`` (measured
      K ≈ 0.4 on the adaptation loops: steps 5.9e-4 → 1.4e-7 → 7.4e-15), so the iterate
      is already exact to rounding; the one or two confirming iterations the first two
      rules need would only re-measure that rounding.
    """
    return (change <= _NEWTON_TOL or (change < 1e-13 and change >= previous / 2)
            or (change <= 1e-10 and previous <= 1e-4))


def _torch_forward(x, params, limited, store):
    """The recurrence on rows ``x (N, T)`` (float64, already floored): the states of each
    loop by :func:`_solve_loop`, the outputs by the per-sample formula. No gradient
    graph (see :class:`_AdaptLoopRows`); ``states (N, T, L)`` when ``store``."""
    a1, b0, s0, factor, expfac, offset = (p.t() for p in params)
    v, stored = x, []
    for j in range(a1.shape[0]):
        s = _solve_loop(v, a1[j], b0[j], s0[j], factor[j], expfac[j], offset[j], limited)
        stored.append(s)
        v = _loop_output(v, s, factor[j], expfac[j], offset[j], limited)[0]
    states = torch.stack(stored, dim=-1) if store else None
    return v, states


def _torch_backward(g, x, states, params, limited):
    """The adjoint of :func:`_torch_forward` loop by loop from the last: per loop, the
    state adjoint ``λ[t] = D[t]·λ[t+1] - g_v[t] f'(q) q / S`` is one reversed affine
    scan; the gradients are sums over time."""
    a1, b0, s0, factor, expfac, offset = (p.t() for p in params)
    n_loops = a1.shape[0]
    inputs = [x]
    loop_vars = []
    for j in range(n_loops):  # the forward's per-sample values, from the stored states
        s = states[..., j]
        v, q, over, sig = _loop_output(inputs[-1], s, factor[j], expfac[j], offset[j],
                                       limited)
        loop_vars.append((s, q, over, sig))
        inputs.append(v)
    gv = g
    grads = {k: [None] * n_loops for k in ("a1", "b0", "s0", "fac", "exp", "off")}
    zero = torch.zeros_like(x[:, 0])
    for j in range(n_loops - 1, -1, -1):
        s, q, over, sig = loop_vars[j]
        slope = _loop_slope(q, over, sig, factor[j], expfac[j])
        d = a1[j][:, None] - b0[j][:, None] * slope * q / s
        # lam[t] = adjoint of the state after sample t (S[t+1]); lam[T-1] = 0
        rev = _affine_scan(d.flip(1)[:, :-1], (-gv * slope * q / s).flip(1)[:, :-1], zero)
        lam_after = torch.cat([rev.flip(1), zero[:, None]], dim=1)  # λ entering sample t
        gvj = gv + b0[j][:, None] * lam_after
        gq = gvj * slope
        grads["b0"][j] = (lam_after * inputs[j + 1]).sum(1)
        grads["a1"][j] = (lam_after * s).sum(1)
        lam0 = d[:, 0] * lam_after[:, 0] - gv[:, 0] * slope[:, 0] * q[:, 0] / s[:, 0]
        grads["s0"][j] = lam0
        if limited:
            m = over.to(gvj.dtype)
            grads["fac"][j] = (m * gvj * sig).sum(1)
            grads["exp"][j] = (m * gvj * factor[j][:, None] * (-sig * (1.0 - sig))
                               * (q - 1.0)).sum(1)
            grads["off"][j] = -(m * gvj).sum(1)
        else:
            for k in ("fac", "exp", "off"):
                grads[k][j] = torch.zeros_like(zero)
        gv = gq / s
    per_row = [torch.stack(grads[k], dim=-1) for k in ("a1", "b0", "s0", "fac", "exp", "off")]
    return [gv, *per_row]


def _graph_recurrence(x, params, limited, store):
    """The recurrence on rows ``x (N, T)`` sample by sample, with out-of-place torch
    operations only, differentiable by autograd: the path of higher derivatives only
    (``create_graph=True``, see :class:`_AdaptLoopRows`)."""
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


# --------------------------------------------------------------------------- autograd


def _use_triton(x: torch.Tensor) -> bool:
    """The Triton kernels run the recurrence of CUDA tensors when Triton is installed."""
    return x.device.type == "cuda" and triton_kernels.AVAILABLE


def _graph_forward(x, params, affine, limited, out_dtype):
    """``(recurrence(max(x, floor)) - corr)·mult`` by differentiable torch operations."""
    floor, corr, mult = affine
    rows = torch.maximum(x.double(), floor[:, None])
    y, _ = _graph_recurrence(rows, [p.double() for p in params], limited, False)
    return ((y - corr[:, None]) * mult[:, None]).to(out_dtype)


class _AdaptLoopRows(torch.autograd.Function):
    """``y = (recurrence(max(x, floor)) - corr)·mult`` per row, in ``out_dtype``; ``floor``,
    ``corr``, ``mult`` (N,) are constants (no gradient). numba: one fused pass.

    A first-order backward runs the hand-written adjoint. With ``create_graph=True`` the
    backward instead differentiates the sample-by-sample torch recurrence
    (:func:`_graph_recurrence`) by autograd, so second and higher derivatives are exact;
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
        elif _use_triton(x):
            backend = "triton"
            y, states = triton_kernels.adaptloop_forward(x, params, affine, limited, store,
                                                         out_dtype)
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
            grads = _numba_backward(g, x, ctx.states, params, affine, ctx.limited, needs)
        elif ctx.backend == "triton":
            grads = triton_kernels.adaptloop_backward(g, x, ctx.states, params, affine,
                                                      ctx.limited)
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
