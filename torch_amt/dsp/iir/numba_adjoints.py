"""The numba adjoint (backward) kernels of :func:`~torch_amt.dsp.iir.lfilter` and
:func:`~torch_amt.dsp.iir.lfilter_envelope`, and the host-side row plan of the envelope
adjoint.

With ``u = A⁻ᴴ g`` (the recursion run backwards in time on the incoming gradient) every
gradient is a sum of products of ``u`` with the signal, the output or the coefficients
(see :mod:`torch_amt.dsp.iir`). The forward values the envelope adjoint recomputes use
the steps of :mod:`~torch_amt.dsp.iir.numba_kernels`, so they are the forward's.
"""

from __future__ import annotations

import numba
import numpy as np

from torch_amt.dsp.iir.numba_kernels import _magnitude, _step1, _step2, _true_orders
from torch_amt.dsp.iir.threads import num_threads, parallel_for


@numba.njit(cache=True, inline="always")
def _seed(gt, yt, gc, real, factor):  # pragma: no cover - compiled
    """``dL/dw`` of the readout of ``w = gc·yt``, times ``gc``: the adjoint's input."""
    if real:
        return yt * 0 + gt * gc
    w = yt * gc
    mag = _magnitude(w)
    return w * (((factor * gt) * gc) / mag) if mag > 0 else w * 0


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_backward_envelope_quads(lo, hi, g, x, quads, qstarts, n_filters, b, a, keep_real, factor,
                                gain, gx, y):  # pragma: no cover - compiled
    """Input gradient of first-order rows, four rows of one source interleaved.

    Parallel over the source rows ``s`` of ``x`` (each owns ``gx[s]``); source ``s``
    has the row quads ``quads[qstarts[s]:qstarts[s+1]]``. Per quad the four complex
    outputs are recomputed in one interleaved pass (:func:`_step1`, the forward's
    values), then the four adjoint recursions ``u_t = seed_t - conj(a1)·u_{t+1}``,
    ``dL/dx_t += Re(conj(b0)·u_t + conj(b1)·u_{t+1})`` run interleaved backwards.
    (Second-order quads were measured slower than row by row: their state and
    coefficients do not fit in registers.) ``y (4, T)`` complex is the calling thread's
    buffer for the recomputed outputs (see :func:`_envelope_scratch`)."""
    n_src, n_t = x.shape
    for s in numba.prange(lo, hi):
        for q in range(qstarts[s], qstarts[s + 1]):
            r0, r1, r2, r3 = quads[q, 0], quads[q, 1], quads[q, 2], quads[q, 3]
            c0, c1, c2, c3 = r0 % n_filters, r1 % n_filters, r2 % n_filters, r3 % n_filters
            b00, b01, b02, b03 = b[c0, 0], b[c1, 0], b[c2, 0], b[c3, 0]
            b10, b11, b12, b13 = b[c0, 1], b[c1, 1], b[c2, 1], b[c3, 1]
            a10, a11, a12, a13 = a[c0, 1], a[c1, 1], a[c2, 1], a[c3, 1]
            z0 = b00 * 0
            z1 = z0
            z2 = z0
            z3 = z0
            for t in range(n_t):
                xt = x[s, t]
                y[0, t], z0 = _step1(z0, xt, b00, b10, a10)
                y[1, t], z1 = _step1(z1, xt, b01, b11, a11)
                y[2, t], z2 = _step1(z2, xt, b02, b12, a12)
                y[3, t], z3 = _step1(z3, xt, b03, b13, a13)
            g0, g1, g2, g3 = gain[c0], gain[c1], gain[c2], gain[c3]
            k0, k1, k2, k3 = keep_real[c0], keep_real[c1], keep_real[c2], keep_real[c3]
            a10, a11, a12, a13 = np.conj(a10), np.conj(a11), np.conj(a12), np.conj(a13)
            b00, b01, b02, b03 = np.conj(b00), np.conj(b01), np.conj(b02), np.conj(b03)
            b10, b11, b12, b13 = np.conj(b10), np.conj(b11), np.conj(b12), np.conj(b13)
            u0 = b00 * 0
            u1 = u0
            u2 = u0
            u3 = u0
            for t in range(n_t - 1, -1, -1):
                v0 = _seed(g[r0, t], y[0, t], g0, k0, factor) - a10 * u0
                v1 = _seed(g[r1, t], y[1, t], g1, k1, factor) - a11 * u1
                v2 = _seed(g[r2, t], y[2, t], g2, k2, factor) - a12 * u2
                v3 = _seed(g[r3, t], y[3, t], g3, k3, factor) - a13 * u3
                gx[s, t] += ((b00 * v0 + b10 * u0).real + (b01 * v1 + b11 * u1).real
                             + (b02 * v2 + b12 * u2).real + (b03 * v3 + b13 * u3).real)
                u0, u1, u2, u3 = v0, v1, v2, v3


