"""The public functions of :mod:`torch_amt.dsp.iir`: argument checks, coefficient
normalisation and broadcasting, then one call of an autograd function of
:mod:`~torch_amt.dsp.iir.autograd` on rows ``(N, T)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from torch_amt import _checks
from torch_amt.dsp._inputs import check_signal_tensor
from torch_amt.dsp.iir.autograd import _LFilterEnvelope, _LFilterRows, _output_dtype
from torch_amt.dsp.iir.backend import resolve_backend
from torch_amt.dsp.iir.torch_kernels import _CPU_CHUNK

__all__ = ["leading_shape", "lfilter", "lfilter_envelope", "sosfilt"]


def _as_coefficients(c, name: str, like: torch.Tensor) -> torch.Tensor:
    if not isinstance(c, torch.Tensor):
        arr = _checks._as_array(c, name)
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
        If ``x`` is not a float32, float64, complex64 or complex128 tensor (half
        precision, integer and boolean tensors are refused), or coefficients are not
        numeric.
    ValueError
        On a meta tensor ``x``, non-broadcastable shapes, ``a[..., 0] == 0``, NaN/Inf
        coefficients, or a wrong ``zi`` shape.
    """
    check_signal_tensor(x)
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
        # computed in the coefficients' precision, rounded once to the output dtype of the
        # recursion (that of x, complex if any operand is)
        return (br * xr).to(_output_dtype(x, br)).reshape(*lead, n_t)
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

    Raises
    ------
    TypeError, ValueError
        As :func:`lfilter`, and on a malformed ``sos`` or ``zi``.
    """
    check_signal_tensor(x)
    sos = _as_coefficients(sos, "sos", x)
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


def lfilter_envelope(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor, index: torch.Tensor,
                     keep_real: torch.Tensor, factor: float = 1.0,
                     gain: torch.Tensor | None = None,
                     dtype: torch.dtype | None = None,
                     split: Sequence[int] | None = None,
                     prefilter: tuple[torch.Tensor, torch.Tensor] | None = None,
                     ) -> torch.Tensor | list[torch.Tensor]:
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
    split : sequence of int, optional
        Row counts (positive, summing to ``R``): return the output cut into these pieces
        along axis -2, as ``torch.split`` would, but without one tensor of all rows in
        between. On the numba backend consecutive pieces are filtered in groups of at
        most :data:`ENVELOPE_GROUP_BYTES` of output, each its own tensor, and the
        backward runs group by group on each group's own gradient (no gradient of the
        whole output is assembled: for a large batch that copy, mapped afresh by the C
        allocator, cost as much as a quarter of the adjoint itself).
    prefilter : (Tensor, Tensor), optional
        ``(b, a)`` of one real filter (1-D, ``a[0] != 0``) run on every channel of ``x``
        before the bank: the result is that of ``lfilter(x, *prefilter)`` (in the
        precision the bank runs at) passed as ``x``. On the numba backend it is fused:
        each group of rows prefilters only the channels it reads, into a buffer of its
        own size, and the backward recomputes them, so no filtered copy of ``x`` (nor
        its gradient) is ever stored whole. The same values, bit for bit.

    Returns
    -------
    Tensor, shape (..., R, T), or with ``split`` a list of Tensors (..., split[i], T)

    Raises
    ------
    TypeError
        If ``x`` is not a float32 or float64 tensor, or ``dtype`` is not one of them,
        or ``prefilter`` is not a pair of real tensors.
    ValueError
        If ``x`` is a meta tensor or has fewer than two axes, or ``split`` does not
        hold positive counts summing to ``R``, or ``prefilter`` has a coefficient
        vector that is not 1-D and non-empty or a zero ``a[0]``.
    """
    check_signal_tensor(x, real=True)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (..., C, T), got {tuple(x.shape)}")
    dtype = x.dtype if dtype is None else dtype
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    n_rows, n_t = index.numel(), x.shape[-1]
    pieces = _check_split(split, n_rows)
    cdtype = _coefficient_dtype(x, b, a)
    # the precision the bank's recursions read their input in (and a prefilter writes)
    wide = torch.float64 if cdtype in (torch.float64, torch.complex128) else x.dtype
    pre = None if prefilter is None else _check_prefilter(prefilter, x.device)
    b, a = b.to(cdtype), a.to(cdtype)
    order = max(a.shape[-1], b.shape[-1]) - 1
    a0 = a[..., :1]
    b = torch.nn.functional.pad(b / a0, (0, order + 1 - b.shape[-1]))
    a = torch.nn.functional.pad(a / a0, (0, order + 1 - a.shape[-1]))
    gain = torch.ones(n_rows, dtype=torch.float64, device=x.device) if gain is None else gain
    # a gain that needs a gradient goes through the composition (the fused kernel treats
    # the gain as a constant)
    gain_grad = gain.requires_grad and torch.is_grad_enabled()
    fused = resolve_backend(x.device) == "numba" and order > 0 and not gain_grad
    if pre is not None and (not fused or (torch.is_grad_enabled() and any(
            c.requires_grad for c in pre))):
        # the composition (a prefilter with a gradient is differentiated through it)
        x, pre = lfilter(x.to(wide), *pre), None
    if not fused:
        # on CPU in groups of rows, as the pure-torch filter runs (same values)
        n_lead = math.prod(x.shape[:-2])
        step = n_rows if x.device.type != "cpu" else max(1, _CPU_CHUNK // max(n_lead * n_t, 1))
        parts = []
        for r in range(0, n_rows, step):
            rows = slice(r, r + step)
            y = lfilter(x[..., index[rows], :], b[rows], a[rows]) * gain[rows, None]
            parts.append(torch.where(keep_real[rows, None], y.real, factor * y.abs()).to(dtype))
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-2)
        return out if split is None else list(torch.split(out, pieces, dim=-2))
    lead = x.shape[:-2]
    n_ch = x.shape[-2]
    batch = math.prod(lead)
    # with a prefilter, x is read in its own dtype (the prefilter writes ``wide``)
    xr = x.reshape(batch * n_ch, n_t)
    xr = xr if pre is not None else xr.to(wide)
    src = (torch.arange(batch)[:, None] * n_ch + index.cpu()[None, :]).reshape(-1)
    groups = _envelope_groups(pieces, batch * n_t * torch.empty(0, dtype=dtype).element_size())
    pre = None if pre is None else tuple(c.detach().cpu()[None, :] for c in pre)
    outputs = _LFilterEnvelope.apply(xr, b, a, src, keep_real.cpu(), gain.detach(), factor,
                                     dtype, tuple(lead), groups, pre, wide)
    return outputs[0] if split is None else list(outputs)


