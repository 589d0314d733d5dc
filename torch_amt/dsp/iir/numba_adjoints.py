"""The one differentiable IIR kernel of torch_amt: ``lfilter`` and ``sosfilt``.

Every recursive filter in the package goes through :func:`lfilter`, so exactness,
speed and gradients are solved in one place.

* ``lfilter(x, b, a)`` filters ``x (..., T)`` along the last axis with coefficients
  ``b (..., nb)`` and ``a (..., na)`` whose leading axes broadcast against the leading
  axes of ``x``: N rows with N different filters are one call.
* The recursion is MATLAB's/Octave's ``filter``: transposed direct form II, zero
  initial state unless ``zi`` is given, coefficients normalised by ``a[..., 0]``.
  The arithmetic order per sample is Octave's, so AMT's all-pole and FIR filters
  are reproduced bit for bit.
* Real and complex signals and coefficients (float32/64, complex64/128). The output has
  the precision of ``x`` (complex when any operand is complex). Both backends
  accumulate in double precision and round the output once; coefficients keep their own
  precision (float64 coefficients are not rounded to float32 for a float32 signal).
* Backends: on CPU a numba kernel, parallel over rows; on any other device (and on
  CPU when forced with :func:`use_backend`) a pure-torch formulation with no
  sample-by-sample loop: the FIR numerator, then one complex one-pole section per root
  of ``a``, each solved in blocks (Toeplitz products) with a log-depth scan across
  blocks. It equals the recursion up to rounding; for ill-conditioned direct forms
  (high order, repeated poles at low frequency) that rounding is amplified just as in
  any other evaluation order, so only the numba kernel reproduces Octave bit for bit.
* Backward is hand-written and exact. With ``y = A⁻¹(B x + d)`` (``d`` = initial
  state) and ``u = A⁻ᴴ g`` (the same recursion run backwards in time on the incoming
  gradient ``g``)::

      dL/dx[t]  = Σ_k conj(b_k) u[t+k]
      dL/db_k   = Σ_t conj(x[t-k]) u[t]
      dL/da_j   = -Σ_t conj(y[t-j]) u[t]      (j ≥ 1; a₀ handled by normalisation)
      dL/dzi[k] = u[k]

  so a backward pass costs about one more filtering pass.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numba
import numpy as np
import torch

from torch_amt.dsp.design import roots

__all__ = ["lfilter", "sosfilt", "use_backend", "get_backend", "BACKENDS"]

BACKENDS = ("auto", "numba", "torch")
_backend = "auto"
_TORCH_BLOCK = 64


def get_backend() -> str:
    """Return the IIR backend currently in force (``'auto'``, ``'numba'`` or ``'torch'``)."""
    return _backend


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Force an IIR backend inside a ``with`` block.

    Parameters
    ----------
    name : {'auto', 'numba', 'torch'}
        ``'auto'`` uses numba for CPU tensors and the pure-torch path elsewhere;
        ``'torch'`` forces the pure-torch path (the one used on GPUs) also on CPU;
        ``'numba'`` requires CPU tensors.
    """
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    previous, _backend = _backend, name
    try:
        yield
    finally:
        _backend = previous


# --------------------------------------------------------------------------- numba kernels


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


@numba.njit(parallel=True, cache=True)
def _nb_forward_rows(x, b, a, zi, y):  # pragma: no cover - compiled
    """Rows of ``x (N, T)`` through TDF-II filters ``b, a (N, n+1)`` (a[:, 0] == 1), one
    row at a time."""
    n_rows, n_t = x.shape
    order = b.shape[1] - 1
    for r in numba.prange(n_rows):
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


