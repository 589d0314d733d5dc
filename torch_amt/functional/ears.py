"""Outer- and middle-ear filters of AMT 1.4.0: ``headphonefilter`` and ``middleearfilter``.

The FIR filters are designed as AMT designs them (Octave ``fir2`` of order 512 on
tabulated magnitude responses, see :mod:`torch_amt.dsp.fir`); the IIR middle ears
are AMT's closed forms. :func:`ear_filter` applies a filter the way AMT's models do,
with the optional delay compensation and gain normalisation of ``dau1997``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from torch_amt import _checks
from torch_amt.dsp.design import butter, freqz
from torch_amt.dsp.fir import fir2, minimum_phase
from torch_amt.dsp.iir import get_backend
from torch_amt.dsp.streaming import fftconvolve, lfilter

__all__ = [
    "PRALONG1996",
    "LOPEZPOVEDA2001_FIG2B",
    "JEPSEN2008_STAPES_IMPEDANCE",
    "MIDDLE_EAR_PRESETS",
    "headphonefilter",
    "middleearfilter",
    "max_gain_db",
    "ear_filter",
]

#: Headphone-to-eardrum magnitude response (Hz, linear gain) of Pralong & Carlile (1996),
#: AMT ``data_pralong1996`` / ``headphonefilter()``.
PRALONG1996 = (
    (125.0, 1.0), (250.0, 1.0), (500.0, 1.0), (1000.0, 0.994850557),
    (1237.384651, 0.994850557), (1531.120775, 0.994850557), (1894.585346, 1.114513162),
    (2002.467159, 1.235743262), (2344.330828, 1.867671314), (2721.273584, 2.822751493),
    (3001.403462, 2.180544843), (3589.453635, 1.442755787), (4001.342781, 1.173563859),
    (4441.534834, 1.37016005), (5004.212211, 1.599690164), (5495.887031, 1.37016005),
    (5997.423738, 1.114513162), (6800.526258, 0.648125625), (6946.931144, 0.631609176),
    (7995.508928, 0.276505667), (8414.866811, 0.084335217), (9008.422743, 0.084335217),
)

#: Stapes peak velocity (m/s) at 0 dB SPL versus frequency (Hz): Goode et al. (1994)
#: data converted as in Lopez-Poveda & Meddis (2001, Fig. 2b), plus their extrapolated
#: points; AMT ``data_lopezpoveda2001('fig2b')`` / ``middleearfilter()``.
LOPEZPOVEDA2001_FIG2B = (
    (100.0, 1.181e-09), (200.0, 2.363e-09), (400.0, 4.474691099021749e-09),
    (600.0, 7.706412448315233e-09), (800.0, 9.8127892411565e-09),
    (1000.0, 8.486057795167792e-09), (1200.0, 6.727847089192224e-09),
    (1400.0, 6.2345837667696135e-09), (1600.0, 5.161604286828275e-09),
    (1800.0, 4.405057881648608e-09), (2000.0, 3.7126502853859086e-09),
    (2200.0, 3.396889995333154e-09), (2400.0, 2.944105886230517e-09),
    (2600.0, 2.6530143688381338e-09), (2800.0, 2.2684057769059783e-09),
    (3000.0, 2.1175898713232528e-09), (3500.0, 1.7660598609129588e-09),
    (4000.0, 1.5698309874781859e-09), (4500.0, 1.1529847949103175e-09),
    (5000.0, 1.40163481024838e-09), (5500.0, 1.2334386330185743e-09),
    (6000.0, 1.0091770633788336e-09), (6500.0, 1.0021688893275918e-09),
    (7000.0, 8.705e-10), (7500.0, 8e-10), (8000.0, 7.577e-10), (8500.0, 7.168e-10),
    (9000.0, 6.781e-10), (9500.0, 6.24e-10), (10000.0, 6e-10),
)

#: Stapes impedance versus frequency (Hz) used by Jepsen et al. (2008); AMT's
#: ``middleearfilter(..., 'jepsen2008')`` works with its inverse (stapes velocity).
JEPSEN2008_STAPES_IMPEDANCE = (
    (50, 48046.39731), (100, 24023.19865), (200, 12011.59933), (400, 6005.799663),
    (600, 3720.406871), (800, 2866.404385), (1000, 3363.247811), (1200, 4379.228921),
    (1400, 4804.639731), (1600, 5732.808769), (1800, 6228.236688), (2000, 7206.959596),
    (2200, 9172.494031), (2400, 9554.681282), (2600, 10779.64042), (2800, 12011.59933),
    (3000, 14013.53255), (3500, 16015.46577), (4000, 18017.39899), (4500, 23852.82136),
    (5000, 21020.29882), (5500, 22931.23508), (6000, 28027.06509), (6500, 28745.70779),
    (7000, 32098.9), (7500, 34504.4), (8000, 36909.9), (8500, 39315.4), (9000, 41720.9),
    (9500, 44126.4), (10000, 46531.9),
)


@dataclass(frozen=True)
class _Puria:
    """Band-pass (first-order Butterworth) approximation of Puria (2003)'s M1 filter."""

    f_low: float
    f_high: float
    gain: float


