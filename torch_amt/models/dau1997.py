"""Dau, Kollmeier & Kohlrausch (1997) modulation-filterbank model, as AMT 1.4.0 ``dau1997``."""

from __future__ import annotations

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.dsp.fft import fftresample
from torch_amt.levels import gaindb
from torch_amt.models._common import EarFilters, Learnable, resolve_learnable, unbatch_stages
from torch_amt.stages.adaptation import AdaptLoop
from torch_amt.stages.gammatone import GammatoneFilterbank
from torch_amt.stages.ihc import IHCEnvelope
from torch_amt.stages.modulation import FastModulationFilterbank

__all__ = ["Dau1997"]


class Dau1997(nn.Module):
    """Internal representation of the Dau et al. (1997) model (AMT 1.4.0 ``dau1997``).

    Processing chain (AMT flag equivalents in brackets)::

        x ── gain dboffset-100 dB ──[outerear]──[middleear | jepsen2008]──
          ── GammatoneFilterbank (auditoryfilterbank, afb_dau1997: 1 ERB, basef 1 kHz)
          ── IHCEnvelope (ihc_dau1996: HWR + 1st-order 1-kHz low-pass)      [no_ihc]
          ── AdaptLoop (adt_dau1997: 5 loops, limit 10, minspl 0 dB)         [no_adt]
          ── fftresample to subfs (optional)
          ── ModulationFilterbank (mfb_jepsen2008 by default, AMT 1.4.0)      [no_mfb]

    AMT 1.4.0 imports ``mfb_jepsen2008`` by default (150-Hz low-pass before the bank,
    mfc up to min(fc/4, 1000 Hz), 1/√2 on ``|.|`` above 10 Hz); ``modulation='mfb_dau1997'``
    gives the bank of the 1997 paper, ``'mfb_verhey1999'`` AMT 0.9.10's ``dau1997_preproc``.

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz.
    flow, fhigh : float
        Lowest / highest centre frequency in Hz (AMT positional ``flow``, ``fhigh``;
        80, 8000).
    basef : float or None
        Frequency forced onto the 1-ERB grid (AMT ``basef``; 1000 via ``afb_dau1997``).
    bwmul : float
        Channel spacing in ERB (AMT ``bwmul``; 1).
    dboffset : float
        Level convention of the input: an rms of 1 is ``dboffset`` dB SPL (AMT
        ``dboffset``; 100 via ``afb_dau1997``). The input is scaled by
        ``gaindb(x, dboffset - 100)`` because the adaptation loops assume 100.
    outerear : bool
        Headphone/outer-ear FIR (AMT ``'outerear'``), with AMT's group-delay compensation.
    middleear : {None, 'lopezpoveda2001', 'jepsen2008'}
        Middle-ear FIR (AMT ``'middleear'`` / ``'jepsen2008'``), delay-compensated and
        normalised by the maximum of its magnitude response, as AMT does.
    ihc : bool
        Inner-hair-cell envelope stage on/off (AMT ``'ihc'``/``'no_ihc'``).
    ihc_method : str
        AMT ``ihcenvelope`` method (default ``'ihc_dau1996'``).
    adt : bool
        Adaptation stage on/off (AMT ``'adt'``/``'no_adt'``; AMT runs it anyway when the
        modulation filterbank is on).
    adaptation : str
        AMT ``adaptloop`` group (default ``'adt_dau1997'``).
    mfb : bool
        Modulation filterbank on/off (AMT ``'mfb'``/``'no_mfb'``).
    modulation : str
        AMT ``modfilterbank`` group (default ``'mfb_jepsen2008'``, AMT 1.4.0's default).
    subfs : float, optional
        Resample the adaptation output to ``subfs`` Hz with LTFAT ``fftresample`` before
        the modulation filterbank (AMT ``subfs``).
    learnable : bool or iterable of str
        ``True`` makes every stage that has learnable parameters learnable; or name the
        stages: ``{'afb', 'adt', 'mfb'}``.
    dtype : torch.dtype
        dtype of the stages' parameters and buffers (default float32; float64 reproduces
        AMT to ~1e-9).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``. Output (``mfb=True``): list of ``F`` tensors
    ``(B, M_f, T_out)`` (without ``B`` for 1-D input); otherwise ``(B, F, T)``.
    ``forward(x, return_stages=True)`` returns a dict of every stage's output
    (``'outerear'``, ``'middleear'``, ``'afb'``, ``'ihc'``, ``'adt'``, ``'out'``).

    References
    ----------
    T. Dau, B. Kollmeier, and A. Kohlrausch, "Modeling auditory processing of amplitude
    modulation. I. Detection and masking with narrow-band carriers", J. Acoust. Soc. Am.
    102(5), 2892–2905 (1997). T. Dau, D. Püschel, and A. Kohlrausch, "A quantitative
    model of the 'effective' signal processing in the auditory system. I.", J. Acoust.
    Soc. Am. 99(6), 3615–3622 (1996). P. Majdak, C. Hollomey, and R. Baumgartner, "AMT
    1.x: A toolbox for reproducible research in auditory modeling", Acta Acust. 6, 19
    (2022).
    """

    def __init__(self, fs: float, flow: float = 80.0, fhigh: float = 8000.0, *,
                 basef: float | None = 1000.0, bwmul: float = 1.0, dboffset: float = 100.0,
                 outerear: bool = False, middleear: str | None = None, ihc: bool = True,
                 ihc_method: str = "ihc_dau1996", adt: bool = True,
                 adaptation: str = "adt_dau1997", mfb: bool = True,
                 modulation: str = "mfb_jepsen2008", subfs: float | None = None,
                 learnable: Learnable = False, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.dboffset = _checks.check_number(dboffset, "dboffset")
        self.do_ihc, self.do_mfb = bool(ihc), bool(mfb)
        self.do_adt = bool(adt) or self.do_mfb
        self.subfs = None if subfs is None else _checks.check_fs(subfs, "subfs")
        learn = resolve_learnable(learnable, ("afb", "adt", "mfb"))
        self.ears = EarFilters(self.fs, outerear=outerear, middleear=middleear,
                               compensate_delay=True, dtype=dtype)
        self.afb = GammatoneFilterbank(self.fs, flow=flow, fhigh=fhigh, basef=basef,
                                       bwmul=bwmul, learnable="afb" in learn, dtype=dtype)
        self.ihc = IHCEnvelope(self.fs, ihc_method, dtype=dtype) if self.do_ihc else None
        self.adt = (AdaptLoop(self.fs, preset=adaptation, learnable="adt" in learn, dtype=dtype)
                    if self.do_adt else None)
        self.mfb = (FastModulationFilterbank(self.output_fs, self.afb.fc0.double(),
                                         preset=modulation, learnable="mfb" in learn,
                                         dtype=dtype)
                    if self.do_mfb else None)

    @property
    def fc(self) -> torch.Tensor:
        """Centre frequencies of the auditory channels in Hz, shape ``(F,)``."""
        return self.afb.fc

    @property
    def mfc(self) -> list[torch.Tensor]:
        """Modulation centre frequencies per auditory channel (Hz)."""
        return list(self.mfb.mfc) if self.mfb is not None else []

    @property
    def output_fs(self) -> float:
        """Sampling rate of the output in Hz (``subfs`` if resampling, else ``fs``)."""
        return self.subfs if (self.subfs is not None and self.do_mfb) else self.fs

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        """Run the model on ``x (T,)`` or ``(B, T)``; see the class docstring for outputs."""
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 1)
        stages: dict[str, object] = {}
        y = gaindb(x, self.dboffset - 100)
        y = self.ears(y, stages)
        y = self.afb(y)
        stages["afb"] = y
        if self.ihc is not None:
            y = self.ihc(y)
            stages["ihc"] = y
        if self.adt is not None:
            y = self.adt(y)
            stages["adt"] = y
        if self.mfb is not None:
            if self.subfs is not None:
                n_out = round(y.shape[-1] / self.fs * self.subfs)
                y = fftresample(y, n_out)
                stages["resampled"] = y
            y = self.mfb(y)
        stages["out"] = y
        if unbatched:
            stages = unbatch_stages(stages)
        return stages if return_stages else stages["out"]
