"""Triton kernels of the recursions on CUDA: the adaptation-loop recurrence (forward and
exact adjoint; the device path of :func:`torch_amt.dsp.adaptloop.adaptloop_recurrence`)
and the IIR filter of :func:`torch_amt.dsp.iir.lfilter` (transposed direct form II, real
or complex coefficients; its adjoint is the same kernel run backwards in time).

One program per block of ``BLOCK`` rows; the time loop runs inside the program with every
loop's divisor state in registers (a ``(BLOCK, LP)`` tile, ``LP`` the number of loops
rounded up to a power of two), so a whole signal is one kernel launch instead of several
launches per sample. The arithmetic per sample is that of the numba kernels of
:mod:`torch_amt.dsp.adaptloop`, in their order (the GPU may contract ``a·s + b·v`` into
one fused multiply-add, a difference of one rounding). The adjoint reads the divisor
states stored by the forward and runs the reverse-time recursion of the module docstring
of :mod:`torch_amt.dsp.adaptloop`.

Triton is optional: :data:`AVAILABLE` is False without it, and the kernels are then
never called. On CPU tensors they run under Triton's interpreter
(``TRITON_INTERPRET=1`` set before Triton is imported), which is how the tests check
them against the numba kernels.
"""

from __future__ import annotations

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the environment
    triton = None
    AVAILABLE = False
else:
    AVAILABLE = True

__all__ = ["AVAILABLE", "adaptloop_backward", "adaptloop_forward", "lfilter_backward",
           "lfilter_forward"]

_BLOCK = 32


