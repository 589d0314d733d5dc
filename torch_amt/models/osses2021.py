"""Osses & Kohlrausch (2021) monaural model, as AMT 1.4.0 ``osses2021``."""

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
from torch_amt.stages import (
    AdaptLoop,
    GammatoneFilterbank,
    IHCEnvelope,
)
from torch_amt.stages.gain import Gain

__all__ = ["Osses2021"]

_KEYS = ("flow", "fhigh", "basef", "bwmul", "dboffset", "subfs")
_ON_OFF = ("outerear", "middleear", "afb", "ihc", "adt", "mfb")


class Osses2021(AuditoryModel):
    """Internal representation of Osses & Kohlrausch (2021) (AMT 1.4.0 ``osses2021``).

    The monaural model of their piano-similarity study: the Dau et al. (1997) structure
    with outer and middle ear, Breebaart et al. (2001)'s envelope extraction, adaptation
    loops with an overshoot limit of 5 and the Jepsen et al. (2008) modulation
    filterbank. Chain (stage names of :data:`~torch_amt.models.base.STAGE_VOCABULARY`; AMT
    flags in brackets)::

        inputgain  gaindb(insig, dboffset - 100)
        outerear   headphonefilter, delay-compensated                   [no_outerear]
        middleear  middleearfilter 'lopezpoveda2001', delay-compensated, divided by its
                   max gain                                [no_middleear | jepsen2008]
        afb        auditoryfilterbank: 1-ERB spacing, 80-8000 Hz, no basef    [no_afb]
        ihc        ihcenvelope 'ihc_breebaart2001' (HWR + five 1st-order 2-kHz
                   low-passes, -3 dB near 770 Hz)                              [no_ihc]
        adt        adaptloop 'adt_osses2021' (5 loops, limit 5, minspl 0 dB)   [no_adt]
        resample   fftresample to subfs                                         [subfs]
        mfb        modfilterbank 'mfb_jepsen2008'                              [no_mfb]

    The outer and middle ear are those of ``afb_osses2021`` (the help's "as used by
    Jepsen et al. 2008" is the ``lopezpoveda2001`` middle-ear FIR, not ``'jepsen2008'``).
    AMT quirk (reference README, quirk 12): ``osses2021`` runs the IHC stage when
    ``ihc or adt or (mfb and not no_ihc)``, so ``ihc=False`` alone changes nothing
    while the adaptation is on; this class does the same. The adaptation runs exactly
    when ``adt`` is on (also without the modulation filterbank).

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz.
    flow, fhigh : float
        Lowest / highest centre frequency in Hz (AMT positional ``flow``, ``fhigh``;
        80, 8000).
    basef : float or None
        Frequency forced onto the 1-ERB grid (AMT ``basef``; ``[]`` via ``afb_osses2021``).
    bwmul : float
        Channel spacing in ERB (AMT ``bwmul``; 1).
    dboffset : float
        Level convention of the input: an rms of 1 is ``dboffset`` dB SPL (AMT
        ``dboffset``; 100 from ``arg_osses2021``, which overrides ``auditoryfilterbank``'s
        93.98). The ``'inputgain'`` stage scales by ``dboffset - 100`` dB.
    outerear, middleear, afb, ihc, adt, mfb : bool
        Stage on/off (AMT ``'outerear'``/``'no_outerear'``, ``'middleear'``/
        ``'no_middleear'``, ``'afb'``/``'no_afb'``, ``'ihc'``/``'no_ihc'``,
        ``'adt'``/``'no_adt'``, ``'mfb'``/``'no_mfb'``; all on). The IHC stage runs when
        ``ihc or adt`` (AMT's rule); the modulation filterbank needs ``afb``.
    middleear_preset : {'lopezpoveda2001', 'jepsen2008'}
        Middle-ear FIR (AMT ``'middleear'`` / ``'jepsen2008'``).
    ihc_preset : str
        AMT ``ihcenvelope`` method (``'ihc_breebaart2001'``).
    adt_preset : str
        AMT ``adaptloop`` group (``'adt_osses2021'``).
    mfb_preset : str
        AMT ``modfilterbank`` group (``'mfb_jepsen2008'``; ``'mfb_osses2021_att_gain'``
        is the "att. gain" variant of the paper's Appendix C: no 150-Hz low-pass, each
        band scaled by that low-pass' gain at its centre frequency).
    subfs : float, optional
        Resample the adaptation output to ``subfs`` Hz (``round(T/fs·subfs)`` samples,
        LTFAT ``fftresample``) before the modulation filterbank (AMT ``subfs``).
    learnable : bool or iterable of str
        ``True`` makes every stage that has learnable parameters learnable; or name the
        stages: a subset of ``{'afb', 'adt', 'mfb'}``.
    dtype : torch.dtype
        dtype of the stages' parameters and buffers (default float32; float64 reproduces
        AMT to ~1e-9).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``. Output (``mfb=True``): list of ``F`` tensors
    ``(B, M_f, T_out)`` (without ``B`` for 1-D input); otherwise the last stage's
    ``(B, F, T)`` (or ``(B, T)`` without ``afb``). ``forward(x, return_stages=True)``
    returns every stage's output by chain name and ``'out'``.

    References
    ----------
    A. Osses Vecchi and A. Kohlrausch, "Perceptual similarity between piano notes:
    Simulations with a template-based perception model", J. Acoust. Soc. Am. 149(5),
    3534–3552 (2021). T. Dau, B. Kollmeier, and A. Kohlrausch, "Modeling auditory
    processing of amplitude modulation. I.", J. Acoust. Soc. Am. 102(5), 2892–2905
    (1997). J. Breebaart, S. van de Par, and A. Kohlrausch, "Binaural processing model
    based on contralateral inhibition. I.", J. Acoust. Soc. Am. 110(2), 1074–1088 (2001).
    M. L. Jepsen, S. D. Ewert, and T. Dau, "A computational model of human auditory
    signal processing and perception", J. Acoust. Soc. Am. 124(1), 422–438 (2008).
    """

    amt_function = "osses2021"
    description = ("Osses & Kohlrausch (2021): outer/middle ear, gammatone, Breebaart IHC, "
                   "adaptation (limit 5), modulation filterbank")
    output_kind = "modulation_list"

    def __init__(self, fs: float, flow: float = 80.0, fhigh: float = 8000.0, *,
                 basef: float | None = None, bwmul: float = 1.0, dboffset: float = 100.0,
                 outerear: bool = True, middleear: bool = True,
                 middleear_preset: str = "lopezpoveda2001", afb: bool = True,
                 ihc: bool = True, ihc_preset: str = "ihc_breebaart2001", adt: bool = True,
                 adt_preset: str = "adt_osses2021", mfb: bool = True,
                 mfb_preset: str = "mfb_jepsen2008", subfs: float | None = None,
                 learnable: Learnable = False, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, dboffset)
        on = {name: _checks.check_bool(value, name) for name, value in zip(
            _ON_OFF, (outerear, middleear, afb, ihc, adt, mfb), strict=True)}
        check_presets(middleear_preset=middleear_preset, ihc_preset=ihc_preset,
                      adt_preset=adt_preset, mfb_preset=mfb_preset)
        if on["mfb"] and not on["afb"]:
            raise ValueError("mfb=True needs afb=True: the modulation filterbank reads the "
                             "auditory channels' centre frequencies")
        self.subfs = None if subfs is None else _checks.check_fs(subfs, "subfs")
        learn = resolve_learnable(learnable, ("afb", "adt", "mfb"))
        fs = self.fs
        bank = (GammatoneFilterbank(fs, flow=flow, fhigh=fhigh, basef=basef, bwmul=bwmul,
                                    learnable="afb" in learn, dtype=dtype)
                if on["afb"] else None)
        self.set_chain([
            ("inputgain", Gain(self.dboffset - 100)),
            *ear_stages(fs, on["outerear"], on["middleear"], middleear_preset, dtype),
            ("afb", bank),
            ("ihc", IHCEnvelope(fs, ihc_preset, dtype=dtype)
             if on["ihc"] or on["adt"] else None),
            ("adt", AdaptLoop(fs, preset=adt_preset, learnable="adt" in learn, dtype=dtype)
             if on["adt"] else None),
            *(modulation_stages(fs, self.subfs, bank.fc, mfb_preset, "mfb" in learn, dtype)
              if on["mfb"] else []),
        ])

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for AMT ``osses2021(insig, fs, flow, fhigh, flags..., key, val)``.

        Keys: ``flow``, ``fhigh``, ``basef``, ``bwmul``, ``dboffset``, ``subfs`` (and
        ``silent_mode``, which only switches AMT's messages). Flags: ``[no_]outerear``,
        ``[no_]middleear``, ``jepsen2008``, ``[no_]afb``, ``[no_]ihc``, ``[no_]adt``,
        ``[no_]mfb``, ``afb_osses2021`` and any ``ihc_*``, ``adt_*``, ``mfb_*`` group.
        """
        return amt_flag_options(
            "osses2021", flags, keyvals, keys=_KEYS, on_off=_ON_OFF,
            ignored_keys=("silent_mode",),
            special={"middleear": {"middleear": True, "middleear_preset": "lopezpoveda2001"},
                     "jepsen2008": {"middleear": True, "middleear_preset": "jepsen2008"},
                     "afb_osses2021": {"outerear": True, "middleear": True,
                                       "middleear_preset": "lopezpoveda2001", "basef": None}})
