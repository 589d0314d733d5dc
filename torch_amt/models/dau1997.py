"""Dau, Kollmeier & Kohlrausch (1997) modulation-filterbank model, as AMT 1.4.0 ``dau1997``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from torch_amt import _checks
from torch_amt.models.base import AuditoryModel, Learnable, resolve_learnable
from torch_amt.models.blocks import (
    amt_flag_options,
    check_presets,
    ear_stages,
    modulation_stages,
)
from torch_amt.stages import AdaptLoop, GammatoneFilterbank, IHCEnvelope
from torch_amt.stages.gain import Gain

__all__ = ["Dau1997"]

_AMT_KEYS = ("flow", "fhigh", "basef", "bwmul", "dboffset", "subfs")


class Dau1997(AuditoryModel):
    """Internal representation of the Dau et al. (1997) model (AMT 1.4.0 ``dau1997``).

    Chain (stage names of :data:`~torch_amt.models.base.STAGE_VOCABULARY`; AMT flags in
    brackets)::

        inputgain  gaindb(insig, dboffset - 100)
        outerear   headphonefilter, delay-compensated                     [outerear]
        middleear  middleearfilter, delay-compensated, max gain 1   [middleear | jepsen2008]
        afb        auditoryfilterbank (afb_dau1997: 1-ERB spacing, basef 1 kHz)
        ihc        ihcenvelope 'ihc_dau1996' (HWR + 1st-order 1-kHz low-pass)    [no_ihc]
        adt        adaptloop 'adt_dau1997' (5 loops, limit 10, minspl 0 dB)      [no_adt]
        resample   fftresample to subfs                                          [subfs]
        mfb        modfilterbank 'mfb_jepsen2008' (AMT 1.4.0's default)          [no_mfb]

    AMT 1.4.0 imports ``mfb_jepsen2008`` by default (150-Hz low-pass before the bank,
    mfc up to min(fc/4, 1000 Hz), 1/√2 on ``|.|`` above 10 Hz); ``mfb_preset='mfb_dau1997'``
    gives the bank of the 1997 paper, ``'mfb_verhey1999'`` AMT 0.9.10's ``dau1997_preproc``.
    AMT runs the adaptation whenever the modulation filterbank is on, and so does this
    class.

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
        ``dboffset``; 100). The ``'inputgain'`` stage scales by ``dboffset - 100`` dB
        because the adaptation loops assume 100.
    outerear, middleear, ihc, adt, mfb : bool
        Stage on/off (AMT ``'outerear'``, ``'middleear'``, ``'ihc'``/``'no_ihc'``,
        ``'adt'``/``'no_adt'``, ``'mfb'``/``'no_mfb'``).
    middleear_preset : {'lopezpoveda2001', 'jepsen2008'}
        Middle-ear filter (AMT ``'middleear'`` / ``'jepsen2008'``).
    ihc_preset : str
        AMT ``ihcenvelope`` method (``'ihc_dau1996'``).
    adt_preset : str
        AMT ``adaptloop`` group (``'adt_dau1997'``).
    mfb_preset : str
        AMT ``modfilterbank`` group (``'mfb_jepsen2008'``).
    subfs : float, optional
        Resample the adaptation output to ``subfs`` Hz with LTFAT ``fftresample`` before
        the modulation filterbank (AMT ``subfs``).
    learnable : bool or iterable of str
        ``True`` makes every stage that has learnable parameters learnable; or name the
        stages: a subset of ``{'afb', 'adt', 'mfb'}``.
    dtype : torch.dtype
        dtype of the stages' parameters and buffers (default float32; float64 reproduces
        AMT to ~1e-9).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``. Output (``mfb=True``): list of ``F`` tensors
    ``(B, M_f, T_out)`` (without ``B`` for 1-D input); otherwise ``(B, F, T)``.
    ``forward(x, return_stages=True)`` returns every stage's output by chain name and
    ``'out'``.

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

    amt_function = "dau1997"
    description = ("Dau, Kollmeier & Kohlrausch (1997): gammatone, IHC, adaptation loops, "
                   "modulation filterbank (AMT dau1997)")
    output_kind = "modulation_list"

    def __init__(self, fs: float, flow: float = 80.0, fhigh: float = 8000.0, *,
                 basef: float | None = 1000.0, bwmul: float = 1.0, dboffset: float = 100.0,
                 outerear: bool = False, middleear: bool = False,
                 middleear_preset: str = "lopezpoveda2001", ihc: bool = True,
                 ihc_preset: str = "ihc_dau1996", adt: bool = True,
                 adt_preset: str = "adt_dau1997", mfb: bool = True,
                 mfb_preset: str = "mfb_jepsen2008", subfs: float | None = None,
                 learnable: Learnable = False, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, dboffset)
        flags = {name: _checks.check_bool(value, name) for name, value in
                 (("outerear", outerear), ("middleear", middleear), ("ihc", ihc),
                  ("adt", adt), ("mfb", mfb))}
        flags["adt"] = flags["adt"] or flags["mfb"]
        self.subfs = None if subfs is None else _checks.check_fs(subfs, "subfs")
        learn = resolve_learnable(learnable, ("afb", "adt", "mfb"))
        check_presets(middleear_preset=middleear_preset, ihc_preset=ihc_preset,
                      adt_preset=adt_preset, mfb_preset=mfb_preset)
        fs = self.fs
        afb = GammatoneFilterbank(fs, flow=flow, fhigh=fhigh, basef=basef, bwmul=bwmul,
                                  learnable="afb" in learn, dtype=dtype)
        self.set_chain([
            ("inputgain", Gain(self.dboffset - 100)),
            *ear_stages(fs, flags["outerear"], flags["middleear"], middleear_preset, dtype),
            ("afb", afb),
            ("ihc", IHCEnvelope(fs, ihc_preset, dtype=dtype) if flags["ihc"] else None),
            ("adt", AdaptLoop(fs, preset=adt_preset, learnable="adt" in learn, dtype=dtype)
             if flags["adt"] else None),
            *(modulation_stages(fs, self.subfs, afb.fc, mfb_preset, "mfb" in learn, dtype)
              if flags["mfb"] else []),
        ])

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for AMT ``dau1997(insig, fs, flow, fhigh, flags..., key, val)``.

        Keys: ``flow``, ``fhigh``, ``basef``, ``bwmul``, ``dboffset``, ``subfs``. Flags:
        ``[no_]outerear``, ``[no_]middleear``, ``jepsen2008``, ``[no_]ihc``,
        ``[no_]adt``, ``[no_]mfb`` and any ``ihc_*``, ``adt_*``, ``mfb_*`` group.
        """
        return amt_flag_options(
            "dau1997", flags, keyvals, keys=_AMT_KEYS,
            on_off=("outerear", "middleear", "ihc", "adt", "mfb"),
            special={"middleear": {"middleear": True, "middleear_preset": "lopezpoveda2001"},
                     "jepsen2008": {"middleear": True, "middleear_preset": "jepsen2008"}})
