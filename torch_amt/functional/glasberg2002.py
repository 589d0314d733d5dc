"""Time-varying loudness of Glasberg & Moore (2002), as AMT 1.4.0 ``glasberg2002`` computes it.

The chain (AMT's variable names in brackets): an outer/middle-ear FIR applied forwards
and backwards (``earSig``), spectra of six Hann windows of 2 ... 64 ms every 1 ms, each
used for its own frequency range (``compInt``, intensity per FFT bin), intensities per
ERB band (``erbdB``), level-dependent rounded-exponential excitation patterns on 149
ERB-number steps of 0.25 (``eL``), specific loudness (``specLoud``), instantaneous
(monaural, binaural) loudness and the short- and long-term loudness of two attack/release
integrators (``STL``, ``LTL``).

The input is a sound pressure in pascal. AMT 1.4.0's calibration is not the paper's
(reference README, quirk 16), and these functions keep AMT's arithmetic:

* the band intensities are ``2|X|²/(fs·Σw²)`` summed over FFT bins, without the bin
  width ``fs/fftLen`` (-11.9 dB re the paper);
* the ear table's decibels are used as FIR *amplitudes* ``10^(dB/10)`` and the FIR is
  applied with ``filtfilt``, i.e. four times the table in dB;
* the FIR's frequency grid maps ``flow ... fhigh`` (20 ... 16000 Hz) onto ``0 ... fs/2``;
* the specific-loudness formulas take the excitation in Pa² against thresholds in units
  of (20 µPa)², so the loudness is tiny (about 1e-12 sone for a 70-dB tone) and only its
  below-threshold branch is normally reached; ``(G·E + a)^α − a^α`` then cancels to a
  few significant digits (AMT's own float64 result is that inexact), so
  :func:`specific_loudness` always evaluates it in float64;
* ``oneHz = (fftLen + 2)/fs`` bins per Hz, ERB band sums start one bin below the band,
  the lower filter skirt uses the level interpolated at each FFT bin, the absolute
  threshold ``tQ`` is only defined from 50 to 1000 Hz (``interp1(..., 'pchip')`` without
  extrapolation: NaN elsewhere, so those bands contribute nothing below 1e10 Pa²; the
  first band's centre is 49.99999999999998 Hz);
* the six spectra are not centred on a common instant: every window starts at the
  block's first sample.

References
----------
B. R. Glasberg and B. C. J. Moore, "A model of loudness applicable to time-varying
sounds", J. Audio Eng. Soc. 50(5), 331–342 (2002). B. C. J. Moore, B. R. Glasberg, and
T. Baer, "A model for the prediction of thresholds, loudness, and partial loudness",
J. Audio Eng. Soc. 45(4), 224–240 (1997). ANSI S3.4-2007. AMT 1.4.0 ``glasberg2002.m``,
``data_glasberg2002.m`` (T. Deppisch, P. Majdak, C. Hollomey).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.checkpoint import checkpoint

from torch_amt import _checks
from torch_amt.dsp.filtfilt import octave_filtfilt
from torch_amt.dsp.fir import fir2, hann, pchip
from torch_amt.dsp.resample import resample

__all__ = [
    "COMPENSATION_TYPES",
    "DBOFFSET_PASCAL",
    "ErbBands",
    "erb_bands",
    "excitation_level_db",
    "excitation_pattern",
    "glasberg2002",
    "instantaneous_loudness",
    "loudness_integration",
    "loudness_rounding_bound",
    "multiresolution_spectrum",
    "outer_middle_ear_db",
    "outer_middle_ear_fir",
    "outer_middle_ear_tables",
    "resample_to_model_rate",
    "specific_loudness",
    "specific_loudness_parameters",
]

P_REF = 20e-6
"""Reference sound pressure in Pa (0 dB SPL)."""

DBOFFSET_PASCAL = 20 * math.log10(1 / P_REF)
"""The level convention of a signal in pascal: an rms of 1 is 93.98 dB SPL."""

COMPENSATION_TYPES = ("tfOuterMiddle1997", "tfOuterMiddle2007")
"""The outer/middle-ear transfer functions of ``data_glasberg2002``."""

_F_OUTER = (20, 25, 31.5, 40, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 750,
            800, 1000, 1250, 1500, 1600, 2000, 2500, 3000, 3150, 4000, 5000, 6000, 6300, 8000,
            9000, 10000, 11200, 12500, 14000, 15000, 16000, 20000)
# Free-field outer-ear gain (dB), ANSI S3.4-2007.
_OUTER_FREE = (0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.3, 0.5, 0.9, 1.4, 1.6, 1.7, 2.5, 2.7, 2.6, 2.6,
               3.2, 5.2, 6.6, 12, 16.8, 15.3, 15.2, 14.2, 10.7, 7.1, 6.4, 1.8, -0.9, -1.6, 1.9,
               4.9, 2, -2, 2.5, 2.5)
_F_MIDDLE = (*_F_OUTER[:-1], 18000, 20000)
# Middle-ear attenuation (dB, positive = loss): the 2006 revision ('tfOuterMiddle1997')
# and ANSI S3.4-2007 ('tfOuterMiddle2007'); they differ from 1250 to 1600 Hz.
_MIDDLE_LOSS = {
    "tfOuterMiddle1997": (39.6, 32, 25.85, 21.4, 18.5, 15.9, 14.1, 12.4, 11, 9.6, 8.3, 7.4, 6.2,
                          4.8, 3.8, 3.3, 2.9, 2.6, 2.6, 3.2, 4.5, 5.5, 8.5, 10.4, 7.3, 7, 6.6,
                          7, 9.2, 10.2, 12.2, 10.8, 10.1, 12.7, 15, 18.2, 23.8, 32.3, 45.5, 50),
    "tfOuterMiddle2007": (39.6, 32, 25.85, 21.4, 18.5, 15.9, 14.1, 12.4, 11, 9.6, 8.3, 7.4, 6.2,
                          4.8, 3.8, 3.3, 2.9, 2.6, 2.6, 4.5, 5.4, 6.1, 8.5, 10.4, 7.3, 7, 6.6,
                          7, 9.2, 10.2, 12.2, 10.8, 10.1, 12.7, 15, 18.2, 23.8, 32.3, 45.5, 50),
}
# Absolute threshold (dB) from 50 to 1000 Hz, ANSI S3.4-2007.
_F_THRESHOLD = (50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 750, 800, 1000)
_THRESHOLD_DB = (28.18, 23.9, 19.2, 15.68, 12.67, 10.09, 8.08, 6.3, 5.3, 4.5, 3.73, 3.73,
                 3.73, 3.73, 3.73)
# Linearisation parameter a and compressive exponent alpha against the low-level gain
# G (dB) of the cochlear amplifier, ANSI S3.4-2007.
_G_A = tuple(-1e-5 * v for v in (
    2454531, 2378397, 2278169, 1978305, 1621055, 1123866, 945902, 738338, 589392, 497718,
    362882, 250042, 177405, 157745, 124006, 94596, 75663, 52501, 35451, 18750, 7845, 2470, 0))
_A = tuple(1e-5 * v for v in (
    885200, 863150, 835840, 765258, 699954, 610719, 582490, 555322, 536425, 525064, 510314,
    498203, 490515, 488449, 484918, 481854, 479890, 477494, 475736, 474019, 472899, 472349,
    472096))
_G_ALPHA = (-25, -20, -15, -10, -5, -0)
_ALPHA = tuple(1e-5 * v for v in (26692, 25016, 23679, 22228, 21055, 20000))
_LOUDNESS_CONSTANT = 0.046871  # c: scales the loudness to sone
_HIGH_LEVEL = 1e10  # above this excitation the high-level law c·(E/1.04e6)^0.5 applies
_ERB_STEP = 0.25
_ERB_FC_RANGE = (50.0, 15000.0)
# Attack and release coefficients per 1-ms step of the short- and long-term loudness.
_STL_ATTACK, _STL_RELEASE = 0.045, 0.02
_LTL_ATTACK, _LTL_RELEASE = 0.01, 0.0005


def _mround(x: float) -> int:
    """MATLAB ``round``: halves away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def fc2erb(fc: float) -> float:
    """ERB number of ``fc`` Hz (AMT ``fc2erb``: ``21.366·log10(0.004368·fc + 1)``)."""
    return 21.366 * math.log10(0.004368 * fc + 1)


