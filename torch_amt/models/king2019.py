"""King, Varnet & Lorenzi (2019) modulation-filterbank model, as AMT 1.4.0 ``king2019``."""

from __future__ import annotations

import math

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.dsp.fft import fftresample
from torch_amt.levels import DBSPL_AMT
from torch_amt.models._common import Learnable, resolve_learnable, unbatch_stages
from torch_amt.scales import audtofreq, freqtoaud
from torch_amt.stages.butterworth import ButterworthFilter
from torch_amt.stages.compression import King2019Compression
from torch_amt.stages.gammatone import GammatoneFilterbank
from torch_amt.stages.ihc import IHCEnvelope
from torch_amt.stages.modulation import King2019ModulationFilterbank

__all__ = ["King2019", "king2019_frequency_range"]


def king2019_frequency_range(basef: float, step_erb: float = 2.0) -> tuple[float, float]:
    """AMT ``king2019``'s channel range around ``basef``: ``basef ± 2 ERB``, rounded out.

    Returns ``(floor(audtofreq(freqtoaud(basef) - 2)), ceil(audtofreq(freqtoaud(basef) + 2)))``
    in Hz.
    """
    aud = float(freqtoaud(float(basef)))
    return (float(math.floor(float(audtofreq(aud - step_erb)))),
            float(math.ceil(float(audtofreq(aud + step_erb)))))


class King2019(nn.Module):
    """Internal representation of the King et al. (2019) model (AMT 1.4.0 ``king2019``).

    Processing chain (AMT flags/keyvals in brackets)::

        x ── GammatoneFilterbank (auditoryfilterbank; basef ± 2 ERB, 1-ERB spacing)
          ── King2019Compression (compression_brokenstick | compression_power |
             no_compression; compression_n 0.3, knee 30 dB re dboffset)
          ── IHCEnvelope (ihc_king2019 = HWR + 1st-order 1-kHz low-pass)
          ── ButterworthFilter (adaptation: 1st-order 3-Hz high-pass; adt_HP_fc/order)
          ── King2019ModulationFilterbank (mflow 2, mfhigh 150, Q 1; Hilbert envelope
             above 10 Hz; optional LP_150_Hz)
          ── fftresample to subfs = 16 kHz (skipped when fs == subfs)

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
    compression : {'brokenstick', 'power', 'none'}
        AMT ``compression_brokenstick`` (default), ``compression_power``,
        ``no_compression``.
    compression_n : float or sequence of float
        Compression exponent (per channel if a sequence; AMT ``compression_n``).
    compression_knee_db : float
        Knee in dB re ``dboffset`` (AMT ``compression_knee_dB``, 30).
    ihc_method : str
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
    returns a dict like AMT's ``step`` struct: ``'gtone_response'``,
    ``'compressed_response'``, ``'ihc'``, ``'adapted_response'``, ``'E_mod'`` (before
    resampling) and ``'out'``.

    References
    ----------
    A. King, L. Varnet, and C. Lorenzi, "Accounting for masking of frequency modulation
    by amplitude modulation with the modulation filter-bank concept", J. Acoust. Soc.
    Am. 145(4), 2277–2293 (2019).
    """

    def __init__(self, fs: float, basef: float | None = None, *, flow: float | None = None,
                 fhigh: float | None = None, dboffset: float = DBSPL_AMT,
                 compression: str = "brokenstick", compression_n=0.3,
                 compression_knee_db: float = 30.0, ihc_method: str = "ihc_king2019",
                 adt_hp_fc: float = 3.0, adt_hp_order: int = 1, mflow: float = 2.0,
                 mfhigh: float = 150.0, qfactor: float = 1.0, nmod: int | None = None,
                 lp150: bool = False, phase_insens: bool = True,
                 subfs: float | None = 16000.0, learnable: Learnable = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        if basef is None and (flow is None or fhigh is None):
            raise ValueError("King2019 needs basef (the centre of the analysis, in Hz) or both "
                             "flow and fhigh")
        if basef is not None:
            basef = float(_checks.check_frequencies(basef, self.fs, "basef"))
            default_low, default_high = king2019_frequency_range(basef)
            flow = default_low if flow is None else flow
            fhigh = default_high if fhigh is None else fhigh
        self.basef = basef
        flow = _checks.check_number(flow, "flow")
        fhigh = _checks.check_number(fhigh, "fhigh")
        self.dboffset = _checks.check_number(dboffset, "dboffset")
        self.subfs = None if subfs is None else _checks.check_fs(subfs, "subfs")
        learn = resolve_learnable(learnable, ("afb", "compression", "adt", "mfb"))
        self.afb = GammatoneFilterbank(self.fs, flow=float(flow), fhigh=float(fhigh),
                                       basef=basef, learnable="afb" in learn, dtype=dtype)
        method = {"brokenstick": "compression_brokenstick", "power": "compression_power",
                  "none": "no_compression"}.get(compression, compression)
        self.compression = King2019Compression(method, compression_n, compression_knee_db,
                                               self.dboffset,
                                               learnable="compression" in learn, dtype=dtype)
        self.ihc = IHCEnvelope(self.fs, ihc_method, dtype=dtype)
        self.adt = ButterworthFilter(self.fs, adt_hp_fc, adt_hp_order, "high",
                                     learnable="adt" in learn, dtype=dtype)
        self.mfb = King2019ModulationFilterbank(self.fs, mflow, mfhigh, qfactor, nmod,
                                                learnable="mfb" in learn, dtype=dtype,
                                                lp150=lp150, phase_insens=phase_insens)

    @property
    def fc(self) -> torch.Tensor:
        """Centre frequencies of the auditory channels in Hz, shape ``(F,)``."""
        return self.afb.fc

    @property
    def mfc(self) -> torch.Tensor:
        """Modulation centre frequencies in Hz, shape ``(M,)``."""
        return self.mfb.mfc

    @property
    def output_fs(self) -> float:
        """Sampling rate of the output in Hz."""
        return self.subfs if self.subfs is not None else self.fs

    def _resample(self, y: torch.Tensor) -> torch.Tensor:
        """AMT's final ``fftresample`` to ``subfs`` (none when ``subfs`` is ``fs``)."""
        if self.subfs is None or self.subfs == self.fs:
            return y
        return fftresample(y, round(y.shape[-1] / self.fs * self.subfs))

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        """Run the model on ``x (T,)`` or ``(B, T)``; see the class docstring for outputs."""
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 1)
        stages: dict[str, torch.Tensor] = {}
        stages["gtone_response"] = y = self.afb(x)
        stages["compressed_response"] = y = self.compression(y)
        stages["ihc"] = y = self.ihc(y)
        stages["adapted_response"] = y = self.adt(y)
        if return_stages:
            y, stages["E_mod"] = self.mfb(y, return_filtered=True)
            stages["out"] = self._resample(y)
        else:
            # one signal at a time: the (C, M, T) float64 band-pass outputs and the
            # resampling's spectra stay small enough for the allocator to reuse (a whole
            # batch's are fresh, page-faulted memory on every call: measured 0.8 s vs
            # 0.58 s at B = 32); the results are the same numbers
            stages["out"] = torch.cat([self._resample(self.mfb(row)) for row in y.split(1)])
        if unbatched:
            stages = unbatch_stages(stages)
        return stages if return_stages else stages["out"]
