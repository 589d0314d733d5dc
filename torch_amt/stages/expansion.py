"""Expansion: the power law after the inner-hair-cell stage (squaring in CASP)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.stages.base import Stage

__all__ = ["Expansion"]


class Expansion(Stage):
    """Raise the signal to a fixed power, ``x ** exponent``.

    Jepsen et al. (2008) square the IHC output ("expansion", ``outsig.^2`` in AMT's
    ``jepsen2008``) to undo the compression of the BM input-output function in the
    squared domain the adaptation stage expects.

    Parameters
    ----------
    exponent : float
        Exponent (> 0; 2 in CASP).

    Shape
    -----
    Any shape ``(..., T)``; the output has the input's shape and dtype.

    References
    ----------
    M. L. Jepsen, S. D. Ewert, and T. Dau, "A computational model of human auditory signal
    processing and perception", J. Acoust. Soc. Am. 124(1), 422–438 (2008).
    """

    amt_function = "power"
    streamable = True

    def __init__(self, exponent: float = 2.0) -> None:
        super().__init__()
        self.exponent = _checks.check_positive(exponent, "exponent")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x ** exponent``."""
        return x ** self.exponent

    def amt_equivalent(self) -> str:
        return f"insig.^{self.exponent:g}"

    def extra_repr(self) -> str:
        return f"exponent={self.exponent:g}"
