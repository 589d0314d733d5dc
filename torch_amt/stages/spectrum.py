"""Multi-resolution short-time spectrum of Glasberg & Moore (2002) (AMT ``glasberg2002``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from torch_amt import _checks
from torch_amt.functional.glasberg2002 import multiresolution_spectrum
from torch_amt.stages.base import Stage

__all__ = ["MultiResolutionSpectrum"]


class MultiResolutionSpectrum(Stage):
    """Intensity per FFT bin every 1 ms from six Hann windows of 2 ... 64 ms.

    Each frequency range takes its spectrum from its own window length (64 ms below
    80 Hz ... 2 ms above 4050 Hz), as Glasberg & Moore (2002) describe, with AMT 1.4.0's
    arithmetic (:func:`torch_amt.functional.glasberg2002.multiresolution_spectrum`:
    windows starting at each block's first sample, ``2|X|²/(fs·Σw²)`` per bin).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (AMT: 32000).
    fft_len : int
        FFT length (AMT ``fftLen``, 2048).
    hann_ms : sequence of 6 float
        Window lengths in ms (AMT ``hannLenMs``).
    limits_hz : sequence of 5 float
        Range boundaries in Hz (AMT ``vLimitingIndices``).
    time_step : float
        Block step in s (AMT ``timeStep``, 0.001).

    Attributes
    ----------
    output_fs : float
        Block rate in Hz (``fs / round(time_step·fs)``).

    Shape
    -----
    ``(..., T)`` → ``(..., fft_len/2 + 1, ceil(T/step))``. Differentiable.
    """

    amt_function = "glasberg2002 (fft per 1-ms block)"

    def __init__(self, fs: float, *, fft_len: int = 2048,
                 hann_ms: Sequence[float] = (2, 4, 8, 16, 32, 64),
                 limits_hz: Sequence[float] = (4050, 2540, 1250, 500, 80),
                 time_step: float = 0.001) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.fft_len = _checks.check_positive(fft_len, "fft_len", integer=True)
        self.hann_ms = tuple(float(v) for v in hann_ms)
        self.limits_hz = tuple(float(v) for v in limits_hz)
        self.time_step = _checks.check_positive(time_step, "time_step")
        multiresolution_spectrum(torch.zeros(1, dtype=torch.float64), self.fs,
                                 **self._options())  # refuse bad settings here
        self.output_fs = self.fs / max(1, round(self.time_step * self.fs))

    def _options(self) -> dict:
        return {"fft_len": self.fft_len, "hann_ms": self.hann_ms, "limits_hz": self.limits_hz,
                "time_step": self.time_step}

    def output_length(self, n: int) -> int:
        """Number of blocks for ``n`` input samples, ``ceil(n / step)``."""
        return -(-n // round(self.fs / self.output_fs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The intensity per bin and block."""
        return multiresolution_spectrum(x, self.fs, **self._options())

    def extra_repr(self) -> str:
        return (f"fs={self.fs:g}, fft_len={self.fft_len}, hann_ms={list(self.hann_ms)}, "
                f"limits_hz={list(self.limits_hz)}, time_step={self.time_step:g}")