def erb2fc(erb: float) -> float:
    """Frequency in Hz of the ERB number ``erb`` (AMT ``erb2fc``)."""
    return (math.pow(10.0, erb / 21.366) - 1) / 0.004368


def _erb_width(fc: np.ndarray) -> np.ndarray:
    """ERB in Hz at ``fc`` (AMT ``f2erb`` with one argument: ``24.673(0.004368·fc + 1)``)."""
    return 24.673 * (0.004368 * fc + 1)


def outer_middle_ear_db(f, compensation: str = "tfOuterMiddle1997") -> np.ndarray:
    """Outer plus middle-ear transfer (dB) at ``f`` Hz (``data_glasberg2002``).

    The free-field outer-ear gain and the middle-ear attenuation tables, each
    interpolated with Octave's ``pchip`` and summed (``data.tfOuterMiddle``).

    Parameters
    ----------
    f : array_like, shape (n,)
        Frequencies in Hz within 20 ... 20000 Hz (NaN outside, as Octave).
    compensation : {'tfOuterMiddle1997', 'tfOuterMiddle2007'}
        The middle-ear data: the 2006 revision used by AMT's default, or ANSI S3.4-2007.

    Returns
    -------
    ndarray, shape (n,), float64
    """
    tables = outer_middle_ear_tables(compensation)
    f = np.asarray(f, dtype=np.float64).ravel()
    return (pchip(tables["fOuter"], tables["tfOuter"], f)
            + pchip(tables["fMiddle"], tables["tfMiddle"], f))


