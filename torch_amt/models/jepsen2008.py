"""Jepsen, Ewert & Dau (2008) computational auditory signal-processing model (CASP)."""

from __future__ import annotations

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.levels import DBSPL_AMT, gaindb
from torch_amt.models._common import EarFilters, Learnable, resolve_learnable, unbatch_stages
from torch_amt.stages.adaptation import AdaptLoop
from torch_amt.stages.drnl import DRNLFilterbank
from torch_amt.stages.ihc import IHCEnvelope
from torch_amt.stages.modulation import FastModulationFilterbank

__all__ = ["Jepsen2008"]


class Jepsen2008(nn.Module):
    """Internal representation of the CASP model of Jepsen et al. (2008), as AMT computes it.

    AMT 1.4.0's own ``jepsen2008()`` stops with an error on its first line; this class
    runs the body of that function with the AMT stages it calls (reference README quirks
    1–2), in this order::

        x ── headphone FIR (outer ear; no delay compensation)
          ── DRNLFilterbank (lopezpoveda2001 with the jepsen2008 parameters, including
             the jepsen2008 middle-ear FIR; its dboffset scaling)
          ── +50 dB gain
          ── IHCEnvelope (ihc_dau1996: HWR + 1st-order 1-kHz low-pass)
          ── squaring (expansion)
          ── AdaptLoop (adt_dau1997, AMT's default)
          ── ModulationFilterbank (mfb_jepsen2008, AMT's default: 150-Hz low-pass,
             mfc up to min(fc/4, 1000 Hz), 1/√2 on |.| above 10 Hz)

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    flow, fhigh : float
        Range of the DRNL centre frequencies in Hz (AMT ``flow``/``fhigh``: 80, 8000;
        ``fhigh`` must keep the nonlinear path's centre frequency below fs/2).
    basef : float, optional
        Frequency forced onto the 1-ERB grid (AMT ``basef``).
    dboffset : float
        Level convention of the input: an rms of 1 is ``dboffset`` dB SPL. Default
        93.98, AMT 1.4.0's ``dbspl(1)`` that ``lopezpoveda2001`` reads.
    outerear : bool
        Headphone/outer-ear filter on (default, as in the model) or off.
    gain_db : float
        Gain between the DRNL and the IHC stage (50 dB in AMT's ``jepsen2008`` body).
    expansion : float
        Exponent of the expansion after the IHC stage (2: squaring).
    adaptation : str
        AMT ``adaptloop`` group (``'adt_dau1997'``).
    modulation : str
        AMT ``modfilterbank`` group (``'mfb_jepsen2008'``).
    learnable : bool or iterable of str
        ``True`` or a subset of ``{'drnl', 'adt', 'mfb'}``.
    dtype : torch.dtype
        dtype of parameters and buffers (default float32).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``; output: list of ``F`` tensors ``(B, M_f, T)``.
    ``forward(x, return_stages=True)`` returns ``'outerear'``, ``'drnl'``, ``'gain'``,
    ``'ihc'``, ``'expansion'``, ``'adt'``, ``'out'`` (AMT reference ``step1``–``step6``).

    References
    ----------
    M. L. Jepsen, S. D. Ewert, and T. Dau, "A computational model of human auditory signal
    processing and perception", J. Acoust. Soc. Am. 124(1), 422–438 (2008).
    E. A. Lopez-Poveda and R. Meddis, "A human nonlinear cochlear filterbank", J. Acoust.
    Soc. Am. 110(6), 3107–3118 (2001).
    """

    def __init__(self, fs: float, flow: float = 80.0, fhigh: float = 8000.0, *,
                 basef: float | None = None, dboffset: float = DBSPL_AMT,
                 outerear: bool = True, gain_db: float = 50.0, expansion: float = 2.0,
                 adaptation: str = "adt_dau1997", modulation: str = "mfb_jepsen2008",
                 learnable: Learnable = False, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.dboffset = _checks.check_number(dboffset, "dboffset")
        self.gain_db = _checks.check_number(gain_db, "gain_db")
        self.expansion = _checks.check_positive(expansion, "expansion")
        learn = resolve_learnable(learnable, ("drnl", "adt", "mfb"))
        self.ears = EarFilters(self.fs, outerear=outerear, compensate_delay=False, dtype=dtype)
        self.drnl = DRNLFilterbank(self.fs, "jepsen2008", flow=flow, fhigh=fhigh, basef=basef,
                                   dboffset=self.dboffset,
                                   learnable="drnl" in learn, dtype=dtype)
        self.ihc = IHCEnvelope(self.fs, "ihc_dau1996", dtype=dtype)
        self.adt = AdaptLoop(self.fs, preset=adaptation, learnable="adt" in learn, dtype=dtype)
        self.mfb = FastModulationFilterbank(self.fs, self.drnl.fc.detach().double(),
                                        preset=modulation, learnable="mfb" in learn,
                                        dtype=dtype)

    @property
    def fc(self) -> torch.Tensor:
        """Centre frequencies of the auditory channels in Hz, shape ``(F,)``."""
        return self.drnl.fc

    @property
    def mfc(self) -> list[torch.Tensor]:
        """Modulation centre frequencies per auditory channel (Hz)."""
        return list(self.mfb.mfc)

    @property
    def output_fs(self) -> float:
        """Sampling rate of the output in Hz (= ``fs``)."""
        return self.fs

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        """Run the model on ``x (T,)`` or ``(B, T)``; see the class docstring for outputs."""
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 1)
        stages: dict[str, object] = {}
        y = self.ears(x, stages)
        stages["drnl"] = y = self.drnl(y)
        stages["gain"] = y = gaindb(y, self.gain_db)
        stages["ihc"] = y = self.ihc(y)
        stages["expansion"] = y = y ** self.expansion
        stages["adt"] = y = self.adt(y)
        stages["out"] = self.mfb(y)
        if unbatched:
            stages = unbatch_stages(stages)
        return stages if return_stages else stages["out"]
