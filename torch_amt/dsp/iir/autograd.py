"""The autograd functions of :func:`~torch_amt.dsp.iir.lfilter` and
:func:`~torch_amt.dsp.iir.lfilter_envelope`, the host side of their numba kernels
(tensor/array conversion, output and gradient buffers) and their dtype helpers.

Higher derivatives are exact. A first-order backward (``create_graph=False``, grad mode
off inside the backward) runs the hand-written adjoint kernels. When a graph of the
backward is requested (``create_graph=True``: ``torch.autograd.functional.hessian``,
``hvp``, gradient penalties), the same adjoint is computed from differentiable
operations instead: the adjoint of a filter is again a filter (``u = A⁻ᴴ g`` is
:func:`_LFilterRows` run backwards in time with the conjugate denominator), followed by
the correlations of :func:`~torch_amt.dsp.iir.torch_kernels._adjoint_gradients`; the
fused envelope readout differentiates its composition (:func:`_LFilterRows`, gain,
real part / magnitude). So derivatives of any order go through the same kernels.
"""

from __future__ import annotations

import numpy as np
import torch

from torch_amt.dsp.iir import triton_kernels
from torch_amt.dsp.iir.backend import resolve_backend
from torch_amt.dsp.iir.numba_adjoints import (
    _envelope_backward_plan,
    _envelope_scratch,
    _nb_backward,
    _nb_backward_envelope,
    _nb_backward_envelope_quads,
    _nb_backward_quads,
    _nb_rows_into_sources,
)
from torch_amt.dsp.iir.numba_kernels import _nb_forward, _nb_forward_envelope
from torch_amt.dsp.iir.torch_kernels import _torch_backward, reversed_adjoint, torch_forward
from torch_amt.dsp.profiling import run_kernel

# --------------------------------------------------------------------------- dtypes


def _output_dtype(x: torch.Tensor, b: torch.Tensor) -> torch.dtype:
    """The precision of ``x``, complex if the signal or the coefficients are."""
    single = x.dtype in (torch.float32, torch.complex64)
    if x.is_complex() or b.is_complex():
        return torch.complex64 if single else torch.complex128
    return torch.float32 if single else torch.float64


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


def _acc_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(np.complex128) if dtype.is_complex else np.dtype(np.float64)


def _np(t: torch.Tensor, dtype: np.dtype | None = None) -> np.ndarray:
    arr = t.detach().resolve_conj().contiguous().numpy()
    return arr if dtype is None else np.ascontiguousarray(arr, dtype=dtype)


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return torch.empty(0, dtype=dtype).numpy().dtype


# --------------------------------------------------------------------------- numba host side


def _numba_forward(x, b, a, zi):
    acc = _acc_dtype(b.dtype)
    n = b.shape[-1] - 1
    zi_np = np.zeros((x.shape[0], n), dtype=acc) if zi is None else _np(zi, acc)
    y = np.empty(tuple(x.shape), dtype=_numpy_dtype(_output_dtype(x, b)))
    run_kernel("iir.forward", _nb_forward, _np(x), _np(b, acc), _np(a, acc), zi_np, y)
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
        run_kernel("iir.backward", _nb_backward_quads, _np(g), _np(b, acc), _np(a, acc),
                   real_gx, gx, gx_real)
    else:
        run_kernel("iir.backward", _nb_backward, _np(g), _np(x), _np(y), _np(b, acc),
                   _np(a, acc), needs[0], needs[1], needs[2], needs[3], real_gx, gx, gx_real,
                   gb, ga, gzi)
    return [torch.from_numpy(arr) if flag else None
            for flag, arr in zip(needs, (gx_real if real_gx else gx, gb, ga, gzi[:, :n]),
                                 strict=True)]


# --------------------------------------------------------------------------- autograd


def _graph_backward(g, x, y, b, a, needs) -> list:
    """The adjoint of :class:`_LFilterRows` as differentiable operations (for
    ``create_graph=True``): ``u = A⁻ᴴ g`` by :class:`_LFilterRows` itself on the reversed
    gradient (:func:`~torch_amt.dsp.iir.torch_kernels.reversed_adjoint`), all in double
    precision as the first-order kernels accumulate."""
    cplx = b.is_complex()
    g, x, y, b, a = (_wide(t, cplx) for t in (g, x, y, b, a))
    return reversed_adjoint(lambda v, num, den: _LFilterRows.apply(v, num, den, None),
                            g, x, y, b, a, needs)