def outer_middle_ear_tables(compensation: str = "tfOuterMiddle1997") -> dict[str, np.ndarray]:
    """The tabulated outer- and middle-ear data of ``data_glasberg2002``.

    Returns
    -------
    dict
        ``fOuter``, ``tfOuter`` (free-field outer-ear gain, dB), ``fMiddle``, ``tfMiddle``
        (middle-ear transfer, dB, negative = loss), float64 arrays.
    """
    compensation = _checks.check_choice(compensation, "compensation", COMPENSATION_TYPES)
    return {"fOuter": np.asarray(_F_OUTER, dtype=np.float64),
            "tfOuter": np.asarray(_OUTER_FREE, dtype=np.float64),
            "fMiddle": np.asarray(_F_MIDDLE, dtype=np.float64),
            "tfMiddle": -np.asarray(_MIDDLE_LOSS[compensation], dtype=np.float64)}


def specific_loudness_parameters(f) -> dict[str, np.ndarray | float]:
    """Specific-loudness parameters at ``f`` Hz (``data_glasberg2002('specLoud', ...)``).

    Returns
    -------
    dict
        ``tQ`` (absolute threshold, dB; NaN outside 50 ... 1000 Hz), ``tQ500`` (its value
        at 500 Hz, 3.73 dB), ``g`` (low-level gain ``tQ500 - tQ``, dB), ``a``, ``alpha``
        (``pchip`` in ``g``) and ``c`` (0.046871), arrays of shape ``(n,)``.
    """
    f = np.asarray(f, dtype=np.float64).ravel()
    t_q = pchip(_F_THRESHOLD, _THRESHOLD_DB, f)
    t_q500 = _THRESHOLD_DB[10]
    g = t_q500 - t_q
    return {"tQ": t_q, "tQ500": t_q500, "g": g, "a": pchip(_G_A, _A, g),
            "alpha": pchip(_G_ALPHA, _ALPHA, g), "c": _LOUDNESS_CONSTANT}


def outer_middle_ear_fir(order: int = 4096, flow: float = 20.0, fhigh: float = 16000.0,
                         compensation: str = "tfOuterMiddle1997") -> torch.Tensor:
    """The outer/middle-ear FIR of ``glasberg2002``.

    ``fir2(order, linspace(0, 1, n), 10.^(tf/10))`` with ``tf`` the transfer
    (:func:`outer_middle_ear_db`) at ``flow:fhigh`` (``n`` frequencies, 1-Hz steps),
    i.e. the data at ``flow`` ... ``fhigh`` Hz placed at 0 ... Nyquist, dB used as
    ``10^(dB/10)`` amplitudes (AMT quirk; applied with ``filtfilt`` that is four times
    the table in dB).

    Returns
    -------
    Tensor, shape (order + 1,), float64
    """
    order = _checks.check_positive(order, "order", integer=True)
    flow = _checks.check_number(flow, "flow", minimum=20.0)
    fhigh = _checks.check_number(fhigh, "fhigh", maximum=20000.0)
    f = np.arange(flow, fhigh + 0.5 * 1.0, 1.0)
    f = f[f <= fhigh]
    if f.size < 2:
        raise ValueError(f"flow:fhigh must hold at least two 1-Hz steps, got flow={flow}, "
                         f"fhigh={fhigh}")
    gains = 10.0 ** (outer_middle_ear_db(f, compensation) / 10)
    return fir2(order, np.linspace(0.0, 1.0, f.size), gains)


def resample_to_model_rate(x: torch.Tensor, fs: float, model_fs: float) -> torch.Tensor:
    """Octave ``resample(x, model_fs, fs)`` (identity when the rates agree).

    Both rates must be integers (Octave's ``resample`` takes integer factors).
    """
    if fs == model_fs:
        return x
    if fs != int(fs) or model_fs != int(model_fs):
        raise ValueError(f"resampling from fs={fs:g} Hz to {model_fs:g} Hz needs integer rates "
                         "(AMT calls Octave resample(x, model_fs, fs) with integer factors)")
    return resample(x, int(model_fs), int(fs))


