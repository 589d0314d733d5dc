"""Modulation filterbanks as functions (AMT ``modfilterbank``, ``king2019_modfilterbank``).

Two families:

* **Dau / Jepsen** (AMT ``modfilterbank``, Dau et al. 1997; Jepsen et al. 2008): a
  2nd-order Butterworth 2.5-Hz low-pass for the 0-Hz channel and complex
  frequency-shifted one-pole band-passes (``efilt``) at 5, 10 Hz (5-Hz bandwidth) and
  Q-spaced above; outputs ``2·filter(b, a, x)``, real part up to 10 Hz, ``factor·|.|``
  above.
* **King et al. (2019)** (AMT ``king2019_modfilterbank``): log-spaced 2nd-order
  Butterworth band-passes (4 poles each) with a constant Q and a Hilbert-envelope
  phase insensitivity above 10 Hz.

Coefficients that AMT derives with Octave's ``butter`` are computed with the same
arithmetic, operation by operation (:func:`torch_amt.dsp.design.octave_butter`), because
the King2019 band-passes at 2–5 Hz are so ill-conditioned (4 poles within 1e-3 of
``z = 1``) that one ulp in a coefficient changes the output by ~1e-3 relative. All
filtering goes through :func:`torch_amt.dsp.lfilter` (AMT's float64 recursion) or, for
King2019 with ``arithmetic='exact'``, the same recursion in double-double arithmetic
(:func:`torch_amt.dsp.extended.lfilter_double_double`).

References
----------
T. Dau, B. Kollmeier, and A. Kohlrausch, "Modeling auditory processing of amplitude
modulation. I. Detection and masking with narrow-band carriers," J. Acoust. Soc. Am.
102, 2892–2905 (1997).
M. L. Jepsen, S. D. Ewert, and T. Dau, "A computational model of human auditory signal
processing and perception," J. Acoust. Soc. Am. 124(1), 422–438 (2008).
J. Verhey, T. Dau, and B. Kollmeier, "Within-channel cues in comodulation masking release
(CMR)," J. Acoust. Soc. Am. 106, 2733–2745 (1999).
A. King, L. Varnet, and C. Lorenzi, "Accounting for masking of frequency modulation by
amplitude modulation with the modulation filter-bank concept," J. Acoust. Soc. Am.
145(4), 2277–2293 (2019).
A. Osses Vecchi and A. Kohlrausch, "Perceptual similarity between piano notes:
Simulations with a template-based perception model," J. Acoust. Soc. Am. 149(5),
3534–3552 (2021).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from torch_amt._checks import (
    check_choice,
    check_frequencies,
    check_fs,
    check_number,
    check_positive,
    check_signal,
)
from torch_amt.dsp.design import butter, freqz, octave_butter, straight_through
from torch_amt.dsp.extended import lfilter_double_double
from torch_amt.dsp.hilbert import hilbert
from torch_amt.dsp.iir import lfilter

__all__ = [
    "modfilterbank_mfc",
    "efilt_coefficients",
    "modfilterbank_bandpass",
    "modfilterbank_lowpass",
    "lp150_att_gains",
    "modfilterbank_phase",
    "modfilterbank",
    "king2019_mfc",
    "king2019_band_edges",
    "king2019_coefficients",
    "king2019_phase_insensitivity",
    "KING2019_ARITHMETIC",
    "king2019_modfilterbank",
]

_EPS = np.finfo(np.float64).eps


# --------------------------------------------------------------------------- Octave arithmetic


def _octave_tfloor(x: float, ct: float) -> float:
    """Octave's tolerant floor (Hagerty's FL5), used to count the elements of a range."""
    q = 1.0 if x >= 0 else 1.0 - ct
    rmax = q / (2.0 - ct)
    t1 = 1.0 + math.floor(x)
    t1 = (ct / q) * (-t1 if t1 < 0 else t1)
    t1 = min(rmax, t1)
    t1 = max(ct, t1)
    t1 = math.floor(x + t1)
    if x <= 0 or (t1 - x) < rmax:
        return t1
    return t1 - 1


def _octave_teq(u: float, v: float, ct: float = 3 * _EPS) -> bool:
    return abs(u - v) < max(abs(u), abs(v)) * ct


def _octave_colon(base: float, inc: float, limit: float) -> list[float]:
    """Elements of the Octave range ``base:inc:limit`` (inc > 0), as Octave 7 stores them.

    The count uses Octave's tolerant floor, elements are ``base + i·inc`` and the last one
    is clipped to ``limit``.
    """
    if inc <= 0 or limit < base:
        return []
    if base + inc > limit:
        return [base]
    n = int(max(_octave_tfloor((limit - base + inc) / inc, 3 * _EPS), 0))
    if not _octave_teq(base + (n - 1) * inc, limit):
        if _octave_teq(base + n * inc, limit):
            n += 1
        elif _octave_teq(base + (n - 2) * inc, limit):
            n -= 1
    final = base + (n - 1) * inc
    if final >= limit:
        final = limit
    return [base] + [base + i * inc for i in range(1, n - 1)] + ([final] if n > 1 else [])


def _octave_linspace(x1: float, x2: float, n: int) -> list[float]:
    """Octave 7 ``linspace``: filled symmetrically from both ends."""
    if n == 1:
        return [x2]
    out = [0.0] * n
    out[0], out[-1] = x1, x2
    delta = (x2 - x1) / (n - 1)
    for i in range(1, n // 2):
        out[i] = x1 + i * delta
        out[n - 1 - i] = x2 - i * delta
    if n % 2 == 1:
        out[n // 2] = 0.0 if x1 == -x2 else (x1 + x2) / 2
    return out


# --------------------------------------------------------------------------- Dau / Jepsen bank


def modfilterbank_mfc(fc: float, *, use_upper_limit: bool = True, max_mfc: float = 1000.0,
                      Q: float = 2.0) -> list[float]:
    """Modulation centre frequencies of one auditory channel, as AMT ``modfilterbank``.

    ``0`` (the low-pass), ``5, 10`` Hz (5-Hz spacing up to ``min(umf, 10)``), then
    ``f_k = f_0 · r^k`` with ``f_0 = (10 + 2.5) / (1 - 1/(2Q))`` and
    ``r = (1 + 1/(2Q)) / (1 - 1/(2Q))`` up to the upper limit ``umf``.

    Parameters
    ----------
    fc : float
        Centre frequency of the auditory channel in Hz.
    use_upper_limit : bool
        ``umf = min(0.25·fc, max_mfc)`` (AMT ``mfc_upper_limit``, Verhey et al. 1999)
        if True, else ``umf = max_mfc`` (``no_mfc_upper_limit``).
    max_mfc : float
        AMT ``mfc_upper_limit_max`` in Hz (default 1000).
    Q : float
        Quality factor above 10 Hz (AMT ``Q_mfb``, default 2).

    Returns
    -------
    list of float
        Centre frequencies in Hz, starting with 0 (bit-identical to AMT's).
    """
    umf = min(fc * 0.25, max_mfc) if use_upper_limit else max_mfc
    if umf == 0:
        return [0.0]
    bw, start = 5.0, 5.0
    ex = (1 + 1 / (2 * Q)) / (1 - 1 / (2 * Q))
    n_lin = math.trunc((min(umf, 10.0) - start) / bw)
    lin = [start + 5.0 * k for k in range(n_lin + 1)]
    base = (lin[-1] + bw / 2) / (1 - 1 / (2 * Q))
    n_log = math.trunc(math.log(umf / base) / math.log(ex))
    return [0.0] + lin + [base * ex ** float(k) for k in range(n_log + 1)]


def efilt_coefficients(mfc: torch.Tensor, bandwidth: torch.Tensor,
                       fs: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex frequency-shifted one-pole band-pass (AMT ``modfilterbank``'s ``efilt``).

    ``e0 = exp(-ω_bw/2)``, ``b = 1 - e0``, ``a = [1, -e0·exp(iω0)]`` with
    ``ω0 = 2π·mfc/fs`` and ``ω_bw = 2π·bandwidth/fs``; unit gain at ``mfc``.
    Differentiable in ``mfc`` and ``bandwidth``.

    Parameters
    ----------
    mfc, bandwidth : Tensor, shape (...,)
        Centre frequencies and (-3 dB) bandwidths in Hz (AMT: 5 Hz below 10 Hz,
        ``mfc/Q`` from 10 Hz on).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    b : Tensor, shape (..., 1)
        Real numerator.
    a : Tensor, shape (..., 2)
        Complex denominator ``[1, -e0·exp(iω0)]``.
    """
    w0 = 2 * math.pi * mfc / fs
    e0 = torch.exp(-(2 * math.pi * bandwidth / fs) / 2)
    pole = torch.complex(e0 * torch.cos(w0), e0 * torch.sin(w0))
    a = torch.stack([torch.ones_like(pole), -pole], dim=-1)
    return (1 - e0)[..., None], a


def modfilterbank_bandpass(mfc: list[float], fs: float,
                           Q: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """AMT's ``efilt`` band-passes of ``modfilterbank`` with AMT's own scalar arithmetic.

    ``ω0 = 2π·mfc/fs``; bandwidth ``2π·5/fs`` below 10 Hz and ``ω0/Q`` from 10 Hz on
    (exactly AMT's expressions, evaluated in Python floats with glibc's ``exp``, ``cos``
    and ``sin``, so the coefficients are AMT's bit for bit).

    Parameters
    ----------
    mfc : list of float
        Centre frequencies in Hz (> 0).
    fs : float
        Sampling rate in Hz.
    Q : float
        Quality factor (AMT ``Q_mfb``).

    Returns
    -------
    b : Tensor, shape (M, 1), float64
    a : Tensor, shape (M, 2), complex128
    """
    bs, as_ = [], []
    for m in mfc:
        w0 = 2 * math.pi * m / fs
        bw = 2 * math.pi * 5.0 / fs if m < 10 else w0 / Q
        e0 = math.exp(-bw / 2)
        bs.append([1 - e0])
        as_.append([complex(1.0), complex(-e0 * math.cos(w0), -e0 * math.sin(w0))])
    return (torch.tensor(bs, dtype=torch.float64).reshape(-1, 1),
            torch.tensor(as_, dtype=torch.complex128).reshape(-1, 2))


def modfilterbank_lowpass(fs: float, cutoff: float | torch.Tensor = 2.5,
                          order: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Butterworth low-pass of ``modfilterbank`` (2nd order 2.5 Hz; 1st order 150 Hz).

    A float ``cutoff`` gives Octave's ``butter(order, cutoff/(fs/2))`` bit for bit
    (float64); a tensor ``cutoff`` (e.g. a learnable one) is designed differentiably with
    :func:`torch_amt.dsp.design.butter`, with AMT's values in the forward pass.

    Returns
    -------
    b, a : Tensor, shape (..., order + 1)
        float64 coefficients.
    """
    if isinstance(cutoff, torch.Tensor):
        return butter(order, cutoff.to(torch.float64), fs, "low")
    b_np, a_np = octave_butter(order, cutoff / (fs / 2))
    return torch.from_numpy(b_np), torch.from_numpy(a_np)


def lp150_att_gains(mfc, fs: float) -> torch.Tensor:
    """Gains of AMT's ``LP_150_Hz_att`` (``mfb_osses2021_att_gain``) at each ``mfc``.

    The 1st-order 150-Hz Butterworth low-pass response in dB is sampled by ``freqz`` at
    8192 points on ``[0, fs/2)``, linearly interpolated at ``mfc`` (``interp1``) and
    returned as a linear factor ``10^(g/20)`` (LTFAT ``gaindb``).

    Parameters
    ----------
    mfc : array_like, shape (M,)
        Modulation centre frequencies in Hz (must lie in ``[0, fs/2·(1 - 1/8192)]``).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    Tensor, shape (M,), float64
    """
    b, a = modfilterbank_lowpass(fs, 150.0, order=1)
    k = 8192
    grid = np.arange(k) / k * fs / 2
    _, h = freqz(b, a, k)
    h_db = (20 * torch.log10(torch.abs(h))).numpy()
    gains_db = np.interp(np.asarray(mfc, dtype=np.float64), grid, h_db)
    return torch.from_numpy(10 ** (gains_db / 20))


def modfilterbank_phase(y: torch.Tensor, mfc: torch.Tensor, att_factor: float,
                        phase_insens: bool = True) -> torch.Tensor:
    """AMT ``modfilterbank`` post-processing of the complex band outputs.

    Parameters
    ----------
    y : Tensor, shape (..., M, T)
        Complex filter outputs (already with the ×2 emphasis; column 0 = low-pass).
    mfc : Tensor, shape (M,)
        Centre frequencies in Hz that decide the rule of each row.
    att_factor : float
        Factor on ``|.|`` above 10 Hz (AMT ``att_factor`` = 1/√2, ``no_att_factor`` = 1).
    phase_insens : bool
        ``phase_insens_hilbert``: real part for ``mfc ≤ 10`` Hz, ``att_factor·|y|`` above.
        ``False`` (``no_phase_insens``): the complex outputs, band-passes divided by 2.

    Returns
    -------
    Tensor, shape (..., M, T)
        Real (``phase_insens``) or complex.
    """
    if not phase_insens:
        scale = torch.where(mfc > 0, 0.5, 1.0).to(y.real.dtype)
        return y * scale[:, None]
    keep = (mfc <= 10)[:, None]
    return torch.where(keep, y.real, att_factor * y.abs())


def modfilterbank(x: torch.Tensor, fs: float, fc, *, Q: float = 2.0,
                  max_mfc: float = 1000.0, use_upper_limit: bool = True,
                  lp150: str = "filter", att_factor: float = 1 / math.sqrt(2),
                  phase_insens: bool = True) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """AMT 1.4.0 ``modfilterbank(insig, fs, fc, ...)`` (defaults = ``mfb_jepsen2008``).

    Parameters
    ----------
    x : Tensor, shape (..., F, T)
        One envelope per auditory channel (time last).
    fs : float
        Sampling rate in Hz.
    fc : array_like, shape (F,)
        Centre frequencies of the auditory channels in Hz.
    Q, max_mfc, use_upper_limit
        See :func:`modfilterbank_mfc` (AMT ``Q_mfb``, ``mfc_upper_limit_max``,
        ``mfc_upper_limit`` / ``no_mfc_upper_limit``).
    lp150 : {'off', 'filter', 'att_gain'}
        AMT ``no_LP_150_Hz`` / ``LP_150_Hz`` (1st-order 150-Hz low-pass before the bank) /
        ``LP_150_Hz_att`` (band gains of that low-pass at each mfc, see
        :func:`lp150_att_gains`).
    att_factor : float
        AMT ``att_factor`` (1/√2) / ``no_att_factor`` (1).
    phase_insens : bool
        AMT ``phase_insens_hilbert`` / ``no_phase_insens``.

    Returns
    -------
    outputs : list of F Tensors, shape (..., M_f, T)
        Per channel, filters along axis -2 (real, or complex for ``phase_insens=False``).
    mfc : list of F Tensors, shape (M_f,)
        Centre frequencies per channel in Hz (float64).
    """
    fs = check_fs(fs)
    x = check_signal(x, "x", ndim=(2, 3, 4), dim_names="(F, T) or (..., F, T)")
    if check_positive(Q, "Q") <= 0.5:
        raise ValueError(f"Q must be > 0.5 (the spacing ratio needs 1 - 1/(2Q) > 0), got {Q}")
    check_positive(max_mfc, "max_mfc")
    check_choice(lp150, "lp150", ("off", "filter", "att_gain"))
    check_number(att_factor, "att_factor", minimum=0, strict=True)
    fc = check_frequencies(fc.detach() if isinstance(fc, torch.Tensor) else fc, None, "fc")
    fc_list = [float(f) for f in fc.reshape(-1)]
    if x.shape[-2] != len(fc_list):
        raise ValueError(f"x has {x.shape[-2]} channels (axis -2) but fc has {len(fc_list)} "
                         "centre frequencies")
    x64 = x.to(torch.float64)
    if lp150 == "filter":
        b150, a150 = modfilterbank_lowpass(fs, 150.0, order=1)
        x64 = lfilter(x64, b150, a150)
    b_lp, a_lp = modfilterbank_lowpass(fs, 2.5)
    outputs, mfcs = [], []
    for ch, f in enumerate(fc_list):
        mfc = torch.tensor(modfilterbank_mfc(f, use_upper_limit=use_upper_limit,
                                             max_mfc=max_mfc, Q=Q), dtype=torch.float64)
        if float(mfc[-1]) >= fs / 2:
            raise ValueError(f"fs = {fs} Hz is too low for a modulation filter at "
                             f"{float(mfc[-1]):.1f} Hz (channel fc = {f} Hz); lower max_mfc")
        xc = x64[..., ch, :]
        low = lfilter(xc, b_lp, a_lp)[..., None, :].to(torch.complex128)
        bands = mfc[1:]
        b, a = modfilterbank_bandpass(bands.tolist(), fs, Q)
        y = 2 * lfilter(xc[..., None, :], b, a)
        if lp150 == "att_gain":
            y = y * lp150_att_gains(bands, fs)[:, None]
        y = torch.cat([low, y], dim=-2)
        outputs.append(modfilterbank_phase(y, mfc, att_factor, phase_insens))
        mfcs.append(mfc)
    return outputs, mfcs


# --------------------------------------------------------------------------- King et al. 2019


def king2019_mfc(mflow: float = 2.0, mfhigh: float = 150.0, qfactor: float = 1.0,
                 nmod: int | None = None) -> list[float]:
    """Centre frequencies of ``king2019_modfilterbank`` (bit-identical to AMT's).

    Without ``nmod``: ``exp(log(mflow):log(r):log(mfhigh))`` with
    ``r = (√(4Q²+1)+1)/(√(4Q²+1)-1)`` (an Octave range: filters one "Q-step" apart
    from ``mflow``, the last one not above ``mfhigh``); with ``nmod``:
    ``exp(linspace(log(mflow), log(mfhigh), nmod))``.

    Returns
    -------
    list of float
        Centre frequencies in Hz.
    """
    if nmod is None:
        root = math.sqrt(4 * qfactor ** 2.0 + 1)
        step = (root + 1) / (root - 1)
        logs = _octave_colon(math.log(mflow), math.log(step), math.log(mfhigh))
    else:
        logs = _octave_linspace(math.log(mflow), math.log(mfhigh), int(nmod))
    return [math.exp(v) for v in logs]


def king2019_band_edges(mfc, qfactor):
    """Band edges ``mfc·√(4 + 1/Q²)/2 ∓ mfc/(2Q)`` of the King2019 band-passes.

    Works on Python floats (AMT's arithmetic order) and on tensors (differentiable);
    the edges' geometric mean is ``mfc`` and their difference ``mfc/Q``.

    Returns
    -------
    (low, high) : floats or Tensors in Hz
    """
    centre = mfc * (4 + 1 / qfactor ** 2) ** 0.5 / 2 if isinstance(mfc, torch.Tensor) \
        else mfc * math.sqrt(4 + 1 / qfactor ** 2.0) / 2
    half = mfc / qfactor / 2
    return centre + (-half), centre + half


def king2019_coefficients(mfc, qfactor, fs: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``[b, a] = butter(2, 2·[f_low f_high]/fs)`` for each King2019 modulation filter.

    Parameters
    ----------
    mfc : sequence of float or Tensor, shape (M,)
        Centre frequencies in Hz. A tensor (learnable) is designed differentiably with
        :func:`torch_amt.dsp.design.butter`; the forward values are always Octave's
        (:func:`torch_amt.dsp.design.octave_butter`), which AMT's ill-conditioned 2–5 Hz
        filters require.
    qfactor : float or Tensor, shape () or (M,)
        Quality factor(s).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    b, a : Tensor, shape (M, 5), float64
    """
    fs = check_fs(fs)
    is_tensor = isinstance(mfc, torch.Tensor) or isinstance(qfactor, torch.Tensor)
    mfc_f = (mfc.detach().reshape(-1).cpu().tolist() if isinstance(mfc, torch.Tensor)
             else [float(m) for m in mfc])
    q_t = qfactor.detach().reshape(-1).cpu().tolist() if isinstance(qfactor, torch.Tensor) \
        else [float(qfactor)]
    q_f = q_t * len(mfc_f) if len(q_t) == 1 else q_t
    bs, as_ = [], []
    for m, q in zip(mfc_f, q_f, strict=True):
        lo, hi = king2019_band_edges(m, q)
        if not 0 < lo < hi < fs / 2:
            raise ValueError(f"the King2019 modulation filter at {m:.3f} Hz (Q = {q}) has band "
                             f"edges [{lo:.3f}, {hi:.3f}] Hz outside (0, fs/2 = {fs / 2}) Hz; "
                             "lower mfhigh or raise fs")
        b, a = octave_butter(2, [2 * lo / fs, 2 * hi / fs], "bandpass")
        bs.append(b)
        as_.append(a)
    b_np, a_np = np.stack(bs), np.stack(as_)
    if not is_tensor:
        return torch.from_numpy(b_np), torch.from_numpy(a_np)
    mfc_t = torch.as_tensor(mfc, dtype=torch.float64)
    q_t = torch.as_tensor(qfactor, dtype=torch.float64)
    lo, hi = king2019_band_edges(mfc_t.to(torch.float64), q_t.to(torch.float64))
    b_t, a_t = butter(2, torch.stack([lo, hi], dim=-1), fs, "bandpass")
    return straight_through(b_np, b_t), straight_through(a_np, a_t)


#: Size of the complex analytic signals computed at once by
#: :func:`king2019_phase_insensitivity` (bytes).
_CHUNK_BYTES = 8 * 2**20


def king2019_phase_insensitivity(y: torch.Tensor, mfc: torch.Tensor,
                                 cutoff: float = 10.0) -> torch.Tensor:
    """AMT King2019 phase insensitivity: Hilbert envelope above ``cutoff`` Hz.

    For every filter with ``mfc > cutoff`` (AMT ``phase_insens_cut``) the output becomes
    ``|hilbert(y)| · rms(y)/rms(|hilbert(y)|)`` (the ratio set to 1 where it is NaN,
    i.e. for silent rows); filters at or below ``cutoff`` are returned unchanged.

    Parameters
    ----------
    y : Tensor, shape (..., M, T)
        Real filter outputs.
    mfc : Tensor, shape (M,)
        Centre frequencies in Hz.

    Returns
    -------
    Tensor, shape (..., M, T)
    """
    # the envelope only of the rows that need it (row-wise FFTs: the same numbers)
    rows = torch.nonzero(mfc > cutoff).reshape(-1).to(y.device)
    if rows.numel() == 0:
        return y
    # a few channels at a time: the complex analytic signals of a whole batch would be
    # hundreds of MB of fresh memory per call (measured 3x slower at 8 x 31 channels)
    flat = y.reshape(-1, *y.shape[-2:])
    step = max(1, _CHUNK_BYTES // (rows.numel() * y.shape[-1] * 16))
    pieces = []
    for part in flat.split(step):
        band = part.index_select(-2, rows)
        env = hilbert(band).abs()
        ratio = torch.sqrt((band * band).mean(-1, keepdim=True)) / torch.sqrt(
            (env * env).mean(-1, keepdim=True))
        ratio = torch.where(torch.isnan(ratio), torch.ones_like(ratio), ratio)
        pieces.append(part.index_copy(-2, rows, env * ratio))
    return torch.cat(pieces).reshape(y.shape)


KING2019_ARITHMETIC = {"amt": lfilter, "exact": lfilter_double_double}
"""The recursion that applies the King2019 filters, by ``arithmetic`` name.

``'amt'``: the float64 direct form, bit for bit AMT's (``filter``), including the
rounding noise that direct form carries at 2–5 Hz (up to ~3e-5 relative at 44.1 kHz).
``'exact'``: the same float64 coefficients filtered in double-double arithmetic
(:func:`torch_amt.dsp.extended.lfilter_double_double`): the filters' exact response to
~1e-16, differing from AMT by AMT's own rounding noise."""


def king2019_modfilterbank(x: torch.Tensor, fs: float, *, mflow: float = 2.0,
                           mfhigh: float = 150.0, qfactor: float = 1.0,
                           nmod: int | None = None, lp150: bool = False,
                           phase_insens: bool = True, phase_insens_cut: float = 10.0,
                           arithmetic: str = "amt") -> tuple[torch.Tensor, torch.Tensor]:
    """AMT 1.4.0 ``king2019_modfilterbank`` (the values of ``arg_king2019`` as defaults).

    Parameters
    ----------
    x : Tensor, shape (..., C, T)
        Input channels (AMT: the adapted response), time last.
    fs : float
        Sampling rate in Hz.
    mflow, mfhigh, qfactor, nmod
        AMT ``mflow``, ``mfhigh``, ``modbank_Qfactor``, ``modbank_Nmod``
        (see :func:`king2019_mfc`).
    lp150 : bool
        AMT ``LP_150_Hz``: 1st-order 150-Hz Butterworth low-pass before the bank.
    phase_insens : bool
        AMT ``phase_insens_hilbert`` (default) / ``no_phase_insens``.
    phase_insens_cut : float
        AMT ``phase_insens_cut`` in Hz.
    arithmetic : {'amt', 'exact'}
        How the filters (and the 150-Hz low-pass) are applied
        (:data:`KING2019_ARITHMETIC`): ``'amt'`` (default) AMT's float64 direct form bit
        for bit; ``'exact'`` the same coefficients in double-double arithmetic, the
        filters' exact response (not in AMT).

    Returns
    -------
    out : Tensor, shape (..., C, M, T), float64
    mfc : Tensor, shape (M,), float64
    """
    fs = check_fs(fs)
    x = check_signal(x, "x", ndim=(1, 2, 3), dim_names="(T,), (C, T) or (B, C, T)")
    for name, v in (("mflow", mflow), ("mfhigh", mfhigh), ("qfactor", qfactor),
                    ("phase_insens_cut", phase_insens_cut)):
        check_positive(v, name)
    if nmod is not None:
        check_positive(nmod, "nmod", integer=True)
    filt = KING2019_ARITHMETIC[check_choice(arithmetic, "arithmetic", list(KING2019_ARITHMETIC))]
    mfc = torch.tensor(king2019_mfc(mflow, mfhigh, qfactor, nmod), dtype=torch.float64)
    b, a = king2019_coefficients(mfc.tolist(), qfactor, fs)
    x64 = x.to(torch.float64)
    if lp150:
        b150, a150 = modfilterbank_lowpass(fs, 150.0, order=1)
        x64 = filt(x64, b150, a150)
    y = filt(x64[..., None, :], b, a)
    if phase_insens:
        y = king2019_phase_insensitivity(y, mfc, phase_insens_cut)
    return y, mfc