class _LFilterRows(torch.autograd.Function):
    """Rows ``x (N, T)`` through ``b, a (N, n+1)`` with ``a[:, 0] == 1``.

    ``b``, ``a`` (and ``zi``) share one dtype, at least as precise as ``x``; ``x`` may be
    real while the coefficients are complex. The output has the precision of ``x``."""

    @staticmethod
    def forward(ctx, x, b, a, zi):
        backend = resolve_backend(x.device)
        if backend == "numba":
            y = _numba_forward(x, b, a, zi)
        elif x.device.type == "cuda" and triton_kernels.AVAILABLE:
            backend = "triton"  # one kernel launch, the time loop inside
            y = triton_kernels.lfilter_forward(x, b, a, zi).to(_output_dtype(x, b))
        else:
            cplx = b.is_complex()
            y = torch_forward(_wide(x, x.is_complex()), _wide(b, cplx), _wide(a, cplx),
                               None if zi is None else _wide(zi, cplx)).to(
                                   _output_dtype(x, b))
        ctx.backend = backend
        ctx.has_zi = zi is not None
        ctx.save_for_backward(x, b, a, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, b, a, y = ctx.saved_tensors
        needs = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2],
                 ctx.has_zi and ctx.needs_input_grad[3]]
        if torch.is_grad_enabled():  # create_graph=True: a differentiable adjoint
            return _cast_grads(_graph_backward(g, x, y, b, a, needs), x, b)
        g = g.contiguous()
        if ctx.backend == "numba":
            grads = _numba_backward(g, x, y, b, a, needs)
        elif ctx.backend == "triton":
            grads = triton_kernels.lfilter_backward(g, x, y, b, a, needs)
        else:
            cplx = b.is_complex()
            grads = _torch_backward(*(_wide(t, cplx) for t in (g, x, y, b, a)), needs)
        return _cast_grads(grads, x, b)


