"""Exact chunk-by-chunk processing: the state every causal kernel carries between chunks.

A causal stage processes a long signal in chunks when each of its kernel calls starts
from the state the same call reached at the end of the previous chunk. This module does
that without a second implementation of any stage: :func:`stream_call` runs the stage's
own ``forward`` on a chunk while a *tape* is active, and the kernel entry points below
(which the functional layer calls instead of the raw kernels) then take their initial
state from the tape, in call order, and record their final state on it. Outside
:func:`stream_call` they are exactly :func:`torch_amt.dsp.iir.lfilter`,
:func:`~torch_amt.dsp.iir.lfilter_envelope`,
:func:`~torch_amt.dsp.adaptloop.adaptloop_recurrence` and
:func:`~torch_amt.dsp.fft.fftconvolve`.

Exactness. The kernels take an initial state but do not return their final one, so it
is rebuilt here, bit for bit:

* :func:`lfilter` (transposed direct form II): the state after sample ``n`` depends only
  on the last ``order`` inputs and outputs (``z_k[n] = z_{k+1}[n-1] - a_{k+1} y[n] +
  b_{k+1} x[n]``, ``z_{order-1}[n] = b_order x[n] - a_order y[n]``), so running the
  kernel's own recursion, in its operation order, over those samples from a zero state
  gives the state the kernel holds. The tests check that chunked and whole-signal
  outputs agree (float64, ≤ 1e-12 relative, in practice bit for bit).
* :func:`adaptloop_recurrence`: the loops run one after another (the same operations
  as the fused pass), and the divisor state ``s_j`` of loop ``j`` is the first-order
  recursion ``s ← a1 s + b0 v_j`` of its output, which :func:`lfilter` computes with
  the same rounding (``b0·v - (-a1)·s``).
* :func:`fftconvolve` (a causal FIR, ``length = T``): the last ``len(h) - 1`` inputs
  are carried (overlap-save); FFT rounding differs between block and whole signal at
  the 1e-16 level relative to the signal.

Stages whose output at a time depends on later samples (FFT resampling, Hilbert
envelopes, delay-compensated FIRs, FFT filterbanks, whole-signal normalisation) are not
streamable: :class:`~torch_amt.stages.base.Stage` refuses them with
:class:`NotStreamableError` before any kernel runs.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import torch

from torch_amt.dsp import fft as _fft
from torch_amt.dsp import iir as _iir
from torch_amt.dsp.adaptloop import adaptloop_recurrence as _adaptloop_kernel
from torch_amt.dsp.iir.api import _check_split, _coefficient_dtype

__all__ = ["ENVELOPE_ROWS", "NotStreamableError", "StreamState", "adaptloop_recurrence",
           "concat_time", "fftconvolve", "lfilter", "lfilter_envelope", "stream_call"]


class NotStreamableError(RuntimeError):
    """A stage or model that cannot process a signal chunk by chunk (it is not causal)."""


@dataclass(frozen=True)
class StreamState:
    """The state of one stage between two chunks (opaque; pass it back unchanged).

    Attributes
    ----------
    slots : tuple
        The final state of every kernel call of the stage's ``forward``, in call order.
    samples : int
        Number of input samples processed so far.
    """

    slots: tuple
    samples: int


@dataclass(frozen=True)
class _FilterSlot:
    zi: torch.Tensor      # (*lead, order), the kernel's accumulation dtype
    x_tail: torch.Tensor  # last `order` inputs, (*lead, order)
    y_tail: torch.Tensor  # last `order` outputs, (*lead, order)


@dataclass(frozen=True)
class _AdaptSlot:
    s: torch.Tensor  # (N, L) divisor states, float64


@dataclass(frozen=True)
class _FIRSlot:
    x_tail: torch.Tensor  # last len(h) - 1 inputs


class _Tape:
    """Initial states of the kernel calls of one chunk (from the previous chunk) and the
    final states recorded by this chunk's calls."""

    def __init__(self, previous: tuple | None) -> None:
        self.previous = previous
        self.recorded: list[Any] = []

    def take(self, kind: type) -> Any:
        """The state the next kernel call starts from (None for the first chunk)."""
        if self.previous is None:
            return None
        k = len(self.recorded)
        if k >= len(self.previous) or not isinstance(self.previous[k], kind):
            raise RuntimeError("this chunk took another path through the stage than the "
                               "previous chunk (its kernel calls differ); pass the state "
                               "returned for the previous chunk of the same signal")
        return self.previous[k]

    def put(self, slot: Any) -> None:
        self.recorded.append(slot)


