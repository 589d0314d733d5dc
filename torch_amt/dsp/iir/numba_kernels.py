"""The numba forward kernels of :func:`~torch_amt.dsp.iir.lfilter` and
:func:`~torch_amt.dsp.iir.lfilter_envelope`, their inline one-sample steps and the
host-side row plans of the fused envelope.

Every kernel runs transposed direct form II in Octave's operation order. The inline
helpers are shared with :mod:`~torch_amt.dsp.iir.numba_adjoints`: numba's on-disk cache
does not see edits to a function of another file, so after changing a helper here clear
the ``__pycache__`` of this package.
"""

from __future__ import annotations

import numba
import numpy as np

from torch_amt.dsp.iir.threads import parallel_for


@numba.njit(cache=True, inline="always")
def _scale(c, v):  # pragma: no cover - compiled
    """``c·v`` for a real ``v``: the values of the promoted product ``c·(v + 0j)``."""
    return c * v


@numba.njit(cache=True, inline="always")
def _magnitude(w):  # pragma: no cover - compiled
    return np.sqrt(w.real * w.real + w.imag * w.imag)


@numba.njit(cache=True, inline="always")
def _readout(w, real, factor):  # pragma: no cover - compiled
    """``Re w`` or ``factor·|w|``: the modulation filterbank's phase rule."""
    return w.real if real else factor * _magnitude(w)


@numba.njit(cache=True, inline="always")
def _step1(z0, xt, b0, b1, a1):  # pragma: no cover - compiled
    """One sample of a first-order TDF-II section: ``(y, z0')`` (zero-b terms kept)."""
    yt = z0 + _scale(b0, xt)
    return yt, _scale(b1, xt) - a1 * yt


@numba.njit(cache=True, inline="always")
def _step2(z0, z1, xt, b0, b1, b2, a1, a2):  # pragma: no cover - compiled
    """One sample of a second-order TDF-II section: ``(y, z0', z1')``."""
    yt = z0 + _scale(b0, xt)
    return yt, z1 - a1 * yt + _scale(b1, xt), _scale(b2, xt) - a2 * yt


@numba.njit(cache=True, inline="always")
def _step4(z0, z1, z2, z3, xt, b0, b1, b2, b3, b4, a1, a2, a3, a4):  # pragma: no cover
    """One sample of a fourth-order TDF-II section: ``(y, z0', z1', z2', z3')``."""
    yt = z0 + _scale(b0, xt)
    return (yt, z1 - a1 * yt + _scale(b1, xt), z2 - a2 * yt + _scale(b2, xt),
            z3 - a3 * yt + _scale(b3, xt), _scale(b4, xt) - a4 * yt)


@numba.njit(cache=True, inline="always")
def _step4_row(z0, z1, z2, z3, xt, b, a, c):  # pragma: no cover - compiled
    """:func:`_step4` with the coefficients of filter ``c`` read from ``b, a``."""
    return _step4(z0, z1, z2, z3, xt, b[c, 0], b[c, 1], b[c, 2], b[c, 3], b[c, 4], a[c, 1],
                  a[c, 2], a[c, 3], a[c, 4])


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_forward_rows(lo, hi, x, b, a, zi, y):  # pragma: no cover - compiled
    """Rows of ``x (N, T)`` through TDF-II filters ``b, a (N, n+1)`` (a[:, 0] == 1), one
    row at a time."""
    n_rows, n_t = x.shape
    order = b.shape[1] - 1
    for r in numba.prange(lo, hi):
        z = zi[r].copy()
        b0 = b[r, 0]
        for t in range(n_t):
            xt = x[r, t]
            if order == 0:
                y[r, t] = b0 * xt
                continue
            yt = z[0] + b0 * xt
            for i in range(order - 1):
                z[i] = z[i + 1] - a[r, i + 1] * yt + b[r, i + 1] * xt
            z[order - 1] = b[r, order] * xt - a[r, order] * yt
            y[r, t] = yt


