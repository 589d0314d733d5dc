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
    _nb_backward,
    _nb_backward_envelope,
    _nb_backward_envelope_quads,
    _nb_backward_quads,
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
    (numba only). The backward recomputes the complex ``y`` (it is never stored)."""

    @staticmethod
    def forward(ctx, x, b, a, src, keep_real, gain, factor, out_dtype):
        acc = _acc_dtype(b.dtype)
        y = np.empty((src.numel(), x.shape[-1]), dtype=_numpy_dtype(out_dtype))
        run_kernel("iir.envelope", _nb_forward_envelope, _np(x), _np(src), _np(b, acc),
                   _np(a, acc), _np(keep_real), float(factor), _np(gain, np.dtype(np.float64)),
                   y)
        ctx.factor = float(factor)
        ctx.out_dtype = out_dtype
        ctx.save_for_backward(x, b, a, src, keep_real, gain)
        return torch.from_numpy(y)

    @staticmethod
    def backward(ctx, g):
        x, b, a, src, keep_real, gain = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate the composition
            return _envelope_graph_backward(ctx, g, x, b, a, src, keep_real, gain)
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
                run_kernel("iir.envelope_backward", _nb_backward_envelope_quads, *args, quads,
                           qstarts, *coefficients, gx)
        else:
            rows = _np(torch.argsort(src, stable=True))
            starts = np.concatenate([[0], np.cumsum(np.bincount(_np(src), minlength=x.shape[0]))])
        if rows.size:
            run_kernel("iir.envelope_backward", _nb_backward_envelope, *args, rows, starts,
                       *coefficients, need_b, need_a, gx, gb, ga)
        reps = src.numel() // b.shape[0]
        gb, ga = (torch.from_numpy(t).reshape(reps, *b.shape).sum(0) if need else None
                  for t, need in ((gb, need_b), (ga, need_a)))
        gx = torch.from_numpy(gx) if ctx.needs_input_grad[0] else None
        gx, gb, ga, _ = _cast_grads([gx, gb, ga, None], x, b)
        return gx, gb, ga, None, None, None, None, None


def _envelope_graph_backward(ctx, g, x, b, a, src, keep_real, gain) -> tuple:
    """The backward of :class:`_LFilterEnvelope` as differentiable operations (for
    ``create_graph=True``): the gradient of the unfused composition (row gather,
    :class:`_LFilterRows`, gain, real part or ``factor·|.|``), which computes the same
    function."""
    reps = src.numel() // b.shape[0]
    y = _LFilterRows.apply(x[src], b.repeat(reps, 1), a.repeat(reps, 1), None)
    y = y * gain.repeat(reps)[:, None]
    keep = keep_real.repeat(reps)[:, None]
    out = torch.where(keep, y.real, ctx.factor * y.abs()).to(ctx.out_dtype)
    inputs = [t for t, need in zip((x, b, a), ctx.needs_input_grad[:3], strict=True) if need]
    grads = iter(torch.autograd.grad(out, inputs, g, create_graph=True, allow_unused=True))
    gx, gb, ga = (next(grads) if need else None for need in ctx.needs_input_grad[:3])
    gx, gb, ga = (torch.zeros_like(t) if need and grad is None else grad
                  for grad, t, need in zip((gx, gb, ga), (x, b, a), ctx.needs_input_grad[:3],
                                           strict=True))
    return gx, gb, ga, None, None, None, None, None