def _nb_backward_envelope_quads(g, x, quads, qstarts, n_filters, b, a, keep_real, factor,
                                gain, gx, scratch=None):
    """:func:`_k_backward_envelope_quads` over the source rows, spread over threads
    (``scratch``: :func:`_envelope_scratch` ``(4, T)``, made here if not given)."""
    parallel_for(_k_backward_envelope_quads, x.shape[0], g, x, quads, qstarts, n_filters, b,
                 a, keep_real, factor, gain, gx,
                 scratch=_envelope_scratch(4, x.shape[1], b) if scratch is None else scratch)


def _envelope_scratch(rows: int, n_t: int, b: np.ndarray) -> list[np.ndarray]:
    """One ``(rows, n_t)`` buffer of ``b``'s dtype per kernel thread: the recomputed
    outputs of the envelope adjoints, reused by every item a thread runs."""
    return [np.empty((rows, n_t), dtype=b.dtype) for _ in range(num_threads())]


def _envelope_backward_plan(b: np.ndarray, a: np.ndarray, src: np.ndarray, n_src: int):
    """Rows for the envelope adjoint: quads of first-order rows per source
    (``quads (Q, 4)``, ``qstarts (n_src+1,)``) for :func:`_nb_backward_envelope_quads`
    and the other rows in the layout of :func:`_nb_backward_envelope` (``rows``,
    ``starts``)."""
    first = _true_orders(b, a)[np.arange(src.size) % b.shape[0]] == 1
    # rows by source, the first-order ones first, each part in row order
    order = np.lexsort((np.arange(src.size), ~first, src))
    src_sorted, first_sorted = src[order], first[order]
    n_quads = np.bincount(src[first], minlength=n_src) // 4
    starts = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n_src))])
    # the first 4·n_quads[s] rows of source s (all first-order) form its quads
    in_quad = first_sorted & (np.arange(src.size) - starts[src_sorted]
                              < 4 * n_quads[src_sorted])
    rest = order[~in_quad]
    return (order[in_quad].astype(np.int64).reshape(-1, 4),
            np.concatenate([[0], np.cumsum(n_quads)]).astype(np.int64),
            rest.astype(np.int64),
            np.concatenate([[0], np.cumsum(np.bincount(src[rest], minlength=n_src))]
                           ).astype(np.int64))


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_backward_envelope(lo, hi, g, x, rows, starts, n_filters, b, a, keep_real, factor, gain,
                          need_b, need_a, gx, gb, ga, scratch):  # pragma: no cover - compiled
    """Adjoint of :func:`_nb_forward_envelope`, parallel over the source rows of ``x``.

    Source row ``s`` feeds the output rows ``rows[starts[s]:starts[s+1]]``; for each,
    the complex filter output is recomputed (one row buffer), the readout's derivative
    applied (``g`` for ``Re``, ``factor·g·w/|w|`` for ``factor·|w|``) and the adjoint of
    :func:`_nb_backward` run, accumulating ``dL/dx`` into ``gx[s]`` (real signal).
    ``scratch (1, T)`` complex is the calling thread's row buffer (see
    :func:`_envelope_scratch`)."""
    n_src, n_t = x.shape
    order = b.shape[1] - 1
    width = order + 1
    for s in numba.prange(lo, hi):
        if starts[s + 1] == starts[s]:
            continue  # no rows from this source: no buffers
        y = scratch[0]  # the calling thread's buffer (see _envelope_scratch)
        z = np.empty(order, dtype=b.dtype)
        ring = np.empty(width, dtype=b.dtype)
        acc_b = np.empty(width, dtype=b.dtype)
        acc_a = np.empty(width, dtype=b.dtype)
        for i in range(starts[s], starts[s + 1]):
            r = rows[i]
            c = r % n_filters
            used = order
            while used > 1 and b[c, used] == 0 and a[c, used] == 0:
                used -= 1
            # recompute the complex output as the forward does (state in registers for
            # the true orders 1 and 2: the same values); a Re readout's derivative does
            # not depend on it (only the gradient of ``a`` reads it then)
            if keep_real[c] and not need_a:
                pass
            elif used == 1:
                z0 = b[c, 0] * 0
                b0, b1, a1 = b[c, 0], b[c, 1], a[c, 1]
                for t in range(n_t):
                    y[t], z0 = _step1(z0, x[s, t], b0, b1, a1)
            elif used == 2:
                z0 = b[c, 0] * 0
                z1 = z0
                b0, b1, b2, a1, a2 = b[c, 0], b[c, 1], b[c, 2], a[c, 1], a[c, 2]
                for t in range(n_t):
                    y[t], z0, z1 = _step2(z0, z1, x[s, t], b0, b1, b2, a1, a2)
            else:
                z[:] = 0
                for t in range(n_t):
                    xt = x[s, t]
                    yt = z[0] + b[c, 0] * xt
                    for k in range(order - 1):
                        z[k] = z[k + 1] - a[c, k + 1] * yt + b[c, k + 1] * xt
                    z[order - 1] = b[c, order] * xt - a[c, order] * yt
                    y[t] = yt
            gc = gain[c]
            if order == 2 and not (need_b or need_a):
                # the common case (input gradient of a second-order bank), state in registers
                a1, a2 = np.conj(a[c, 1]), np.conj(a[c, 2])
                b0, b1, b2 = np.conj(b[c, 0]), np.conj(b[c, 1]), np.conj(b[c, 2])
                u1 = b0 * 0
                u2 = b0 * 0
                for t in range(n_t - 1, -1, -1):
                    if keep_real[c]:
                        gw = g[r, t] * gc
                    else:
                        w = y[t] * gc
                        mag = _magnitude(w)
                        gw = w * (((factor * g[r, t]) * gc) / mag) if mag > 0 else 0 * w
                    ut = gw - a1 * u1 - a2 * u2
                    gx[s, t] += (b0 * ut + b1 * u1 + b2 * u2).real
                    u2 = u1
                    u1 = ut
                continue
            ring[:] = 0
            acc_b[:] = 0
            acc_a[:] = 0
            for t in range(n_t - 1, -1, -1):
                if keep_real[c]:
                    gw = g[r, t] + 0 * b[c, 0]
                else:
                    w = y[t] * gc
                    mag = abs(w)
                    gw = (factor * g[r, t]) * (w / mag) if mag > 0 else 0 * y[t]
                ut = gw * gc
                for j in range(1, width):
                    ut -= np.conj(a[c, j]) * ring[(t + j) % width]
                ring[t % width] = ut
                acc = np.conj(b[c, 0]) * ut
                for k in range(1, width):
                    acc += np.conj(b[c, k]) * ring[(t + k) % width]
                gx[s, t] += acc.real
                if need_b:
                    for k in range(min(width, t + 1)):
                        acc_b[k] += np.conj(x[s, t - k]) * ut
                if need_a:
                    for j in range(1, min(width, t + 1)):
                        acc_a[j] -= np.conj(y[t - j]) * ut
            if need_b:
                gb[r, :] = acc_b
            if need_a:
                ga[r, :] = acc_a


