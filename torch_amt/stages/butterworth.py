"""A Butterworth filter as a stage (e.g. King et al. 2019's 3-Hz high-pass "adaptation")."""

from __future__ import annotations

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.dsp.design import butter
from torch_amt.stages._bounded import bounded_frequency
from torch_amt.stages.base import IIRFilterStage

__all__ = ["ButterworthFilter"]

_BTYPES = ("low", "lowpass", "high", "highpass", "bandpass", "band", "pass", "bandstop",
           "stop")
_BAND_BTYPES = ("bandpass", "band", "pass", "bandstop", "stop")


class ButterworthFilter(IIRFilterStage):
    """Digital Butterworth filter applied along the last (time) axis.

    The coefficients are those of MATLAB/Octave ``butter(order, cutoff/(fs/2), btype)``
    (designed by :func:`torch_amt.dsp.design.butter`); filtering is
    :func:`torch_amt.dsp.lfilter` (MATLAB ``filter``, zero initial state).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    cutoff : float or pair of float
        Cut-off frequency in Hz; the pair of band edges ``(low, high)`` for
        ``'bandpass'``/``'bandstop'`` (and only for those).
    order : int
        Order of the low-pass prototype (AMT ``adt_HP_order`` for King2019: 1).
    btype : {'low', 'high', 'bandpass', 'bandstop'}
        Filter type (also the aliases of :func:`torch_amt.dsp.design.butter`).
    learnable : bool
        Make the cut-off frequency trainable: ``cutoff = cutoff0·exp(s(θ))`` with the
        parameter ``log_cutoff_scale`` (θ, zero at first: the fixed design, bit for bit)
        and ``s`` the identity near 0 saturating so that the cut-off stays inside
        ``(1e-6·cutoff0, 0.99·fs/2)``
        (:func:`~torch_amt.stages._bounded.bounded_frequency`). The coefficients are
        re-designed, in float64, whenever it changes.
    dtype : torch.dtype
        dtype of the learnable parameter (default float32). The coefficients ``b``, ``a``
        and the initial cut-off ``cutoff_value`` are float64 buffers; a float32 signal is
        filtered with the float64 coefficients (see :class:`~torch_amt.stages.base.Stage`).

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
        self.btype = _checks.check_choice(btype, "btype", _BTYPES)
        cutoff_t = _checks.check_frequencies(cutoff, self.fs, "cutoff").to(torch.float64)
        band = btype in _BAND_BTYPES
        if cutoff_t.numel() != (2 if band else 1):
            raise ValueError(
                f"cutoff must be the pair of band edges (low, high) for btype={btype!r}, got "
                f"{cutoff_t.tolist()} Hz" if band else
                f"cutoff must be one frequency for btype={btype!r}, got "
                f"{cutoff_t.numel()} ({cutoff_t.tolist()} Hz); two band edges need "
                "btype='bandpass' or 'bandstop'")
        cutoff_t = cutoff_t.reshape(2 if band else ())
        b, a = butter(self.order, cutoff_t, self.fs, btype)
        self.learnable = _checks.check_bool(learnable, "learnable")
        _checks.check_dtype(dtype)
        self.register_buffer("cutoff_value", cutoff_t)
        if self.learnable:
            self.log_cutoff_scale = nn.Parameter(torch.zeros_like(cutoff_t, dtype=dtype))
        self.register_buffer("b", b)
        self.register_buffer("a", a)

    @property
    def cutoff(self) -> torch.Tensor:
        """Cut-off frequency (or band edges) in Hz, float64."""
        if not self.learnable:
            return self.cutoff_value
        return bounded_frequency(self.cutoff_value, self.log_cutoff_scale, self.fs)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(b, a)`` in force (re-designed from the learnable cut-off if any)."""
        if self.learnable:
            return self.cached_design(
                "butter", (self.cutoff_value, self.log_cutoff_scale),
                lambda: butter(self.order, self.cutoff, self.fs, self.btype))
        return self.b, self.a

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, order={self.order}, btype={self.btype!r}, "
                f"learnable={self.learnable}")