@dataclass(frozen=True)
class ErbBands:
    """The 149 ERB bands of ``glasberg2002`` and their FFT-bin bookkeeping.

    Attributes
    ----------
    erb_n : ndarray, shape (J,)
        ERB numbers ``fc2erb(50):0.25:fc2erb(15000)``.
    fc : ndarray, shape (J,)
        Centre frequencies in Hz (``erb2fc(erb_n)``).
    freqs : ndarray, shape (K,)
        FFT bin frequencies ``linspace(0, fs/2, K)``, ``K = fft_len/2 + 1``.
    band_sum : ndarray, shape (K, J)
        0/1 matrix of the bins summed per band (``round(lo·oneHz)`` ... ``round(hi·oneHz)``
        as 1-based indices: one bin below the band edges).
    lower : ndarray of bool, shape (K, J)
        Bins below ``round(fc·oneHz)`` (0-based): the level-dependent lower skirt.
    g : ndarray, shape (K, J)
        Normalised deviation ``|f - fc| / fc``.
    p51 : ndarray, shape (J,)
        Slope ``4 fc / ERB(fc)`` (the filters' slope at 51 dB per ERB).
    p511 : float
        ``p51`` at 1 kHz.
    interp_index, interp_weight : ndarray, shape (K,)
        Linear interpolation of the band levels at the bin frequencies (Octave
        ``interp1`` on ``[0, fc, fs/2]``): interval and fraction.
    """

    erb_n: np.ndarray
    fc: np.ndarray
    freqs: np.ndarray
    band_sum: np.ndarray
    lower: np.ndarray
    g: np.ndarray
    p51: np.ndarray
    p511: float
    interp_index: np.ndarray
    interp_weight: np.ndarray


def erb_bands(fs: float = 32000.0, fft_len: int = 2048) -> ErbBands:
    """The ERB bands and the per-bin tables of ``glasberg2002`` at ``fs`` and ``fft_len``.

    Raises
    ------
    ValueError
        If a band reaches past the FFT's Nyquist bin (``fs`` too low for 15 kHz).
    """
    fs = _checks.check_fs(fs)
    fft_len = _checks.check_positive(fft_len, "fft_len", integer=True)
    if fft_len % 2:
        raise ValueError(f"fft_len must be even, got {fft_len}")
    n_bins = fft_len // 2 + 1
    one_hz = (fft_len + 2) / fs
    e0, e1 = fc2erb(_ERB_FC_RANGE[0]), fc2erb(_ERB_FC_RANGE[1])
    quotient = (e1 - e0) / _ERB_STEP
    n_bands = math.floor(quotient + 3 * np.finfo(float).eps * max(1.0, abs(quotient))) + 1
    erb_n = np.array([e0 + k * _ERB_STEP for k in range(n_bands)])
    fc = np.array([erb2fc(e) for e in erb_n])
    lo = [_mround(erb2fc(e - 0.5) * one_hz) for e in erb_n]
    hi = [_mround(erb2fc(e + 0.5) * one_hz) for e in erb_n]
    if min(lo) < 1 or max(hi) > n_bins:
        raise ValueError(f"the ERB bands 50 ... 15000 Hz need FFT bins up to {max(hi)} of "
                         f"{n_bins} (fs={fs:g} Hz, fft_len={fft_len}); raise fs")
    freqs = np.linspace(0.0, fs / 2, n_bins)
    band_sum = np.zeros((n_bins, n_bands))
    for j, (a, b) in enumerate(zip(lo, hi, strict=True)):
        band_sum[a - 1:b, j] = 1.0
    edge = np.array([_mround(v * one_hz) for v in fc])
    lower = np.arange(n_bins)[:, None] < edge[None, :]
    g = np.abs(freqs[:, None] - fc[None, :]) / fc[None, :]
    p51 = 4 * fc / _erb_width(fc)
    p511 = float(4 * 1000 / _erb_width(np.float64(1000.0)))
    knots = np.concatenate([[0.0], fc, [fs / 2]])
    index = np.clip(np.searchsorted(knots, freqs, side="right"), 1, knots.size - 1) - 1
    weight = (freqs - knots[index]) / (knots[index + 1] - knots[index])
    return ErbBands(erb_n, fc, freqs, band_sum, lower, g, p51, p511, index, weight)


