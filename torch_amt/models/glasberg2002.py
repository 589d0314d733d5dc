"""Glasberg & Moore (2002) loudness model for time-varying sounds, as AMT 1.4.0 ``glasberg2002``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from torch_amt import _checks
from torch_amt.functional.glasberg2002 import COMPENSATION_TYPES, DBOFFSET_PASCAL
from torch_amt.models.base import AuditoryModel
from torch_amt.stages.excitation import ExcitationPattern
from torch_amt.stages.gain import Gain
from torch_amt.stages.loudness import LoudnessIntegration, SpecificLoudness
from torch_amt.stages.octave_resample import OctaveResample
from torch_amt.stages.outer_middle_ear import Glasberg2002OuterMiddleEarFilter
from torch_amt.stages.spectrum import MultiResolutionSpectrum

__all__ = ["Glasberg2002"]

_AMT_KEYS = {"fs": "model_fs", "flow": "flow", "fhigh": "fhigh", "order": "order",
             "fftLen": "fft_len", "vLimitingIndices": "limits_hz", "hannLenMs": "hann_ms",
             "timeStep": "time_step"}
_VECTOR_KEYS = ("limits_hz", "hann_ms")


class Glasberg2002(AuditoryModel):
    """Loudness of time-varying sounds of Glasberg & Moore (2002) (AMT 1.4.0 ``glasberg2002``).

    Chain (stage names of :data:`~torch_amt.models.base.STAGE_VOCABULARY`; AMT variables
    in brackets)::

        inputgain         dboffset − 93.98 dB (the model reads pascal)
        inputresample     Octave resample(insig, 32000, fs), only if fs != 32000
        outermiddle       fir2(4096, ...) outer/middle-ear FIR run by filtfilt  [earSig]
        spectrum          six Hann windows 2 ... 64 ms, 2048-point FFTs every 1 ms
                          [compInt: (B, 1025, N)]
        excitation        rounded-exponential filters on 149 ERB bands, 0.25 ERB apart,
                          50 ... 15000 Hz [eL, Pa²: (B, 149, N); eLdB = 10·log10(eL/(20 µPa)²)]
        specificloudness  ANSI S3.4-2007 law [specLoud: (B, 149, N)]
        loudness          instantaneous (binaural = 2 × monaural), short-term and long-term
                          loudness [binauralLoudness, STL, LTL: (B, 3, N)]

    ``N = ceil(T₃₂/32)`` blocks of 1 ms (``T₃₂`` samples at 32 kHz); ``output_fs`` is
    1000 Hz.

    **Sampling rate.** AMT computes at 32 kHz only ("currently fs must be 32000 Hz"): an
    input at another rate is resampled with Octave's ``resample`` exactly as AMT does
    (a :class:`UserWarning` says so when the model is built). Rates must be integers.

    **Calibration: AMT's, not the paper's** (reference README, quirk 16). The input is a
    sound pressure in pascal (``dboffset`` = 93.98 dB: an rms of 1 is 1 Pa). AMT 1.4.0
    omits the FFT bin width from the band intensities (-11.9 dB), uses the ear table's
    dB as FIR amplitudes applied forwards and backwards (four times the table in dB) and
    feeds the excitation in Pa² to a specific-loudness law whose thresholds are in units
    of (20 µPa)²; the loudness values are therefore tiny (about 1e-12 sone for a 70-dB
    tone), and AMT's own float64 loudness carries a rounding error of up to a few
    percent of that for quiet sounds (the difference ``(G·E + a)^α − a^α`` cancels).
    This class reproduces AMT, quirks included; it does not give calibrated sones.

    **Short inputs.** AMT's ``filtfilt`` of the 4097-tap FIR needs more than 12288
    samples at 32 kHz (0.384 s); shorter inputs are zero-extended for that filter with a
    :class:`UserWarning` (AMT stops with an error).

    **Gradients.** Every stage is differentiable (float64 ``gradcheck``, stage by stage
    and chained): resampling and the ear filter are linear, the spectrum is ``|FFT|²``,
    the excitation depends smoothly on the band levels. Not differentiable: the
    switches between the specific-loudness branches (``E = tQ``, ``E = 1e10``), the
    attack/release choice of the integrators (gradients follow the branch taken), the
    minimum band level (a subgradient) and blocks of digital silence (NaN, as AMT's
    ``eLdB``). The excitation is recomputed in chunks in the backward pass (gradient
    checkpointing) to bound its memory.

    Moore et al. (2016)'s binaural loudness (AMT ``moore2016``) is not part of this
    port: its filter data (AMT auxdata ``ff_32000.mat``) were not available.

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz (an integer; 32000 avoids resampling).
    dboffset : float
        Level convention of the input: an rms of 1 is ``dboffset`` dB SPL. Default
        ``20·log10(1/20e-6)`` = 93.98 (pascal, AMT's convention): no gain.
    model_fs : float
        Internal rate in Hz (AMT key ``'fs'``, 32000; AMT strongly recommends it).
    flow, fhigh : float
        Range of the outer/middle-ear tables placed on the FIR's frequency grid (AMT
        ``flow`` 20, ``fhigh`` 16000).
    order : int
        Outer/middle-ear FIR order (AMT ``order``, 4096).
    fft_len : int
        FFT length (AMT ``fftLen``, 2048).
    limits_hz : sequence of 5 float
        Frequencies separating the windows' ranges (AMT ``vLimitingIndices``,
        4050, 2540, 1250, 500, 80 Hz).
    hann_ms : sequence of 6 float
        Window lengths in ms (AMT ``hannLenMs``, 2, 4, 8, 16, 32, 64).
    time_step : float
        Block step in s (AMT ``timeStep``, 0.001).
    compensation : {'tfOuterMiddle1997', 'tfOuterMiddle2007'}
        Outer/middle-ear data (AMT flag; AMT's third choice ``'specLoud'`` has no
        transfer function and fails in AMT).
    dtype : torch.dtype
        Accepted like every model's (float32 or float64). The designed tables (FIR,
        band frequencies) are float64 buffers. From the outer/middle-ear filter on, the
        model computes in **float64 whatever the input dtype** (AMT's excitation spans
        some 300 dB, beyond float32's rounding; float32 spectra give errors of 1e-4 in
        ``eLdB``): intermediate stage outputs are float64, the output ``'out'`` has the
        input's dtype (complex64/complex128 in AMT's complex case).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``; output ``(B, 3, N)`` (``(3, N)`` without batch):
    instantaneous binaural loudness, short-term loudness, long-term loudness in
    (AMT-calibrated) sone. ``forward(x, return_stages=True)`` returns every stage's
    output by chain name and ``'out'``.

    References
    ----------
    B. R. Glasberg and B. C. J. Moore, "A model of loudness applicable to time-varying
    sounds", J. Audio Eng. Soc. 50(5), 331–342 (2002). B. C. J. Moore, B. R. Glasberg,
    and T. Baer, "A model for the prediction of thresholds, loudness, and partial
    loudness", J. Audio Eng. Soc. 45(4), 224–240 (1997). ANSI S3.4-2007.
    """

    amt_function = "glasberg2002"
    description = ("Glasberg & Moore (2002): time-varying loudness (excitation pattern, "
                   "specific, short- and long-term loudness; 32 kHz internally)")
    output_kind = "loudness"

    def __init__(self, fs: float, *, dboffset: float = DBOFFSET_PASCAL,
                 model_fs: float = 32000.0, flow: float = 20.0, fhigh: float = 16000.0,
                 order: int = 4096, fft_len: int = 2048,
                 limits_hz: Sequence[float] = (4050, 2540, 1250, 500, 80),
                 hann_ms: Sequence[float] = (2, 4, 8, 16, 32, 64), time_step: float = 0.001,
                 compensation: str = "tfOuterMiddle1997",
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, dboffset)
        _checks.check_dtype(dtype)
        self.model_fs = _checks.check_fs(model_fs, "model_fs")
        self.compensation = _checks.check_choice(compensation, "compensation",
                                                 COMPENSATION_TYPES)
        resampler = None
        if self.fs != self.model_fs:
            for name, rate in (("fs", self.fs), ("model_fs", self.model_fs)):
                if rate != int(rate):
                    raise ValueError(f"{name} must be an integer number of Hz for Octave's "
                                     f"resample (integer factors), got {rate:g}")
            resampler = OctaveResample(self.fs, int(self.model_fs), int(self.fs))
            warnings.warn(f"Glasberg2002 computes at {self.model_fs:g} Hz as AMT does; the input "
                          f"at fs={self.fs:g} Hz is resampled with Octave's resample(x, "
                          f"{self.model_fs:g}, {self.fs:g}) first", UserWarning, stacklevel=2)
        excitation = ExcitationPattern(self.model_fs, fft_len)
        self.set_chain([
            ("inputgain", Gain(self.dboffset - DBOFFSET_PASCAL)),
            ("inputresample", resampler),
            ("outermiddle", Glasberg2002OuterMiddleEarFilter(self.model_fs, self.compensation,
                                                             flow=flow, fhigh=fhigh,
                                                             order=order)),
            ("spectrum", MultiResolutionSpectrum(self.model_fs, fft_len=fft_len,
                                                 hann_ms=hann_ms, limits_hz=limits_hz,
                                                 time_step=time_step)),
            ("excitation", excitation),
            ("specificloudness", SpecificLoudness(excitation.fc)),
            ("loudness", LoudnessIntegration()),
        ])
        self.to(dtype)

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        """Run the model on ``x (T,)`` or ``(B, T)`` (see the class docstring); the output
        is returned in the input's dtype (the chain computes in float64)."""
        result = super().forward(x, return_stages)
        real = x.dtype if isinstance(x, torch.Tensor) else torch.float64
        if real not in (torch.float32, torch.float64):
            return result
        out = result["out"] if return_stages else result
        dtype = ((torch.complex64 if real == torch.float32 else torch.complex128)
                 if out.is_complex() else real)
        if return_stages:
            result["out"] = out.to(dtype)
            return result
        return out.to(dtype)

    def output_length(self, n: int) -> int:
        """Number of output blocks for ``n`` input samples (``ceil`` of the samples at
        ``model_fs`` over the block step)."""
        if self.inputresample is not None:
            n = self.inputresample.output_length(n)
        return self.spectrum.output_length(n)

    @property
    def fc(self) -> torch.Tensor:
        """Centre frequencies of the 149 ERB bands in Hz, shape ``(149,)``."""
        return self.excitation.fc

    @property
    def erb_n(self) -> torch.Tensor:
        """ERB numbers of the bands (AMT ``results.erbN``), shape ``(149,)``."""
        return self.excitation.erb_n

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for AMT ``glasberg2002(insig, fs, flags..., key, val)``.

        Keys: ``fs`` (→ ``model_fs``), ``flow``, ``fhigh``, ``order``, ``fftLen``,
        ``vLimitingIndices``, ``hannLenMs``, ``timeStep``. Flags: ``tfOuterMiddle1997``,
        ``tfOuterMiddle2007``.
        """
        options: dict[str, Any] = {}
        unknown = set(keyvals) - set(_AMT_KEYS)
        if unknown:
            raise ValueError(f"glasberg2002 key(s) {sorted(unknown)} are not implemented")
        for key, value in keyvals.items():
            name = _AMT_KEYS[key]
            if name in _VECTOR_KEYS:
                options[name] = tuple(float(v) for v in np.asarray(value, dtype=float).ravel())
            else:
                options[name] = float(np.asarray(value, dtype=float).reshape(-1)[0])
        for flag in flags:
            if flag not in COMPENSATION_TYPES:
                raise ValueError(f"glasberg2002 flag {flag!r} is not implemented (choose from "
                                 f"{list(COMPENSATION_TYPES)})")
            options["compensation"] = flag
        if "order" in options:
            options["order"] = int(options["order"])
        if "fft_len" in options:
            options["fft_len"] = int(options["fft_len"])
        return options