def _nb_backward_envelope(g, x, rows, starts, n_filters, b, a, keep_real, factor, gain,
                          need_b, need_a, gx, gb, ga, scratch=None):
    """:func:`_k_backward_envelope` over the source rows, spread over threads
    (``scratch``: :func:`_envelope_scratch` ``(1, T)``, made here if not given)."""
    parallel_for(_k_backward_envelope, x.shape[0], g, x, rows, starts, n_filters, b, a,
                 keep_real, factor, gain, need_b, need_a, gx, gb, ga,
                 scratch=_envelope_scratch(1, x.shape[1], b) if scratch is None else scratch)


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_rows_into_sources(lo, hi, part, rows, starts, weight, gx):  # pragma: no cover
    """``gx[s] += weight[r]·part[r]`` for the rows ``rows[starts[s]:starts[s+1]]`` of
    each source ``s`` (in that order), parallel over the sources (each owns ``gx[s]``)."""
    n_t = part.shape[1]
    for s in numba.prange(lo, hi):
        for i in range(starts[s], starts[s + 1]):
            r = rows[i]
            w = weight[r]
            for t in range(n_t):
                gx[s, t] += w * part[r, t]


def _nb_rows_into_sources(part, rows, starts, weight, gx):
    """:func:`_k_rows_into_sources` over the sources of ``gx``, spread over threads."""
    parallel_for(_k_rows_into_sources, gx.shape[0], part, rows, starts, weight, gx)