def _block_count(n_samples: int, step: int) -> int:
    return -(-n_samples // step)


def multiresolution_spectrum(x: torch.Tensor, fs: float = 32000.0, *, fft_len: int = 2048,
                             hann_ms: Sequence[float] = (2, 4, 8, 16, 32, 64),
                             limits_hz: Sequence[float] = (4050, 2540, 1250, 500, 80),
                             time_step: float = 0.001) -> torch.Tensor:
    """Intensity per FFT bin every ``time_step`` from six Hann windows (``compInt``).

    Block ``i`` (``i = 0 .. ceil(T/step) - 1``, ``step = round(time_step·fs)``) takes,
    for window ``k``, the ``n_k = round(hann_ms[k]·fs/1000)`` samples from ``i·step`` on
    (the signal followed by ``n_6`` zeros), weights them with a symmetric Hann window
    and takes an ``fft_len``-point FFT; bin ``m`` gets ``2|X_k[m]|² / (fs·Σw_k²)`` from
    the window assigned to its range: window 1 above ``round(limits[0]·oneHz)``,
    window 2 from ``round(limits[1]·oneHz)``, ..., window 6 below
    ``round(limits[4]·oneHz)`` (0-based bins; ``oneHz = (fft_len + 2)/fs``).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Ear signal (after the outer/middle-ear filter), time last.
    fs : float
        Sampling rate in Hz (AMT's 32000).
    fft_len : int
        FFT length (2048).
    hann_ms : sequence of 6 float
        Window lengths in ms, the last the longest (2, 4, 8, 16, 32, 64).
    limits_hz : sequence of 5 float
        Decreasing frequencies separating the windows' ranges (4050, 2540, 1250, 500, 80).
    time_step : float
        Block step in s (0.001).

    Returns
    -------
    Tensor, shape (..., fft_len/2 + 1, ceil(T/step))
        Intensity per bin (Pa² for an input in Pa, AMT's scale). Differentiable.
    """
    x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
    fs = _checks.check_fs(fs)
    fft_len = _checks.check_positive(fft_len, "fft_len", integer=True)
    time_step = _checks.check_positive(time_step, "time_step")
    hann_ms = [float(v) for v in hann_ms]
    limits_hz = [float(v) for v in limits_hz]
    if len(hann_ms) != 6 or len(limits_hz) != 5:
        raise ValueError(f"hann_ms needs 6 window lengths and limits_hz 5 frequencies, got "
                         f"{len(hann_ms)} and {len(limits_hz)} (AMT: [1 x 6] and [1 x 5])")
    lengths = [_mround(v / 1000 * fs) for v in hann_ms]
    if min(lengths) < 1 or max(lengths) > lengths[-1]:
        raise ValueError(f"hann_ms must give windows of at least one sample with the last the "
                         f"longest (AMT pads with the 6th), got {lengths} samples")
    step = _mround(time_step * fs)
    if step < 1:
        raise ValueError(f"time_step·fs must round to at least one sample, got {time_step}")
    n_bins = fft_len // 2 + 1
    one_hz = (fft_len + 2) / fs
    edges = [_mround(v * one_hz) for v in limits_hz]
    if any(b <= a for a, b in zip(edges[1:], edges[:-1], strict=True)) or edges[-1] < 1 \
            or edges[0] >= n_bins:
        raise ValueError(f"limits_hz must be decreasing and fall on distinct FFT bins inside "
                         f"(0, fs/2), got bins {edges} of {n_bins}")
    n_blocks = _block_count(x.shape[-1], step)
    if x.numel() == 0:  # an empty batch: the FFT backends refuse empty transforms
        return x.new_zeros(*x.shape[:-1], n_bins, n_blocks)
    padded = torch.nn.functional.pad(x, (0, lengths[-1]))
    ranges = [(edges[0], n_bins), *[(edges[k + 1], edges[k]) for k in range(4)], (0, edges[4])]
    parts = []
    for n, (lo, hi) in zip(lengths, ranges, strict=True):
        w = hann(n)
        frames = padded.unfold(-1, n, step)[..., :n_blocks, :]
        spectrum = torch.fft.rfft(frames * w.to(x.dtype), fft_len)[..., lo:hi]
        parts.append(spectrum.abs().square() / float((w * w).sum()))
    spect = torch.cat(parts[::-1], dim=-1)
    return (2 * spect / fs).transpose(-1, -2)


def _lower_skirt(intensity: torch.Tensor, level: torch.Tensor, gain: torch.Tensor,
                 slope: torch.Tensor, g: torch.Tensor, f_index: torch.Tensor,
                 band_index: torch.Tensor, n_bands: int) -> torch.Tensor:
    """Σ over lower-skirt (bin, band) pairs of ``w(p_L g) · I`` for a chunk of blocks."""
    p_low = gain - slope * (level[..., f_index] - 51)
    pg = p_low * g
    terms = (1 + pg) * torch.exp(-pg) * intensity[..., f_index]
    out = intensity.new_zeros(*intensity.shape[:-1], n_bands)
    return out.index_add(-1, band_index, terms)


def excitation_pattern(intensity: torch.Tensor, fs: float = 32000.0, fft_len: int = 2048,
                       *, chunk: int = 64) -> torch.Tensor:
    """Excitation ``eL`` (Pa²) in the 149 ERB bands from the intensity per FFT bin.

    Per block: band intensities ``erbInt`` (sums over each band's bins), levels
    ``erbdB = 10 log10(erbInt/(20 µPa)²)``, interpolated linearly to every bin
    frequency (``[min, erbdB, min]`` at ``[0, fc, fs/2]``). Each band's rounded-exponential
    weight ``w = (1 + pg) e^{-pg}``, ``g = |f - fc|/fc``, has the slope ``p = p51`` on
    the upper skirt and ``p51 - 0.35 (p51/p511)(L(f) - 51)`` below ``fc`` (``L(f)``
    the level interpolated at that bin); ``eL = Σ_f w·I(f)``.

    Parameters
    ----------
    intensity : Tensor, shape (..., fft_len/2 + 1, N)
        :func:`multiresolution_spectrum` output.
    fs, fft_len : float, int
        The rate and FFT length of the spectrum.
    chunk : int
        Blocks computed at once (memory ~ ``chunk · 4e4`` elements; with gradients the
        chunks are recomputed in the backward pass instead of stored).

    Returns
    -------
    Tensor, shape (..., 149, N)
        Excitation in Pa² (may hold NaN for blocks of digital silence, as AMT).
        Differentiable where the band intensities are positive.
    """
    bands = erb_bands(fs, fft_len)
    n_bins = bands.freqs.size
    if intensity.ndim < 2 or intensity.shape[-2] != n_bins:
        raise ValueError(f"intensity must have shape (..., {n_bins}, N) for fft_len={fft_len}, "
                         f"got {tuple(intensity.shape)}")
    chunk = _checks.check_positive(chunk, "chunk", integer=True)
    dtype, device = intensity.dtype, intensity.device

    def const(a) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.float64)).to(dtype=dtype, device=device)

    spec = intensity.transpose(-1, -2)  # (..., N, K)
    erb_db = 10 * torch.log10(spec @ const(bands.band_sum) / P_REF ** 2)
    low = torch.amin(erb_db, dim=-1, keepdim=True)
    knots = torch.cat([low, erb_db, low], dim=-1)
    index = torch.as_tensor(bands.interp_index, device=device)
    y0 = knots[..., index]
    level = const(bands.interp_weight) * (knots[..., index + 1] - y0) + y0
    upper = np.where(bands.lower, 0.0, (1 + bands.p51 * bands.g) * np.exp(-bands.p51 * bands.g))
    excitation = spec @ const(upper)
    f_index, band_index = (torch.as_tensor(v, device=device) for v in np.nonzero(bands.lower))
    gain = const(bands.p51)[band_index]
    slope = const(0.35 * (bands.p51 / bands.p511))[band_index]
    g = const(bands.g)[f_index, band_index]
    n_bands = bands.fc.size
    need_grad = torch.is_grad_enabled() and (spec.requires_grad or level.requires_grad)
    pieces = []
    for start in range(0, spec.shape[-2], chunk):
        args = (spec[..., start:start + chunk, :], level[..., start:start + chunk, :],
                gain, slope, g, f_index, band_index, n_bands)
        pieces.append(checkpoint(_lower_skirt, *args, use_reentrant=False) if need_grad
                      else _lower_skirt(*args))
    lower = torch.cat(pieces, dim=-2) if pieces else excitation.new_zeros(excitation.shape)
    return (excitation + lower).transpose(-1, -2)


