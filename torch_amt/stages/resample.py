"""Resample: Fourier resampling of a model's output to its output rate (LTFAT ``fftresample``)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.dsp.fft import fftresample
from torch_amt.stages.base import Stage

__all__ = ["Resample"]


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

    def stream_refusal(self) -> str | None:
        """Not causal unless it is the identity (``output_fs == fs``)."""
        if self.output_fs == self.fs:
            return None
        return ("LTFAT fftresample treats the whole signal as one period (an FFT over all "
                "its samples: not causal); run the model without resampling (e.g. no subfs) "
                "to stream it")

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