_PURIA = {  # AMT middleearfilter: verhulst2012/2015 include the 2x voltage-division gain
    "verhulst2012": _Puria(100.0, 3000.0, 2 * 10 ** (18 / 20)),
    "verhulst2015": _Puria(600.0, 3000.0, 2 * 10 ** (18 / 20)),
    "verhulst2018": _Puria(600.0, 4000.0, 10 ** (18 / 20)),
}

MIDDLE_EAR_PRESETS = ("lopezpoveda2001", "jepsen2008", "verhulst2012", "verhulst2015",
                    "verhulst2018", "zilany2009", "zilany2009cat")
PHASES = ("minimum", "zero")


def _check_table_fs(fs: float, data, what: str) -> None:
    """A filter designed from a table needs a point below fs/2: ``fs > 2·(first frequency)``.

    AMT indexes an empty table there (an index error) or designs an all-zero or NaN
    filter; here it is a ValueError that names fs and its minimum.
    """
    first = float(data[0][0])
    if fs <= 2 * first:
        raise ValueError(f"fs = {fs} Hz is too low for the {what}: its response is tabulated "
                         f"from {first:g} Hz, so fs must be above {2 * first:g} Hz")


def _table(fs: float, data: np.ndarray) -> np.ndarray:
    """Keep the rows below fs/2 when fs <= 20 kHz (AMT cuts its tables there)."""
    return data[data[:, 0] < fs / 2] if fs <= 20000 else data


def headphonefilter(fs: float | None = None, order: int = 512) -> torch.Tensor:
    """Headphone + outer-ear FIR filter, AMT ``headphonefilter(fs, order)``.

    Parameters
    ----------
    fs : float, optional
        Sampling rate in Hz. Without it the data table is returned (AMT
        ``headphonefilter()``).
    order : int
        FIR order (AMT default 512: 513 taps).

    Returns
    -------
    Tensor, float64
        Taps ``(order + 1,)``, or the table ``(22, 2)`` (Hz, linear gain) without ``fs``.

    Raises
    ------
    ValueError
        If ``fs <= 250`` Hz (the table starts at 125 Hz).

    References
    ----------
    D. Pralong and S. Carlile, "The role of individualized headphone calibration for the
    generation of high fidelity virtual auditory space", J. Acoust. Soc. Am. 100,
    3785-3793, 1996.
    """
    data = np.array(PRALONG1996, dtype=np.float64)
    if fs is None:
        return torch.from_numpy(data)
    fs = _checks.check_fs(fs)
    order = _checks.check_positive(order, "order", integer=True)
    _check_table_fs(fs, data, "headphone filter")
    data = _table(fs, data)
    freq = np.concatenate([[0.0], data[:, 0] * (2 / fs), [1.0]])
    ampl = np.concatenate([[0.0], data[:, 1], [0.0]])
    return fir2(order, freq, ampl)