ENVELOPE_GROUP_BYTES = 2**24
"""Most output bytes of one group of :func:`lfilter_envelope` with ``split`` (16 MiB, a
piece larger than that is a group of its own): below the C allocator's 32-MiB ``mmap``
threshold, so a group's gradient buffer reuses freed memory instead of being mapped and
faulted in afresh. Large enough for every thread to get many rows at batch 1."""


def _check_split(split: Sequence[int] | None, n_rows: int) -> list[int]:
    """``split`` as a list of row counts (``[n_rows]`` when None), validated."""
    if split is None:
        return [n_rows]
    pieces = [int(n) for n in split]
    if any(n <= 0 for n in pieces) or sum(pieces) != n_rows:
        raise ValueError(f"split must hold positive row counts summing to the {n_rows} rows "
                         f"of index, got {list(split)}")
    return pieces


def _check_prefilter(prefilter, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``prefilter`` as ``(b, a)`` float64 tensors of one length with ``a[0] == 1``."""
    if (not isinstance(prefilter, (tuple, list)) or len(prefilter) != 2
            or not all(isinstance(c, torch.Tensor) for c in prefilter)):
        raise TypeError("prefilter must be a pair (b, a) of tensors, got "
                        f"{type(prefilter).__name__}")
    pb, pa = prefilter
    for name, c in (("b", pb), ("a", pa)):
        if c.is_complex() or not c.is_floating_point():
            raise TypeError(f"prefilter {name} must be a real floating tensor, got {c.dtype}")
        if c.ndim != 1 or c.numel() == 0:
            raise ValueError(f"prefilter {name} must be a non-empty 1-D tensor, got shape "
                             f"{tuple(c.shape)}")
    if pa[0].item() == 0:
        raise ValueError("prefilter a[0] must be non-zero")
    pb, pa = (c.to(device=device, dtype=torch.float64) for c in (pb, pa))
    n = max(pb.numel(), pa.numel())
    pb, pa = (torch.nn.functional.pad(c / pa[0], (0, n - c.numel())) for c in (pb, pa))
    return pb, pa


def _envelope_groups(pieces: list[int], row_bytes: int) -> list[list[int]]:
    """Consecutive ``pieces`` merged into groups of at most :data:`ENVELOPE_GROUP_BYTES`
    (``row_bytes`` per row of the output, all leading axes included)."""
    groups: list[list[int]] = [[]]
    for n in pieces:
        if groups[-1] and (sum(groups[-1]) + n) * row_bytes > ENVELOPE_GROUP_BYTES:
            groups.append([])
        groups[-1].append(n)
    return groups