@numba.njit(cache=True, inline="always")
def _adjoint2(u1, u2, gt, zero, a1, a2, b0, b1, b2):  # pragma: no cover - compiled
    """One reverse step of the input adjoint of a (conjugated) second-order section, in
    :func:`_nb_backward`'s operation order: ``(dL/dx_t, u_t)``."""
    ut = zero + gt
    ut -= a1 * u1
    ut -= a2 * u2
    return b0 * ut + b1 * u1 + b2 * u2, ut


@numba.njit(cache=True, inline="always")
def _adjoint4(u1, u2, u3, u4, gt, zero, a1, a2, a3, a4, b0, b1, b2, b3,
              b4):  # pragma: no cover - compiled
    """:func:`_adjoint2` of a fourth-order section."""
    ut = zero + gt
    ut -= a1 * u1
    ut -= a2 * u2
    ut -= a3 * u3
    ut -= a4 * u4
    return b0 * ut + b1 * u1 + b2 * u2 + b3 * u3 + b4 * u4, ut


@numba.njit(cache=True, inline="always")
def _adjoint4_row(u1, u2, u3, u4, gt, zero, a, b, r):  # pragma: no cover - compiled
    """:func:`_adjoint4` with the conjugated coefficients of row ``r`` of ``a, b (R, 5)``."""
    return _adjoint4(u1, u2, u3, u4, gt, zero, np.conj(a[r, 1]), np.conj(a[r, 2]),
                     np.conj(a[r, 3]), np.conj(a[r, 4]), np.conj(b[r, 0]), np.conj(b[r, 1]),
                     np.conj(b[r, 2]), np.conj(b[r, 3]), np.conj(b[r, 4]))


@numba.njit(cache=True, inline="always")
def _store_quad(gx, gx_real, real_gx, t, r0, r1, r2, r3, s0, s1, s2,
                s3):  # pragma: no cover - compiled
    """Sample ``t`` of the input gradients ``s0 .. s3`` of rows ``r0 .. r3``: into ``gx``,
    or their real parts into ``gx_real`` (``real_gx``)."""
    if real_gx:
        gx_real[r0, t], gx_real[r1, t] = s0.real, s1.real
        gx_real[r2, t], gx_real[r3, t] = s2.real, s3.real
    else:
        gx[r0, t], gx[r1, t], gx[r2, t], gx[r3, t] = s0, s1, s2, s3


