"""Outer/middle-ear FIR of Glasberg & Moore (2002), applied forwards and backwards (AMT
``glasberg2002``)."""

from __future__ import annotations

import warnings

import torch

from torch_amt import _checks
from torch_amt.dsp.filtfilt import octave_filtfilt
from torch_amt.functional.glasberg2002 import COMPENSATION_TYPES, outer_middle_ear_fir
from torch_amt.stages.base import Stage

__all__ = ["Glasberg2002OuterMiddleEarFilter"]


class Glasberg2002OuterMiddleEarFilter(Stage):
    """The ``glasberg2002`` outer/middle-ear transfer: a ``fir2`` FIR run by ``filtfilt``.

    The FIR (order ``order``, AMT 4096) is designed from ``data_glasberg2002``'s free-field
    outer-ear and middle-ear tables at ``flow:fhigh`` Hz
    (:func:`torch_amt.functional.glasberg2002.outer_middle_ear_fir`) and applied with
    Octave's ``filtfilt`` (:func:`torch_amt.dsp.filtfilt.octave_filtfilt`): zero phase, the
    magnitude squared. AMT quirks kept (reference README, quirk 16): the table's dB are
    used as amplitudes ``10^(dB/10)`` (so the applied gain is four times the table in
    dB), and the design grid puts ``flow ... fhigh`` at ``0 ... fs/2``.

    Octave's ``filtfilt`` needs more than ``3·order`` samples (12288 at AMT's defaults,
    0.384 s at 32 kHz) and AMT stops with an error for shorter signals. This stage
    instead extends such a signal with zeros to ``3·order + 1`` samples, filters, and
    returns the first ``T`` samples, with a :class:`UserWarning` (no AMT counterpart).

    The stage computes and returns **float64** whatever the input dtype: AMT's
    excitation patterns span some 300 dB (filter tails far from a sound's energy), and
    float32 rounding of the ear signal (about -150 dB re its peak) would swamp the
    quiet bins of the spectrum that follows.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (AMT: 32000; the design does not depend on it).
    compensation : {'tfOuterMiddle1997', 'tfOuterMiddle2007'}
        AMT's compensation flag.
    flow, fhigh : float
        Frequency range of the tables in Hz (AMT ``flow`` 20, ``fhigh`` 16000).
    order : int
        FIR order (AMT ``order``, 4096).

    Shape
    -----
    ``(..., T)`` → ``(..., T)``, float64. Differentiable (linear in the signal).
    """

    amt_function = "glasberg2002 (fir2 + filtfilt)"
    float64_buffers = ("b",)

    def __init__(self, fs: float, compensation: str = "tfOuterMiddle1997", *,
                 flow: float = 20.0, fhigh: float = 16000.0, order: int = 4096) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.preset = _checks.check_choice(compensation, "compensation", COMPENSATION_TYPES)
        self.flow, self.fhigh = float(flow), float(fhigh)
        self.order = _checks.check_positive(order, "order", integer=True)
        self.register_buffer("b", outer_middle_ear_fir(self.order, self.flow, self.fhigh,
                                                       self.preset))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``filtfilt(b, 1, x)`` in float64 (zero-extended first when ``T <= 3·order``)."""
        x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
        x = x.to(torch.float64)
        n_t, minimum = x.shape[-1], 3 * self.order + 1
        b = self.b.to(device=x.device)
        if n_t >= minimum:
            return octave_filtfilt(x, b, 1.0)
        warnings.warn(f"glasberg2002's filtfilt needs more than {3 * self.order} samples (AMT "
                      f"stops with an error); the {n_t}-sample signal is extended with zeros to "
                      f"{minimum} samples for the outer/middle-ear filter", UserWarning,
                      stacklevel=2)
        return octave_filtfilt(torch.nn.functional.pad(x, (0, minimum - n_t)), b, 1.0)[..., :n_t]

    def amt_equivalent(self) -> str:
        return f"filtfilt(fir2({self.order}, ..., '{self.preset}'), 1, insig)"

    def extra_repr(self) -> str:
        return (f"fs={self.fs:g}, compensation={self.preset!r}, flow={self.flow:g}, "
                f"fhigh={self.fhigh:g}, order={self.order}")
