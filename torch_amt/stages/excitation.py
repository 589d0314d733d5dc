"""Excitation pattern on the ERB-number scale (Glasberg & Moore 2002, AMT ``glasberg2002``)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.functional.glasberg2002 import erb_bands, excitation_pattern
from torch_amt.stages.base import Stage

__all__ = ["ExcitationPattern"]


class ExcitationPattern(Stage):
    """Excitation (Pa²) in 149 ERB bands, 50 ... 15000 Hz in steps of 0.25 ERB.

    Rounded-exponential auditory filters whose lower slope depends on the level per ERB
    (Moore, Glasberg & Baer 1997), summed over the FFT bins of the multi-resolution
    spectrum (:func:`torch_amt.functional.glasberg2002.excitation_pattern`). AMT's
    ``results.eLdB`` is ``10·log10(eL/(20 µPa)²)``
    (:func:`~torch_amt.functional.glasberg2002.excitation_level_db`).

    Parameters
    ----------
    fs : float
        Sampling rate of the analysed signal in Hz (AMT: 32000).
    fft_len : int
        FFT length of the spectrum (2048).

    Attributes
    ----------
    fc : Tensor, shape (149,)
        Band centre frequencies in Hz (float64 buffer).
    erb_n : Tensor, shape (149,)
        Their ERB numbers (AMT ``results.erbN``; float64 buffer).

    Shape
    -----
    ``(..., fft_len/2 + 1, N)`` → ``(..., 149, N)``. Differentiable where the band
    intensities are positive (digital silence gives NaN, as in AMT).
    """

    amt_function = "glasberg2002 (excitation pattern)"
    float64_buffers = ("fc", "erb_n")

    def __init__(self, fs: float, fft_len: int = 2048) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.fft_len = _checks.check_positive(fft_len, "fft_len", integer=True)
        bands = erb_bands(self.fs, self.fft_len)
        self.register_buffer("fc", torch.from_numpy(bands.fc))
        self.register_buffer("erb_n", torch.from_numpy(bands.erb_n))

    def forward(self, intensity: torch.Tensor) -> torch.Tensor:
        """The excitation per band and block."""
        return excitation_pattern(intensity, self.fs, self.fft_len)

    def extra_repr(self) -> str:
        return f"fs={self.fs:g}, fft_len={self.fft_len}, bands={self.fc.numel()}"