def excitation_level_db(excitation: torch.Tensor) -> torch.Tensor:
    """``10 log10(eL / (20 µPa)²)`` (AMT ``results.eLdB``); complex where ``eL < 0``."""
    if not excitation.is_complex() and bool((excitation < 0).any()):
        excitation = excitation.to(torch.complex128 if excitation.dtype == torch.float64
                                   else torch.complex64)
    return 10 * torch.log10(excitation / P_REF ** 2)


def specific_loudness(excitation: torch.Tensor, fc) -> torch.Tensor:
    """Specific loudness (sone per ERB) from the excitation ``eL`` in the bands at ``fc``.

    With ``tQ = 10^(tQdB/10)``, ``G = 10^((tQdB500 - tQdB)/10)`` and ``a``, ``alpha``,
    ``c`` from :func:`specific_loudness_parameters`:
    ``c (2E/(E + tQ))^1.5 ((G E + a)^α − a^α)`` where ``E < tQ``,
    ``c ((G E + a)^α − a^α)`` where ``tQ < E ≤ 1e10``, ``c (E/1.04e6)^0.5`` where
    ``E > 1e10``, else 0 (``E = tQ``, and bands without a threshold, NaN ``tQ``).
    Evaluated in float64 whatever the input dtype (the difference of powers cancels;
    see the module notes) and returned in the input's dtype. A negative excitation
    (AMT quirk at extreme levels) gives complex values as MATLAB's power does.

    Parameters
    ----------
    excitation : Tensor, shape (..., J, N)
        Excitation in the ERB bands (:func:`excitation_pattern`).
    fc : array_like, shape (J,)
        Band centre frequencies in Hz.

    Returns
    -------
    Tensor, shape (..., J, N)
        Differentiable inside each branch (not at the branch boundaries).
    """
    fc = np.asarray(fc, dtype=np.float64).ravel()
    if excitation.ndim < 2 or excitation.shape[-2] != fc.size:
        raise ValueError(f"excitation must have shape (..., {fc.size}, N) for {fc.size} bands, "
                         f"got {tuple(excitation.shape)}")
    params = specific_loudness_parameters(fc)
    t_q_db = params["tQ"]
    known = np.isfinite(t_q_db)
    safe = {"tQ": np.where(known, 10.0 ** (t_q_db / 10), 1.0),
            "G": np.where(known, 10.0 ** ((params["tQ500"] - t_q_db) / 10), 1.0),
            "a": np.where(known, params["a"], 1.0),
            "alpha": np.where(known, params["alpha"], 1.0)}
    dtype = excitation.dtype
    e = excitation.to(torch.float64)
    negative = bool((e < 0).any())
    work = e.to(torch.complex128) if negative else e
    col = {k: torch.as_tensor(v, device=e.device)[:, None] for k, v in safe.items()}
    t_q = torch.as_tensor(np.where(known, safe["tQ"], np.nan), device=e.device)[:, None]
    c = params["c"]
    core = (col["G"] * work + col["a"]) ** col["alpha"] - col["a"] ** col["alpha"]
    below = (e < t_q)
    middle = (e <= _HIGH_LEVEL) & (e > t_q)
    high = e > _HIGH_LEVEL
    s_below = c * (2 * work / (work + col["tQ"])) ** 1.5 * core
    s_middle = c * core
    s_high = c * (torch.where(high, work, torch.ones_like(work)) / 1.04e6) ** 0.5
    zero = torch.zeros_like(work)
    out = torch.where(high, s_high, torch.where(middle, s_middle,
                                                torch.where(below, s_below, zero)))
    if negative:
        return out.to(torch.complex128 if dtype == torch.float64 else torch.complex64)
    return out.to(dtype)


