"""King, Varnet & Lorenzi (2019) modulation-filterbank model, as AMT 1.4.0 ``king2019``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from torch_amt import _checks
from torch_amt.functional.compression import COMPRESSION_METHODS
from torch_amt.functional.ihc import IHC_METHODS, get_method
from torch_amt.levels import DBSPL_AMT
from torch_amt.models.base import AuditoryModel, Learnable, resolve_learnable
from torch_amt.scales import audtofreq, freqtoaud
from torch_amt.stages import (
    ButterworthFilter,
    GammatoneFilterbank,
    IHCEnvelope,
    King2019Compression,
    King2019ModulationFilterbank,
)
from torch_amt.stages.resample import Resample

__all__ = ["King2019", "king2019_frequency_range"]


def king2019_frequency_range(basef: float, step_erb: float = 2.0) -> tuple[float, float]:
    """AMT ``king2019``'s channel range around ``basef``: ``basef ± 2 ERB``, rounded out.

    Returns ``(floor(audtofreq(freqtoaud(basef) - 2)), ceil(audtofreq(freqtoaud(basef) + 2)))``
    in Hz.
    """
    aud = float(freqtoaud(float(basef)))
    return (float(math.floor(float(audtofreq(aud - step_erb)))),
            float(math.ceil(float(audtofreq(aud + step_erb)))))


class King2019(AuditoryModel):
    """Internal representation of the King et al. (2019) model (AMT 1.4.0 ``king2019``).

    Chain (stage names of :data:`~torch_amt.models.base.STAGE_VOCABULARY`; AMT flags and
    key-values in brackets)::

        afb          auditoryfilterbank: basef ± 2 ERB, 1-ERB spacing
        compression  broken stick [compression_brokenstick | compression_power |
                     no_compression]; compression_n 0.3, knee 30 dB re dboffset
        ihc          ihcenvelope 'ihc_king2019' (HWR + 1st-order 1-kHz low-pass)
        adt          1st-order 3-Hz Butterworth high-pass [adt_HP_fc, adt_HP_order]
        mfb          king2019_modfilterbank (mflow 2, mfhigh 150, Q 1; Hilbert envelope
                     above 10 Hz [phase_insens_hilbert]; optional [LP_150_Hz])
        resample     fftresample to subfs = 16 kHz (left out when fs == subfs)

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    basef : float, optional
        Centre of the analysis in Hz (AMT ``basef``); the channels span
        :func:`king2019_frequency_range` unless ``flow``/``fhigh`` are given.
    flow, fhigh : float, optional
        Explicit channel range in Hz (AMT ``flow``/``fhigh``).
    dboffset : float
        Level convention: an rms of 1 is ``dboffset`` dB SPL. Only the compression knee
        depends on it. Default 93.98, what AMT 1.4.0's ``king2019`` actually uses (its
        help text, and AMT 1.6.0, say 100).
    compression : bool
        Compression stage on (default) or off (AMT ``no_compression``).
    compression_preset : {'compression_brokenstick', 'compression_power'}
        AMT compression flag.
    compression_n : float or sequence of float
        Compression exponent (per channel if a sequence; AMT ``compression_n``).
    compression_knee_db : float
        Knee in dB re ``dboffset`` (AMT ``compression_knee_dB``, 30).
    ihc_preset : str
        AMT ``ihcenvelope`` method (``'ihc_king2019'``).
    adt_hp_fc, adt_hp_order : float, int
        High-pass "adaptation" (AMT ``adt_HP_fc`` = 3 Hz, ``adt_HP_order`` = 1).
    mflow, mfhigh, qfactor, nmod : float, float, float, int or None
        Modulation filterbank (AMT ``mflow``, ``mfhigh``, ``modbank_Qfactor``,
        ``modbank_Nmod``).
    lp150 : bool
        AMT ``LP_150_Hz``.
    phase_insens : bool
        AMT ``phase_insens_hilbert`` (True) / ``no_phase_insens``.
    subfs : float or None
        Output sampling rate (AMT ``subfs``, 16000); None keeps ``fs``.
    learnable : bool or iterable of str
        ``True`` or a subset of ``{'afb', 'compression', 'adt', 'mfb'}``.
    dtype : torch.dtype
        dtype of parameters and buffers (default float32).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``; output ``(B, F, M, T_out)`` (without ``B`` for 1-D
    input), ``T_out = round(T / fs · subfs)``. ``forward(x, return_stages=True)``
    returns every stage's output by chain name and ``'out'``; AMT's ``step.E_mod`` (the
    band-pass outputs before the phase insensitivity) is
    ``model.mfb(stages['adt'], return_filtered=True)[1]``.

    References
    ----------
    A. King, L. Varnet, and C. Lorenzi, "Accounting for masking of frequency modulation
    by amplitude modulation with the modulation filter-bank concept", J. Acoust. Soc.
    Am. 145(4), 2277–2293 (2019).
    """

    amt_function = "king2019"
    description = ("King, Varnet & Lorenzi (2019): gammatone, compression, IHC, 3-Hz "
                   "high-pass adaptation, modulation filterbank (AMT king2019)")
    output_kind = "fcmt"

    def __init__(self, fs: float, basef: float | None = None, *, flow: float | None = None,
                 fhigh: float | None = None, dboffset: float = DBSPL_AMT,
                 compression: bool = True,
                 compression_preset: str = "compression_brokenstick", compression_n=0.3,
                 compression_knee_db: float = 30.0, ihc_preset: str = "ihc_king2019",
                 adt_hp_fc: float = 3.0, adt_hp_order: int = 1, mflow: float = 2.0,
                 mfhigh: float = 150.0, qfactor: float = 1.0, nmod: int | None = None,
                 lp150: bool = False, phase_insens: bool = True,
                 subfs: float | None = 16000.0, learnable: Learnable = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, dboffset)
        fs = self.fs
        if basef is None and (flow is None or fhigh is None):
            raise ValueError("King2019 needs basef (the centre of the analysis, in Hz) or both "
                             "flow and fhigh")
        fhigh_from_basef = basef is not None and fhigh is None
        if basef is not None:
            basef = float(_checks.check_frequencies(basef, fs, "basef"))
            default_low, default_high = king2019_frequency_range(basef)
            flow = default_low if flow is None else flow
            fhigh = default_high if fhigh is None else fhigh
        self.basef = basef
        flow = _checks.check_number(flow, "flow")
        fhigh = _checks.check_number(fhigh, "fhigh")
        self.subfs = None if subfs is None else _checks.check_fs(subfs, "subfs")
        learn = resolve_learnable(learnable, ("afb", "compression", "adt", "mfb"))
        # checked here, so that an error names this class's arguments
        compression = _checks.check_bool(compression, "compression")
        _checks.check_choice(compression_preset, "compression_preset",
                             tuple(COMPRESSION_METHODS))
        compression_n = _checks.check_values(
            compression_n.detach() if isinstance(compression_n, torch.Tensor)
            else compression_n, "compression_n", positive=True).reshape(-1)
        if compression and "compression" in learn and bool((compression_n >= 1).any()):
            raise ValueError(f"a learnable compression needs compression_n in (0, 1), got "
                             f"{compression_n.tolist()}")
        _checks.check_number(compression_knee_db, "compression_knee_db")
        get_method(ihc_preset, "ihc_preset")
        _checks.check_frequencies(adt_hp_fc, fs, "adt_hp_fc")
        _checks.check_positive(adt_hp_order, "adt_hp_order", integer=True)
        try:
            afb = GammatoneFilterbank(fs, flow=float(flow), fhigh=float(fhigh), basef=basef,
                                      learnable="afb" in learn, dtype=dtype)
        except ValueError as err:
            if not (fhigh_from_basef and "fhigh" in str(err)):
                raise
            raise ValueError(f"basef = {basef:g} Hz is too high for fs = {fs:g} Hz: its "
                             f"channels reach basef + 2 ERB = {fhigh:g} Hz, and the top one "
                             f"must lie below fs/2 = {fs / 2:g} Hz; lower basef, pass a lower "
                             "fhigh or raise fs") from None
        if compression_n.numel() > 1 and compression_n.numel() != afb.fc0.numel():
            raise ValueError(f"compression_n must be one value or one per channel "
                             f"({afb.fc0.numel()} channels from {flow:g} to {fhigh:g} Hz), got "
                             f"{compression_n.numel()}")
        self.set_chain([
            ("afb", afb),
            ("compression", King2019Compression(compression_preset, compression_n,
                                                compression_knee_db, self.dboffset,
                                                learnable="compression" in learn, dtype=dtype)
             if compression else None),
            ("ihc", IHCEnvelope(fs, ihc_preset, dtype=dtype)),
            ("adt", ButterworthFilter(fs, adt_hp_fc, adt_hp_order, "high",
                                      learnable="adt" in learn, dtype=dtype)),
            ("mfb", King2019ModulationFilterbank(fs, mflow, mfhigh, qfactor, nmod,
                                                 learnable="mfb" in learn, dtype=dtype,
                                                 lp150=lp150, phase_insens=phase_insens)),
            ("resample", Resample(fs, self.subfs)
             if self.subfs is not None and self.subfs != fs else None),
        ])

    _AMT_KEYS = {"basef": "basef", "flow": "flow", "fhigh": "fhigh", "dboffset": "dboffset",
                 "subfs": "subfs", "compression_knee_dB": "compression_knee_db",
                 "mflow": "mflow", "mfhigh": "mfhigh", "modbank_Qfactor": "qfactor",
                 "adt_HP_fc": "adt_hp_fc"}
    _AMT_INT_KEYS = {"modbank_Nmod": "nmod", "adt_HP_order": "adt_hp_order"}
    _AMT_FLAGS = {
        "compression_brokenstick": {"compression_preset": "compression_brokenstick"},
        "compression_power": {"compression_preset": "compression_power"},
        "no_compression": {"compression": False},
        "LP_150_Hz": {"lp150": True}, "no_LP_150_Hz": {"lp150": False},
        "phase_insens_hilbert": {"phase_insens": True},
        "no_phase_insens": {"phase_insens": False},
        "afb": {}, "ihc": {}, "adt": {}, "mfb": {}, "no_debug": {},
    }

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for AMT ``king2019(insig, fs, basef, flags..., key, val)``.

        Keys: ``basef``, ``flow``, ``fhigh``, ``dboffset``, ``subfs``, ``compression_n``,
        ``compression_knee_dB``, ``mflow``, ``mfhigh``, ``modbank_Qfactor``,
        ``modbank_Nmod``, ``adt_HP_fc``, ``adt_HP_order``, ``phase_insens_cut`` (10 Hz
        only). Flags: the compression, ``LP_150_Hz`` and phase-insensitivity flags and
        any ``ihc_*`` method.
        """
        opts: dict[str, Any] = {}
        for flag in flags:
            if flag in cls._AMT_FLAGS:
                opts.update(cls._AMT_FLAGS[flag])
            elif flag in IHC_METHODS:
                opts["ihc_preset"] = flag
            else:
                raise ValueError(f"king2019 flag {flag!r} is not implemented")
        for key, value in keyvals.items():
            if value is None:
                continue
            if key in cls._AMT_KEYS:
                opts[cls._AMT_KEYS[key]] = float(value)
            elif key in cls._AMT_INT_KEYS:
                opts[cls._AMT_INT_KEYS[key]] = int(value)
            elif key == "compression_n":
                opts[key] = np.asarray(value, float).reshape(-1).tolist()
            elif key == "phase_insens_cut":
                if float(value) != 10.0:
                    raise ValueError("king2019 with a phase_insens_cut other than 10 Hz is "
                                     "not implemented")
            else:
                raise ValueError(f"king2019 key {key!r} is not implemented")
        return opts
