"""Gain: amplification by a fixed number of decibels (LTFAT/AMT ``gaindb``)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.levels import gaindb
from torch_amt.stages.base import Stage

__all__ = ["Gain"]


class Gain(Stage):
    """Multiply the signal by ``10**(gain_db/20)``, AMT ``gaindb(insig, gain_db)``.

    Models use it for their level convention (``dboffset - 100`` dB in front of AMT
    ``dau1997``) and for fixed gains inside a chain (+50 dB after the DRNL in
    ``jepsen2008``).

    Parameters
    ----------
    gain_db : float
        Gain in dB.

    Shape
    -----
    Any shape ``(..., T)``; the output has the input's shape and dtype.
    """

    amt_function = "gaindb"
    streamable = True

    def __init__(self, gain_db: float) -> None:
        super().__init__()
        self.gain_db = _checks.check_number(gain_db, "gain_db")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x · 10**(gain_db/20)``."""
        return gaindb(x, self.gain_db)

    def amt_equivalent(self) -> str:
        return f"gaindb(insig, {self.gain_db:g})"

    def extra_repr(self) -> str:
        return f"gain_db={self.gain_db:g}"