def loudness_rounding_bound(excitation: torch.Tensor, fc) -> torch.Tensor:
    """First-order bound of the float64 rounding error of the binaural loudness.

    AMT's (and this port's) specific loudness evaluates ``(G·E + a)^α − a^α`` with
    ``G·E`` many orders of magnitude below ``a`` (about 4.7) for the excitation in Pa²:
    rounding ``G·E + a`` to float64 loses ``log10(a/(G·E))`` digits, and both powers
    carry a rounding error of their own. Per band ``k·(α u^(α−1)·ε u + ε(u^α + a^α))``
    with ``u = G·E + a``, ``ε = 2^-52`` and ``k`` the branch's prefactor
    (``c (2E/(E + tQ))^1.5`` or ``c``), summed over the bands with the binaural factor
    ``2 · 0.25``. Two float64 evaluations of the same formula on inputs equal to a few
    ulps (AMT and torch_amt) can differ by up to this amount; the validation uses it as
    AMT's conditioning floor of the loudness outputs.

    Parameters
    ----------
    excitation : Tensor, shape (..., J, N)
        Excitation in Pa² (real).
    fc : array_like, shape (J,)
        Band centre frequencies in Hz.

    Returns
    -------
    Tensor, shape (..., N), float64
        Absolute bound in sone (0 where no band is in the threshold-law branches).
    """
    fc = np.asarray(fc, dtype=np.float64).ravel()
    params = specific_loudness_parameters(fc)
    t_q_db = params["tQ"]
    known = np.isfinite(t_q_db)
    e = excitation.detach().to(torch.float64).real
    device = e.device

    def col(v) -> torch.Tensor:
        return torch.as_tensor(np.where(known, v, 1.0), device=device)[:, None]

    t_q = col(10.0 ** (t_q_db / 10))
    gain = col(10.0 ** ((params["tQ500"] - t_q_db) / 10))
    a, alpha = col(params["a"]), col(params["alpha"])
    eps = float(np.finfo(np.float64).eps)
    u = (gain * e + a).abs()
    prefactor = torch.where(e < t_q, params["c"] * (2 * e.abs() / (e + t_q).abs()) ** 1.5,
                            torch.full_like(e, params["c"]))
    per_band = prefactor * (alpha * u ** alpha * eps + eps * (u ** alpha + a ** alpha))
    in_law = torch.as_tensor(known, device=device)[:, None] & (e <= _HIGH_LEVEL)
    per_band = torch.where(in_law & torch.isfinite(per_band), per_band, torch.zeros_like(e))
    return 2 * _ERB_STEP * per_band.sum(-2)


def instantaneous_loudness(specific: torch.Tensor) -> torch.Tensor:
    """Monaural instantaneous loudness (sone): ``Σ_bands specific · 0.25`` (ERB step).

    Shape ``(..., J, N)`` → ``(..., N)``. AMT's binaural loudness is twice this.
    """
    return specific.sum(-2) * _ERB_STEP


