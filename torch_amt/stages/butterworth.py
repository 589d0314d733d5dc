"""A Butterworth filter as a stage (e.g. King et al. 2019's 3-Hz high-pass "adaptation")."""

from __future__ import annotations

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.dsp.design import butter
from torch_amt.dsp.iir import lfilter
from torch_amt.stages.base import Stage

__all__ = ["ButterworthFilter"]


class ButterworthFilter(Stage):
    """Digital Butterworth filter applied along the last (time) axis.

    The coefficients are those of MATLAB/Octave ``butter(order, cutoff/(fs/2), btype)``
    (designed by :func:`torch_amt.dsp.design.butter`); filtering is
    :func:`torch_amt.dsp.lfilter` (MATLAB ``filter``, zero initial state).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    cutoff : float or pair of float
        Cut-off frequency in Hz (band edges for ``'bandpass'``/``'bandstop'``).
    order : int
        Order of the low-pass prototype (AMT ``adt_HP_order`` for King2019: 1).
    btype : {'low', 'high', 'bandpass', 'bandstop'}
        Filter type.
    learnable : bool
        Make the cut-off frequency trainable (parameterised as ``log(cutoff)`` so it stays
        positive; the coefficients are re-designed, in float64, whenever it changes).
    dtype : torch.dtype
        dtype of the learnable cut-off (default float32). The coefficients ``b``, ``a``
        and the fixed cut-off are float64 buffers; a float32 signal is filtered with the
        float64 coefficients (see :class:`~torch_amt.stages.base.Stage`).

    Shape
    -----
    Input ``(..., T)``; output of the same shape.

    References
    ----------
    A. King, L. Varnet, and C. Lorenzi, "Accounting for masking of frequency modulation
    by amplitude modulation with the modulation filter-bank concept", J. Acoust. Soc.
    Am. 145(4), 2277–2293 (2019) — the 3-Hz first-order high-pass adaptation stage.
    """

    amt_function = "butter/filter"
    float64_buffers = ("cutoff_value", "b", "a")

    def __init__(self, fs: float, cutoff, order: int = 1, btype: str = "high", *,
                 learnable: bool = False, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.order = _checks.check_positive(order, "order", integer=True)
        self.btype = btype
        cutoff_t = _checks.check_frequencies(cutoff, self.fs, "cutoff").to(torch.float64)
        b, a = butter(self.order, cutoff_t, self.fs, btype)
        self.learnable = _checks.check_bool(learnable, "learnable")
        _checks.check_dtype(dtype)
        if self.learnable:
            self.log_cutoff = nn.Parameter(cutoff_t.log().to(dtype))
        else:
            self.register_buffer("cutoff_value", cutoff_t)
        self.register_buffer("b", b)
        self.register_buffer("a", a)

    @property
    def cutoff(self) -> torch.Tensor:
        """Cut-off frequency (or band edges) in Hz."""
        return self.log_cutoff.exp() if self.learnable else self.cutoff_value

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(b, a)`` in force (re-designed from the learnable cut-off if any)."""
        if self.learnable:
            return self.cached_design("butter", (self.log_cutoff,), lambda: butter(
                self.order, self.cutoff.double(), self.fs, self.btype))
        return self.b, self.a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x (..., T)``."""
        x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
        _checks.check_module_input(self, x)
        b, a = self.coefficients()
        return lfilter(x, b, a)

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, order={self.order}, btype={self.btype!r}, "
                f"learnable={self.learnable}")
