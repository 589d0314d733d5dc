"""Outer- and middle-ear stage of Breebaart et al. (2001), AMT
``breebaart2001_outmiddlefilter``."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.functional.outmiddle import outmiddle_coefficients
from torch_amt.stages.base import IIRFilterStage

__all__ = ["OuterMiddleEarFilter"]


class OuterMiddleEarFilter(IIRFilterStage):
    """Combined outer- and middle-ear band-pass of Breebaart et al. (2001).

    AMT 1.4.0 ``breebaart2001_outmiddlefilter``: one second-order recursion, a band-pass
    between its poles at 1 kHz and 4 kHz (see :mod:`torch_amt.functional.outmiddle`),
    zero initial state. The coefficients are float64 buffers, computed as AMT computes
    them.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    dtype : torch.dtype
        Accepted for a uniform signature (default float32); the stage has no parameters.

    Shape
    -----
    Input ``(..., T)`` (e.g. ``(B, 2, T)``: both ears); output of the same shape.

    References
    ----------
    J. Breebaart, S. van de Par, and A. Kohlrausch, "Binaural processing model based on
    contralateral inhibition. I. Model structure", J. Acoust. Soc. Am. 110(2),
    1074–1088 (2001).
    """

    amt_function = "breebaart2001_outmiddlefilter"
    float64_buffers = ("b", "a")

    def __init__(self, fs: float, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        _checks.check_dtype(dtype)
        b, a = outmiddle_coefficients(self.fs)
        self.register_buffer("b", b)
        self.register_buffer("a", a)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(b, a)``, float64."""
        return self.b, self.a

    def extra_repr(self) -> str:
        return f"fs={self.fs:g}"