@numba.njit(cache=True, inline="always")
def _adjoint1(u1, gt, zero, a1, b0, b1):  # pragma: no cover - compiled
    """:func:`_adjoint2` of a first-order section."""
    ut = zero + gt
    ut -= a1 * u1
    return b0 * ut + b1 * u1, ut


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_backward_quads(lo, hi, g, b, a, real_gx, gx, gx_real):  # pragma: no cover - compiled
    """Input gradient of first-, second- or fourth-order rows with the adjoint state in
    registers: four rows interleaved (as :func:`_nb_forward_quads`; a last incomplete
    group repeats its last row, whose gradient the same thread then writes twice with
    the same values). The operations per row are those of :func:`_nb_backward`, in its
    order."""
    n_rows, n_t = g.shape
    order = b.shape[1] - 1
    last = n_rows - 1
    for q in numba.prange(lo, hi):
        r0, r1 = min(4 * q, last), min(4 * q + 1, last)
        r2, r3 = min(4 * q + 2, last), min(4 * q + 3, last)
        zero = b[r0, 0] * 0
        a10, a11, a12, a13 = (np.conj(a[r0, 1]), np.conj(a[r1, 1]), np.conj(a[r2, 1]),
                              np.conj(a[r3, 1]))
        b00, b01, b02, b03 = (np.conj(b[r0, 0]), np.conj(b[r1, 0]), np.conj(b[r2, 0]),
                              np.conj(b[r3, 0]))
        b10, b11, b12, b13 = (np.conj(b[r0, 1]), np.conj(b[r1, 1]), np.conj(b[r2, 1]),
                              np.conj(b[r3, 1]))
        u0, u1, u2, u3 = zero, zero, zero, zero
        if order == 1:
            for t in range(n_t - 1, -1, -1):
                s0, u0 = _adjoint1(u0, g[r0, t], zero, a10, b00, b10)
                s1, u1 = _adjoint1(u1, g[r1, t], zero, a11, b01, b11)
                s2, u2 = _adjoint1(u2, g[r2, t], zero, a12, b02, b12)
                s3, u3 = _adjoint1(u3, g[r3, t], zero, a13, b03, b13)
                _store_quad(gx, gx_real, real_gx, t, r0, r1, r2, r3, s0, s1, s2, s3)
            continue
        if order == 4:
            # four rows interleaved, as the forward runs them (their states and
            # coefficients spill from the registers, but the four dependency chains
            # overlap): 248 rows of 44100 samples, one thread, 48.3 ms one row at a
            # time, 22.6 ms interleaved
            p1, p2, p3, p4 = zero, zero, zero, zero
            q1, q2, q3, q4 = zero, zero, zero, zero
            e1, e2, e3, e4 = zero, zero, zero, zero
            f1, f2, f3, f4 = zero, zero, zero, zero
            for t in range(n_t - 1, -1, -1):
                s0, n0 = _adjoint4_row(p1, p2, p3, p4, g[r0, t], zero, a, b, r0)
                s1, n1 = _adjoint4_row(q1, q2, q3, q4, g[r1, t], zero, a, b, r1)
                s2, n2 = _adjoint4_row(e1, e2, e3, e4, g[r2, t], zero, a, b, r2)
                s3, n3 = _adjoint4_row(f1, f2, f3, f4, g[r3, t], zero, a, b, r3)
                p4, p3, p2, p1 = p3, p2, p1, n0
                q4, q3, q2, q1 = q3, q2, q1, n1
                e4, e3, e2, e1 = e3, e2, e1, n2
                f4, f3, f2, f1 = f3, f2, f1, n3
                _store_quad(gx, gx_real, real_gx, t, r0, r1, r2, r3, s0, s1, s2, s3)
            continue
        a20, a21, a22, a23 = (np.conj(a[r0, 2]), np.conj(a[r1, 2]), np.conj(a[r2, 2]),
                              np.conj(a[r3, 2]))
        b20, b21, b22, b23 = (np.conj(b[r0, 2]), np.conj(b[r1, 2]), np.conj(b[r2, 2]),
                              np.conj(b[r3, 2]))
        v0, v1, v2, v3 = zero, zero, zero, zero
        for t in range(n_t - 1, -1, -1):
            s0, n0 = _adjoint2(u0, v0, g[r0, t], zero, a10, a20, b00, b10, b20)
            s1, n1 = _adjoint2(u1, v1, g[r1, t], zero, a11, a21, b01, b11, b21)
            s2, n2 = _adjoint2(u2, v2, g[r2, t], zero, a12, a22, b02, b12, b22)
            s3, n3 = _adjoint2(u3, v3, g[r3, t], zero, a13, a23, b03, b13, b23)
            v0, v1, v2, v3 = u0, u1, u2, u3
            u0, u1, u2, u3 = n0, n1, n2, n3
            _store_quad(gx, gx_real, real_gx, t, r0, r1, r2, r3, s0, s1, s2, s3)


