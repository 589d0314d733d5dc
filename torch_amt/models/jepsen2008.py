"""Jepsen, Ewert & Dau (2008) computational auditory signal-processing model (CASP)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.functional.adaptation import ADAPTLOOP_PRESETS
from torch_amt.functional.drnl import DRNL_PRESETS, DRNLParams
from torch_amt.functional.ihc import get_method
from torch_amt.functional.modfilterbank import MODFILTERBANK_PRESETS, PRESET_ALIASES
from torch_amt.levels import DBSPL_AMT
from torch_amt.models.base import AuditoryModel, Learnable, resolve_learnable
from torch_amt.stages import (
    AdaptLoop,
    DRNLFilterbank,
    FastModulationFilterbank,
    HeadphoneFilter,
    IHCEnvelope,
)
from torch_amt.stages.expansion import Expansion
from torch_amt.stages.gain import Gain

__all__ = ["Jepsen2008"]


class Jepsen2008(AuditoryModel):
    """Internal representation of the CASP model of Jepsen et al. (2008), as AMT computes it.

    AMT 1.4.0's own ``jepsen2008()`` stops with an error on its first line; this class
    runs the body of that function with the AMT stages it calls (the ``jepsen2008chain``
    reference files were made the same way with AMT). Chain (stage names of
    :data:`~torch_amt.models.base.STAGE_VOCABULARY`)::

        outerear   headphonefilter (no delay compensation)
        drnl       lopezpoveda2001 with the jepsen2008 parameters, including the
                   jepsen2008 middle-ear FIR and its dboffset scaling
        gain       gaindb(outsig, 50)
        ihc        ihcenvelope 'ihc_dau1996' (HWR + 1st-order 1-kHz low-pass)
        expansion  outsig.^2
        adt        adaptloop 'adt_dau1997' (AMT's default)
        mfb        modfilterbank 'mfb_jepsen2008' (150-Hz low-pass, mfc up to
                   min(fc/4, 1000 Hz), 1/√2 on |.| above 10 Hz)

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    flow, fhigh : float
        Range of the DRNL centre frequencies in Hz (AMT ``flow``/``fhigh``: 80, 8000).
        ``fhigh=None`` (default): AMT's 8000 Hz where the DRNL can compute it, else the
        highest channel whose nonlinear path lies below fs/2 (7788 Hz at 16 kHz, where
        AMT's own ``lopezpoveda2001`` fails with 8000); an explicit ``fhigh`` must keep
        the nonlinear path's centre frequency below fs/2.
    basef : float, optional
        Frequency forced onto the 1-ERB grid (AMT ``basef``).
    dboffset : float
        Level convention of the input: an rms of 1 is ``dboffset`` dB SPL. Default
        93.98, AMT 1.4.0's ``dbspl(1)`` that ``lopezpoveda2001`` reads.
    outerear : bool
        Headphone/outer-ear filter on (default, as in the model) or off.
    drnl_preset : str
        DRNL parameter set (``'jepsen2008'``).
    gain_db : float
        Gain between the DRNL and the IHC stage (50 dB in AMT's ``jepsen2008`` body).
    ihc_preset : str
        AMT ``ihcenvelope`` method (``'ihc_dau1996'``).
    expansion_exponent : float
        Exponent of the expansion after the IHC stage (2: squaring).
    adt_preset : str
        AMT ``adaptloop`` group (``'adt_dau1997'``).
    mfb_preset : str
        AMT ``modfilterbank`` group (``'mfb_jepsen2008'``).
    learnable : bool or iterable of str
        ``True`` or a subset of ``{'drnl', 'adt', 'mfb'}``.
    dtype : torch.dtype
        dtype of parameters and buffers (default float32).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``; output: list of ``F`` tensors ``(B, M_f, T)``.
    ``forward(x, return_stages=True)`` returns every stage's output by chain name (AMT
    reference ``step1``–``step6``) and ``'out'``.

    References
    ----------
    M. L. Jepsen, S. D. Ewert, and T. Dau, "A computational model of human auditory signal
    processing and perception", J. Acoust. Soc. Am. 124(1), 422–438 (2008).
    E. A. Lopez-Poveda and R. Meddis, "A human nonlinear cochlear filterbank", J. Acoust.
    Soc. Am. 110(6), 3107–3118 (2001).
    """

    amt_function = "jepsen2008"
    description = ("Jepsen, Ewert & Dau (2008) CASP: outer/middle ear, DRNL, IHC, expansion, "
                   "adaptation, modulation filterbank")
    output_kind = "modulation_list"

    def __init__(self, fs: float, flow: float = 80.0, fhigh: float | None = None, *,
                 basef: float | None = None, dboffset: float = DBSPL_AMT,
                 outerear: bool = True, drnl_preset: str = "jepsen2008",
                 gain_db: float = 50.0, ihc_preset: str = "ihc_dau1996",
                 expansion_exponent: float = 2.0, adt_preset: str = "adt_dau1997",
                 mfb_preset: str = "mfb_jepsen2008", learnable: Learnable = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, dboffset)
        learn = resolve_learnable(learnable, ("drnl", "adt", "mfb"))
        # the presets are checked here, so that an error names this class's argument
        if not isinstance(drnl_preset, DRNLParams):
            _checks.check_choice(drnl_preset, "drnl_preset", tuple(DRNL_PRESETS))
        get_method(ihc_preset, "ihc_preset")
        _checks.check_choice(adt_preset, "adt_preset", tuple(ADAPTLOOP_PRESETS))
        _checks.check_choice(mfb_preset, "mfb_preset",
                             (*MODFILTERBANK_PRESETS, *PRESET_ALIASES))
        fs = self.fs
        drnl = DRNLFilterbank(fs, drnl_preset, flow=flow, fhigh=fhigh, basef=basef,
                              dboffset=self.dboffset, learnable="drnl" in learn, dtype=dtype)
        self.set_chain([
            ("outerear", HeadphoneFilter(fs, compensate_delay=False, dtype=dtype)
             if _checks.check_bool(outerear, "outerear") else None),
            ("drnl", drnl),
            ("gain", Gain(_checks.check_number(gain_db, "gain_db"))),
            ("ihc", IHCEnvelope(fs, ihc_preset, dtype=dtype)),
            ("expansion", Expansion(_checks.check_positive(expansion_exponent,
                                                           "expansion_exponent"))),
            ("adt", AdaptLoop(fs, preset=adt_preset, learnable="adt" in learn, dtype=dtype)),
            ("mfb", FastModulationFilterbank(fs, drnl.fc.detach().double(), preset=mfb_preset,
                                             learnable="mfb" in learn, dtype=dtype)),
        ])