def _lopezpoveda2001_fir(fs: float, order: int, phase: str) -> torch.Tensor:
    data = np.array(LOPEZPOVEDA2001_FIG2B, dtype=np.float64)
    if fs <= 20000:
        data = data[data[:, 0] < fs / 2]
    else:  # extrapolate towards fs/2: one point per 1000 Hz, amplitude / 1.1 each
        rows = [tuple(r) for r in data]
        for _ in range(math.floor((fs / 2 - data[-1, 0]) / 1000)):
            rows.append((rows[-1][0] + 1000, rows[-1][1] / 1.1))
        data = np.array(rows)
    if data[-1, 0] != fs / 2:  # fir2 needs a point at fs/2
        last_f, last_a = data[-1]
        data = np.vstack([data, [fs / 2, last_a / (1 + (fs / 2 - last_f) * 0.1 / 1000)]])
    freq = np.concatenate([[0.0], data[:, 0] * (2 / fs)])
    ampl = np.concatenate([[0.0], data[:, 1]])
    b = fir2(order, freq, ampl) / 20e-6  # scaling for SPL in dB re 20 µPa
    return minimum_phase(b) if phase == "minimum" else b


def _jepsen2008_fir(fs: float, order: int) -> torch.Tensor:
    data = np.array(JEPSEN2008_STAPES_IMPEDANCE, dtype=np.float64)
    data[:, 1] = 1 / data[:, 1]
    data = _table(fs, data)
    freq = np.concatenate([[0.0], data[:, 0] * (2 / fs), [1.0]])
    ampl = np.concatenate([[0.0], data[:, 1], [0.0]])
    b = fir2(order, freq, ampl).numpy()
    # normalised as in Lopez-Poveda & Meddis (2001), Fig. 1 caption
    return torch.from_numpy(b / np.abs(np.fft.fft(b)).max() * 1e-8 * 10 ** (104 / 20))


