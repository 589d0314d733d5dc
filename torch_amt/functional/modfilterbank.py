"""The Dau / Jepsen modulation filterbank as functions (AMT ``modfilterbank``).

For each auditory channel: a 2nd-order Butterworth 2.5-Hz low-pass for the 0-Hz filter
and complex frequency-shifted one-pole band-passes (``efilt``) at 5, 10 Hz (5-Hz
bandwidth) and Q-spaced above (Dau et al. 1997; Jepsen et al. 2008); outputs
``2·filter(b, a, x)``, real part up to 10 Hz, ``att_factor·|.|`` above.

One path computes it everywhere: :func:`modfilterbank_design` applies AMT's rules (centre
frequencies, coefficients, readout) and returns a :class:`ModFilterbankDesign`, a table
with one row per channel × filter pair; :func:`modfilterbank_apply` runs those rows
through :func:`torch_amt.dsp.iir.lfilter_envelope` (the filter and the readout in one
pass). :func:`modfilterbank`, :class:`torch_amt.stages.ModulationFilterbank` and
:class:`torch_amt.stages.FastModulationFilterbank` are these two calls; the stages only
choose how many rows one kernel call takes. AMT's flag groups are the data of
:data:`MODFILTERBANK_PRESETS`.

References
----------
T. Dau, B. Kollmeier, and A. Kohlrausch, "Modeling auditory processing of amplitude
modulation. I. Detection and masking with narrow-band carriers," J. Acoust. Soc. Am.
102, 2892–2905 (1997).
J. Verhey, T. Dau, and B. Kollmeier, "Within-channel cues in comodulation masking release
(CMR)," J. Acoust. Soc. Am. 106, 2733–2745 (1999).
M. L. Jepsen, S. D. Ewert, and T. Dau, "A computational model of human auditory signal
processing and perception," J. Acoust. Soc. Am. 124(1), 422–438 (2008).
A. Osses Vecchi and A. Kohlrausch, "Perceptual similarity between piano notes:
Simulations with a template-based perception model," J. Acoust. Soc. Am. 149(5),
3534–3552 (2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from torch_amt._checks import (
    check_bool,
    check_choice,
    check_frequencies,
    check_fs,
    check_number,
    check_positive,
    check_signal,
)
from torch_amt.dsp.design import butter, freqz, octave_butter
from torch_amt.dsp.streaming import lfilter, lfilter_envelope

__all__ = [
    "ModFilterbankPreset",
    "MODFILTERBANK_PRESETS",
    "resolve_modfilterbank_preset",
    "modfilterbank_mfc",
    "efilt_coefficients",
    "modfilterbank_bandpass",
    "butterworth_bandpass_coefficients",
    "modfilterbank_lowpass",
    "lp150_att_gains",
    "ModFilterbankDesign",
    "modfilterbank_design",
    "modfilterbank_apply",
    "modfilterbank",
]

LP150_MODES = ("off", "filter", "att_gain")
"""AMT ``no_LP_150_Hz`` / ``LP_150_Hz`` / ``LP_150_Hz_att``."""
FILTER_TYPES = ("efilt", "butterworth")
"""Band-pass types: AMT's ``efilt``; a complex Butterworth band-pass (not in AMT)."""


@dataclass(frozen=True)
class ModFilterbankPreset:
    """One AMT ``arg_modfilterbank`` flag group.

    Attributes
    ----------
    amt_group : str
        AMT group name.
    use_upper_limit : bool
        ``mfc_upper_limit`` (True) / ``no_mfc_upper_limit``.
    lp150 : {'off', 'filter', 'att_gain'}
        ``no_LP_150_Hz`` / ``LP_150_Hz`` / ``LP_150_Hz_att``.
    att_factor : float
        ``att_factor`` (1/√2) / ``no_att_factor`` (1).
    """

    amt_group: str
    use_upper_limit: bool
    lp150: str
    att_factor: float


_SQRT1_2 = 1 / math.sqrt(2)
#: AMT 1.4.0 ``modfilterbank`` flag groups (``mfb_king2019`` = ``mfb_verhey1999``).
MODFILTERBANK_PRESETS: dict[str, ModFilterbankPreset] = {
    p.amt_group: p
    for p in (
        ModFilterbankPreset("mfb_dau1997", False, "off", 1.0),
        ModFilterbankPreset("mfb_verhey1999", True, "off", 1.0),
        ModFilterbankPreset("mfb_jepsen2008", True, "filter", _SQRT1_2),
        ModFilterbankPreset("mfb_king2019", True, "off", 1.0),
        ModFilterbankPreset("mfb_osses2021_att_gain", True, "att_gain", _SQRT1_2),
    )
}
#: The API spec's short preset names and the AMT group each stands for.
PRESET_ALIASES: dict[str, str] = {
    "dau1997": "mfb_dau1997", "jepsen2008": "mfb_jepsen2008", "paulick2024": "mfb_jepsen2008",
    "verhey1999": "mfb_verhey1999", "king2019": "mfb_king2019",
    "osses2021_att_gain": "mfb_osses2021_att_gain",
}