def _nb_forward_rows(x, b, a, zi, y):
    """Rows of ``x (N, T)`` through TDF-II filters ``b, a (N, n+1)`` (a[:, 0] == 1), one
    row at a time (:func:`_k_forward_rows`), rows spread over threads."""
    parallel_for(_k_forward_rows, x.shape[0], x, b, a, zi, y)


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_forward_quads(lo, hi, x, b, a, zi, y):  # pragma: no cover - compiled
    """Rows of first-, second- or fourth-order filters as :func:`_nb_forward_rows`,
    four rows interleaved in one time loop with the states in registers, so that their
    dependency chains overlap (first/second order: 3-5x the throughput of one row at
    a time). Group ``q`` holds rows ``4q .. 4q+3``; in the last group, indices past the
    end repeat the last row, which is then computed twice by the same thread with the
    same values. Every row's operations, and so its values, are those of
    :func:`_nb_forward_rows`."""
    n_rows, n_t = x.shape
    order = b.shape[1] - 1
    last = n_rows - 1
    for q in numba.prange(lo, hi):
        r0, r1 = min(4 * q, last), min(4 * q + 1, last)
        r2, r3 = min(4 * q + 2, last), min(4 * q + 3, last)
        if order == 1:
            z0, z1, z2, z3 = zi[r0, 0], zi[r1, 0], zi[r2, 0], zi[r3, 0]
            b00, b01, b02, b03 = b[r0, 0], b[r1, 0], b[r2, 0], b[r3, 0]
            b10, b11, b12, b13 = b[r0, 1], b[r1, 1], b[r2, 1], b[r3, 1]
            a10, a11, a12, a13 = a[r0, 1], a[r1, 1], a[r2, 1], a[r3, 1]
            for t in range(n_t):
                y[r0, t], z0 = _step1(z0, x[r0, t], b00, b10, a10)
                y[r1, t], z1 = _step1(z1, x[r1, t], b01, b11, a11)
                y[r2, t], z2 = _step1(z2, x[r2, t], b02, b12, a12)
                y[r3, t], z3 = _step1(z3, x[r3, t], b03, b13, a13)
        elif order == 2:
            u0, u1, u2, u3 = zi[r0, 0], zi[r1, 0], zi[r2, 0], zi[r3, 0]
            v0, v1, v2, v3 = zi[r0, 1], zi[r1, 1], zi[r2, 1], zi[r3, 1]
            b00, b01, b02, b03 = b[r0, 0], b[r1, 0], b[r2, 0], b[r3, 0]
            b10, b11, b12, b13 = b[r0, 1], b[r1, 1], b[r2, 1], b[r3, 1]
            b20, b21, b22, b23 = b[r0, 2], b[r1, 2], b[r2, 2], b[r3, 2]
            a10, a11, a12, a13 = a[r0, 1], a[r1, 1], a[r2, 1], a[r3, 1]
            a20, a21, a22, a23 = a[r0, 2], a[r1, 2], a[r2, 2], a[r3, 2]
            for t in range(n_t):
                y[r0, t], u0, v0 = _step2(u0, v0, x[r0, t], b00, b10, b20, a10, a20)
                y[r1, t], u1, v1 = _step2(u1, v1, x[r1, t], b01, b11, b21, a11, a21)
                y[r2, t], u2, v2 = _step2(u2, v2, x[r2, t], b02, b12, b22, a12, a22)
                y[r3, t], u3, v3 = _step2(u3, v3, x[r3, t], b03, b13, b23, a13, a23)
        else:
            s0, s1, s2, s3 = zi[r0, 0], zi[r0, 1], zi[r0, 2], zi[r0, 3]
            t0, t1, t2, t3 = zi[r1, 0], zi[r1, 1], zi[r1, 2], zi[r1, 3]
            u0, u1, u2, u3 = zi[r2, 0], zi[r2, 1], zi[r2, 2], zi[r2, 3]
            v0, v1, v2, v3 = zi[r3, 0], zi[r3, 1], zi[r3, 2], zi[r3, 3]
            for t in range(n_t):
                y[r0, t], s0, s1, s2, s3 = _step4_row(s0, s1, s2, s3, x[r0, t], b, a, r0)
                y[r1, t], t0, t1, t2, t3 = _step4_row(t0, t1, t2, t3, x[r1, t], b, a, r1)
                y[r2, t], u0, u1, u2, u3 = _step4_row(u0, u1, u2, u3, x[r2, t], b, a, r2)
                y[r3, t], v0, v1, v2, v3 = _step4_row(v0, v1, v2, v3, x[r3, t], b, a, r3)


