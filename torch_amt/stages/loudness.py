"""Specific loudness and its temporal integration (Glasberg & Moore 2002, AMT
``glasberg2002``)."""

from __future__ import annotations

import warnings

import torch

from torch_amt.functional.glasberg2002 import (
    instantaneous_loudness,
    loudness_integration,
    specific_loudness,
)
from torch_amt.stages.base import Stage

__all__ = ["LoudnessIntegration", "SpecificLoudness"]


class SpecificLoudness(Stage):
    """Specific loudness (sone/ERB) from the excitation in ERB bands (ANSI S3.4-2007 law).

    Three branches (below threshold, up to 1e10, above) with AMT 1.4.0's parameters and
    calibration (:func:`torch_amt.functional.glasberg2002.specific_loudness`; evaluated
    in float64, returned in the input's dtype).

    Parameters
    ----------
    fc : Tensor or array_like, shape (J,)
        Band centre frequencies in Hz (the excitation stage's ``fc``).

    Shape
    -----
    ``(..., J, N)`` → ``(..., J, N)``. Differentiable inside each branch. An excitation
    below zero (AMT quirk at input levels far above 130 dB SPL) gives complex values, as
    in AMT, with a :class:`UserWarning`.
    """

    amt_function = "glasberg2002 (specific loudness)"
    float64_buffers = ("fc",)

    def __init__(self, fc) -> None:
        super().__init__()
        self.register_buffer("fc", torch.as_tensor(fc, dtype=torch.float64).reshape(-1).clone())

    def forward(self, excitation: torch.Tensor) -> torch.Tensor:
        """The specific loudness per band and block."""
        out = specific_loudness(excitation, self.fc.detach().cpu().numpy())
        if out.is_complex():
            warnings.warn("negative excitation (input level far above AMT's range): the "
                          "specific loudness is complex, as AMT's", UserWarning, stacklevel=2)
        return out

    def extra_repr(self) -> str:
        return f"bands={self.fc.numel()}"


class LoudnessIntegration(Stage):
    """Instantaneous, short-term and long-term loudness (sone) from specific loudness.

    Instantaneous binaural loudness ``2 · 0.25 · Σ_bands N'`` (AMT: twice the monaural
    loudness, for a diotic sound), then the short-term loudness (attack 0.045, release
    0.02 per 1-ms step) and the long-term loudness (0.01, 0.0005) integrators of
    Glasberg & Moore (2002)
    (:func:`torch_amt.functional.glasberg2002.loudness_integration`).

    Shape
    -----
    ``(..., J, N)`` → ``(..., 3, N)``: rows instantaneous (binaural), short-term,
    long-term loudness. The monaural loudness is half the first row.
    Differentiable (the attack/release choice is piecewise constant).
    """

    amt_function = "glasberg2002 (loudness, STL, LTL)"
    rows = ("instantaneous", "short-term", "long-term")

    def forward(self, specific: torch.Tensor) -> torch.Tensor:
        """``stack([N, STL, LTL], -2)``."""
        binaural = 2 * instantaneous_loudness(specific)
        stl, ltl = loudness_integration(binaural)
        return torch.stack([binaural, stl, ltl], dim=-2)