def resolve_modfilterbank_preset(preset: str | None) -> ModFilterbankPreset | None:
    """The flag group of an AMT group name (``'mfb_jepsen2008'``) or a short name
    (``'jepsen2008'``, see :data:`PRESET_ALIASES`); None for None."""
    if preset is None:
        return None
    check_choice(preset, "preset", list(PRESET_ALIASES) + list(MODFILTERBANK_PRESETS))
    return MODFILTERBANK_PRESETS[PRESET_ALIASES.get(preset, preset)]


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


def butterworth_bandpass_coefficients(mfc: torch.Tensor, bandwidth: torch.Tensor,
                                      fs: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex Butterworth band-passes (``filter_type='butterworth'``, not in AMT).

    A 2nd-order Butterworth low-pass with cut-off ``bandwidth/2`` shifted to ``mfc``
    (``z → z·exp(-iω0)``): a flat symmetric passband with unit gain at ``mfc``.
    Differentiable in ``mfc`` and ``bandwidth``.

    Parameters
    ----------
    mfc, bandwidth : Tensor, shape (M,)
        Centre frequencies and bandwidths in Hz (float64).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    b, a : Tensor, shape (M, 3), complex128
    """
    b_lp, a_lp = butter(2, bandwidth / 2, fs, "low")
    shift = torch.polar(torch.ones_like(mfc), 2 * math.pi * mfc / fs)
    powers = torch.stack([torch.ones_like(shift), shift, shift * shift], dim=-1)
    return b_lp * powers, a_lp * powers


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


@dataclass(frozen=True)
class ModFilterbankDesign:
    """A Dau/Jepsen modulation filterbank, ready to apply with :func:`modfilterbank_apply`.

    Built by :func:`modfilterbank_design` (AMT's rules) or by a module from its current
    buffers/parameters; the per-channel filters are laid out as a row table (one row per
    channel × filter pair, channel by channel, the low-pass first). Row ``r`` computes
    ``w = gain[r] · filter(b[r], a[r], x[channel[r]])`` and reads out ``Re(w)`` if
    ``keep_real[r]`` else ``att_factor·|w|``, or ``w`` without ``phase_insens``.

    Parameters
    ----------
    mfc : tuple of F Tensors, shape (M_f,), float64
        Centre frequencies per channel in Hz, first 0 (the low-pass). They fix each row's
        readout (real part for ``mfc ≤ 10`` Hz).
    lowpass : (b, a), Tensors of shape (3,), float64
        The 0-Hz low-pass.
    bandpass : tuple of F pairs (b, a), shapes (M_f - 1, nb), (M_f - 1, na), nb, na ≤ 3
        The band-passes of each channel (``efilt``: nb = 1, na = 2, complex ``a``).
    gains : tuple of F Tensors, shape (M_f - 1,), or None
        ``LP_150_Hz_att`` gains of the band-passes.
    prefilter : (b, a) or None
        ``LP_150_Hz``: the 150-Hz low-pass applied to the input first.
    att_factor : float
        Factor on ``|w|`` (AMT ``att_factor`` 1/√2, ``no_att_factor`` 1).
    phase_insens : bool
        AMT ``phase_insens_hilbert`` (True) / ``no_phase_insens`` (complex outputs).

    Attributes
    ----------
    b, a : Tensor, shape (R, 3), complex128
        Every row as a complex second-order section (zero-padded, which changes no
        product or sum of the recursion); the band-passes' ``b`` carry AMT's ×2 emphasis
        with ``phase_insens`` (without it AMT divides that ×2 out again). ``R = Σ M_f``.
    channel : Tensor, shape (R,), int64
        Input channel of each row.
    keep_real : Tensor, shape (R,), bool
    gain : Tensor, shape (R,), float64, or None
        1 for the low-pass rows; None without ``LP_150_Hz_att``.
    counts : tuple of int
        Rows per channel (``M_f``).
    """

    mfc: tuple[torch.Tensor, ...]
    lowpass: tuple[torch.Tensor, torch.Tensor]
    bandpass: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    gains: tuple[torch.Tensor, ...] | None
    prefilter: tuple[torch.Tensor, torch.Tensor] | None
    att_factor: float
    phase_insens: bool
    b: torch.Tensor = field(init=False, repr=False)
    a: torch.Tensor = field(init=False, repr=False)
    channel: torch.Tensor = field(init=False, repr=False)
    keep_real: torch.Tensor = field(init=False, repr=False)
    gain: torch.Tensor | None = field(init=False, repr=False)
    counts: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        def section(c: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.pad(c.to(torch.complex128), (0, 3 - c.shape[-1]))

        emphasis = 2.0 if self.phase_insens else 1.0
        lp_b, lp_a = (section(c)[None] for c in self.lowpass)
        bs, as_ = [], []
        for b, a in self.bandpass:
            bs += [lp_b, emphasis * section(b)]
            as_ += [lp_a, section(a)]
        mfc = torch.cat(self.mfc)
        counts = tuple(len(m) for m in self.mfc)
        rows = {
            "b": torch.cat(bs), "a": torch.cat(as_), "counts": counts,
            "channel": torch.repeat_interleave(torch.arange(len(counts)),
                                               torch.tensor(counts)).to(mfc.device),
            "keep_real": mfc <= 10,
            "gain": None if self.gains is None else torch.cat(
                [torch.cat([torch.ones_like(g[:1]), g]) for g in self.gains]),
        }
        for name, value in rows.items():
            object.__setattr__(self, name, value)


def modfilterbank_design(fs: float, fc, *, Q: float = 2.0, max_mfc: float = 1000.0,
                         use_upper_limit: bool = True, lp150: str = "filter",
                         att_factor: float = _SQRT1_2, phase_insens: bool = True,
                         lp_cutoff: float = 2.5,
                         filter_type: str = "efilt") -> ModFilterbankDesign:
    """AMT 1.4.0 ``modfilterbank``'s filters (defaults = ``mfb_jepsen2008``).

    Parameters
    ----------
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
    lp_cutoff : float
        Cut-off of the 0-Hz low-pass in Hz (2.5 in AMT, hard-coded).
    filter_type : {'efilt', 'butterworth'}
        AMT's ``efilt`` band-passes (bit for bit AMT's coefficients), or
        :func:`butterworth_bandpass_coefficients` (not in AMT).

    Returns
    -------
    ModFilterbankDesign
    """
    fs = check_fs(fs)
    use_upper_limit = check_bool(use_upper_limit, "use_upper_limit")
    phase_insens = check_bool(phase_insens, "phase_insens")
    if check_positive(Q, "Q") <= 0.5:
        raise ValueError(f"Q must be > 0.5 (the spacing ratio needs 1 - 1/(2Q) > 0), got {Q}")
    check_positive(max_mfc, "max_mfc")
    check_choice(lp150, "lp150", LP150_MODES)
    check_number(att_factor, "att_factor", minimum=0, strict=True)
    check_choice(filter_type, "filter_type", FILTER_TYPES)
    if check_positive(lp_cutoff, "lp_cutoff") >= fs / 2 or (lp150 != "off" and 150 >= fs / 2):
        raise ValueError(f"fs = {fs} Hz is too low for the modulation low-passes")
    # audio-rate centre frequencies: not bounded by this (envelope) rate's Nyquist
    fc = check_frequencies(fc.detach() if isinstance(fc, torch.Tensor) else fc, None, "fc")
    mfcs, bandpass, gains = [], [], []
    for f in fc.reshape(-1).tolist():
        mfc = modfilterbank_mfc(f, use_upper_limit=use_upper_limit, max_mfc=max_mfc, Q=Q)
        if mfc[-1] >= fs / 2:
            raise ValueError(f"fs = {fs} Hz is too low for a modulation filter at "
                             f"{mfc[-1]:.1f} Hz (channel fc = {f} Hz); lower max_mfc or use "
                             "use_upper_limit=True")
        bands = torch.tensor(mfc[1:], dtype=torch.float64)
        if filter_type == "efilt":
            bandpass.append(modfilterbank_bandpass(mfc[1:], fs, Q))
        else:
            bandwidth = torch.where(bands < 10, torch.full_like(bands, 5.0), bands / Q)
            bandpass.append(butterworth_bandpass_coefficients(bands, bandwidth, fs))
        if lp150 == "att_gain":
            gains.append(lp150_att_gains(mfc[1:], fs))
        mfcs.append(torch.tensor(mfc, dtype=torch.float64))
    return ModFilterbankDesign(
        mfc=tuple(mfcs), lowpass=modfilterbank_lowpass(fs, float(lp_cutoff)),
        bandpass=tuple(bandpass), gains=tuple(gains) if lp150 == "att_gain" else None,
        prefilter=modfilterbank_lowpass(fs, 150.0, order=1) if lp150 == "filter" else None,
        att_factor=float(att_factor), phase_insens=phase_insens)


def modfilterbank_apply(x: torch.Tensor, design: ModFilterbankDesign, *,
                        rows_per_call: str = "all",
                        dtype: torch.dtype | None = None) -> list[torch.Tensor]:
    """Run a modulation filterbank design on envelopes ``x``: the one path of every
    Dau/Jepsen modulation filterbank.

    The input is (optionally) pre-filtered, then each group of rows is one call of
    :func:`torch_amt.dsp.iir.lfilter_envelope` (filter and readout in one pass), or
    without ``phase_insens`` of :func:`torch_amt.dsp.iir.lfilter`. Rows never interact,
    so the grouping changes no number (up to the last bits the kernels may order
    differently; tested ≤ 1e-12 relative in float64, in practice identical).

    Parameters
    ----------
    x : Tensor, shape (..., F, T)
        Real envelopes of the ``F`` auditory channels, time last.
    design : ModFilterbankDesign
    rows_per_call : {'all', 'channel'}
        ``'all'``: every row in one kernel call (:class:`FastModulationFilterbank`);
        ``'channel'``: one call per auditory channel (:class:`ModulationFilterbank`).
    dtype : torch.dtype, optional
        Real dtype of the output (complex counterpart without ``phase_insens``); default
        float64. Filtering runs in float64.

    Returns
    -------
    list of F Tensors, shape (..., M_f, T)
        Per channel, the filters along axis -2.
    """
    check_choice(rows_per_call, "rows_per_call", ("all", "channel"))
    real = torch.float64 if dtype is None else dtype
    out_dtype = real if design.phase_insens else (
        torch.complex128 if real == torch.float64 else torch.complex64)
    if rows_per_call == "all" and design.phase_insens:
        # one call; the per-channel outputs come out of it directly (no split of one
        # tensor of all rows, whose gradient would be assembled in full for the backward),
        # the prefilter fused in (no filtered copy of x, nor its gradient, stored whole)
        return lfilter_envelope(x, design.b, design.a, design.channel, design.keep_real,
                                design.att_factor, design.gain, out_dtype,
                                split=design.counts, prefilter=design.prefilter)
    x64 = x.to(torch.float64).contiguous()
    if design.prefilter is not None:
        x64 = lfilter(x64, *design.prefilter)
    ends = np.cumsum((0,) + design.counts).tolist()
    groups = ([slice(0, ends[-1])] if rows_per_call == "all"
              else [slice(s, e) for s, e in zip(ends[:-1], ends[1:], strict=True)])
    pieces = []
    for rows in groups:
        b, a, channel = design.b[rows], design.a[rows], design.channel[rows]
        gain = None if design.gain is None else design.gain[rows]
        if design.phase_insens:
            pieces.append(lfilter_envelope(x64, b, a, channel, design.keep_real[rows],
                                           design.att_factor, gain, out_dtype))
            continue
        y = lfilter(x64[..., channel, :], b, a)
        pieces.append((y if gain is None else y * gain[:, None]).to(out_dtype))
    if rows_per_call == "channel":
        return pieces
    return list(torch.split(pieces[0], design.counts, dim=-2))


def modfilterbank(x: torch.Tensor, fs: float, fc, *, Q: float = 2.0,
                  max_mfc: float = 1000.0, use_upper_limit: bool = True,
                  lp150: str = "filter", att_factor: float = _SQRT1_2,
                  phase_insens: bool = True) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """AMT 1.4.0 ``modfilterbank(insig, fs, fc, ...)`` (defaults = ``mfb_jepsen2008``).

    :func:`modfilterbank_design` then :func:`modfilterbank_apply`.

    Parameters
    ----------
    x : Tensor, shape (..., F, T)
        One envelope per auditory channel (time last; at most two leading axes).
    fs : float
        Sampling rate in Hz.
    fc : array_like, shape (F,)
        Centre frequencies of the auditory channels in Hz.
    Q, max_mfc, use_upper_limit, lp150, att_factor, phase_insens
        See :func:`modfilterbank_design`.

    Returns
    -------
    outputs : list of F Tensors, shape (..., M_f, T)
        Per channel, filters along axis -2 (float64, or complex128 for
        ``phase_insens=False``).
    mfc : list of F Tensors, shape (M_f,)
        Centre frequencies per channel in Hz (float64).
    """
    x = check_signal(x, "x", ndim=(2, 3, 4), dim_names="(F, T) or (..., F, T)")
    design = modfilterbank_design(fs, fc, Q=Q, max_mfc=max_mfc, use_upper_limit=use_upper_limit,
                                  lp150=lp150, att_factor=att_factor, phase_insens=phase_insens)
    if x.shape[-2] != len(design.mfc):
        raise ValueError(f"x has {x.shape[-2]} channels (axis -2) but fc has {len(design.mfc)} "
                         "centre frequencies")
    return modfilterbank_apply(x, design), list(design.mfc)
