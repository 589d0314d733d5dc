"""Rational-factor resampling stage (GNU Octave ``resample``), as in AMT ``paulick2024``
(its output) and ``glasberg2002`` (its input, to 32 kHz)."""

from __future__ import annotations

import math

from torch_amt import _checks
from torch_amt.dsp.resample import resample, resample_filter
from torch_amt.stages.base import Stage

__all__ = ["OctaveResample"]


class OctaveResample(Stage):
    """Resample ``(..., T)`` by ``up/down`` with Octave's ``resample(x, up, down)``.

    A Kaiser-windowed sinc FIR applied as a zero-phase polyphase filter
    (:func:`torch_amt.dsp.resample.resample`; GNU Octave *signal* 1.4.3, not MATLAB's
    ``firls`` design). The signal is zero outside its support, so the output is causal
    up to the filter's half length.

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz.
    up, down : int
        Resampling factors; ``output_fs = fs·up/down`` (e.g. ``1, 4`` in paulick2024,
        ``32000, fs`` in glasberg2002).
    floor_length : bool
        Keep ``floor(T·up/down)`` samples (AMT ``paulick2024``: ``outsig(1:floor(N/4),:)``)
        instead of Octave's ``ceil(T·up/down)``.

    Shape
    -----
    ``(..., T)`` → ``(..., T_out)``; a list of such tensors is resampled element-wise.
    """

    amt_function = "resample"
    float64_buffers = ("h",)

    def __init__(self, fs: float, up: int, down: int, *,
                 floor_length: bool = False) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.up = _checks.check_positive(up, "up", integer=True)
        self.down = _checks.check_positive(down, "down", integer=True)
        self.floor_length = _checks.check_bool(floor_length, "floor_length")
        self.output_fs = self.fs * self.up / self.down
        self.register_buffer("h", resample_filter(self.up, self.down))

    def output_length(self, n: int) -> int:
        """Number of output samples for ``n`` input samples."""
        exact = n * self.up / self.down
        return math.floor(exact) if self.floor_length else math.ceil(exact)

    def forward(self, x):
        """The resampled signal ``(..., T_out)``."""
        if isinstance(x, list | tuple):
            return [self(v) for v in x]
        x = _checks.check_signal(x, "x", ndim=range(1, 64), min_length=0, dim_names="(..., T)")
        _checks.check_module_input(self, x)
        if x.shape[-1] == 0:
            return x.new_zeros(*x.shape[:-1], 0)
        y = resample(x, self.up, self.down, self.h)
        return y[..., :self.output_length(x.shape[-1])]

    def amt_equivalent(self) -> str:
        cut = f"(1:floor(T*{self.up}/{self.down}),:)" if self.floor_length else ""
        return f"resample(insig, {self.up}, {self.down}){cut}"

    def extra_repr(self) -> str:
        return (f"fs={self.fs:g}, up={self.up}, down={self.down}, "
                f"floor_length={self.floor_length}")