class _LFilterEnvelope(torch.autograd.Function):
    """Rows ``x[src[r]]`` (``x (C, T)`` real) through filter ``r % R`` of ``b, a (R, n+1)``
    (``a[:, 0] == 1``), output ``Re(gain·y)`` or ``factor·|gain·y|`` in ``out_dtype``
    (numba only). The backward recomputes the complex ``y`` (it is never stored).

    The filters come in consecutive ``pieces`` (row counts), one output per piece,
    shape ``(*lead, piece, T)`` (``lead`` multiplies to the repetitions ``len(src) / R``).
    Consecutive pieces are filtered in ``groups`` (lists of pieces), one kernel call and
    one buffer each; a piece is a view of its group's buffer (as ``torch.split`` gives).
    The backward assembles one group's gradient at a time (pieces without a gradient
    are zeros) and runs the adjoint on it into one ``dL/dx``: no gradient of the whole
    output is ever assembled (for the modulation filterbank at B = 8, a copy of 390 MB
    that the C allocator maps and faults in afresh).

    ``pre`` (``(pb, pa)``, each ``(1, m+1)``, ``pa[0, 0] == 1``, or None): a real filter
    run on the rows of ``x`` first, as :class:`_LFilterRows` would run it (into
    ``pre_dtype``). It is run group by group on the rows that group reads, into a
    buffer of that group's size; the filtered signal is neither kept nor stored whole,
    and the backward recomputes it per group (for the modulation filterbank's 150-Hz
    low-pass at B = 8 this saves two 85-MB buffers in the forward and three in the
    backward, each mapped and zeroed afresh by the C allocator)."""

    @staticmethod
    def forward(ctx, x, b, a, src, keep_real, gain, factor, out_dtype, lead, groups, pre,
                pre_dtype):
        acc = _acc_dtype(b.dtype)
        xs, ks, gs = _np(x), _np(keep_real), _np(gain, np.dtype(np.float64))
        bs, as_ = _np(b, acc), _np(a, acc)
        srcs = _np(src).reshape(-1, b.shape[0])
        pres = None if pre is None else (*(_np(c, np.dtype(np.float64)) for c in pre),
                                          _numpy_dtype(pre_dtype))
        n_t = x.shape[-1]
        outputs, lo = [], 0
        for group in groups:
            hi = lo + sum(group)
            y = np.empty((srcs.shape[0] * (hi - lo), n_t), dtype=_numpy_dtype(out_dtype))
            xg, sg, _ = _group_source(xs, srcs[:, lo:hi], pres)
            run_kernel("iir.envelope", _nb_forward_envelope, xg, sg, bs[lo:hi], as_[lo:hi],
                       ks[lo:hi], float(factor), gs[lo:hi], y)
            del xg
            outputs += torch.split(torch.from_numpy(y).reshape(*lead, hi - lo, n_t), group,
                                   dim=-2)
            lo = hi
        ctx.factor = float(factor)
        ctx.out_dtype = out_dtype
        ctx.groups = groups
        ctx.pre = pres
        ctx.pre_dtype = pre_dtype
        ctx.save_for_backward(x, b, a, src, keep_real, gain)
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        x, b, a, src, keep_real, gain = ctx.saved_tensors
        reps = src.numel() // b.shape[0]
        n_t = x.shape[-1]
        if torch.is_grad_enabled():  # create_graph=True: differentiate the composition
            pieces = [n for group in ctx.groups for n in group]
            g = torch.cat([torch.zeros((reps, n, n_t), dtype=ctx.out_dtype) if g is None
                           else g.reshape(reps, n, n_t)
                           for g, n in zip(grads, pieces, strict=True)], dim=1)
            return _envelope_graph_backward(ctx, g.reshape(src.numel(), n_t), x, b, a, src,
                                            keep_real, gain)
        acc = _acc_dtype(b.dtype)
        need_b, need_a = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        xs, bs, as_ = _np(x), _np(b, acc), _np(a, acc)
        ks, gs = _np(keep_real), _np(gain, np.dtype(np.float64))
        srcs = _np(src).reshape(reps, b.shape[0])
        pre = ctx.pre
        # with a prefilter each group's dL/dx goes straight into the gradient of x, in
        # x's dtype, when no row of x feeds two groups (one rounding, as the cast of a
        # double-precision whole would give); otherwise it is summed in double first
        direct = pre is not None and _groups_disjoint(srcs, ctx.groups)
        gx = np.zeros(tuple(x.shape), dtype=xs.dtype if direct else np.float64)
        gb = np.zeros(tuple(b.shape) if need_b else (1, 1), dtype=acc)
        ga = np.zeros(tuple(a.shape) if need_a else (1, 1), dtype=acc)
        # the threads' buffers for the recomputed outputs, shared by the groups
        scratch = (_envelope_scratch(4, n_t, bs), _envelope_scratch(1, n_t, bs))
        first = lo = 0
        for group in ctx.groups:
            hi = lo + sum(group)
            if any(g is not None for g in grads[first:first + len(group)]):
                g = _group_gradient(grads[first:first + len(group)], group, reps, n_t,
                                    ctx.out_dtype)
                xg, sg, used = _group_source(xs, srcs[:, lo:hi], pre)
                gxg = gx if pre is None else np.zeros((used.size, n_t), dtype=np.float64)
                _envelope_group_backward(
                    g, xg, sg, bs[lo:hi], as_[lo:hi], ks[lo:hi], ctx.factor, gs[lo:hi],
                    need_b, need_a, gxg, gb[lo:hi] if need_b else gb,
                    ga[lo:hi] if need_a else ga, scratch)
                del g, xg  # freed before the next group's: the same memory serves it
                if pre is not None:
                    gxg = _rows_input_adjoint(gxg, pre[0], pre[1])
                    if direct:
                        gx[used] = gxg
                    else:
                        gx[used] += gxg
            first += len(group)
            lo = hi
        gx = torch.from_numpy(gx) if ctx.needs_input_grad[0] else None
        gb, ga = (torch.from_numpy(t) if need else None
                  for t, need in ((gb, need_b), (ga, need_a)))
        gx, gb, ga, _ = _cast_grads([gx, gb, ga, None], x, b)
        return gx, gb, ga, None, None, None, None, None, None, None, None, None