if AVAILABLE:

    @triton.jit
    def _column(tile, cols, j):
        """Column ``j`` of a ``(BLOCK, LP)`` tile as a ``(BLOCK,)`` vector."""
        return tl.sum(tl.where(cols[None, :] == j, tile, 0.0), axis=1)

    @triton.jit
    def _set_column(tile, cols, j, value):
        return tl.where(cols[None, :] == j, value[:, None], tile)

    @triton.jit
    def _adaptloop_fwd(x_ptr, floor_ptr, a1_ptr, b0_ptr, s0_ptr, fac_ptr, exp_ptr, off_ptr,
                       corr_ptr, mult_ptr, y_ptr, states_ptr, n_rows, n_t,
                       L: tl.constexpr, LP: tl.constexpr, LIMITED: tl.constexpr,
                       STORE: tl.constexpr, BLOCK: tl.constexpr):  # pragma: no cover
        rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        cols = tl.arange(0, LP)
        live = rows < n_rows
        tile = live[:, None] & (cols[None, :] < L)
        at = rows[:, None] * L + cols[None, :]
        a1 = tl.load(a1_ptr + at, mask=tile, other=0.0)
        b0 = tl.load(b0_ptr + at, mask=tile, other=0.0)
        fac = tl.load(fac_ptr + at, mask=tile, other=0.0)
        efac = tl.load(exp_ptr + at, mask=tile, other=0.0)
        off = tl.load(off_ptr + at, mask=tile, other=0.0)
        s = tl.load(s0_ptr + at, mask=tile, other=1.0)
        floor = tl.load(floor_ptr + rows, mask=live, other=1.0)
        corr = tl.load(corr_ptr + rows, mask=live, other=0.0)
        mult = tl.load(mult_ptr + rows, mask=live, other=1.0)
        for t in range(n_t):
            xt = tl.load(x_ptr + rows * n_t + t, mask=live, other=1.0).to(tl.float64)
            v = tl.maximum(xt, floor)
            for j in tl.static_range(L):
                sj = _column(s, cols, j)
                if STORE:
                    tl.store(states_ptr + (rows * n_t + t) * L + j, sj, mask=live)
                v = v / sj
                if LIMITED:
                    limited = (_column(fac, cols, j)
                               / (1.0 + tl.exp(_column(efac, cols, j) * (v - 1.0)))
                               - _column(off, cols, j))
                    v = tl.where(v > 1.0, limited, v)
                s = _set_column(s, cols, j, _column(a1, cols, j) * sj
                                + _column(b0, cols, j) * v)
            tl.store(y_ptr + rows * n_t + t, ((v - corr) * mult).to(y_ptr.dtype.element_ty),
                     mask=live)

    @triton.jit
    def _adaptloop_bwd(g_ptr, x_ptr, floor_ptr, mult_ptr, states_ptr, a1_ptr, b0_ptr, fac_ptr,
                       exp_ptr, off_ptr, gx_ptr, ga1_ptr, gb0_ptr, gs0_ptr, gfac_ptr,
                       gexp_ptr, goff_ptr, n_rows, n_t, L: tl.constexpr, LP: tl.constexpr,
                       LIMITED: tl.constexpr, BLOCK: tl.constexpr):  # pragma: no cover
        rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        cols = tl.arange(0, LP)
        live = rows < n_rows
        tile = live[:, None] & (cols[None, :] < L)
        at = rows[:, None] * L + cols[None, :]
        a1 = tl.load(a1_ptr + at, mask=tile, other=0.0)
        b0 = tl.load(b0_ptr + at, mask=tile, other=0.0)
        fac = tl.load(fac_ptr + at, mask=tile, other=0.0)
        efac = tl.load(exp_ptr + at, mask=tile, other=0.0)
        off = tl.load(off_ptr + at, mask=tile, other=0.0)
        floor = tl.load(floor_ptr + rows, mask=live, other=1.0)
        mult = tl.load(mult_ptr + rows, mask=live, other=1.0)
        zero = tl.zeros((BLOCK, LP), dtype=tl.float64)
        lam = zero
        acc_a1 = zero
        acc_b0 = zero
        acc_fac = zero
        acc_exp = zero
        acc_off = zero
        for step in range(n_t):
            t = n_t - 1 - step
            xt = tl.load(x_ptr + rows * n_t + t, mask=live, other=1.0).to(tl.float64)
            v = tl.maximum(xt, floor)
            # the forward's values of this sample: q, the outputs and σ of every loop
            q_all = zero
            v_all = zero
            sig_all = zero
            s_all = zero
            for j in tl.static_range(L):
                sj = tl.load(states_ptr + (rows * n_t + t) * L + j, mask=live, other=1.0)
                q = v / sj
                if LIMITED:
                    e = tl.exp(_column(efac, cols, j) * (q - 1.0))
                    limited = _column(fac, cols, j) / (1.0 + e) - _column(off, cols, j)
                    v = tl.where(q > 1.0, limited, q)
                    sig_all = _set_column(sig_all, cols, j, 1.0 / (1.0 + e))
                else:
                    v = q
                q_all = _set_column(q_all, cols, j, q)
                v_all = _set_column(v_all, cols, j, v)
                s_all = _set_column(s_all, cols, j, sj)
            gv = tl.load(g_ptr + rows * n_t + t, mask=live, other=0.0).to(tl.float64) * mult
            for jj in tl.static_range(L):
                j = L - 1 - jj
                s = _column(s_all, cols, j)
                q = _column(q_all, cols, j)
                lj = _column(lam, cols, j)
                gvj = gv + _column(b0, cols, j) * lj
                acc_b0 = _set_column(acc_b0, cols, j,
                                     _column(acc_b0, cols, j) + lj * _column(v_all, cols, j))
                acc_a1 = _set_column(acc_a1, cols, j, _column(acc_a1, cols, j) + lj * s)
                gq = gvj
                if LIMITED:
                    over = q > 1.0
                    sg = _column(sig_all, cols, j)
                    dsig = -sg * (1.0 - sg)
                    fj = _column(fac, cols, j)
                    acc_fac = _set_column(acc_fac, cols, j, _column(acc_fac, cols, j)
                                          + tl.where(over, gvj * sg, 0.0))
                    acc_exp = _set_column(acc_exp, cols, j, _column(acc_exp, cols, j)
                                          + tl.where(over, gvj * fj * dsig * (q - 1.0), 0.0))
                    acc_off = _set_column(acc_off, cols, j, _column(acc_off, cols, j)
                                          - tl.where(over, gvj, 0.0))
                    gq = tl.where(over, gvj * fj * dsig * _column(efac, cols, j), gvj)
                gv = gq / s
                lam = _set_column(lam, cols, j, _column(a1, cols, j) * lj - gq * q / s)
            # d max(x, floor) / dx: 1 above, 1/2 at a tie (as torch.maximum), 0 below
            gx = tl.where(xt > floor, gv, tl.where(xt == floor, 0.5 * gv, 0.0))
            tl.store(gx_ptr + rows * n_t + t, gx, mask=live)
        tl.store(ga1_ptr + at, acc_a1, mask=tile)
        tl.store(gb0_ptr + at, acc_b0, mask=tile)
        tl.store(gs0_ptr + at, lam, mask=tile)
        tl.store(gfac_ptr + at, acc_fac, mask=tile)
        tl.store(gexp_ptr + at, acc_exp, mask=tile)
        tl.store(goff_ptr + at, acc_off, mask=tile)


    @triton.jit
    def _lfilter_fwd(xr_ptr, xi_ptr, br_ptr, bi_ptr, ar_ptr, ai_ptr, zr_ptr, zi_ptr, yr_ptr,
                     yi_ptr, n_rows, n_t, N: tl.constexpr, NP: tl.constexpr,
                     XCPLX: tl.constexpr, CCPLX: tl.constexpr, HAS_ZI: tl.constexpr,
                     BLOCK: tl.constexpr):  # pragma: no cover - compiled
        """Rows through TDF-II filters of order ``N`` (``a[:, 0] == 1``), float64.

        The ``N`` states of a block of rows are a ``(BLOCK, NP)`` tile (real and imaginary
        parts apart); per sample, in Octave's order: ``y = z0 + b0 x``, then
        ``z_k = z_{k+1} + b_{k+1} x - a_{k+1} y`` (``z_N = 0``), as the numba kernels."""
        rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        cols = tl.arange(0, NP)
        live = rows < n_rows
        tile = live[:, None] & (cols[None, :] < N)
        # coefficients 1..N as tiles (column k holds b_{k+1}, a_{k+1}), b_0 apart
        at = rows[:, None] * (N + 1) + 1 + cols[None, :]
        b1r = tl.load(br_ptr + at, mask=tile, other=0.0)
        a1r = tl.load(ar_ptr + at, mask=tile, other=0.0)
        b0r = tl.load(br_ptr + rows * (N + 1), mask=live, other=0.0)
        if CCPLX:
            b1i = tl.load(bi_ptr + at, mask=tile, other=0.0)
            a1i = tl.load(ai_ptr + at, mask=tile, other=0.0)
            b0i = tl.load(bi_ptr + rows * (N + 1), mask=live, other=0.0)
        zat = rows[:, None] * N + cols[None, :]
        if HAS_ZI:
            zr = tl.load(zr_ptr + zat, mask=tile, other=0.0)
            zi = tl.load(zi_ptr + zat, mask=tile, other=0.0)
        else:
            zr = tl.zeros((BLOCK, NP), dtype=tl.float64)
            zi = tl.zeros((BLOCK, NP), dtype=tl.float64)
        for t in range(n_t):
            xr = tl.load(xr_ptr + rows * n_t + t, mask=live, other=0.0)
            if XCPLX:
                xi = tl.load(xi_ptr + rows * n_t + t, mask=live, other=0.0)
            else:
                xi = tl.zeros((BLOCK,), dtype=tl.float64)
            yr = _column(zr, cols, 0) + b0r * xr
            yi = _column(zi, cols, 0)
            if CCPLX:
                yr = yr - b0i * xi
                yi = yi + (b0r * xi + b0i * xr)
            else:
                yi = yi + b0r * xi
            # shift the states down one column (z_k <- z_{k+1}, z_{N-1} <- 0)
            sr = tl.zeros((BLOCK, NP), dtype=tl.float64)
            si = tl.zeros((BLOCK, NP), dtype=tl.float64)
            for k in tl.static_range(N - 1):
                sr = _set_column(sr, cols, k, _column(zr, cols, k + 1))
                si = _set_column(si, cols, k, _column(zi, cols, k + 1))
            if CCPLX:
                zr = sr + (b1r * xr[:, None] - b1i * xi[:, None]) - (
                    a1r * yr[:, None] - a1i * yi[:, None])
                zi = si + (b1r * xi[:, None] + b1i * xr[:, None]) - (
                    a1r * yi[:, None] + a1i * yr[:, None])
            else:
                zr = sr + b1r * xr[:, None] - a1r * yr[:, None]
                zi = si + b1r * xi[:, None] - a1r * yi[:, None]
            tl.store(yr_ptr + rows * n_t + t, yr, mask=live)
            if XCPLX or CCPLX:
                tl.store(yi_ptr + rows * n_t + t, yi, mask=live)