@numba.njit(parallel=True, cache=True)
def _nb_forward_quads(x, b, a, zi, y):  # pragma: no cover - compiled
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
    for q in numba.prange((n_rows + 3) // 4):
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
                y[r0, t], s0, s1, s2, s3 = _step4(
                    s0, s1, s2, s3, x[r0, t], b[r0, 0], b[r0, 1], b[r0, 2], b[r0, 3], b[r0, 4],
                    a[r0, 1], a[r0, 2], a[r0, 3], a[r0, 4])
                y[r1, t], t0, t1, t2, t3 = _step4(
                    t0, t1, t2, t3, x[r1, t], b[r1, 0], b[r1, 1], b[r1, 2], b[r1, 3], b[r1, 4],
                    a[r1, 1], a[r1, 2], a[r1, 3], a[r1, 4])
                y[r2, t], u0, u1, u2, u3 = _step4(
                    u0, u1, u2, u3, x[r2, t], b[r2, 0], b[r2, 1], b[r2, 2], b[r2, 3], b[r2, 4],
                    a[r2, 1], a[r2, 2], a[r2, 3], a[r2, 4])
                y[r3, t], v0, v1, v2, v3 = _step4(
                    v0, v1, v2, v3, x[r3, t], b[r3, 0], b[r3, 1], b[r3, 2], b[r3, 3], b[r3, 4],
                    a[r3, 1], a[r3, 2], a[r3, 3], a[r3, 4])


def _nb_forward(x, b, a, zi, y):
    """Rows of ``x (N, T)`` through TDF-II filters ``b, a (N, n+1)`` (a[:, 0] == 1):
    orders 1, 2 and 4 four rows at a time (:func:`_nb_forward_quads`), other orders one
    row at a time (:func:`_nb_forward_rows`)."""
    if b.shape[1] - 1 in (1, 2, 4):
        _nb_forward_quads(x, b, a, zi, y)
    else:
        _nb_forward_rows(x, b, a, zi, y)


@numba.njit(parallel=True, cache=True)
def _nb_envelope_quads1(x, src, b, a, keep_real, factor, gain, y, quads):  # pragma: no cover
    """Rows ``quads (G, 4)`` of true order 1, four interleaved per time loop."""
    n_t = y.shape[1]
    n_filters = b.shape[0]
    for q in numba.prange(quads.shape[0]):
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


@numba.njit(parallel=True, cache=True)
def _nb_envelope_quads2(x, src, b, a, keep_real, factor, gain, y, quads):  # pragma: no cover
    """Rows ``quads (G, 4)`` of true order 2, four interleaved per time loop."""
    n_t = y.shape[1]
    n_filters = b.shape[0]
    for q in numba.prange(quads.shape[0]):
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


@numba.njit(parallel=True, cache=True)
def _nb_envelope_rows(x, src, b, a, keep_real, factor, gain, y, rows):  # pragma: no cover
    """Rows ``rows`` one by one (any order)."""
    n_t = y.shape[1]
    n_filters = b.shape[0]
    order = b.shape[1] - 1
    for i in numba.prange(rows.shape[0]):
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


def _nb_forward_envelope(x, src, b, a, keep_real, factor, gain, y):
    """:func:`_nb_forward` on rows ``x[src[r]]`` with filter ``r % len(b)``, post-processed.

    The recursion is :func:`_nb_forward`'s, operation for operation (zero initial
    state); each output sample ``w = gain·y`` is written as ``Re w`` (``keep_real``) or
    ``factor·|w|`` straight into ``y`` (the output dtype), so no complex signal is
    ever stored. Rows whose trailing coefficients are zero (one-pole band-passes padded
    to a common order) run at their true order with the state in registers: the
    skipped terms are exact zeros, so every value is unchanged.

    The rows come in a plan made by :func:`_envelope_plan`: ``quads1`` / ``quads2``
    (G, 4) hold rows of true order 1 / 2 that are run four at a time (four independent
    recursions interleaved in one time loop, which hides the latency of each one's
    dependency chain: about 1.5-2x the throughput; every row's arithmetic is unchanged),
    ``singles`` the remaining rows, run one by one."""
    args = (x, src, b, a, keep_real, factor, gain, y)
    quads1, quads2, singles = _envelope_plan(b, a, y.shape[0])
    if quads1.size:
        _nb_envelope_quads1(*args, quads1)
    if quads2.size:
        _nb_envelope_quads2(*args, quads2)
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

    Returns ``quads1, quads2`` (G, 4) int64 (rows of order 1 / 2, four per group; a
    last incomplete group repeats its last row, which the same thread then computes
    twice with the same values) and ``singles`` (rows of higher order)."""
    row_order = _true_orders(b, a)[np.arange(n_rows) % b.shape[0]]
    quads = []
    for k in (1, 2):
        rows = np.flatnonzero(row_order == k)
        if rows.size % 4:
            rows = np.concatenate([rows, np.full(4 - rows.size % 4, rows[-1])])
        quads.append(rows.reshape(-1, 4).astype(np.int64))
    return quads[0], quads[1], np.flatnonzero(row_order > 2).astype(np.int64)


@numba.njit(cache=True, inline="always")
def _seed(gt, yt, gc, real, factor):  # pragma: no cover - compiled
    """``dL/dw`` of the readout of ``w = gc·yt``, times ``gc``: the adjoint's input."""
    if real:
        return yt * 0 + gt * gc
    w = yt * gc
    mag = _magnitude(w)
    return w * (((factor * gt) * gc) / mag) if mag > 0 else w * 0


@numba.njit(parallel=True, cache=True)
def _nb_backward_envelope_quads(g, x, quads, qstarts, n_filters, b, a, keep_real, factor,
                                gain, gx):  # pragma: no cover - compiled
    """Input gradient of first-order rows, four rows of one source interleaved.

    Parallel over the source rows ``s`` of ``x`` (each owns ``gx[s]``); source ``s``
    has the row quads ``quads[qstarts[s]:qstarts[s+1]]``. Per quad the four complex
    outputs are recomputed in one interleaved pass (:func:`_step1`, the forward's
    values), then the four adjoint recursions ``u_t = seed_t - conj(a1)·u_{t+1}``,
    ``dL/dx_t += Re(conj(b0)·u_t + conj(b1)·u_{t+1})`` run interleaved backwards.
    (Second-order quads were measured slower than row by row: their state and
    coefficients do not fit in registers.)"""
    n_src, n_t = x.shape
    for s in numba.prange(n_src):
        y = np.empty((4, n_t), dtype=b.dtype)
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


def _envelope_backward_plan(b: np.ndarray, a: np.ndarray, src: np.ndarray, n_src: int):
    """Rows for the envelope adjoint: quads of first-order rows per source
    (``quads (Q, 4)``, ``qstarts (n_src+1,)``) for :func:`_nb_backward_envelope_quads`
    and the other rows in the layout of :func:`_nb_backward_envelope` (``rows``,
    ``starts``)."""
    first = _true_orders(b, a)[np.arange(src.size) % b.shape[0]] == 1
    quads, rest = [], []
    qcounts, rcounts = np.zeros(n_src, np.int64), np.zeros(n_src, np.int64)
    for s in range(n_src):
        mine = np.flatnonzero(src == s)
        ones = mine[first[mine]]
        n = ones.size // 4 * 4
        quads.append(ones[:n])
        rest.append(np.concatenate([ones[n:], mine[~first[mine]]]))
        qcounts[s], rcounts[s] = n // 4, rest[-1].size
    return (np.concatenate(quads).astype(np.int64).reshape(-1, 4),
            np.concatenate([[0], np.cumsum(qcounts)]).astype(np.int64),
            np.concatenate(rest).astype(np.int64),
            np.concatenate([[0], np.cumsum(rcounts)]).astype(np.int64))


@numba.njit(parallel=True, cache=True)
def _nb_backward_envelope(g, x, rows, starts, n_filters, b, a, keep_real, factor, gain,
                          need_b, need_a, gx, gb, ga):  # pragma: no cover - compiled
    """Adjoint of :func:`_nb_forward_envelope`, parallel over the source rows of ``x``.

    Source row ``s`` feeds the output rows ``rows[starts[s]:starts[s+1]]``; for each,
    the complex filter output is recomputed (one row buffer), the readout's derivative
    applied (``g`` for ``Re``, ``factor·g·w/|w|`` for ``factor·|w|``) and the adjoint of
    :func:`_nb_backward` run, accumulating ``dL/dx`` into ``gx[s]`` (real signal)."""
    n_src, n_t = x.shape
    order = b.shape[1] - 1
    width = order + 1
    for s in numba.prange(n_src):
        y = np.empty(n_t, dtype=b.dtype)
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
            # the true orders 1 and 2: the same values)
            if used == 1:
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
                    gw = g[r, t] + 0 * y[t]
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
def _adjoint1(u1, gt, zero, a1, b0, b1):  # pragma: no cover - compiled
    """:func:`_adjoint2` of a first-order section."""
    ut = zero + gt
    ut -= a1 * u1
    return b0 * ut + b1 * u1, ut


@numba.njit(parallel=True, cache=True)
def _nb_backward_quads(g, b, a, real_gx, gx, gx_real):  # pragma: no cover - compiled
    """Input gradient of first-, second- or fourth-order rows with the adjoint state in
    registers: orders 1 and 2 four rows interleaved (as :func:`_nb_forward_quads`; a
    last incomplete group repeats its last row, whose gradient the same thread then
    writes twice with the same values), order 4 one row at a time (measured 5x faster
    than :func:`_nb_backward`'s ring buffer). The operations per row are those of
    :func:`_nb_backward`, in its order."""
    n_rows, n_t = g.shape
    order = b.shape[1] - 1
    last = n_rows - 1
    for q in numba.prange((n_rows + 3) // 4):
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
                if real_gx:
                    gx_real[r0, t], gx_real[r1, t] = s0.real, s1.real
                    gx_real[r2, t], gx_real[r3, t] = s2.real, s3.real
                else:
                    gx[r0, t], gx[r1, t], gx[r2, t], gx[r3, t] = s0, s1, s2, s3
            continue
        if order == 4:
            rows = (r0, r1, r2, r3)
            for k in range(4):  # one row at a time: four 4th-order states do not fit
                r = rows[k]
                c = [np.conj(b[r, i]) for i in range(5)] + [np.conj(a[r, i]) for i in range(5)]
                w1, w2, w3, w4 = zero, zero, zero, zero
                for t in range(n_t - 1, -1, -1):
                    st, ut = _adjoint4(w1, w2, w3, w4, g[r, t], zero, c[6], c[7], c[8], c[9],
                                       c[0], c[1], c[2], c[3], c[4])
                    w4, w3, w2, w1 = w3, w2, w1, ut
                    if real_gx:
                        gx_real[r, t] = st.real
                    else:
                        gx[r, t] = st
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
            if real_gx:
                gx_real[r0, t], gx_real[r1, t] = s0.real, s1.real
                gx_real[r2, t], gx_real[r3, t] = s2.real, s3.real
            else:
                gx[r0, t], gx[r1, t], gx[r2, t], gx[r3, t] = s0, s1, s2, s3


@numba.njit(parallel=True, cache=True)
def _nb_backward(g, x, y, b, a, need_x, need_b, need_a, need_zi, real_gx,
                 gx, gx_real, gb, ga, gzi):  # pragma: no cover - compiled
    """Fused adjoint: ``u = A⁻ᴴ g`` backwards in time, then all requested gradients.

    ``b, a`` are in the accumulation dtype; ``g, x, y`` in their own dtypes. The input
    gradient goes to ``gx``, or only its real part to ``gx_real`` when ``real_gx`` (a
    real signal filtered by complex coefficients).
    """
    n_rows, n_t = g.shape
    order = b.shape[1] - 1
    width = order + 1
    for r in numba.prange(n_rows):
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


def _acc_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(np.complex128) if dtype.is_complex else np.dtype(np.float64)


def _np(t: torch.Tensor, dtype: np.dtype | None = None) -> np.ndarray:
    arr = t.detach().resolve_conj().contiguous().numpy()
    return arr if dtype is None else np.ascontiguousarray(arr, dtype=dtype)


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return torch.empty(0, dtype=dtype).numpy().dtype


def _numba_forward(x, b, a, zi):
    acc = _acc_dtype(b.dtype)
    n = b.shape[-1] - 1
    zi_np = np.zeros((x.shape[0], n), dtype=acc) if zi is None else _np(zi, acc)
    y = np.empty(tuple(x.shape), dtype=_numpy_dtype(_output_dtype(x, b)))
    _nb_forward(_np(x), _np(b, acc), _np(a, acc), zi_np, y)
    return torch.from_numpy(y)


def _numba_backward(g, x, y, b, a, needs):
    acc = _acc_dtype(b.dtype)
    n_rows, n_t = g.shape
    n = b.shape[-1] - 1
    real_gx = needs[0] and g.is_complex() and not x.is_complex()
    gx = np.empty((n_rows, n_t) if needs[0] and not real_gx else (1, 1),
                  dtype=_numpy_dtype(g.dtype))
    gx_real = np.empty((n_rows, n_t) if real_gx else (1, 1), dtype=_numpy_dtype(x.dtype))
    gb = np.zeros((n_rows, n + 1) if needs[1] else (1, 1), dtype=acc)
    ga = np.zeros((n_rows, n + 1) if needs[2] else (1, 1), dtype=acc)
    gzi = np.zeros((n_rows, max(n, 1)) if needs[3] else (1, 1), dtype=acc)
    if needs[0] and not any(needs[1:]) and n in (1, 2, 4):
        # the common case, the input gradient of a low-order filter: state in registers
        _nb_backward_quads(_np(g), _np(b, acc), _np(a, acc), real_gx, gx, gx_real)
    else:
        _nb_backward(_np(g), _np(x), _np(y), _np(b, acc), _np(a, acc),
                     needs[0], needs[1], needs[2], needs[3], real_gx, gx, gx_real, gb, ga, gzi)
    return [torch.from_numpy(arr) if flag else None
            for flag, arr in zip(needs, (gx_real if real_gx else gx, gb, ga, gzi[:, :n]),
                                 strict=True)]


# --------------------------------------------------------------------------- torch kernels


def _fir(x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``v[t] = Σ_k b[:, k] x[:, t-k]`` (zero history), by shifted products."""
    n_t = x.shape[-1]
    v = b[:, :1] * x
    for k in range(1, min(b.shape[-1], n_t + 1)):
        v = v + b[:, k : k + 1] * torch.nn.functional.pad(x[:, : n_t - k], (k, 0))
    return v


def _one_pole(u: torch.Tensor, p: torch.Tensor, block: int) -> torch.Tensor:
    """``y[t] = p·y[t-1] + u[t]`` (zero initial state) for rows ``u (N, T)``, poles ``p (N,)``.

    Blocks of ``L`` samples are solved at once with the Toeplitz matrix of ``p^j``; the
    block-end values are carried by ``s[k+1] = pᴸ s[k] + w[k]``, a scalar linear
    recurrence evaluated by a log-depth (Hillis–Steele) scan with the powers ``p^(L·2^i)``.
    Scalars multiply with relative rounding only, so nothing cancels.
    """
    n_rows, n_t = u.shape
    L = max(1, min(block, n_t))
    n_blocks = -(-n_t // L)
    j = torch.arange(L, device=u.device)
    # p^0 .. p^(L-1) by repeated multiplication (a complex pow would give NaN for p = 0,
    # the root that a trailing zero coefficient of ``a`` contributes)
    powers = torch.cumprod(torch.cat([torch.ones_like(p)[:, None],
                                      p[:, None].expand(-1, L - 1)], dim=1), dim=1)
    lag = j[:, None] - j[None, :]
    toep = torch.where(lag >= 0, powers[:, lag.clamp(min=0)],
                       torch.zeros((), dtype=powers.dtype, device=u.device))
    U = torch.nn.functional.pad(u, (0, n_blocks * L - n_t)).reshape(n_rows, n_blocks, L)
    Y = torch.einsum("rts,rks->rkt", toep, U)  # zero-state response of every block
    # block-end values with the carried state: inclusive scan of s_k = p^L s_{k-1} + w_k
    w = Y[:, :, -1]
    q, step = powers[:, -1] * p, 1  # p^L
    while step < n_blocks:
        w = torch.cat([w[:, :step], w[:, step:] + q[:, None] * w[:, :-step]], dim=1)
        q, step = q * q, step * 2
    carried = torch.nn.functional.pad(w[:, :-1], (1, 0))  # state entering each block
    Y = Y + carried[:, :, None] * (powers * p[:, None])[:, None, :]
    return Y.reshape(n_rows, n_blocks * L)[:, :n_t]


def _torch_forward(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor,
                   zi: torch.Tensor | None, block: int = _TORCH_BLOCK) -> torch.Tensor:
    """The recursion in pure torch: FIR numerator, then a cascade of one-pole sections.

    ``B(z)/A(z)`` is applied as the FIR ``B`` followed by ``1/(1 - p_k z⁻¹)`` for every
    root ``p_k`` of ``A`` (a backward-stable eigenvalue computation, so the cascade is the
    given filter up to rounding of its coefficients). Each one-pole section is solved
    blockwise in parallel (:func:`_one_pole`); unlike powers of a companion matrix,
    scalar powers of a pole cannot cancel, so high-order, low-frequency filters stay as
    accurate as their coefficients allow. An initial state ``zi`` acts as the input
    sequence ``zi[0], ..., zi[n-1], 0, ...`` of ``1/A`` (TDF-II), added to the output.
    """
    n = a.shape[-1] - 1
    if n == 0:
        return b[:, :1] * x
    real = not (x.is_complex() or b.is_complex() or a.is_complex())
    ctype = torch.complex128 if x.dtype in (torch.float64, torch.complex128) else \
        torch.complex64
    poles = roots(a.to(ctype))
    v = _fir(x.to(ctype), b.to(ctype))
    if zi is not None:
        d = torch.nn.functional.pad(zi.to(ctype), (0, max(0, x.shape[-1] - n)))
        v = v + d[:, : x.shape[-1]]
    for k in range(n):
        v = _one_pole(v, poles[:, k], block)
    return v.real if real else v


def _torch_backward(g, x, y, b, a, needs):
    n = b.shape[-1] - 1
    n_t = g.shape[-1]
    ones = torch.zeros_like(a)
    ones[:, 0] = 1
    u = _torch_forward(g.flip(-1), ones, a.conj(), None).flip(-1)
    gx = gb = ga = gzi = None
    if needs[0]:
        up = torch.nn.functional.pad(u, (0, n))
        gx = sum(b[:, k : k + 1].conj() * up[:, k : k + n_t] for k in range(n + 1))
    if needs[1]:
        gb = torch.stack(
            [(x[:, : n_t - k].conj() * u[:, k:]).sum(-1) if k < n_t else u.new_zeros(u.shape[0])
             for k in range(n + 1)], dim=-1)
    if needs[2]:
        ga = torch.stack(
            [u.new_zeros(u.shape[0])] + [
                -(y[:, : n_t - j].conj() * u[:, j:]).sum(-1) if j < n_t else u.new_zeros(u.shape[0])
                for j in range(1, n + 1)], dim=-1)
    if needs[3]:
        gzi = torch.nn.functional.pad(u[:, :n], (0, max(0, n - n_t)))
    return [gx, gb, ga, gzi]


def _wide(t: torch.Tensor, complex_: bool) -> torch.Tensor:
    """``t`` in double precision (complex if ``complex_``).

    The torch path accumulates single-precision rows in double precision, as the numba
    kernel does, so both backends agree and high-order filters keep float32 accuracy."""
    return t.to(torch.complex128 if complex_ else torch.float64)


def _cast_grads(grads: list, x: torch.Tensor, b: torch.Tensor) -> tuple:
    """Gradients back to the dtypes of ``x`` (real part for a real signal) and ``b, a``."""
    gx, gb, ga, gzi = grads
    if gx is not None:
        gx = (gx.real if gx.is_complex() and not x.is_complex() else gx).to(x.dtype)
    return (gx, *(None if t is None else t.to(b.dtype) for t in (gb, ga, gzi)))


# --------------------------------------------------------------------------- autograd


def _resolve_backend(device: torch.device) -> str:
    if _backend == "auto":
        return "numba" if device.type == "cpu" else "torch"
    if _backend == "numba" and device.type != "cpu":
        raise RuntimeError("the numba IIR backend runs on CPU tensors only")
    return _backend


def _output_dtype(x: torch.Tensor, b: torch.Tensor) -> torch.dtype:
    """The precision of ``x``, complex if the signal or the coefficients are."""
    single = x.dtype in (torch.float32, torch.complex64)
    if x.is_complex() or b.is_complex():
        return torch.complex64 if single else torch.complex128
    return torch.float32 if single else torch.float64


class _LFilterRows(torch.autograd.Function):
    """Rows ``x (N, T)`` through ``b, a (N, n+1)`` with ``a[:, 0] == 1``.

    ``b``, ``a`` (and ``zi``) share one dtype, at least as precise as ``x``; ``x`` may be
    real while the coefficients are complex. The output has the precision of ``x``."""

    @staticmethod
    def forward(ctx, x, b, a, zi):
        backend = _resolve_backend(x.device)
        if backend == "numba":
            y = _numba_forward(x, b, a, zi)
        else:
            cplx = b.is_complex()
            y = _torch_forward(_wide(x, cplx), _wide(b, cplx), _wide(a, cplx),
                               None if zi is None else _wide(zi, cplx)).to(
                                   _output_dtype(x, b))
        ctx.backend = backend
        ctx.has_zi = zi is not None
        ctx.save_for_backward(x, b, a, y)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x, b, a, y = ctx.saved_tensors
        needs = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2],
                 ctx.has_zi and ctx.needs_input_grad[3]]
        g = g.contiguous()
        if ctx.backend == "numba":
            grads = _numba_backward(g, x, y, b, a, needs)
        else:
            cplx = b.is_complex()
            grads = _torch_backward(*(_wide(t, cplx) for t in (g, x, y, b, a)), needs)
        return _cast_grads(grads, x, b)


# --------------------------------------------------------------------------- public API


def _as_coefficients(c, name: str, like: torch.Tensor) -> torch.Tensor:
    if not isinstance(c, torch.Tensor):
        arr = np.asarray(c)
        if arr.dtype.kind not in "fciub":
            raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
        c = torch.as_tensor(arr, device=like.device)
        if not (c.is_floating_point() or c.is_complex()):
            c = c.to(torch.float64)
    elif not (c.is_floating_point() or c.is_complex()):
        raise TypeError(f"{name} must be a floating-point or complex tensor, got {c.dtype}")
    if c.ndim == 0:
        c = c.reshape(1)
    if c.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one coefficient along its last axis")
    if c.device != like.device:
        raise ValueError(f"{name} is on {c.device} but x is on {like.device}")
    if c.device.type == "cpu" and not bool(torch.isfinite(c).all()):
        raise ValueError(f"{name} contains NaN or Inf coefficients")
    return c


def _coefficient_dtype(x: torch.Tensor, *coeffs: torch.Tensor) -> torch.dtype:
    """Complex if any operand is; double if ``x`` or any coefficient is double.

    Coefficients are never rounded to single precision: the kernels accumulate in
    double precision anyway, and ill-conditioned filters (high order, low frequency)
    lose most of their accuracy when their coefficients are rounded to float32."""
    complex_ = x.is_complex() or any(c.is_complex() for c in coeffs)
    double = any(t.dtype in (torch.float64, torch.complex128) for t in (x, *coeffs))
    if complex_:
        return torch.complex128 if double else torch.complex64
    return torch.float64 if double else torch.float32


def leading_shape(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Size:
    """The broadcast leading (row) shape of a signal and its coefficients, or a
    ValueError naming the three shapes."""
    try:
        return torch.broadcast_shapes(x.shape[:-1], b.shape[:-1], a.shape[:-1])
    except RuntimeError as err:
        raise ValueError(
            f"leading axes of x {tuple(x.shape[:-1])}, b {tuple(b.shape[:-1])} and "
            f"a {tuple(a.shape[:-1])} do not broadcast"
        ) from err


def lfilter(x: torch.Tensor, b, a, zi: torch.Tensor | None = None) -> torch.Tensor:
    """Filter ``x`` along its last axis with the rational transfer function ``b / a``.

    Computes what MATLAB's ``filter(b, a, x)`` and ``scipy.signal.lfilter(b, a, x)``
    compute (transposed direct form II), batched over rows and differentiable.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal, real or complex floating point. Time is the last axis.
    b : Tensor or array_like, shape (..., nb)
        Numerator coefficients. Leading axes broadcast against the leading axes of
        ``x`` (one filter per row is one call).
    a : Tensor or array_like, shape (..., na)
        Denominator coefficients; ``a[..., 0]`` must be non-zero (the filter is
        normalised by it, differentiably).
    zi : Tensor, shape (..., max(na, nb) - 1), optional
        Initial state in SciPy's ``lfilter`` convention (transposed direct form II
        state of the normalised filter). Default: zero initial state, like MATLAB.

    Returns
    -------
    Tensor, shape (broadcast leading shape, T)
        Filtered signal, in the precision of ``x`` (complex if any operand is).

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point/complex tensor or coefficients are not numeric.
    ValueError
        On non-broadcastable shapes, ``a[..., 0] == 0``, NaN/Inf coefficients, or a
        wrong ``zi`` shape.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(
            f"x must be a floating-point or complex tensor, got {x.dtype}; "
            "convert integer audio explicitly, e.g. x.to(torch.float32) / 32768"
        )
    if x.ndim == 0:
        raise ValueError("x must have at least one (time) axis, got a 0-d tensor")
    b = _as_coefficients(b, "b", x)
    a = _as_coefficients(a, "a", x)
    if a.device.type == "cpu" and bool((a[..., 0] == 0).any()):
        raise ValueError("a[..., 0] must be non-zero (the filter is normalised by it)")
    dtype = _coefficient_dtype(x, b, a)
    b, a = b.to(dtype), a.to(dtype)
    lead = leading_shape(x, b, a)
    n_t = x.shape[-1]
    order = max(a.shape[-1], b.shape[-1]) - 1
    a0 = a[..., :1]
    b = torch.nn.functional.pad(b / a0, (0, order + 1 - b.shape[-1]))
    a = torch.nn.functional.pad(a / a0, (0, order + 1 - a.shape[-1]))
    if zi is not None:
        if not isinstance(zi, torch.Tensor):
            zi = torch.as_tensor(np.asarray(zi), device=x.device)
        if zi.shape[-1] != order:
            raise ValueError(f"zi must have {order} states along its last axis, got shape "
                             f"{tuple(zi.shape)}")
        zi = zi.to(dtype)
        try:
            lead = torch.broadcast_shapes(lead, zi.shape[:-1])
        except RuntimeError as err:
            raise ValueError(f"leading axes of zi {tuple(zi.shape[:-1])} do not broadcast "
                             f"with {tuple(lead)}") from err
    n_rows = math.prod(lead)
    if n_t == 0 or n_rows == 0:
        return x.new_zeros(*lead, n_t)
    xr = x.expand(*lead, n_t).reshape(n_rows, n_t)
    br = b.expand(*lead, order + 1).reshape(n_rows, order + 1)
    ar = a.expand(*lead, order + 1).reshape(n_rows, order + 1)
    zr = None if zi is None else zi.expand(*lead, order).reshape(n_rows, order)
    if order == 0:
        return (br * xr).reshape(*lead, n_t)
    y = _LFilterRows.apply(xr, br, ar, zr)
    return y.reshape(*lead, n_t)


def sosfilt(x: torch.Tensor, sos, zi: torch.Tensor | None = None) -> torch.Tensor:
    """Filter ``x`` through a cascade of second-order sections (``scipy.signal.sosfilt``).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal.
    sos : Tensor or array_like, shape (..., n_sections, 6)
        Sections ``[b0, b1, b2, a0, a1, a2]``; leading axes broadcast against ``x``.
    zi : Tensor, shape (..., n_sections, 2), optional
        Initial state of each section (SciPy convention). Default zero.

    Returns
    -------
    Tensor, shape (broadcast leading shape, T)
    """
    sos = _as_coefficients(sos, "sos", x) if isinstance(x, torch.Tensor) else sos
    if sos.ndim < 2 or sos.shape[-1] != 6:
        raise ValueError(f"sos must have shape (..., n_sections, 6), got {tuple(sos.shape)}")
    if zi is not None and (zi.ndim < 2 or zi.shape[-2:] != (sos.shape[-2], 2)):
        raise ValueError(f"zi must have shape (..., {sos.shape[-2]}, 2), got {tuple(zi.shape)}")
    y = x
    for k in range(sos.shape[-2]):
        section = sos[..., k, :]
        y = lfilter(y, section[..., :3], section[..., 3:],
                    None if zi is None else zi[..., k, :])
    return y


# --------------------------------------------------------------------------- fused envelope


class _LFilterEnvelope(torch.autograd.Function):
    """Rows ``x[src[r]]`` (``x (C, T)`` real) through filter ``r % R`` of ``b, a (R, n+1)``
    (``a[:, 0] == 1``), output ``Re(gain·y)`` or ``factor·|gain·y|`` in ``out_dtype``
    (numba only). The backward recomputes the complex ``y`` (it is never stored)."""

    @staticmethod
    def forward(ctx, x, b, a, src, keep_real, gain, factor, out_dtype):
        acc = _acc_dtype(b.dtype)
        y = np.empty((src.numel(), x.shape[-1]), dtype=_numpy_dtype(out_dtype))
        _nb_forward_envelope(_np(x), _np(src), _np(b, acc), _np(a, acc), _np(keep_real),
                             float(factor), _np(gain, np.dtype(np.float64)), y)
        ctx.factor = float(factor)
        ctx.save_for_backward(x, b, a, src, keep_real, gain)
        return torch.from_numpy(y)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x, b, a, src, keep_real, gain = ctx.saved_tensors
        acc = _acc_dtype(b.dtype)
        need_b, need_a = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        gx = np.zeros(tuple(x.shape), dtype=np.float64)
        shape = (src.numel(), b.shape[1])
        gb = np.zeros(shape if need_b else (1, 1), dtype=acc)
        ga = np.zeros(shape if need_a else (1, 1), dtype=acc)
        args = (_np(g), _np(x))
        coefficients = (b.shape[0], _np(b, acc), _np(a, acc), _np(keep_real), ctx.factor,
                        _np(gain, np.dtype(np.float64)))
        if not (need_b or need_a):
            # first-order rows four at a time, the others row by row
            quads, qstarts, rows, starts = _envelope_backward_plan(
                coefficients[1], coefficients[2], _np(src), x.shape[0])
            if quads.size:
                _nb_backward_envelope_quads(*args, quads, qstarts, *coefficients, gx)
        else:
            rows = _np(torch.argsort(src, stable=True))
            starts = np.concatenate([[0], np.cumsum(np.bincount(_np(src), minlength=x.shape[0]))])
        if rows.size:
            _nb_backward_envelope(*args, rows, starts, *coefficients, need_b, need_a, gx, gb,
                                  ga)
        reps = src.numel() // b.shape[0]
        gb, ga = (torch.from_numpy(t).reshape(reps, *b.shape).sum(0) if need else None
                  for t, need in ((gb, need_b), (ga, need_a)))
        gx = torch.from_numpy(gx) if ctx.needs_input_grad[0] else None
        gx, gb, ga, _ = _cast_grads([gx, gb, ga, None], x, b)
        return gx, gb, ga, None, None, None, None, None


def lfilter_envelope(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor, index: torch.Tensor,
                     keep_real: torch.Tensor, factor: float = 1.0,
                     gain: torch.Tensor | None = None,
                     dtype: torch.dtype | None = None) -> torch.Tensor:
    """Filter bank on gathered channels with the real-part/magnitude readout fused in.

    ``out[..., r, :] = Re(w)`` if ``keep_real[r]`` else ``factor·|w|``, with
    ``w = gain[r] · lfilter(x[..., index[r], :], b[r], a[r])``: what a modulation
    filterbank computes (complex band-passes of real envelopes, then AMT's
    ``phase_insens`` rule), exactly as that composition of :func:`lfilter` and torch
    operations computes it. On CPU (numba) it is one pass that reads the channels in
    place and writes the real output directly: no ``x[..., index, :]`` copy and no
    complex output are materialised (the backward recomputes them, row by row memory
    of one pass). Elsewhere it is that composition.

    Parameters
    ----------
    x : Tensor, shape (..., C, T)
        Real signals (channels along axis -2).
    b, a : Tensor, shape (R, nb), (R, na)
        One filter per output row (real or complex), ``a[:, 0] != 0``.
    index : LongTensor, shape (R,)
        Channel of ``x`` read by each row.
    keep_real : BoolTensor, shape (R,)
        Rows whose output is the real part; the others give ``factor·|.|``.
    factor : float
        Factor on the magnitude rows.
    gain : Tensor, shape (R,), optional
        Real gain applied to each row before the readout (default 1).
    dtype : torch.dtype, optional
        Output dtype (default: that of ``x``). The recursion runs in double precision
        and the output is rounded once.

    Returns
    -------
    Tensor, shape (..., R, T)
    """
    dtype = x.dtype if dtype is None else dtype
    n_rows, n_t = index.numel(), x.shape[-1]
    cdtype = _coefficient_dtype(x, b, a)
    b, a = b.to(cdtype), a.to(cdtype)
    order = max(a.shape[-1], b.shape[-1]) - 1
    a0 = a[..., :1]
    b = torch.nn.functional.pad(b / a0, (0, order + 1 - b.shape[-1]))
    a = torch.nn.functional.pad(a / a0, (0, order + 1 - a.shape[-1]))
    gain = torch.ones(n_rows, dtype=torch.float64, device=x.device) if gain is None else gain
    if _resolve_backend(x.device) != "numba" or order == 0:
        y = lfilter(x[..., index, :], b, a) * gain[:, None]
        return torch.where(keep_real[:, None], y.real, factor * y.abs()).to(dtype)
    lead = x.shape[:-2]
    n_ch = x.shape[-2]
    batch = math.prod(lead)
    xr = x.reshape(batch * n_ch, n_t).to(torch.float64 if cdtype in (
        torch.float64, torch.complex128) else x.dtype)
    src = (torch.arange(batch)[:, None] * n_ch + index.cpu()[None, :]).reshape(-1)
    y = _LFilterEnvelope.apply(xr, b, a, src, keep_real.cpu(), gain.detach(), factor, dtype)
    return y.reshape(*lead, n_rows, n_t)
