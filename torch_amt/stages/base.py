"""The base class of every auditory stage: its AMT name and the float64-design policy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.dsp.streaming import NotStreamableError, StreamState, lfilter, stream_call

__all__ = ["IIRFilterStage", "Stage"]

T = TypeVar("T")


class Stage(nn.Module):
    """An auditory processing stage: one ``nn.Module`` with its AMT equivalent.

    Every stage of :mod:`torch_amt.stages` derives from this class. It adds two things to
    ``nn.Module``:

    **AMT identity.** ``amt_function`` names the AMT function the stage reproduces, and
    :meth:`amt_equivalent` the call with its flag group (``preset``) where it has one; a
    model's ``repr`` prints it next to each stage of its chain.

    **The float64-design policy.** Filter coefficients are designed in float64 (AMT's
    precision; several of its filters are unstable when rounded to float32) and cast to
    the input's precision once, at the call. Buffers named in ``float64_buffers`` are
    kept in float64 when the module is cast (``.float()``, ``.to(torch.float32)``) and
    only follow its device; parameters follow the cast as usual. Coefficients derived
    from buffers or parameters are obtained through :meth:`cached_design`, which
    recomputes them whenever a source tensor is replaced, edited in place, moved or
    cast, so ``load_state_dict``, ``.to()``, ``deepcopy`` and direct edits of a buffer
    always take effect; nothing but buffers and parameters holds state.
    """

    amt_function: ClassVar[str] = ""
    """The AMT function this stage reproduces (e.g. ``'adaptloop'``)."""

    float64_buffers: ClassVar[tuple[str, ...]] = ()
    """Buffers designed in float64 that keep that dtype when the module is cast."""

    streamable: ClassVar[bool] = False
    """Whether the stage is causal and processes a signal chunk by chunk with
    :meth:`stream` (its kernels go through :mod:`torch_amt.dsp.streaming`). A stage
    declares it; without the declaration :meth:`stream` refuses."""

    def stream_refusal(self) -> str | None:
        """Why this stage cannot process a signal chunk by chunk, or None if it can."""
        if self.streamable:
            return None
        return "it declares no streaming interface (it is not known to be causal)"

    def stream(self, x: torch.Tensor, state: StreamState | None = None):
        """Process one chunk of a long signal, continuing from ``state``.

        The outputs of successive chunks, concatenated along time
        (:func:`torch_amt.dsp.streaming.concat_time`), equal ``forward`` on the whole
        signal (float64: ≤ 1e-12 relative, in practice bit for bit), whatever the chunk
        sizes (one sample included).

        Parameters
        ----------
        x : Tensor
            The chunk, shaped as ``forward``'s input (time last; the leading shape must
            stay the same from chunk to chunk).
        state : StreamState, optional
            Returned with the previous chunk; None for the first chunk.

        Returns
        -------
        out
            ``forward``'s output for the chunk.
        state : StreamState
            Pass it with the next chunk.

        Raises
        ------
        NotStreamableError
            If the stage is not causal (:meth:`stream_refusal` says why).
        """
        reason = self.stream_refusal()
        if reason is not None:
            raise NotStreamableError(f"{type(self).__name__} cannot process a signal chunk by "
                                     f"chunk: {reason}")
        return stream_call(self, x, state)

    def amt_equivalent(self) -> str:
        """The AMT call this stage reproduces, with its flag group when it has one."""
        preset = getattr(self, "preset", None)
        name = self.amt_function or type(self).__name__
        return f"{name} '{preset}'" if isinstance(preset, str) else name

    def _apply(self, fn, recurse=True):
        probe = fn(torch.zeros((), dtype=torch.float64))
        if isinstance(probe, torch.Tensor) and probe.dtype in (torch.float16, torch.bfloat16):
            raise TypeError(f"{type(self).__name__} cannot be cast to {probe.dtype}: the stages "
                            "compute in float32 or float64 (half precision gives errors of "
                            "order 0.1 in the recursive filters); use .float() or .double()")
        if not self.float64_buffers:
            return super()._apply(fn, recurse)
        saved = {k: b for k, b in self._buffers.items()
                 if b is not None and k in self.float64_buffers}
        for k in saved:
            self._buffers[k] = None
        try:
            super()._apply(fn, recurse)
        finally:
            for k, b in saved.items():
                self._buffers[k] = b.to(fn(torch.zeros((), device=b.device)).device)
        return self

    def cached_design(self, key: str, sources: Sequence[torch.Tensor | None],
                      build: Callable[[], T]) -> T:
        """``build()``, reused while none of ``sources`` has changed.

        Parameters
        ----------
        key : str
            Name of the design (a stage may cache several).
        sources : sequence of Tensor or None
            The buffers/parameters the design is computed from. A source that is
            replaced (``load_state_dict``, ``.to()``), edited in place (its version
            counter moves) or that requires a gradient under grad mode invalidates the
            cache; in the last case the design is rebuilt on every call so gradients
            reach the parameters.
        build : callable
            Computes the design from the current sources.
        """
        if torch.is_grad_enabled() and any(s is not None and s.requires_grad for s in sources):
            return build()
        try:
            stamp = tuple((s, s._version) if s is not None else (None, 0) for s in sources)
        except RuntimeError:  # inference tensors keep no version counter: no caching
            return build()
        cache: dict[str, tuple[Any, T]] = self.__dict__.setdefault("_design_cache", {})
        hit = cache.get(key)
        if hit is not None and len(hit[0]) == len(stamp) and all(
                a is b and va == vb for (a, va), (b, vb) in zip(hit[0], stamp, strict=True)):
            return hit[1]
        design = build()
        cache[key] = (stamp, design)
        return design

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state.pop("_design_cache", None)
        return state


class IIRFilterStage(Stage):
    """A stage that is one linear recursive filter per row: ``lfilter(x, *coefficients())``.

    Subclasses define :meth:`coefficients` (float64, designed or cached from their
    buffers and parameters); the input may have any leading axes.
    """

    streamable = True

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The filter ``(b, a)`` in force."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x (..., T)`` along its last axis."""
        x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
        _checks.check_module_input(self, x)
        b, a = self.coefficients()
        return lfilter(x, b, a)