def _nb_forward_quads(x, b, a, zi, y):
    """:func:`_k_forward_quads` on every group of four rows, groups spread over threads."""
    parallel_for(_k_forward_quads, (x.shape[0] + 3) // 4, x, b, a, zi, y)


def _nb_forward(x, b, a, zi, y):
    """Rows of ``x (N, T)`` through TDF-II filters ``b, a (N, n+1)`` (a[:, 0] == 1):
    orders 1, 2 and 4 four rows at a time (:func:`_nb_forward_quads`), other orders one
    row at a time (:func:`_nb_forward_rows`)."""
    if b.shape[1] - 1 in (1, 2, 4):
        _nb_forward_quads(x, b, a, zi, y)
    else:
        _nb_forward_rows(x, b, a, zi, y)


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_envelope_quads1(lo, hi, x, src, b, a, keep_real, factor, gain, y, quads):  # pragma: no cover
    """Rows ``quads (G, 4)`` of true order 1, four interleaved per time loop."""
    n_t = y.shape[1]
    n_filters = b.shape[0]
    for q in numba.prange(lo, hi):
        r0, r1, r2, r3 = quads[q, 0], quads[q, 1], quads[q, 2], quads[q, 3]
        c0, c1, c2, c3 = r0 % n_filters, r1 % n_filters, r2 % n_filters, r3 % n_filters
        s0, s1, s2, s3 = src[r0], src[r1], src[r2], src[r3]
        # coefficients in locals: the stores into y could alias them for the compiler
        b00, b01, b02, b03 = b[c0, 0], b[c1, 0], b[c2, 0], b[c3, 0]
        b10, b11, b12, b13 = b[c0, 1], b[c1, 1], b[c2, 1], b[c3, 1]
        a10, a11, a12, a13 = a[c0, 1], a[c1, 1], a[c2, 1], a[c3, 1]
        g0, g1, g2, g3 = gain[c0], gain[c1], gain[c2], gain[c3]
        k0, k1, k2, k3 = keep_real[c0], keep_real[c1], keep_real[c2], keep_real[c3]
        z0 = b00 * 0
        z1 = z0
        z2 = z0
        z3 = z0
        for t in range(n_t):
            y0, z0 = _step1(z0, x[s0, t], b00, b10, a10)
            y1, z1 = _step1(z1, x[s1, t], b01, b11, a11)
            y2, z2 = _step1(z2, x[s2, t], b02, b12, a12)
            y3, z3 = _step1(z3, x[s3, t], b03, b13, a13)
            y[r0, t] = _readout(y0 * g0, k0, factor)
            y[r1, t] = _readout(y1 * g1, k1, factor)
            y[r2, t] = _readout(y2 * g2, k2, factor)
            y[r3, t] = _readout(y3 * g3, k3, factor)


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_envelope_quads2(lo, hi, x, src, b, a, keep_real, factor, gain, y, quads):  # pragma: no cover
    """Rows ``quads (G, 4)`` of true order 2, four interleaved per time loop.

    Deliberately a copy of `_k_envelope_quads1` with one more state per row: the
    first-order rows through this kernel give the same values but cost 1.5x the time
    (the states and coefficients of a general kernel leave the registers).
    """
    n_t = y.shape[1]
    n_filters = b.shape[0]
    for q in numba.prange(lo, hi):
        r0, r1, r2, r3 = quads[q, 0], quads[q, 1], quads[q, 2], quads[q, 3]
        c0, c1, c2, c3 = r0 % n_filters, r1 % n_filters, r2 % n_filters, r3 % n_filters
        s0, s1, s2, s3 = src[r0], src[r1], src[r2], src[r3]
        b00, b01, b02, b03 = b[c0, 0], b[c1, 0], b[c2, 0], b[c3, 0]
        b10, b11, b12, b13 = b[c0, 1], b[c1, 1], b[c2, 1], b[c3, 1]
        b20, b21, b22, b23 = b[c0, 2], b[c1, 2], b[c2, 2], b[c3, 2]
        a10, a11, a12, a13 = a[c0, 1], a[c1, 1], a[c2, 1], a[c3, 1]
        a20, a21, a22, a23 = a[c0, 2], a[c1, 2], a[c2, 2], a[c3, 2]
        g0, g1, g2, g3 = gain[c0], gain[c1], gain[c2], gain[c3]
        k0, k1, k2, k3 = keep_real[c0], keep_real[c1], keep_real[c2], keep_real[c3]
        u0 = b00 * 0
        u1, u2, u3, v0, v1, v2, v3 = u0, u0, u0, u0, u0, u0, u0
        for t in range(n_t):
            y0, u0, v0 = _step2(u0, v0, x[s0, t], b00, b10, b20, a10, a20)
            y1, u1, v1 = _step2(u1, v1, x[s1, t], b01, b11, b21, a11, a21)
            y2, u2, v2 = _step2(u2, v2, x[s2, t], b02, b12, b22, a12, a22)
            y3, u3, v3 = _step2(u3, v3, x[s3, t], b03, b13, b23, a13, a23)
            y[r0, t] = _readout(y0 * g0, k0, factor)
            y[r1, t] = _readout(y1 * g1, k1, factor)
            y[r2, t] = _readout(y2 * g2, k2, factor)
            y[r3, t] = _readout(y3 * g3, k3, factor)


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_envelope_quads4(lo, hi, x, src, b, a, keep_real, factor, gain, y, quads):  # pragma: no cover
    """Rows ``quads (G, 4)`` of true order 4, four interleaved per time loop, with the
    states in registers and the coefficients read per step as in the fourth-order
    branch of :func:`_k_forward_quads` (they do not fit in registers): the all-pole
    gammatone bank's ``2·Re`` readout. A quad of four ``Re`` rows has a time loop
    without the readout's branch (measured 1.5x faster than with it) that scales the
    real part alone (``Re(w)·g``: ``Re(w·g)`` for every finite ``w``, and exactly the
    composition ``g·Re(lfilter(...))``)."""
    n_t = y.shape[1]
    n_filters = b.shape[0]
    for q in numba.prange(lo, hi):
        r0, r1, r2, r3 = quads[q, 0], quads[q, 1], quads[q, 2], quads[q, 3]
        c0, c1, c2, c3 = r0 % n_filters, r1 % n_filters, r2 % n_filters, r3 % n_filters
        s0, s1, s2, s3 = src[r0], src[r1], src[r2], src[r3]
        g0, g1, g2, g3 = gain[c0], gain[c1], gain[c2], gain[c3]
        k0, k1, k2, k3 = keep_real[c0], keep_real[c1], keep_real[c2], keep_real[c3]
        p0 = b[c0, 0] * 0
        p1, p2, p3, t0, t1, t2, t3 = p0, p0, p0, p0, p0, p0, p0
        u0, u1, u2, u3, v0, v1, v2, v3 = p0, p0, p0, p0, p0, p0, p0, p0
        if k0 and k1 and k2 and k3:
            for t in range(n_t):
                w0, p0, p1, p2, p3 = _step4_row(p0, p1, p2, p3, x[s0, t], b, a, c0)
                w1, t0, t1, t2, t3 = _step4_row(t0, t1, t2, t3, x[s1, t], b, a, c1)
                w2, u0, u1, u2, u3 = _step4_row(u0, u1, u2, u3, x[s2, t], b, a, c2)
                w3, v0, v1, v2, v3 = _step4_row(v0, v1, v2, v3, x[s3, t], b, a, c3)
                y[r0, t] = w0.real * g0
                y[r1, t] = w1.real * g1
                y[r2, t] = w2.real * g2
                y[r3, t] = w3.real * g3
            continue
        for t in range(n_t):
            w0, p0, p1, p2, p3 = _step4_row(p0, p1, p2, p3, x[s0, t], b, a, c0)
            w1, t0, t1, t2, t3 = _step4_row(t0, t1, t2, t3, x[s1, t], b, a, c1)
            w2, u0, u1, u2, u3 = _step4_row(u0, u1, u2, u3, x[s2, t], b, a, c2)
            w3, v0, v1, v2, v3 = _step4_row(v0, v1, v2, v3, x[s3, t], b, a, c3)
            y[r0, t] = _readout(w0 * g0, k0, factor)
            y[r1, t] = _readout(w1 * g1, k1, factor)
            y[r2, t] = _readout(w2 * g2, k2, factor)
            y[r3, t] = _readout(w3 * g3, k3, factor)


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_envelope_rows(lo, hi, x, src, b, a, keep_real, factor, gain, y, rows):  # pragma: no cover
    """Rows ``rows`` one by one (any order)."""
    n_t = y.shape[1]
    n_filters = b.shape[0]
    order = b.shape[1] - 1
    for i in numba.prange(lo, hi):
        r = rows[i]
        c = r % n_filters
        s = src[r]
        g = gain[c]
        real = keep_real[c]
        used = order
        while used > 1 and b[c, used] == 0 and a[c, used] == 0:
            used -= 1
        if used == 1:
            z0 = b[c, 0] * 0
            for t in range(n_t):
                yt, z0 = _step1(z0, x[s, t], b[c, 0], b[c, 1], a[c, 1])
                y[r, t] = _readout(yt * g, real, factor)
        elif used == 2:
            z0 = b[c, 0] * 0
            z1 = z0
            for t in range(n_t):
                yt, z0, z1 = _step2(z0, z1, x[s, t], b[c, 0], b[c, 1], b[c, 2], a[c, 1],
                                    a[c, 2])
                y[r, t] = _readout(yt * g, real, factor)
        else:
            z = np.zeros(order, dtype=b.dtype)
            b0 = b[c, 0]
            for t in range(n_t):
                xt = x[s, t]
                yt = z[0] + b0 * xt
                for k in range(order - 1):
                    z[k] = z[k + 1] - a[c, k + 1] * yt + b[c, k + 1] * xt
                z[order - 1] = b[c, order] * xt - a[c, order] * yt
                y[r, t] = _readout(yt * g, real, factor)


def _nb_envelope_rows(x, src, b, a, keep_real, factor, gain, y, rows):
    """:func:`_k_envelope_rows` on ``rows``, spread over threads."""
    parallel_for(_k_envelope_rows, rows.shape[0], x, src, b, a, keep_real, factor, gain, y,
                 rows)


def _nb_forward_envelope(x, src, b, a, keep_real, factor, gain, y):
    """:func:`_nb_forward` on rows ``x[src[r]]`` with filter ``r % len(b)``, post-processed.

    The recursion is :func:`_nb_forward`'s, operation for operation (zero initial
    state); each output sample ``w = gain·y`` is written as ``Re w`` (``keep_real``) or
    ``factor·|w|`` straight into ``y`` (the output dtype), so no complex signal is
    ever stored. Rows whose trailing coefficients are zero (one-pole band-passes padded
    to a common order) run at their true order with the state in registers: the
    skipped terms are exact zeros, so every value is unchanged.

    The rows come in a plan made by :func:`_envelope_plan`: ``quads1`` / ``quads2`` /
    ``quads4`` (G, 4) hold rows of true order 1 / 2 / 4 that are run four at a time
    (four independent recursions interleaved in one time loop, which hides the latency
    of each one's dependency chain: about 1.5-2x the throughput; every row's arithmetic
    is unchanged), ``singles`` the remaining rows, run one by one."""
    args = (x, src, b, a, keep_real, factor, gain, y)
    quads1, quads2, quads4, singles = _envelope_plan(b, a, y.shape[0])
    for kernel, quads in ((_k_envelope_quads1, quads1), (_k_envelope_quads2, quads2),
                          (_k_envelope_quads4, quads4)):
        if quads.size:
            parallel_for(kernel, quads.shape[0], *args, quads)
    if singles.size:
        _nb_envelope_rows(*args, singles)


def _true_orders(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Order of each filter row of ``b, a (R, n+1)`` without its trailing all-zero
    coefficient columns (never below 1): the order the envelope kernels run it at (the
    host-side twin of the ``used`` loop in :func:`_nb_envelope_rows`)."""
    used = np.full(b.shape[0], b.shape[1] - 1)
    for k in range(b.shape[1] - 1, 1, -1):
        used[(used == k) & (b[:, k] == 0) & (a[:, k] == 0)] = k - 1
    return used


def _envelope_plan(b: np.ndarray, a: np.ndarray, n_rows: int):
    """Rows of :func:`_nb_forward_envelope` grouped by their filter's true order.

    Returns ``quads1, quads2, quads4`` (G, 4) int64 (rows of order 1 / 2 / 4, four per
    group; a last incomplete group repeats its last row, which the same thread then
    computes twice with the same values) and ``singles`` (rows of order 3 or above 4)."""
    row_order = _true_orders(b, a)[np.arange(n_rows) % b.shape[0]]
    quads = []
    for k in (1, 2, 4):
        rows = np.flatnonzero(row_order == k)
        if rows.size % 4:
            rows = np.concatenate([rows, np.full(4 - rows.size % 4, rows[-1])])
        quads.append(rows.reshape(-1, 4).astype(np.int64))
    singles = np.flatnonzero((row_order == 3) | (row_order > 4)).astype(np.int64)
    return quads[0], quads[1], quads[2], singles