def _zilany2009(fs: float, cat: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Three second-order sections ``a = [1, m·m2, m·m3]``, ``b = m·[m4, m5, m6] / g``."""
    c = 2 * math.pi * 1e3 / math.tan(math.pi * 1e3 / fs)  # bilinear pre-warping at 1 kHz
    c2 = c ** 2
    if cat:  # Zilany & Bruce (2006), Eqs. 1-3
        sections = (
            (c / (c + 693.48), (693.48 - c) / c, 0.0, 1.0, -1.0, 0.0, 1.0),
            (1 / (c2 + 11053 * c + 1.163e8), -2 * c2 + 2.326e8, c2 - 11053 * c + 1.163e8,
             c2 + 1356.3 * c + 7.4417e8, -2 * c2 + 14.8834e8, c2 - 1356.3 * c + 7.4417e8, 1.0),
            (1 / (c2 + 4620 * c + 909059944), -2 * c2 + 2 * 909059944,
             c2 - 4620 * c + 909059944, 5.7585e5 * c + 7.1665e7, 14.333e7,
             7.1665e7 - 5.7585e5 * c, 41.1405),
        )
    else:  # human middle ear of Ibrahim (2012), Eqs. A1-A3
        sections = (
            (1 / (c2 + 5.9761e3 * c + 2.5255e7), -2 * c2 + 2 * 2.5255e7,
             c2 - 5.9761e3 * c + 2.5255e7, c2 + 5.6665e3 * c, -2 * c2, c2 - 5.6665e3 * c, 1.0),
            (1 / (c2 + 6.4255e3 * c + 1.3975e8), -2 * c2 + 2 * 1.3975e8,
             c2 - 6.4255e3 * c + 1.3975e8, c2 + 5.8934e3 * c + 1.7926e8,
             -2 * c2 + 2 * 1.7926e8, c2 - 5.8934e3 * c + 1.7926e8, 1.0),
            (1 / (c2 + 2.4891e4 * c + 1.2700e9), -2 * c2 + 2 * 1.27e9,
             c2 - 2.4891e4 * c + 1.27e9, 3.1137e3 * c + 6.9768e8, 2 * 6.9768e8,
             -3.1137e3 * c + 6.9768e8, 2.0),
        )
    a = [[1.0, m * m2, m * m3] for m, m2, m3, *_ in sections]
    b = [[m * v / g for v in (m4, m5, m6)] for m, _, _, m4, m5, m6, g in sections]
    return torch.tensor(b, dtype=torch.float64), torch.tensor(a, dtype=torch.float64)


def middleearfilter(fs: float | None = None, preset: str = "lopezpoveda2001",
                    phase: str = "minimum", order: int = 512
                    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Middle-ear filter, AMT ``[b, a] = middleearfilter(fs, preset, phase, 'order', order)``.

    Parameters
    ----------
    fs : float, optional
        Sampling rate in Hz. Without it the data table of ``preset`` is returned (AMT
        ``middleearfilter()``; only for ``'lopezpoveda2001'`` and ``'jepsen2008'``).
    preset : str
        AMT filter type flag:

        * ``'lopezpoveda2001'`` (default): FIR (order 512) on the stapes-velocity data of
          Lopez-Poveda & Meddis (2001, Fig. 2b), scaled by 1/20e-6 (output in m/s for an
          input in Pa re the 100-dB convention);
        * ``'jepsen2008'``: FIR on the inverse stapes impedance of Jepsen et al. (2008),
          normalised to ``max|FFT| = 1e-8·10^(104/20)``;
        * ``'verhulst2012'``, ``'verhulst2015'``, ``'verhulst2018'``: first-order
          Butterworth band-pass (Puria 2003 M1 filter) with gain;
        * ``'zilany2009'`` (human) and ``'zilany2009cat'``: three cascaded second-order
          sections (Ibrahim 2012; Zilany & Bruce 2006).
    phase : {'minimum', 'zero'}
        For ``'lopezpoveda2001'``: minimum phase (AMT default) or the linear-phase
        ``fir2`` output (AMT ``'zero'``). Ignored for the other presets.
    order : int
        FIR order (AMT ``'order'``, 512).

    Returns
    -------
    Tensor or (Tensor, Tensor), float64
        FIR presets: taps ``b (order + 1,)`` (``a = 1``). IIR presets: ``(b, a)`` of shape
        ``(3,)`` (verhulst) or ``(3, 3)`` (zilany, one row per cascaded section).
        Without ``fs``: the data table ``(k, 2)``.

    Raises
    ------
    ValueError
        If ``fs`` is too low for the preset: ``fs`` must exceed twice the first
        tabulated frequency (200 Hz for ``'lopezpoveda2001'``, 100 Hz for
        ``'jepsen2008'``), 2000 Hz for the zilany presets (pre-warped at 1 kHz), twice
        the upper band edge for the verhulst presets.

    References
    ----------
    E. A. Lopez-Poveda and R. Meddis, "A human nonlinear cochlear filterbank",
    J. Acoust. Soc. Am. 110, 3107-3118, 2001.
    M. L. Jepsen, S. D. Ewert and T. Dau, "A computational model of human auditory signal
    processing and perception", J. Acoust. Soc. Am. 124, 422-438, 2008.
    S. Puria, "Measurements of human middle ear forward and reverse acoustics",
    J. Acoust. Soc. Am. 113, 2773-2789, 2003.
    M. S. A. Zilany and I. C. Bruce, "Modeling auditory-nerve responses for high sound
    pressure levels in the normal and impaired auditory periphery", J. Acoust. Soc. Am.
    120, 1446-1466, 2006. R. Ibrahim, PhD thesis, McMaster University, 2012.
    """
    _checks.check_choice(preset, "preset", MIDDLE_EAR_PRESETS)
    _checks.check_choice(phase, "phase", PHASES)
    if fs is None:
        if preset == "lopezpoveda2001":
            return torch.tensor(LOPEZPOVEDA2001_FIG2B, dtype=torch.float64)
        if preset == "jepsen2008":
            data = torch.tensor(JEPSEN2008_STAPES_IMPEDANCE, dtype=torch.float64)
            return torch.stack([data[:, 0], 1 / data[:, 1]], -1)
        raise ValueError(f"fs is required for preset={preset!r} (only the FIR presets have a "
                         "data table)")
    fs = _checks.check_fs(fs)
    order = _checks.check_positive(order, "order", integer=True)
    if preset == "lopezpoveda2001":
        _check_table_fs(fs, LOPEZPOVEDA2001_FIG2B, "lopezpoveda2001 middle-ear filter")
        return _lopezpoveda2001_fir(fs, order, phase)
    if preset == "jepsen2008":
        _check_table_fs(fs, JEPSEN2008_STAPES_IMPEDANCE, "jepsen2008 middle-ear filter")
        return _jepsen2008_fir(fs, order)
    if preset in _PURIA:
        puria = _PURIA[preset]
        if puria.f_high >= fs / 2:
            raise ValueError(f"fs = {fs} Hz is too low for the {preset} middle ear (band edge "
                             f"{puria.f_high} Hz must be below fs/2)")
        b, a = butter(1, torch.tensor([puria.f_low, puria.f_high], dtype=torch.float64), fs,
                      "bandpass")
        return b * puria.gain, a
    if fs <= 2000:
        raise ValueError(f"fs = {fs} Hz is too low for the {preset} middle-ear filter: its "
                         "bilinear transform is pre-warped at 1 kHz, so fs must be above "
                         "2000 Hz")
    return _zilany2009(fs, preset == "zilany2009cat")


def max_gain_db(b: torch.Tensor, a: torch.Tensor | float = 1.0, n: int = 8192) -> float:
    """Maximum of the magnitude response in dB, ``max(20·log10|freqz(b, a, n)|)``.

    ``dau1997`` divides its middle-ear output by this gain (``gaindb(x, -gain_db)``).
    Two-dimensional ``b``/``a`` are cascaded sections (one per row): their responses
    are multiplied.
    """
    b = torch.as_tensor(b, dtype=torch.float64)
    a = torch.as_tensor(a, dtype=torch.float64)
    _, h = freqz(b, a, n)
    magnitude = h.abs().prod(0) if h.ndim == 2 else h.abs()
    return float((20 * torch.log10(magnitude)).max())


def ear_filter(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor | None = None,
               delay: int = 0, gain: float = 1.0) -> torch.Tensor:
    """Apply an ear filter along the last axis, as AMT's models do.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal.
    b : Tensor, shape (nb,) or (S, nb)
        Numerator (FIR taps), one row per cascaded section.
    a : Tensor, shape (na,) or (S, na), optional
        Denominator; ``None`` for an FIR filter.
    delay : int
        Delay compensation in samples (``dau1997``: ``ceil(513/2) = 257``): ``x`` is
        padded with ``delay`` zeros, filtered, and the first ``delay`` samples dropped.
    gain : float
        Factor applied to the output (``dau1997``'s middle-ear gain normalisation
        ``10^(-max_gain_db/20)``).

    Returns
    -------
    Tensor, shape (..., T)

    Notes
    -----
    float64 on the CPU kernel filters FIRs with ``lfilter`` (Octave's ``filter``
    arithmetic, bit for bit); otherwise FIRs go through exact FFT convolution computed in
    float64 and rounded once to the signal's dtype. (A float32 FFT would leave an error
    floor of ~1e-7 of the signal's *maximum* on every sample; quiet samples, e.g. before
    an onset, would get a large relative error, and the adaptation loops downstream,
    which amplify quiet passages, turn it into ~2e-4 of their output in float32.) IIR
    coefficients keep their precision (``lfilter`` accumulates in double precision
    whatever the signal's).
    """
    if delay:
        x = torch.nn.functional.pad(x, (0, delay))
    if a is None:
        if x.dtype == torch.float64 and x.device.type == "cpu" and get_backend() != "torch":
            y = lfilter(x, b.to(device=x.device, dtype=x.dtype), torch.ones(1, dtype=x.dtype))
        else:
            y = fftconvolve(x.to(torch.float64), b.to(device=x.device, dtype=torch.float64),
                            length=x.shape[-1]).to(x.dtype)
    else:
        b, a = b.to(x.device), a.to(x.device)
        y = x
        for k in range(b.shape[0] if b.ndim == 2 else 1):
            y = lfilter(y, b[k] if b.ndim == 2 else b, a[k] if a.ndim == 2 else a)
    if delay:
        y = y[..., delay:]
    return y * gain if gain != 1.0 else y
