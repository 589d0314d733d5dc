"""Resampling stages: Fourier resampling of a model's output to its output rate (LTFAT
``fftresample``) and Octave's ``resample`` of an input to a model's internal rate."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.dsp.fft import fftresample
from torch_amt.dsp.resample import resample
from torch_amt.stages.base import Stage

__all__ = ["OctaveResample", "Resample"]


class Resample(Stage):
    """Resample ``(..., T)`` from ``fs`` to ``output_fs`` by Fourier interpolation.

    ``T_out = round(T · output_fs / fs)`` samples, computed with LTFAT ``fftresample``
    (:func:`torch_amt.dsp.fft.fftresample`), as AMT ``dau1997`` (``subfs``) and
    ``king2019`` do before returning. The signal is treated as one period of a periodic
    signal, so this stage is not causal.

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz.
    output_fs : float
        Sampling rate of the output in Hz.

    Shape
    -----
    ``(..., T)`` → ``(..., T_out)``; a list of such tensors is resampled element-wise.
    """

    amt_function = "fftresample"

    def __init__(self, fs: float, output_fs: float) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.output_fs = _checks.check_fs(output_fs, "output_fs")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The resampled signal; identity when ``output_fs == fs``."""
        if self.output_fs == self.fs:
            return x
        if isinstance(x, list | tuple):
            return [self(v) for v in x]
        return fftresample(x, round(x.shape[-1] / self.fs * self.output_fs))

    def amt_equivalent(self) -> str:
        return f"fftresample(insig, round(T/{self.fs:g}*{self.output_fs:g}))"

    def extra_repr(self) -> str:
        return f"fs={self.fs:g}, output_fs={self.output_fs:g}"


class OctaveResample(Stage):
    """Resample ``(..., T)`` from ``fs`` to ``output_fs`` as Octave ``resample(x, output_fs, fs)``.

    Kaiser-windowed sinc anti-aliasing filter, polyphase ``upfirdn`` and delay
    compensation of Octave's *signal* package 1.4.3
    (:func:`torch_amt.dsp.resample.resample`); ``ceil(T·output_fs/fs)`` samples. AMT
    ``glasberg2002`` resamples its input this way to its internal 32 kHz. Both rates
    must be integers.

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz (an integer).
    output_fs : float
        Sampling rate of the output in Hz (an integer).

    Shape
    -----
    ``(..., T)`` → ``(..., ceil(T·output_fs/fs))``. Differentiable (linear).
    """

    amt_function = "resample"

    def __init__(self, fs: float, output_fs: float) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.output_fs = _checks.check_fs(output_fs, "output_fs")
        for name, value in (("fs", self.fs), ("output_fs", self.output_fs)):
            if value != int(value):
                raise ValueError(f"{name} must be an integer number of Hz for Octave's resample "
                                 f"(integer factors), got {value:g}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The resampled signal; identity when ``output_fs == fs``."""
        x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
        return resample(x, int(self.output_fs), int(self.fs))

    def amt_equivalent(self) -> str:
        return f"resample(insig, {self.output_fs:g}, {self.fs:g})"

    def extra_repr(self) -> str:
        return f"fs={self.fs:g}, output_fs={self.output_fs:g}"