def _group_source(x: np.ndarray, srcs: np.ndarray, pre) -> tuple:
    """The signal rows one group of :class:`_LFilterEnvelope` reads: ``(x, src, used)``.

    Without a prefilter, ``x`` itself and the group's ``src`` (``used`` None). With one,
    the rows ``used`` (sorted, unique) of ``x`` that the group reads, run through the
    prefilter into a buffer of their own, and ``src`` renumbered into that buffer."""
    src = np.ascontiguousarray(srcs).reshape(-1)
    if pre is None:
        return x, src, None
    pb, pa, dtype = pre
    used, local = np.unique(src, return_inverse=True)
    # the rows in the prefilter's output dtype (exact): _LFilterRows' kernel call on them
    rows = torch.from_numpy(x[used].astype(dtype, copy=False))
    n = used.size
    xp = _numba_forward(rows, torch.from_numpy(pb).expand(n, -1),
                        torch.from_numpy(pa).expand(n, -1), None).numpy()
    return xp, local.astype(np.int64).reshape(-1), used


def _groups_disjoint(srcs: np.ndarray, groups: list[list[int]]) -> bool:
    """Whether no source row is read by two groups (row counts ``groups``)."""
    lo, seen = 0, 0
    for group in groups:
        hi = lo + sum(group)
        seen += np.unique(srcs[:, lo:hi]).size
        lo = hi
    return seen == np.unique(srcs).size


def _rows_input_adjoint(g: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``dL/dx`` of one real filter ``b, a (1, m+1)`` (``a[0, 0] == 1``, zero initial
    state) run on every row, for the output gradient ``g (N, T)`` (float64): the input
    adjoint of :class:`_LFilterRows` (:func:`_numba_backward`, which reads the signal and
    output only for coefficient gradients: ``g`` stands in for them)."""
    gt = torch.from_numpy(g)
    n = g.shape[0]
    return _numba_backward(gt, gt, gt, torch.from_numpy(b).expand(n, -1),
                           torch.from_numpy(a).expand(n, -1), [True, False, False, False]
                           )[0].numpy()


def _group_gradient(grads, group: list[int], reps: int, n_t: int,
                    dtype: torch.dtype) -> np.ndarray:
    """The gradient of one group's rows as an array ``(reps·rows, T)`` for the kernels.

    A group of one piece passes its gradient as it is, in any strides (an expanded
    gradient, as ``out.sum()`` gives, is read in place); several pieces are copied into
    one array by NumPy, in the calling thread. A torch copy would wake torch's OpenMP
    threads, whose spinning after the copy then competes with the kernel's threads for
    the cores (measured: the modulation bank's adjoint at batch 8 one third slower)."""
    if len(group) == 1 and grads[0] is not None:
        return grads[0].detach().reshape(reps * group[0], n_t).numpy()
    out = np.empty((reps, sum(group), n_t), dtype=_numpy_dtype(dtype))
    start = 0
    for g, n in zip(grads, group, strict=True):
        if g is None:
            out[:, start:start + n] = 0
        else:
            np.copyto(out[:, start:start + n], g.detach().reshape(reps, n, n_t).numpy())
        start += n
    return out.reshape(reps * sum(group), n_t)


def _envelope_group_backward(g, x, src, b, a, keep_real, factor, gain, need_b, need_a, gx,
                             gb, ga, scratch) -> None:
    """The envelope adjoint of one group of filters ``b, a (R, n+1)`` on its rows
    (``g (reps·R, T)``, ``src (reps·R,)``): ``dL/dx`` accumulated into ``gx``, the
    coefficient gradients summed over the repetitions into ``gb``, ``ga (R, n+1)``;
    ``scratch``: the threads' buffers of the two kernels (:func:`_envelope_scratch`)."""
    n_rows = src.size
    coefficients = (b.shape[0], b, a, keep_real, factor, gain)
    if not (need_b or need_a) and keep_real.all() and b.shape[1] - 1 in (1, 2, 4):
        _linear_envelope_backward(g, src, b, a, gain, gx)
        return
    if not (need_b or need_a):
        # first-order rows four at a time, the others row by row
        quads, qstarts, rows, starts = _envelope_backward_plan(b, a, src, x.shape[0])
        if quads.size:
            run_kernel("iir.envelope_backward", _nb_backward_envelope_quads, g, x, quads,
                       qstarts, *coefficients, gx, scratch[0])
        rb = ra = np.zeros((1, 1), dtype=b.dtype)
    else:
        rows = np.argsort(src, kind="stable").astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=x.shape[0]))])
        shape = (n_rows, b.shape[1])
        rb = np.zeros(shape if need_b else (1, 1), dtype=b.dtype)
        ra = np.zeros(shape if need_a else (1, 1), dtype=b.dtype)
    if rows.size:
        run_kernel("iir.envelope_backward", _nb_backward_envelope, g, x, rows,
                   starts.astype(np.int64), *coefficients, need_b, need_a, gx, rb, ra,
                   scratch[1])
    reps = n_rows // b.shape[0]
    if need_b:
        gb += rb.reshape(reps, *b.shape).sum(0)
    if need_a:
        ga += ra.reshape(reps, *a.shape).sum(0)