def _grid(n_rows: int) -> tuple[int]:
    return (-(-n_rows // _BLOCK),)


def _lp(n_loops: int) -> int:
    return max(2, 1 << (n_loops - 1).bit_length())


def adaptloop_forward(x, params, affine, limited: bool, store: bool, out_dtype):
    """The forward of the recurrence on rows ``x (N, T)`` (any float dtype, read as
    float64): ``(y (N, T) in out_dtype, states (N, T, L) float64 or None)``."""
    a1, b0, s0, factor, expfac, offset = (p.to(torch.float64).contiguous() for p in params)
    floor, corr, mult = (c.to(torch.float64).contiguous() for c in affine)
    n_rows, n_t = x.shape
    n_loops = a1.shape[1]
    y = torch.empty(n_rows, n_t, dtype=out_dtype, device=x.device)
    states = torch.empty((n_rows, n_t, n_loops) if store else (1,), dtype=torch.float64,
                         device=x.device)
    if n_rows and n_t:
        _adaptloop_fwd[_grid(n_rows)](x.contiguous(), floor, a1, b0, s0, factor, expfac,
                                      offset, corr, mult, y, states, n_rows, n_t, L=n_loops,
                                      LP=_lp(n_loops), LIMITED=bool(limited),
                                      STORE=bool(store), BLOCK=_BLOCK)
    return y, states if store else None


def adaptloop_backward(g, x, states, params, affine, limited: bool) -> list:
    """The adjoint: ``[dL/dx, dL/da1, dL/db0, dL/ds0, dL/dfactor, dL/dexpfac,
    dL/doffset]`` (float64) from the incoming gradient ``g (N, T)`` and the states
    stored by :func:`adaptloop_forward`."""
    a1, b0, _, factor, expfac, offset = (p.to(torch.float64).contiguous() for p in params)
    floor, _, mult = (c.to(torch.float64).contiguous() for c in affine)
    n_rows, n_t = x.shape
    n_loops = a1.shape[1]
    gx = torch.zeros(n_rows, n_t, dtype=torch.float64, device=x.device)
    grads = [torch.zeros_like(a1) for _ in range(6)]
    if n_rows and n_t:
        _adaptloop_bwd[_grid(n_rows)](g.to(torch.float64).contiguous(), x.contiguous(), floor,
                                      mult, states, a1, b0, factor, expfac, offset, gx,
                                      *grads, n_rows, n_t, L=n_loops, LP=_lp(n_loops),
                                      LIMITED=bool(limited), BLOCK=_BLOCK)
    return [gx, *grads]


def _parts(t: torch.Tensor, complex_: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary parts of ``t`` as contiguous float64 (zeros for a real one)."""
    if complex_:
        t = t.to(torch.complex128)
        return t.real.contiguous(), t.imag.contiguous()
    t = t.to(torch.float64).contiguous()
    return t, t.new_zeros(1)


def lfilter_forward(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor,
                    zi: torch.Tensor | None) -> torch.Tensor:
    """Rows ``x (N, T)`` through the normalised filters ``b, a (N, n + 1)`` (``a[:, 0] ==
    1``, ``n >= 1``: :func:`~torch_amt.dsp.iir.lfilter` handles order 0 itself) with initial
    state ``zi (N, n)`` or zero, in double precision: a float64 (or complex128, if any
    operand is complex) ``(N, T)`` tensor."""
    n_rows, n_t = x.shape
    order = a.shape[-1] - 1
    xc, cc = x.is_complex(), b.is_complex() or a.is_complex()
    cc = cc or (zi is not None and zi.is_complex())
    xr, xi = _parts(x, xc)
    br, bi = _parts(b, cc)
    ar, ai = _parts(a, cc)
    zr, zim = _parts(zi, cc) if zi is not None else (xr.new_zeros(1), xr.new_zeros(1))
    yr = torch.empty(n_rows, n_t, dtype=torch.float64, device=x.device)
    yi = torch.empty(n_rows, n_t, dtype=torch.float64, device=x.device) if (xc or cc) \
        else yr.new_zeros(1)
    if n_rows and n_t:
        _lfilter_fwd[_grid(n_rows)](xr, xi, br, bi, ar, ai, zr, zim, yr, yi, n_rows, n_t,
                                    N=order, NP=_lp(order), XCPLX=bool(xc), CCPLX=bool(cc),
                                    HAS_ZI=zi is not None, BLOCK=_BLOCK)
    return torch.complex(yr, yi) if (xc or cc) else yr


def lfilter_backward(g: torch.Tensor, x: torch.Tensor, y: torch.Tensor, b: torch.Tensor,
                     a: torch.Tensor, needs) -> list:
    """The exact adjoint of :func:`lfilter_forward`: the same kernel run backwards in time
    (:func:`~torch_amt.dsp.iir.torch_kernels.reversed_adjoint`), for the flags ``needs``
    (x, b, a, zi). Double precision, as the forward."""
    from torch_amt.dsp.iir.torch_kernels import reversed_adjoint

    cplx = g.is_complex() or b.is_complex() or a.is_complex() or x.is_complex()
    wide = torch.complex128 if cplx else torch.float64
    g, x, y, b, a = (t.to(wide) for t in (g, x, y, b, a))
    return reversed_adjoint(lambda v, num, den: lfilter_forward(v.contiguous(), num, den, None),
                            g, x, y, b, a, needs)