def _nb_backward_quads(g, b, a, real_gx, gx, gx_real):
    """:func:`_k_backward_quads` on every group of four rows, spread over threads."""
    parallel_for(_k_backward_quads, (g.shape[0] + 3) // 4, g, b, a, real_gx, gx, gx_real)


@numba.njit(parallel=True, cache=True, nogil=True)
def _k_backward(lo, hi, g, x, y, b, a, need_x, need_b, need_a, need_zi, real_gx,
                 gx, gx_real, gb, ga, gzi):  # pragma: no cover - compiled
    """Fused adjoint: ``u = A⁻ᴴ g`` backwards in time, then all requested gradients.

    ``b, a`` are in the accumulation dtype; ``g, x, y`` in their own dtypes. The input
    gradient goes to ``gx``, or only its real part to ``gx_real`` when ``real_gx`` (a
    real signal filtered by complex coefficients).
    """
    n_rows, n_t = g.shape
    order = b.shape[1] - 1
    width = order + 1
    for r in numba.prange(lo, hi):
        zero = b[r, 0] * 0
        if order <= 2 and need_x and not (need_b or need_a or need_zi):
            # the common case (input gradient of a low-order filter): the adjoint state in
            # registers, the same operations in the same order as the general loop below
            a1 = np.conj(a[r, 1])
            a2 = np.conj(a[r, 2]) if order == 2 else zero
            b0 = np.conj(b[r, 0])
            b1 = np.conj(b[r, 1])
            b2 = np.conj(b[r, 2]) if order == 2 else zero
            u1 = zero
            u2 = zero
            for t in range(n_t - 1, -1, -1):
                ut = zero + g[r, t]
                ut -= a1 * u1
                if order == 2:
                    ut -= a2 * u2
                s = b0 * ut + b1 * u1
                if order == 2:
                    s += b2 * u2
                if real_gx:
                    gx_real[r, t] = s.real
                else:
                    gx[r, t] = s
                u2 = u1
                u1 = ut
            continue
        # ring buffer holding u[t], u[t+1], ..., u[t+order]
        ring = np.zeros(width, dtype=b.dtype)
        acc_b = np.zeros(width, dtype=b.dtype)
        acc_a = np.zeros(width, dtype=b.dtype)
        for t in range(n_t - 1, -1, -1):
            ut = zero + g[r, t]
            for j in range(1, width):
                ut -= np.conj(a[r, j]) * ring[(t + j) % width]
            ring[t % width] = ut
            if need_x:
                s = np.conj(b[r, 0]) * ut
                for k in range(1, width):
                    s += np.conj(b[r, k]) * ring[(t + k) % width]
                if real_gx:
                    gx_real[r, t] = s.real
                else:
                    gx[r, t] = s
            if need_b:
                for k in range(min(width, t + 1)):
                    acc_b[k] += np.conj(x[r, t - k]) * ut
            if need_a:
                for j in range(1, min(width, t + 1)):
                    acc_a[j] -= np.conj(y[r, t - j]) * ut
            if need_zi and t < order:
                gzi[r, t] = ut
        if need_b:
            for k in range(width):
                gb[r, k] = acc_b[k]
        if need_a:
            for j in range(width):
                ga[r, j] = acc_a[j]



def _nb_backward(g, x, y, b, a, need_x, need_b, need_a, need_zi, real_gx, gx, gx_real, gb,
                 ga, gzi):
    """:func:`_k_backward` on every row, rows spread over threads."""
    parallel_for(_k_backward, g.shape[0], g, x, y, b, a, need_x, need_b, need_a, need_zi,
                 real_gx, gx, gx_real, gb, ga, gzi)