def _exceeds(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Octave's ``a > b``: real parts for real data; for complex data by modulus, then
    argument (Octave's complex ordering)."""
    if not (a.is_complex() or b.is_complex()):
        return a > b
    ma, mb = a.abs(), b.abs()
    return (ma > mb) | ((ma == mb) & (a.angle() > b.angle()))


def loudness_integration(loudness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Short- and long-term loudness: two attack/release integrators (``STL``, ``LTL``).

    ``STL[0] = LTL[0] = 0``; then ``STL[i] = α N[i] + (1 − α) STL[i−1]`` with
    ``α = 0.045`` if ``N[i] > STL[i−1]`` else ``0.02``, and likewise ``LTL`` from ``STL``
    with 0.01 / 0.0005 (per 1-ms block).

    Parameters
    ----------
    loudness : Tensor, shape (..., N)
        Instantaneous (binaural) loudness in sone.

    Returns
    -------
    (Tensor, Tensor), each shape (..., N)
        Differentiable (the attack/release choice is piecewise constant).
    """
    if loudness.ndim < 1 or loudness.shape[-1] == 0:
        raise ValueError(f"loudness must have a non-empty last (time) axis, got "
                         f"{tuple(loudness.shape)}")
    stl = [torch.zeros_like(loudness[..., 0])]
    ltl = [torch.zeros_like(loudness[..., 0])]
    for i in range(1, loudness.shape[-1]):
        n = loudness[..., i]
        up = _exceeds(n, stl[-1])
        stl.append(torch.where(up, _STL_ATTACK * n + (1 - _STL_ATTACK) * stl[-1],
                               _STL_RELEASE * n + (1 - _STL_RELEASE) * stl[-1]))
        up = _exceeds(stl[-1], ltl[-1])
        ltl.append(torch.where(up, _LTL_ATTACK * stl[-1] + (1 - _LTL_ATTACK) * ltl[-1],
                               _LTL_RELEASE * stl[-1] + (1 - _LTL_RELEASE) * ltl[-1]))
    return torch.stack(stl, -1), torch.stack(ltl, -1)


def glasberg2002(x: torch.Tensor, fs: float, *, model_fs: float = 32000.0, flow: float = 20.0,
                 fhigh: float = 16000.0, order: int = 4096, fft_len: int = 2048,
                 limits_hz: Sequence[float] = (4050, 2540, 1250, 500, 80),
                 hann_ms: Sequence[float] = (2, 4, 8, 16, 32, 64), time_step: float = 0.001,
                 compensation: str = "tfOuterMiddle1997") -> dict[str, torch.Tensor]:
    """The whole ``glasberg2002`` chain on ``x`` in pascal (AMT's ``results`` struct).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Sound pressure in Pa, time last; more than ``3·order`` samples at ``model_fs``.
    fs : float
        Its sampling rate in Hz; resampled to ``model_fs`` (Octave ``resample``) if
        different.
    model_fs, flow, fhigh, order, fft_len, limits_hz, hann_ms, time_step, compensation
        AMT's ``fs``, ``flow``, ``fhigh``, ``order``, ``fftLen``, ``vLimitingIndices``,
        ``hannLenMs``, ``timeStep`` and compensation flag (defaults: AMT's).

    Returns
    -------
    dict
        ``eLdB`` ``(..., 149, N)``, ``erbN`` ``(149,)``, ``monauralLoudness``,
        ``binauralLoudness``, ``STL``, ``LTL`` ``(..., N)``, computed in float64 from the
        ear filter on (as :class:`torch_amt.Glasberg2002`: the excitation spans some
        300 dB, beyond float32's rounding); float64 (complex128 in AMT's complex case).
    """
    x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
    x = resample_to_model_rate(x, _checks.check_fs(fs), _checks.check_fs(model_fs, "model_fs"))
    b = outer_middle_ear_fir(order, flow, fhigh, compensation).to(x.device)
    ear = octave_filtfilt(x.to(torch.float64), b, 1.0)
    intensity = multiresolution_spectrum(ear, model_fs, fft_len=fft_len, hann_ms=hann_ms,
                                         limits_hz=limits_hz, time_step=time_step)
    excitation = excitation_pattern(intensity, model_fs, fft_len)
    bands = erb_bands(model_fs, fft_len)
    mono = instantaneous_loudness(specific_loudness(excitation, bands.fc))
    stl, ltl = loudness_integration(2 * mono)
    return {"eLdB": excitation_level_db(excitation), "erbN": torch.from_numpy(bands.erb_n),
            "monauralLoudness": mono, "binauralLoudness": 2 * mono, "STL": stl, "LTL": ltl}