_TAPE: contextvars.ContextVar[_Tape | None] = contextvars.ContextVar("torch_amt_stream_tape",
                                                                      default=None)


def stream_call(forward: Callable[[torch.Tensor], Any], x: torch.Tensor,
                state: StreamState | None = None) -> tuple[Any, StreamState]:
    """Run ``forward(x)`` on one chunk, continuing from ``state``.

    Parameters
    ----------
    forward : callable
        A causal stage's forward (its kernel calls go through this module).
    x : Tensor, shape (..., T)
        The chunk, time last; the leading shape must stay the same across chunks.
    state : StreamState, optional
        Returned for the previous chunk; None for the first chunk (zero initial state,
        as the whole-signal ``forward``).

    Returns
    -------
    out
        ``forward``'s output for this chunk.
    state : StreamState
        The state to pass with the next chunk.
    """
    if state is not None and not isinstance(state, StreamState):
        raise TypeError(f"state must be a StreamState returned by a previous call (or None), "
                        f"got {type(state).__name__}")
    tape = _Tape(None if state is None else state.slots)
    token = _TAPE.set(tape)
    try:
        out = forward(x)
    finally:
        _TAPE.reset(token)
    if state is not None and len(tape.recorded) != len(state.slots):
        raise RuntimeError("this chunk made fewer kernel calls than the previous chunk; pass "
                           "the state returned for the previous chunk of the same signal")
    done = 0 if state is None else state.samples
    return out, StreamState(tuple(tape.recorded), done + int(x.shape[-1]))


def concat_time(chunks: Sequence[Any]) -> Any:
    """Concatenate chunk outputs along time (the last axis): tensors, or lists of tensors
    (a modulation-filterbank output: one tensor per auditory channel)."""
    if not chunks:
        raise ValueError("concat_time needs at least one chunk")
    if isinstance(chunks[0], list | tuple):
        return [torch.cat(parts, dim=-1) for parts in zip(*chunks, strict=True)]
    return torch.cat(list(chunks), dim=-1)


# --------------------------------------------------------------------------- lfilter


@numba.njit(cache=True)
def _nb_tdf2_state(x_tail, y_tail, b, a, z):  # pragma: no cover - compiled
    """The TDF-II state after the last of ``order`` samples: the kernel's recursion
    (:mod:`torch_amt.dsp.iir.numba_kernels`, Octave's operation order) from a zero state
    over the last ``order`` inputs and outputs of each row."""
    n_rows, order = z.shape
    for r in range(n_rows):
        for i in range(order):
            z[r, i] = 0.0
        for t in range(order):
            xt = x_tail[r, t]
            yt = y_tail[r, t]
            for i in range(order - 1):
                z[r, i] = z[r, i + 1] - a[r, i + 1] * yt + b[r, i + 1] * xt
            z[r, order - 1] = b[r, order] * xt - a[r, order] * yt


def _normalised(x: torch.Tensor, b, a) -> tuple[torch.Tensor, torch.Tensor]:
    """``b, a`` as the kernel sees them: the common (complex if any) dtype, divided by
    ``a[..., 0]``, padded to one length."""
    b = torch.as_tensor(b, device=x.device)
    a = torch.as_tensor(a, device=x.device)
    complex_ = x.is_complex() or b.is_complex() or a.is_complex()
    double = any(t.dtype in (torch.float64, torch.complex128) for t in (x, b, a))
    dtype = ((torch.complex128 if double else torch.complex64) if complex_
             else (torch.float64 if double else torch.float32))
    b, a = b.to(dtype), a.to(dtype)
    if b.ndim == 0:
        b = b.reshape(1)
    if a.ndim == 0:
        a = a.reshape(1)
    order = max(a.shape[-1], b.shape[-1]) - 1
    a0 = a[..., :1]
    b = torch.nn.functional.pad(b / a0, (0, order + 1 - b.shape[-1]))
    a = torch.nn.functional.pad(a / a0, (0, order + 1 - a.shape[-1]))
    return b, a


def _rows(t: torch.Tensor, lead: torch.Size, width: int) -> np.ndarray:
    return np.ascontiguousarray(
        t.detach().expand(*lead, width).reshape(-1, width).resolve_conj().cpu().numpy())


