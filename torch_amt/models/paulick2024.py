"""Revised CASP model of Paulick, Relaño-Iborra & Dau (2024), as AMT 1.6 ``paulick2024``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from torch_amt import _checks
from torch_amt.functional.paulick2024 import (
    PAULICK2024_MODELS,
    PAULICK2024_SUBJECTS,
    paulick2024_minlvl,
)
from torch_amt.levels import DBSPL_AMT
from torch_amt.models.base import AuditoryModel, Learnable, resolve_learnable
from torch_amt.stages import (
    AdaptLoop,
    FastModulationFilterbank,
    HeadphoneFilter,
    IHCEnvelope,
    MiddleEarFilter,
)
from torch_amt.stages.expansion import Expansion
from torch_amt.stages.gain import Gain
from torch_amt.stages.octave_resample import OctaveResample
from torch_amt.stages.paulick2024_drnl import Paulick2024DRNL
from torch_amt.stages.paulick2024_ihc import Paulick2024IHC

__all__ = ["Paulick2024"]

#: Adaptation time constants (s) of the revised model and of Jepsen et al. (2008).
TAU_PAULICK2024 = (0.007, 0.0318, 0.0878, 0.2143, 0.5)
TAU_JEPSEN2008 = (0.005, 0.05, 0.129, 0.253, 0.500)
_RESAMPLE_FACTOR = 4


class Paulick2024(AuditoryModel):
    """Internal representation of the revised CASP model (AMT 1.6 ``paulick2024``).

    Paulick et al. (2024) revised the CASP model of Jepsen et al. (2008): a DRNL with
    second-order gammatones, a physiological inner-hair-cell model instead of the
    envelope extraction and squaring, adaptation loops with new time constants and a
    minimum level per channel (from absolute thresholds), before a 4x decimation and
    the Jepsen modulation filterbank. ``model='jepsen2008'`` runs AMT's reading of the
    2008 version inside the same function. Chain (stage names of
    :data:`~torch_amt.models.base.STAGE_VOCABULARY`)::

        inputgain  gain of dboffset - 93.98 dB: the stages read Pa (0 dB by default)
        outerear   headphonefilter (no delay compensation)
        middleear  middleearfilter 'lopezpoveda2001' (no delay compensation)
        drnl       paulick2024_drnl per channel, erbspace(flow, fhigh, naud)
        ihc        paulick2024_ihc (MET conductance + RC circuit)       [paulick2024]
                   ihcenvelope 'ihc_relanoiborra2019'                     [jepsen2008]
        gain       gaindb(., 50)                                          [jepsen2008]
        expansion  (.)^2                                                  [jepsen2008]
        adt        adaptloop(., fs, 10, minlvl, tau): minlvl per channel, tau 7, 31.8,
                   87.8, 214.3, 500 ms [paulick2024]; 1e-5, tau 5 ... 500 ms [jepsen2008]
        resample   Octave resample(., 1, 4), first floor(T/4) samples
        mfb        modfilterbank at fs/4 (AMT 1.4.0 defaults = 'mfb_jepsen2008')

    Per-channel minimum levels: AMT 1.6 calls ``adaptloop`` with a vector ``minlvl``;
    AMT 1.6's ``adaptloop`` could not be obtained for the reference files, which read it
    as one AMT 1.4.0 ``adaptloop`` per channel with that channel's level (floor, initial
    states, output scaling and overshoot limit); so does this class
    (:class:`~torch_amt.stages.AdaptLoop` with a ``minspl`` per channel).

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz.
    flow, fhigh : float
        Lowest and highest auditory centre frequency in Hz (AMT ``flow`` 250, ``fhigh``
        8000). ``fhigh=None`` (default): 8000 Hz where the DRNL can compute it, else the
        highest computable channel (7788 Hz at 16 kHz).
    naud : int
        Number of auditory channels (AMT ``Naud``; 50).
    subject : {'NH', 'HIx'}
        Simulated listener (AMT ``subject``): normal hearing, or hearing impaired without
        cochlear compression.
    model : {'paulick2024', 'jepsen2008'}
        Parameter set (AMT ``model``).
    dboffset : float
        Level of an input rms of 1 in dB SPL. AMT's ``paulick2024`` reads Pascal (rms
        1 = 93.98 dB, AMT's ``dbspl(1)`` and the default); the ``'inputgain'`` stage
        scales by ``dboffset - 93.98`` dB.
    learnable : bool or iterable of str
        ``True`` or a subset of ``{'drnl', 'adt', 'mfb'}``.
    dtype : torch.dtype
        dtype of parameters and buffers (default float32; float64 reproduces AMT).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``; output: list of ``F`` tensors ``(B, M_f, floor(T/4))``
    at ``fs/4`` (AMT's ``int_rep`` holds them NaN-padded as time x channel x mfc).
    ``forward(x, return_stages=True)`` returns every stage's output (AMT's ``Y.OM``:
    ``'middleear'``, ``Y.BM``: ``'drnl'``, ``Y.IHC``: ``'ihc'`` or ``'expansion'``,
    ``Y.adaptation``: ``'adt'``) and ``'out'``.

    References
    ----------
    L. Paulick, H. Relaño-Iborra and T. Dau, "The Computational Auditory Signal
    Processing and Perception Model (CASP): A Revised Version", bioRxiv (2024).
    M. L. Jepsen, S. D. Ewert and T. Dau, "A computational model of human auditory signal
    processing and perception", J. Acoust. Soc. Am. 124(1), 422–438 (2008).
    """

    amt_function = "paulick2024"
    description = ("Paulick, Relaño-Iborra & Dau (2024) revised CASP: outer/middle ear, DRNL, "
                   "physiological IHC, adaptation, modulation filterbank at fs/4")
    output_kind = "modulation_list"

    def __init__(self, fs: float, flow: float = 250.0, fhigh: float | None = None, *,
                 naud: int = 50, subject: str = "NH", model: str = "paulick2024",
                 dboffset: float = DBSPL_AMT, learnable: Learnable = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, dboffset)
        self.model = _checks.check_choice(model, "model", PAULICK2024_MODELS)
        self.subject = _checks.check_choice(subject, "subject", PAULICK2024_SUBJECTS)
        learn = resolve_learnable(learnable, ("drnl", "adt", "mfb"))
        fs = self.fs
        drnl = Paulick2024DRNL(fs, flow, fhigh, naud=naud, subject=subject, model=model,
                               learnable="drnl" in learn, dtype=dtype)
        fc = drnl.fc.detach()
        revised = model == "paulick2024"
        if revised:
            adt = AdaptLoop(fs, 10.0, paulick2024_minlvl(fc).tolist(), TAU_PAULICK2024,
                            learnable="adt" in learn, dtype=dtype)
        else:
            adt = AdaptLoop(fs, 10.0, 1e-5, TAU_JEPSEN2008, learnable="adt" in learn,
                            dtype=dtype)
        resample = OctaveResample(fs, 1, _RESAMPLE_FACTOR, floor_length=True)
        self.set_chain([
            ("inputgain", Gain(self.dboffset - DBSPL_AMT)),
            ("outerear", HeadphoneFilter(fs, compensate_delay=False, dtype=dtype)),
            ("middleear", MiddleEarFilter(fs, "lopezpoveda2001", compensate_delay=False,
                                          dtype=dtype)),
            ("drnl", drnl),
            ("ihc", Paulick2024IHC(fs) if revised
             else IHCEnvelope(fs, "ihc_relanoiborra2019", dtype=dtype)),
            ("gain", None if revised else Gain(50.0)),
            ("expansion", None if revised else Expansion(2.0)),
            ("adt", adt),
            ("resample", resample),
            ("mfb", FastModulationFilterbank(resample.output_fs, fc.double(),
                                             preset="mfb_jepsen2008",
                                             learnable="mfb" in learn, dtype=dtype)),
        ])

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        """Run the model on ``x (T,)`` or ``(B, T)`` (see :class:`AuditoryModel`).

        Fewer than 4 samples give AMT's ``floor(T/4) = 0`` output samples: the chain runs
        up to the resampling and every modulation channel is empty.
        """
        if not isinstance(x, torch.Tensor) or x.ndim == 0 or self.output_length(
                x.shape[-1]) > 0:
            return super().forward(x, return_stages)
        chain = self.chain
        self.chain = chain[:-1]
        try:
            record = super().forward(x, return_stages=True)
        finally:
            self.chain = chain
        y = record["out"]
        out = [y.new_zeros(*y.shape[:-2], m.numel(), 0) for m in self.mfb.mfc]
        record["mfb"] = record["out"] = out
        return record if return_stages else out

    def output_length(self, n: int) -> int:
        """Number of output samples for ``n`` input samples: ``floor(n/4)`` (AMT)."""
        return self.resample.output_length(n)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, model={self.model!r}, subject={self.subject!r}"

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for AMT ``paulick2024(insig, fs, flow, fhigh, key, val, ...)``.

        Keys: ``flow``, ``fhigh``, ``Naud``, ``subject``, ``model`` and ``dboffset``
        (accepted and ignored: ``paulick2024.m`` never reads it, the input is in Pa).
        Flags: ``no_debug``/``debug`` (only switch messages).
        """
        unknown = set(keyvals) - {"flow", "fhigh", "Naud", "subject", "model", "dboffset"}
        if unknown:
            raise ValueError(f"paulick2024 key(s) {sorted(unknown)} are not implemented")
        bad = [f for f in flags if f not in ("no_debug", "debug")]
        if bad:
            raise ValueError(f"paulick2024 flag(s) {bad} are not implemented")
        opts: dict[str, Any] = {}
        for key in ("flow", "fhigh"):
            if key in keyvals:
                opts[key] = float(keyvals[key])
        if "Naud" in keyvals:
            opts["naud"] = int(float(keyvals["Naud"]))
        for key in ("subject", "model"):
            if key in keyvals:
                opts[key] = str(keyvals[key])
        return opts
