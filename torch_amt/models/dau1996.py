"""Dau, Püschel & Kohlrausch (1996) model, as AMT 1.4.0 ``dau1996``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from torch_amt.models.base import AuditoryModel, Learnable, resolve_learnable
from torch_amt.models.blocks import amt_flag_options, check_presets, is_empty
from torch_amt.stages import AdaptLoop, GammatoneFilterbank, IHCEnvelope
from torch_amt.stages.modulation_lowpass import ModulationLowpass

__all__ = ["Dau1996"]

_KEYS = ("flow", "fhigh", "basef", "bwmul")
# flags AMT's dau1996 imports from arg_auditoryfilterbank / arg_ihcenvelope / arg_adaptloop
# and never reads (reference README, quirk 13): they change nothing
_IGNORED_FLAGS = frozenset({"ihc", "no_ihc", "adt", "no_adt", "outerear", "no_outerear",
                            "middleear", "no_middleear", "jepsen2008", "internalnoise",
                            "no_internalnoise", "default"})


class Dau1996(AuditoryModel):
    """Internal representation of Dau, Püschel & Kohlrausch (1996) (AMT 1.4.0 ``dau1996``).

    Chain (stage names of :data:`~torch_amt.models.base.STAGE_VOCABULARY`)::

        afb   auditoryfilterbank: 1-ERB spacing, 80-8000 Hz, no basef
        ihc   ihcenvelope 'ihc_dau1996' (HWR + 1st-order 1-kHz low-pass)
        adt   adaptloop 'adt_dau1996' (5 loops, NO overshoot limit, minspl 0 dB)
        mfb   first-order low-pass, 20-ms time constant: filter(1-a, [1 -a], .),
              a = exp(-(1/0.02)/fs) (ModulationLowpass, the model's modulation stage)

    AMT's warning: the 1996 model uses Strube's (1985) transmission-line basilar membrane,
    AMT (and this class) a gammatone filterbank instead. AMT quirks (reference README,
    quirk 13): the help says an overshoot limit was added to the adaptation, but the
    default ``adt_dau1996`` has none (limit 0); the ``'ihc'``/``'adt'`` and outer/middle-ear
    flags AMT imports are never read, so ``'no_ihc'``, ``'no_adt'``, ``'outerear'`` ...
    change nothing (:meth:`amt_options` accepts and ignores them, and the class has no
    such switches); AMT's ``'subfs'`` always stops with an error (it reads an undefined
    ``subfs``), so the class has no ``subfs``; and no ``dboffset`` gain is applied: the
    input follows the 100-dB convention (an rms of 1 is 100 dB SPL) that the adaptation
    floor ``minspl`` 0 dB -> 1e-5 assumes.

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz.
    flow, fhigh : float
        Lowest / highest centre frequency in Hz (AMT positional ``flow``, ``fhigh``;
        80, 8000).
    basef : float or None
        Frequency forced onto the 1-ERB grid (AMT ``basef``; ``[]``).
    bwmul : float
        Channel spacing in ERB (AMT ``bwmul``; 1).
    ihc_preset : str
        AMT ``ihcenvelope`` method (``'ihc_dau1996'``).
    adt_preset : str
        AMT ``adaptloop`` group (``'adt_dau1996'``).
    tau : float
        Time constant of the final low-pass in seconds (0.02; fixed in AMT).
    learnable : bool or iterable of str
        ``True`` makes every stage that has learnable parameters learnable; or name the
        stages: a subset of ``{'afb', 'adt', 'mfb'}`` (``'mfb'``: the low-pass' time
        constant).
    dtype : torch.dtype
        dtype of the stages' parameters and buffers (default float32; float64 reproduces
        AMT to ~1e-9).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``; output ``(B, F, T)`` (``(F, T)`` for a 1-D input), no
    modulation axis (``mfc`` is ``[]``). ``forward(x, return_stages=True)`` returns every
    stage's output by chain name and ``'out'``.

    References
    ----------
    T. Dau, D. Püschel, and A. Kohlrausch, "A quantitative model of the 'effective' signal
    processing in the auditory system. I. Model structure", J. Acoust. Soc. Am. 99(6),
    3615–3622 (1996). H. W. Strube, "A computationally efficient basilar-membrane model",
    Acustica 58, 207–214 (1985). P. Majdak, C. Hollomey, and R. Baumgartner, "AMT 1.x: A
    toolbox for reproducible research in auditory modeling", Acta Acust. 6, 19 (2022).
    """

    amt_function = "dau1996"
    description = ("Dau, Püschel & Kohlrausch (1996): gammatone, IHC, adaptation loops, "
                   "20-ms modulation low-pass")
    output_kind = "fct"

    def __init__(self, fs: float, flow: float = 80.0, fhigh: float = 8000.0, *,
                 basef: float | None = None, bwmul: float = 1.0,
                 ihc_preset: str = "ihc_dau1996", adt_preset: str = "adt_dau1996",
                 tau: float = 0.02, learnable: Learnable = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, 100.0)
        learn = resolve_learnable(learnable, ("afb", "adt", "mfb"))
        check_presets(ihc_preset=ihc_preset, adt_preset=adt_preset)
        fs = self.fs
        self.set_chain([
            ("afb", GammatoneFilterbank(fs, flow=flow, fhigh=fhigh, basef=basef, bwmul=bwmul,
                                        learnable="afb" in learn, dtype=dtype)),
            ("ihc", IHCEnvelope(fs, ihc_preset, dtype=dtype)),
            ("adt", AdaptLoop(fs, preset=adt_preset, learnable="adt" in learn, dtype=dtype)),
            ("mfb", ModulationLowpass(fs, tau, learnable="mfb" in learn, dtype=dtype)),
        ])

    @property
    def mfc(self) -> list:
        """``[]``: the output has no modulation axis (one low-pass per channel)."""
        return []

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for AMT ``dau1996(insig, fs, flow, fhigh, flags..., key, val)``.

        Keys: ``flow``, ``fhigh``, ``basef``, ``bwmul``; ``dboffset`` and ``fs_up`` are
        accepted and ignored, as AMT ignores them. Flags: any ``ihc_*`` or ``adt_*``
        group; the imported flags AMT never reads (``[no_]ihc``, ``[no_]adt``,
        ``[no_]outerear``, ``[no_]middleear``, ``jepsen2008``, ``[no_]internalnoise``)
        are accepted and ignored.

        Raises
        ------
        ValueError
            For ``subfs`` (AMT 1.4.0's ``dau1996`` always fails with it) and anything
            not implemented.
        """
        if "subfs" in keyvals and not is_empty(keyvals["subfs"]):
            raise ValueError("dau1996 'subfs' fails in AMT 1.4.0 (the code reads an undefined "
                             "variable subfs); resample the output instead")
        return amt_flag_options("dau1996", flags, keyvals, keys=_KEYS, groups=("ihc", "adt"),
                                ignored_keys=("dboffset", "fs_up", "subfs"),
                                ignored_flags=_IGNORED_FLAGS, nullable=("basef",))