def _final_state(x_tail, y_tail, b, a, lead) -> torch.Tensor:
    order = b.shape[-1] - 1
    acc = np.complex128 if b.is_complex() else np.float64
    z = np.empty((math.prod(lead), order), dtype=acc)
    _nb_tdf2_state(_rows(x_tail, lead, order), _rows(y_tail, lead, order),
                   _rows(b, lead, order + 1).astype(acc), _rows(a, lead, order + 1).astype(acc),
                   z)
    return torch.from_numpy(z).reshape(*lead, order).to(x_tail.device)


def _tail(previous: torch.Tensor, new: torch.Tensor, order: int) -> torch.Tensor:
    """The last ``order`` samples of ``previous`` then ``new``, as a copy (a view would
    keep the whole chunk alive in the state)."""
    if new.shape[-1] >= order:
        return new[..., new.shape[-1] - order:].clone()
    return torch.cat([previous, new], dim=-1)[..., -order:].clone()


def lfilter(x: torch.Tensor, b, a, zi: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`torch_amt.dsp.iir.lfilter`, continuing its state between chunks inside
    :func:`stream_call` (there ``zi`` must be None: the state is the stream's)."""
    tape = _TAPE.get()
    if tape is None:
        return _iir.lfilter(x, b, a, zi)
    if zi is not None:
        raise NotStreamableError("an lfilter call with its own initial state cannot be "
                                 "streamed")
    bn, an = _normalised(x, b, a)
    order = bn.shape[-1] - 1
    if order == 0:
        return _iir.lfilter(x, b, a)
    # the kernel accumulates in double precision and rounds its output once: a single-
    # precision chunk is filtered in double (the same values) and rounded here, so that
    # the carried outputs are the unrounded ones the kernel's state was built from
    out_dtype = None
    if x.dtype in (torch.float32, torch.complex64):
        complex_out = x.is_complex() or bn.is_complex()
        out_dtype = torch.complex64 if complex_out else torch.float32
        x = x.to(torch.complex128 if x.is_complex() else torch.float64)
        bn, an = _normalised(x, bn, an)
    lead = _iir.leading_shape(x, bn, an)
    slot = tape.take(_FilterSlot)
    if slot is not None and tuple(slot.zi.shape[:-1]) != tuple(lead):
        raise ValueError(f"the chunk's leading shape {tuple(lead)} differs from that of the "
                         f"previous chunk {tuple(slot.zi.shape[:-1])}")
    y = _iir.lfilter(x, bn, an, None if slot is None else slot.zi)
    if slot is None:
        x_prev = x.new_zeros(*lead, order)
        y_prev = y.new_zeros(*lead, order)
    else:
        x_prev, y_prev = slot.x_tail, slot.y_tail
    x_tail = _tail(x_prev, x.expand(*lead, x.shape[-1]), order)
    y_tail = _tail(y_prev, y, order)
    if x.shape[-1] == 0 and slot is not None:
        tape.put(slot)
    else:
        tape.put(_FilterSlot(_final_state(x_tail, y_tail, bn, an, lead), x_tail, y_tail))
    return y if out_dtype is None else y.to(out_dtype)


def lfilter_envelope(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor, index: torch.Tensor,
                     keep_real: torch.Tensor, factor: float = 1.0,
                     gain: torch.Tensor | None = None,
                     dtype: torch.dtype | None = None,
                     split: Sequence[int] | None = None,
                     prefilter: tuple[torch.Tensor, torch.Tensor] | None = None,
                     ) -> torch.Tensor | list[torch.Tensor]:
    """:func:`torch_amt.dsp.iir.lfilter_envelope`; inside :func:`stream_call` its
    composition (:func:`lfilter` of the prefilter, if any, and of the gathered
    channels, gain, real part or ``factor·|.|``), with the filter states carried between
    chunks (``split`` then cuts the one output into views)."""
    if _TAPE.get() is None:
        return _iir.lfilter_envelope(x, b, a, index, keep_real, factor, gain, dtype, split,
                                     prefilter)
    dtype = x.dtype if dtype is None else dtype
    if prefilter is not None:
        # the bank reads its input in double precision when its coefficients are double
        double = _coefficient_dtype(x, b, a) in (torch.float64, torch.complex128)
        x = lfilter(x.to(torch.float64) if double else x, *prefilter)
    if split is not None:
        pieces = _check_split(split, index.numel())
        return list(torch.split(lfilter_envelope(x, b, a, index, keep_real, factor, gain,
                                                 dtype), pieces, dim=-2))
    out = x.new_empty(*x.shape[:-2], index.numel(), x.shape[-1], dtype=dtype)
    # a few rows at a time: the complex outputs of the composition (which the fused
    # kernel never materialises) then take the memory of ENVELOPE_ROWS rows only
    for start in range(0, index.numel(), ENVELOPE_ROWS):
        rows = slice(start, start + ENVELOPE_ROWS)
        y = lfilter(x[..., index[rows], :], b[rows], a[rows])
        re, im = (y.real, y.imag) if y.is_complex() else (y, torch.zeros_like(y))
        if gain is not None:
            g = gain.to(device=y.device, dtype=re.dtype)[rows, None]
            re, im = re * g, im * g
        # the fused kernel's readout, operation for operation: Re w, or factor·sqrt(re²+im²)
        magnitude = factor * torch.sqrt(re * re + im * im)
        out[..., rows, :] = torch.where(keep_real[rows, None], re, magnitude)
    return out


ENVELOPE_ROWS = 16
"""Rows per :func:`lfilter` call of the streamed :func:`lfilter_envelope`."""


# --------------------------------------------------------------------------- adaptation


def adaptloop_recurrence(x: torch.Tensor, a1: torch.Tensor, b0: torch.Tensor, s0: torch.Tensor,
                         factor: torch.Tensor, expfac: torch.Tensor, offset: torch.Tensor,
                         limited: bool, *, floor: torch.Tensor | None = None,
                         corr: torch.Tensor | None = None, mult: torch.Tensor | None = None,
                         dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """:func:`torch_amt.dsp.adaptloop.adaptloop_recurrence`, continuing the divisor states
    between chunks inside :func:`stream_call` (where ``s0`` is used for the first chunk
    only)."""
    tape = _TAPE.get()
    if tape is None:
        return _adaptloop_kernel(x, a1, b0, s0, factor, expfac, offset, limited, floor=floor,
                                 corr=corr, mult=mult, dtype=dtype)
    n_rows = x.shape[0]
    a1, b0, s0, factor, expfac, offset = (
        p.to(torch.float64).expand(n_rows, -1) for p in (a1, b0, s0, factor, expfac, offset))
    slot = tape.take(_AdaptSlot)
    if slot is not None and slot.s.shape != s0.shape:
        raise ValueError(f"the chunk has {n_rows} rows, the previous chunk "
                         f"{slot.s.shape[0]}")
    s = s0 if slot is None else slot.s
    if x.shape[-1] == 0:
        tape.put(_AdaptSlot(s))
        return x.new_zeros(x.shape, dtype=dtype)
    v = x
    finals = []
    for j in range(a1.shape[1]):
        loop = slice(j, j + 1)
        v_in = v
        v = _adaptloop_kernel(v_in, a1[:, loop], b0[:, loop], s[:, loop], factor[:, loop],
                              expfac[:, loop], offset[:, loop], limited,
                              floor=floor if j == 0 else None)
        # the divisor's trajectory s_j[t] (state before sample t): the one-pole recursion
        # s <- a1 s + b0 v of the loop's output, as lfilter rounds it (b0 v - (-a1) s)
        one = torch.ones_like(a1[:, loop])
        trajectory = _iir.lfilter(v, torch.cat([torch.zeros_like(one), b0[:, loop]], dim=1),
                                  torch.cat([one, -a1[:, loop]], dim=1), s[:, loop])
        finals.append(a1[:, loop] * trajectory[:, -1:] + b0[:, loop] * v[:, -1:])
    tape.put(_AdaptSlot(torch.cat(finals, dim=1)))
    if corr is not None:
        v = v - corr.to(torch.float64)[:, None]
    if mult is not None:
        v = v * mult.to(torch.float64)[:, None]
    return v.to(dtype)


# --------------------------------------------------------------------------- FIR by FFT


def fftconvolve(x: torch.Tensor, h: torch.Tensor, length: int | None = None) -> torch.Tensor:
    """:func:`torch_amt.dsp.fft.fftconvolve`; inside :func:`stream_call` a causal FIR
    (``length == T``) by overlap-save with the last ``len(h) - 1`` inputs carried."""
    tape = _TAPE.get()
    if tape is None:
        return _fft.fftconvolve(x, h, length)
    if length != x.shape[-1]:
        raise NotStreamableError("a full (non-truncated) FFT convolution is not causal")
    slot = tape.take(_FIRSlot)
    keep = h.shape[-1] - 1
    previous = x.new_zeros(*x.shape[:-1], keep) if slot is None else slot.x_tail
    joined = torch.cat([previous, x], dim=-1)
    tape.put(_FIRSlot(joined[..., joined.shape[-1] - keep:].clone()))
    return _fft.fftconvolve(joined, h, joined.shape[-1])[..., keep:]