ROW_ADJOINT_BYTES = 2**24
"""Most bytes of the per-row input gradients :func:`_linear_envelope_backward` holds at
once (16 MiB, below the C allocator's 32-MiB ``mmap`` threshold: one buffer, reused)."""


def _linear_envelope_backward(g, src, b, a, gain, gx) -> None:
    """The envelope adjoint of rows that all read out ``Re`` (a linear map of ``x``, as
    the gammatone bank's ``2·Re``), with no coefficient gradient: nothing of the forward
    is recomputed. Each row's input gradient is the adjoint of :class:`_LFilterRows`
    (the four-row interleaved kernel, parallel over rows: a bank of many filters on one
    source keeps every thread busy), ``Re`` of it times the row's gain is then added
    into ``gx`` at its source. Rows in chunks of at most :data:`ROW_ADJOINT_BYTES`."""
    n_rows, n_t = g.shape
    n_filters = b.shape[0]
    step = max(4, ROW_ADJOINT_BYTES // max(n_t * g.itemsize, 1) // 4 * 4)
    part = np.empty((min(step, n_rows), n_t), dtype=g.dtype)
    unused = np.empty((1, 1), dtype=b.dtype)
    for lo in range(0, n_rows, step):
        hi = min(lo + step, n_rows)
        filters = np.arange(lo, hi) % n_filters
        run_kernel("iir.envelope_backward", _nb_backward_quads, g[lo:hi], b[filters],
                   a[filters], True, unused, part[:hi - lo])
        rows = np.argsort(src[lo:hi], kind="stable").astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(np.bincount(src[lo:hi],
                                                            minlength=gx.shape[0]))])
        run_kernel("iir.envelope_backward", _nb_rows_into_sources, part, rows,
                   starts.astype(np.int64), np.ascontiguousarray(gain[filters]), gx)


def _envelope_graph_backward(ctx, g, x, b, a, src, keep_real, gain) -> tuple:
    """The backward of :class:`_LFilterEnvelope` as differentiable operations (for
    ``create_graph=True``): the gradient of the unfused composition (prefilter and row
    gather, :class:`_LFilterRows`, gain, real part or ``factor·|.|``), which computes the
    same function."""
    reps = src.numel() // b.shape[0]
    source = x
    if ctx.pre is not None:
        pb, pa, _ = ctx.pre
        n_rows = x.shape[0]
        source = _LFilterRows.apply(x.to(ctx.pre_dtype),
                                    torch.from_numpy(pb).expand(n_rows, -1),
                                    torch.from_numpy(pa).expand(n_rows, -1), None)
    y = _LFilterRows.apply(source[src], b.repeat(reps, 1), a.repeat(reps, 1), None)
    y = y * gain.repeat(reps)[:, None]
    keep = keep_real.repeat(reps)[:, None]
    out = torch.where(keep, y.real, ctx.factor * y.abs()).to(ctx.out_dtype)
    inputs = [t for t, need in zip((x, b, a), ctx.needs_input_grad[:3], strict=True) if need]
    grads = iter(torch.autograd.grad(out, inputs, g, create_graph=True, allow_unused=True))
    gx, gb, ga = (next(grads) if need else None for need in ctx.needs_input_grad[:3])
    gx, gb, ga = (torch.zeros_like(t) if need and grad is None else grad
                  for grad, t, need in zip((gx, gb, ga), (x, b, a), ctx.needs_input_grad[:3],
                                           strict=True))
    return gx, gb, ga, None, None, None, None, None, None, None, None, None
