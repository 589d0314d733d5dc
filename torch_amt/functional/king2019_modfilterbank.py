"""The King et al. (2019) modulation filterbank as functions (AMT ``king2019_modfilterbank``).

Log-spaced 2nd-order Butterworth band-passes (4 poles each) with a constant Q, and a
Hilbert-envelope phase insensitivity above 10 Hz. Coefficients that AMT derives with
Octave's ``butter`` are computed with the same arithmetic, operation by operation
(:func:`torch_amt.dsp.design.octave_butter`), because the band-passes at 2–5 Hz are so
ill-conditioned (4 poles within 1e-3 of ``z = 1``) that one ulp in a coefficient changes
the output by ~1e-3 relative.

One path computes it everywhere: :func:`king2019_modfilterbank_design` (centre
frequencies, coefficients, readout) returns a :class:`King2019Design` and
:func:`king2019_modfilterbank_apply` runs it, one signal at a time, with the recursion of
its ``arithmetic`` (:data:`KING2019_ARITHMETIC`) or by FFT convolution with given impulse
responses. :func:`king2019_modfilterbank`,
:class:`torch_amt.stages.King2019ModulationFilterbank` and
:class:`torch_amt.stages.FastKing2019ModulationFilterbank` are these two calls.

References
----------
A. King, L. Varnet, and C. Lorenzi, "Accounting for masking of frequency modulation by
amplitude modulation with the modulation filter-bank concept," J. Acoust. Soc. Am.
145(4), 2277–2293 (2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from torch_amt._checks import (
    check_bool,
    check_choice,
    check_fs,
    check_positive,
    check_signal,
)
from torch_amt.dsp.design import butter, octave_butter, straight_through
from torch_amt.dsp.extended import lfilter_double_double
from torch_amt.dsp.fft import fftconvolve
from torch_amt.dsp.hilbert import hilbert
from torch_amt.dsp.iir import lfilter
from torch_amt.functional.modfilterbank import modfilterbank_lowpass

__all__ = [
    "king2019_mfc",
    "king2019_band_edges",
    "king2019_coefficients",
    "king2019_phase_insensitivity",
    "KING2019_ARITHMETIC",
    "King2019Design",
    "king2019_modfilterbank_design",
    "king2019_impulse_responses",
    "king2019_modfilterbank_apply",
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


# --------------------------------------------------------------------------- filters


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
    cutoff : float
        AMT ``phase_insens_cut`` in Hz.

    Returns
    -------
    Tensor, shape (..., M, T)
    """
    # the envelope only of the rows that need it (row-wise FFTs: the same numbers)
    rows = torch.nonzero(mfc > cutoff).reshape(-1).to(y.device)
    if rows.numel() == 0:
        return y
    # a few channels at a time: the complex analytic signals of many channels at once
    # would be hundreds of MB of fresh memory per call
    flat = y.reshape(-1, *y.shape[-2:])
    step = max(1, _CHUNK_BYTES // (rows.numel() * y.shape[-1] * 16))
    pieces = []
    for part in flat.split(step):
        band = part.index_select(-2, rows)
        env = hilbert(band).abs()
        pieces.append(part.index_copy(-2, rows, env * _rms_ratio(band, env)))
    return torch.cat(pieces).reshape(y.shape)


def _rms_ratio(band: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
    """``rms(band)/rms(env)`` over time, 1 where that is NaN (a silent row), as AMT.

    The NaN rows (0/0) are found from the values first and both mean squares replaced
    by 1 there before the square roots, so a silent row gets a zero gradient instead of
    ``0·∞ = NaN`` (which would reach every parameter through the batch); elsewhere the
    values are those of the plain formula, bit for bit.
    """
    num = (band * band).mean(-1, keepdim=True)
    den = (env * env).mean(-1, keepdim=True)
    with torch.no_grad():
        undefined = torch.isnan(torch.sqrt(num) / torch.sqrt(den))
    one = torch.ones_like(num)
    ratio = torch.sqrt(torch.where(undefined, one, num)) / torch.sqrt(
        torch.where(undefined, one, den))
    return torch.where(undefined, one, ratio)


KING2019_ARITHMETIC = {"amt": lfilter, "exact": lfilter_double_double}
"""The recursion that applies the King2019 filters, by ``arithmetic`` name.

``'amt'``: the float64 direct form, bit for bit AMT's (``filter``), including the
rounding noise that direct form carries at 2–5 Hz (up to ~3e-5 relative at 44.1 kHz).
``'exact'``: the same float64 coefficients filtered in double-double arithmetic
(:func:`torch_amt.dsp.extended.lfilter_double_double`): the filters' exact response to
~1e-16, differing from AMT by AMT's own rounding noise."""


# --------------------------------------------------------------------------- design / apply


@dataclass(frozen=True)
class King2019Design:
    """A King2019 modulation filterbank, ready to apply with
    :func:`king2019_modfilterbank_apply`.

    Attributes
    ----------
    mfc : Tensor, shape (M,), float64
        Centre frequencies in Hz that decide the readout (Hilbert envelope above
        ``phase_insens_cut``).
    b, a : Tensor, shape (M, 5), float64
        The band-passes (AMT ``step.b`` / ``step.a``).
    prefilter : (b, a) or None
        AMT ``LP_150_Hz``: the 1st-order 150-Hz low-pass applied to the input first.
    phase_insens_cut : float or None
        AMT ``phase_insens_cut`` in Hz; None for ``no_phase_insens``.
    arithmetic : {'amt', 'exact'}
        The recursion (:data:`KING2019_ARITHMETIC`).
    """

    mfc: torch.Tensor
    b: torch.Tensor
    a: torch.Tensor
    prefilter: tuple[torch.Tensor, torch.Tensor] | None
    phase_insens_cut: float | None
    arithmetic: str

    def lfilter(self, x: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``lfilter(x, b, a)`` with the design's arithmetic."""
        return KING2019_ARITHMETIC[self.arithmetic](x, b, a)


def king2019_modfilterbank_design(fs: float, *, mflow: float = 2.0, mfhigh: float = 150.0,
                                  qfactor: float = 1.0, nmod: int | None = None,
                                  lp150: bool = False, phase_insens: bool = True,
                                  phase_insens_cut: float = 10.0,
                                  arithmetic: str = "amt") -> King2019Design:
    """AMT 1.4.0 ``king2019_modfilterbank``'s filters (``arg_king2019``'s values as defaults).

    Parameters
    ----------
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
        (:data:`KING2019_ARITHMETIC`).

    Returns
    -------
    King2019Design
    """
    fs = check_fs(fs)
    for name, v in (("mflow", mflow), ("mfhigh", mfhigh), ("qfactor", qfactor),
                    ("phase_insens_cut", phase_insens_cut)):
        check_positive(v, name)
    if mfhigh < mflow:
        raise ValueError(f"mfhigh ({mfhigh} Hz) must be >= mflow ({mflow} Hz)")
    if nmod is not None:
        check_positive(nmod, "nmod", integer=True)
    lp150 = check_bool(lp150, "lp150")
    phase_insens = check_bool(phase_insens, "phase_insens")
    check_choice(arithmetic, "arithmetic", list(KING2019_ARITHMETIC))
    if lp150 and 150 >= fs / 2:
        raise ValueError(f"fs = {fs} Hz is too low for the 150-Hz low-pass (lp150)")
    mfc = king2019_mfc(mflow, mfhigh, qfactor, nmod)
    b, a = king2019_coefficients(mfc, qfactor, fs)
    return King2019Design(
        mfc=torch.tensor(mfc, dtype=torch.float64), b=b, a=a,
        prefilter=modfilterbank_lowpass(fs, 150.0, order=1) if lp150 else None,
        phase_insens_cut=float(phase_insens_cut) if phase_insens else None,
        arithmetic=arithmetic)


def king2019_impulse_responses(design: King2019Design, length: int) -> torch.Tensor:
    """Impulse responses of the design's filters (the pre-filter included).

    Parameters
    ----------
    design : King2019Design
    length : int
        Number of samples.

    Returns
    -------
    Tensor, shape (M, length), float64
        Computed with the design's arithmetic, on the device of its coefficients.
    """
    impulse = torch.zeros(length, dtype=torch.float64, device=design.b.device)
    impulse[0] = 1
    if design.prefilter is not None:
        impulse = design.lfilter(impulse, *design.prefilter)
    return design.lfilter(impulse.expand(design.b.shape[0], length), design.b, design.a)


def king2019_modfilterbank_apply(x: torch.Tensor, design: King2019Design, *,
                                 impulse_responses: torch.Tensor | None = None,
                                 return_filtered: bool = False,
                                 dtype: torch.dtype | None = None):
    """Run a King2019 design on ``x``: the one path of every King2019 modulation filterbank.

    Signal by signal (every leading index of ``x`` separately; the results are the same
    numbers as a whole batch at once): the input is pre-filtered and filtered with the
    design's recursion, or, if ``impulse_responses`` are given, convolved with them by
    exact linear FFT convolution (:func:`torch_amt.dsp.fft.fftconvolve`); then the
    phase insensitivity (:func:`king2019_phase_insensitivity`). One signal at a time, the
    ``(C, M, T)`` float64 temporaries stay small enough for the allocator to reuse;
    a whole batch's would be fresh memory on every call.

    Parameters
    ----------
    x : Tensor, shape (..., C, T) or (T,)
        Input channels, time last.
    design : King2019Design
    impulse_responses : Tensor, shape (M, L), optional
        The filters' impulse responses, pre-filter included
        (:func:`king2019_impulse_responses`); the output is their convolution with the
        input (``L < T`` truncates the filters).
    return_filtered : bool
        Also return the band-pass outputs before the phase insensitivity (AMT's
        ``step.E_mod``).
    dtype : torch.dtype, optional
        Output dtype (default float64). Filtering runs in float64.

    Returns
    -------
    out : Tensor, shape (..., C, M, T) (``(M, T)`` for 1-D input)
    filtered : Tensor, same shape
        Only with ``return_filtered``.
    """
    dtype = torch.float64 if dtype is None else dtype
    n_t = x.shape[-1]
    blocks = x.reshape(-1, x.shape[-2] if x.ndim > 1 else 1, n_t).to(torch.float64)
    outs, filtered = [], []
    for block in blocks.split(1):
        if impulse_responses is not None:
            y = fftconvolve(block[..., None, :], impulse_responses, length=n_t)
        else:
            if design.prefilter is not None:
                block = design.lfilter(block, *design.prefilter)
            y = design.lfilter(block[..., None, :], design.b, design.a)
        if return_filtered:
            filtered.append(y.to(dtype))
        if design.phase_insens_cut is not None:
            y = king2019_phase_insensitivity(y, design.mfc, design.phase_insens_cut)
        outs.append(y.to(dtype))
    shape = (*x.shape[:-1], design.b.shape[0], n_t)
    out = torch.cat(outs).reshape(shape)
    return (out, torch.cat(filtered).reshape(shape)) if return_filtered else out


def king2019_modfilterbank(x: torch.Tensor, fs: float, *, mflow: float = 2.0,
                           mfhigh: float = 150.0, qfactor: float = 1.0,
                           nmod: int | None = None, lp150: bool = False,
                           phase_insens: bool = True, phase_insens_cut: float = 10.0,
                           arithmetic: str = "amt") -> tuple[torch.Tensor, torch.Tensor]:
    """AMT 1.4.0 ``king2019_modfilterbank`` (the values of ``arg_king2019`` as defaults).

    :func:`king2019_modfilterbank_design` then :func:`king2019_modfilterbank_apply`.

    Parameters
    ----------
    x : Tensor, shape (..., C, T)
        Input channels (AMT: the adapted response), time last: ``(T,)``, ``(C, T)`` or
        ``(B, C, T)``.
    fs : float
        Sampling rate in Hz.
    mflow, mfhigh, qfactor, nmod, lp150, phase_insens, phase_insens_cut
        See :func:`king2019_modfilterbank_design`.
    arithmetic : {'amt', 'exact'}
        ``'amt'`` (default) AMT's float64 direct form bit for bit; ``'exact'`` the same
        coefficients in double-double arithmetic, the filters' exact response (not in
        AMT); see :data:`KING2019_ARITHMETIC`.

    Returns
    -------
    out : Tensor, shape (..., C, M, T), float64
    mfc : Tensor, shape (M,), float64
    """
    x = check_signal(x, "x", ndim=(1, 2, 3), dim_names="(T,), (C, T) or (B, C, T)")
    design = king2019_modfilterbank_design(
        fs, mflow=mflow, mfhigh=mfhigh, qfactor=qfactor, nmod=nmod, lp150=lp150,
        phase_insens=phase_insens, phase_insens_cut=phase_insens_cut, arithmetic=arithmetic)
    return king2019_modfilterbank_apply(x, design), design.mfc
