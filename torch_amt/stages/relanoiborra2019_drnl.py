"""DRNL filterbank of Relaño-Iborra et al. (2019) (AMT ``relanoiborra2019_drnl``)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.functional.relanoiborra2019 import (
    SUBJECTS,
    RelanoDRNLDesign,
    relanoiborra2019_drnl,
    relanoiborra2019_drnl_design,
)
from torch_amt.scales import erbspace
from torch_amt.stages.base import Stage

__all__ = ["RelanoIborra2019DRNL", "relanoiborra2019_highest_fc"]

#: ``(log10 gain, exponent)`` of the channel frequencies that must stay below fs/2:
#: linear centre frequency, linear low-pass cut-off, nonlinear centre frequency/cut-off.
_NYQUIST = ((-0.06762, 1.01679), (-0.06762, 1.01), (-0.05252, 1.01650))


def relanoiborra2019_highest_fc(fs: float) -> float:
    """The highest centre frequency (Hz) whose ``relanoiborra2019_drnl`` filters all lie
    below ``fs/2`` (7788 Hz at 16 kHz; above 8000 Hz from 22.05 kHz on), lowered by one
    part in 1e9."""
    fs = _checks.check_fs(fs)
    return min((fs / 2 / 10.0 ** p) ** (1.0 / q) for p, q in _NYQUIST) * (1 - 1e-9)


class RelanoIborra2019DRNL(Stage):
    """DRNL filterbank of the sCASP model (Relaño-Iborra et al. 2019), AMT 1.4.0
    ``relanoiborra2019_drnl`` applied per channel.

    Lopez-Poveda & Meddis (2001)'s dual-resonance nonlinear filter with Jepsen et al.
    (2008)'s parameters in M. L. Jepsen's implementation: linear path = gain, three
    passes of a 2-pole/1-zero resonator (``coefGtDRNL``), four 2nd-order Butterworth
    low-passes; nonlinear path = three resonator passes, broken stick
    ``sign(y)·min(a|y|, b|y|^c)``, three resonator passes, three low-passes. Every
    parameter is ``10^(p0 + p1·log10(fc))`` (:func:`~torch_amt.functional.relanoiborra2019.
    relanoiborra2019_drnl_channel`). The input is the middle-ear output in Pa; no gain is
    applied here (the model adds +50 dB after this stage).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    flow, fhigh : float
        Range of the centre frequencies in Hz (AMT ``flow`` 100, ``fhigh`` 8000).
        ``fhigh=None``: 8000 Hz, or the highest computable channel where that is lower
        (:func:`relanoiborra2019_highest_fc`, 7788 Hz at 16 kHz; AMT itself designs
        filters above fs/2 there).
    fcnt : int
        Number of channels, ``erbspace(flow, fhigh, fcnt)`` (AMT ``fcnt``, 60).
    fc : sequence or Tensor, optional
        Explicit centre frequencies in Hz instead of ``flow``/``fhigh``/``fcnt``.
    subject : {'NH', 'HIx'}
        AMT ``subject``: normal hearing (``a``, ``b`` at ``fc`` up to 1 kHz, at 1.5 kHz
        above; ``c = 0.25``) or the example hearing-impaired listener without
        compression (``a = 0``: linear path only).
    above_nyquist : bool
        Accept channels whose filters reach fs/2 and design them with AMT's formulas,
        aliased, as AMT does (e.g. ``fhigh=8000`` at 16 kHz). Default False: a
        ValueError.
    dtype : torch.dtype
        Kept for the common interface; the coefficients are float64 buffers and the
        output has the input's precision.

    Attributes
    ----------
    fc : Tensor, shape (F,)
        Centre frequencies in Hz (float64 buffer).

    Shape
    -----
    Input ``(T,)``, ``(B, T)`` (or any ``(..., T)``); output ``(..., F, T)``.

    References
    ----------
    H. Relaño-Iborra, J. Zaar, and T. Dau, J. Acoust. Soc. Am. 146(5), 3306–3317 (2019).
    M. L. Jepsen, S. D. Ewert, and T. Dau, J. Acoust. Soc. Am. 124(1), 422–438 (2008).
    E. A. Lopez-Poveda and R. Meddis, J. Acoust. Soc. Am. 110(6), 3107–3118 (2001).
    """

    amt_function = "relanoiborra2019_drnl"
    float64_buffers = ("fc", "lin_gain", "a", "b", "c", "gt_lin_b", "gt_lin_a", "lp_lin_b",
                       "lp_lin_a", "gt_nlin_b", "gt_nlin_a", "lp_nlin_b", "lp_nlin_a")

    def __init__(self, fs: float, flow: float = 100.0, fhigh: float | None = 8000.0, *,
                 fcnt: int = 60, fc=None, subject: str = "NH", above_nyquist: bool = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.dtype = _checks.check_dtype(dtype)
        self.subject = _checks.check_choice(subject, "subject", SUBJECTS)
        if fc is None:
            flow = _checks.check_number(flow, "flow", minimum=0, strict=True)
            if fhigh is None:
                fhigh = min(8000.0, relanoiborra2019_highest_fc(self.fs))
            fhigh = _checks.check_number(fhigh, "fhigh", minimum=flow)
            fcnt = _checks.check_positive(fcnt, "fcnt", integer=True)
            fc = erbspace(float(flow), float(fhigh), int(fcnt), dtype=torch.float64)
        self.above_nyquist = _checks.check_bool(above_nyquist, "above_nyquist")
        design = relanoiborra2019_drnl_design(fc, self.fs, self.subject,
                                              above_nyquist=self.above_nyquist)
        self._counts = (design.lin_ngt, design.lin_nlp, design.nlin_ngt, design.nlin_nlp)
        for name in ("fc", "lin_gain", "a", "b", "c"):
            self.register_buffer(name, getattr(design, name))
        for name in ("gt_lin", "lp_lin", "gt_nlin", "lp_nlin"):
            self.register_buffer(f"{name}_b", getattr(design, name)[0])
            self.register_buffer(f"{name}_a", getattr(design, name)[1])

    @property
    def num_channels(self) -> int:
        """Number of auditory channels ``F``."""
        return self.fc.numel()

    def design(self) -> RelanoDRNLDesign:
        """The filters in force (from the buffers)."""
        lin_ngt, lin_nlp, nlin_ngt, nlin_nlp = self._counts
        return RelanoDRNLDesign(
            fc=self.fc, lin_gain=self.lin_gain, a=self.a, b=self.b, c=self.c,
            gt_lin=(self.gt_lin_b, self.gt_lin_a), lp_lin=(self.lp_lin_b, self.lp_lin_a),
            gt_nlin=(self.gt_nlin_b, self.gt_nlin_a), lp_nlin=(self.lp_nlin_b, self.lp_nlin_a),
            lin_ngt=lin_ngt, lin_nlp=lin_nlp, nlin_ngt=nlin_ngt, nlin_nlp=nlin_nlp,
            subject=self.subject)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x (..., T)`` (Pa, after the ear filters) into ``(..., F, T)`` (m/s)."""
        x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
        _checks.check_module_input(self, x)
        return relanoiborra2019_drnl(x, self.design())

    def amt_equivalent(self) -> str:
        return f"relanoiborra2019_drnl(insig, fc(n), fs, '{self.subject}') per channel"

    def extra_repr(self) -> str:
        return (f"fs={self.fs:g}, num_channels={self.num_channels}, "
                f"fc=[{float(self.fc[0]):.1f} … {float(self.fc[-1]):.1f}] Hz, "
                f"subject={self.subject!r}")


