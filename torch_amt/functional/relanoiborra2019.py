"""The stages of Relaño-Iborra et al. (2019)'s sCASP model as functions (AMT 1.4.0
``relanoiborra2019_drnl``, the internal noise of ``relanoiborra2019_featureextraction`` and
``relanoiborra2019_mfbtd``).

* **DRNL** (``relanoiborra2019_drnl``): the Lopez-Poveda & Meddis (2001) filter with
  Jepsen et al. (2008)'s parameters, in M. L. Jepsen's own implementation: each "gammatone"
  is one real 2-pole/1-zero section (``coefGtDRNL``) applied ``n`` times, each low-pass a
  2nd-order Butterworth written with ``cot`` (``coefLPDRNL``). Subject profiles ``'NH'``
  (normal hearing) and ``'HIx'`` (the example hearing-impaired listener without
  compression: ``a = 0``, i.e. no nonlinear path).
* **Internal noise**: Gaussian noise per channel at the levels of AMT's table (normal-hearing
  thresholds, single channel) minus 3.7 dB (broadband compensation), added after the +50 dB
  gain that follows the DRNL.
* **Modulation filterbank** (``relanoiborra2019_mfbtd`` + its post-processing): the
  Dau/Jepsen bank without the ``fc/4`` limit: 150-Hz 1st-order low-pass, a 2.5-Hz
  2nd-order low-pass and complex one-pole band-passes at 5, 10 Hz and Q-spaced up to
  ``umf`` (1500 Hz: the last filter is at 992 Hz), real part up to 10 Hz, ``|.|/√2``
  above. It is :func:`~torch_amt.functional.modfilterbank.modfilterbank_apply` with the
  mfbtd low-pass.

References
----------
H. Relaño-Iborra, J. Zaar, and T. Dau, "A speech-based computational auditory signal
processing and perception model," J. Acoust. Soc. Am. 146(5), 3306–3317 (2019).
M. L. Jepsen, S. D. Ewert, and T. Dau, "A computational model of human auditory signal
processing and perception," J. Acoust. Soc. Am. 124(1), 422–438 (2008).
E. A. Lopez-Poveda and R. Meddis, "A human nonlinear cochlear filterbank," J. Acoust. Soc.
Am. 110(6), 3107–3118 (2001).
T. Dau, B. Kollmeier, and A. Kohlrausch, "Modeling auditory processing of amplitude
modulation. I.," J. Acoust. Soc. Am. 102(5), 2892–2905 (1997).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from torch_amt import _checks
from torch_amt.dsp.iir import lfilter
from torch_amt.functional.drnl import broken_stick
from torch_amt.functional.modfilterbank import (
    ModFilterbankDesign,
    modfilterbank_apply,
    modfilterbank_bandpass,
    modfilterbank_lowpass,
)

__all__ = [
    "SUBJECTS",
    "INTERNAL_NOISE_LEVELS",
    "BROADBAND_COMPENSATION",
    "RelanoDRNLDesign",
    "relanoiborra2019_drnl_channel",
    "relanoiborra2019_drnl_design",
    "relanoiborra2019_drnl",
    "internal_noise_levels",
    "internal_noise",
    "mfbtd_mfc",
    "mfbtd_lowpass",
    "mfbtd_design",
    "relanoiborra2019_mfbtd",
]

SUBJECTS = ("NH", "HIx")
"""AMT ``relanoiborra2019_drnl`` subject profiles (key-value ``'subject'``)."""

#: Internal-noise levels per auditory channel (dB re AMT's 100-dB convention, i.e. an rms
#: of 1 is 100 dB), channel ``k`` of the filterbank takes entry ``k`` (AMT
#: ``relanoiborra2019_featureextraction``: normal-hearing thresholds, single channel).
INTERNAL_NOISE_LEVELS: tuple[float, ...] = (
    -68.15, -73.05, -74.75, -75.25, -77.45, -77.75, -77.65, -78.15, -79.15, -79.75,
    -79.25, -78.35, -77.75, -77.35, -77.05, -76.45, -75.85, -75.37, -74.85, -74.25,
    -73.65, -73.65, -74.15, -75.35, -74.65, -75.15, -76.15, -73.05, -74.55, -75.45,
    -76.45, -77.35, -77.95, -80.35, -79.75, -78.15, -78.85, -79.55, -82.25, -79.25,
    -82.75, -81.45, -83.05, -85.05, -87.45, -90.15, -92.55, -91.55, -90.85, -90.15,
    -89.45, -88.65, -89.65, -90.55, -90.95, -92.95, -94.45, -96.15, -97.85, -99.65)

BROADBAND_COMPENSATION = -3.7
"""dB added to every internal-noise level (AMT: compensation for the full filterbank)."""


# --------------------------------------------------------------------------- DRNL


def _pow10(exponent: float) -> float:
    return math.pow(10.0, exponent)


def relanoiborra2019_drnl_channel(cf: float, subject: str = "NH") -> dict[str, float]:
    """The DRNL parameters of one channel (AMT ``local_getDRNLparam_NH``).

    Parameters
    ----------
    cf : float
        Centre frequency in Hz.
    subject : {'NH', 'HIx'}
        ``'NH'``: normal hearing, ``a`` and ``b`` evaluated at ``cf`` up to 1000 Hz and at
        1500 Hz above (as AMT: a step at 1000 Hz). ``'HIx'``: ``a = 0`` (no compressive
        path), ``b`` at ``cf``, ``c = 0.25``.

    Returns
    -------
    dict
        ``lin_fc, lin_bw, lin_gain, lin_lp_cutoff`` (Hz, Hz, -, Hz), ``nlin_fc, nlin_bw,
        nlin_lp_cutoff`` (Hz), ``a, b, c``; cascade lengths ``lin_ngt`` (3), ``lin_nlp``
        (4), ``nlin_ngt`` (3), ``nlin_nlp`` (3).
    """
    subject = _checks.check_choice(subject, "subject", SUBJECTS)
    lg = math.log10(cf)
    p = {
        "lin_fc": _pow10(-0.06762 + 1.01679 * lg), "lin_ngt": 3,
        "lin_bw": _pow10(0.03728 + 0.75 * lg), "lin_gain": _pow10(4.20405 - 0.47909 * lg),
        "lin_lp_cutoff": _pow10(-0.06762 + 1.01 * lg), "lin_nlp": 4,
        "nlin_fc": _pow10(-0.05252 + 1.01650 * lg), "nlin_ngt": 3,
        "nlin_bw": _pow10(-0.03193 + 0.77 * lg),
        "nlin_lp_cutoff": _pow10(-0.05252 + 1.01650 * lg), "nlin_nlp": 3,
    }
    if subject == "NH":
        la = lg if cf <= 1000 else math.log10(1500)
        p["a"] = _pow10(1.40298 + 0.81916 * la)
        p["b"] = _pow10(1.61912 - 0.81867 * la)
        p["c"] = _pow10(-0.60206)
    else:
        p["a"] = 0.0
        p["b"] = _pow10(1.61912 - 0.81867 * lg)
        p["c"] = 0.25
    return p


def _gammatone_section(fc: float, bw: float, fs: float) -> tuple[list[float], list[float]]:
    """Jepsen's DRNL "gammatone" section ``coefGtDRNL``: ``b = [a0, α·a0]``,
    ``a = [1, 2α, e^{-2φ}]`` with ``θ = 2π·fc/fs``, ``φ = 2π·bw/fs``,
    ``α = -e^{-φ}·cos θ`` and ``a0`` the gain that makes ``|H(e^{iθ})| = 1``."""
    theta, phi = 2 * math.pi * fc / fs, 2 * math.pi * bw / fs
    alpha = -math.exp(-phi) * math.cos(theta)
    b1, b2 = 2 * alpha, math.exp(-2 * phi)
    num = complex(1 + b1 * math.cos(theta) + b2 * math.cos(2 * theta),
                  -(b1 * math.sin(theta)) - b2 * math.sin(2 * theta))
    den = complex(1 + alpha * math.cos(theta), -(alpha * math.sin(theta)))
    a0 = abs(num / den)
    return [a0, alpha * a0, 0.0], [1.0, b1, b2]


def _lowpass_section(fc: float, fs: float) -> tuple[list[float], list[float]]:
    """Jepsen's DRNL low-pass ``coefLPDRNL``: a 2nd-order Butterworth at ``fc`` written
    with ``cot(π·fc/fs)``."""
    cot = 1 / math.tan(math.pi * fc / fs)
    c = 1 / (1 + math.sqrt(2) * cot + cot * cot)
    d = 2 * c * (1 - cot * cot)
    e = c * (1 - math.sqrt(2) * cot + cot * cot)
    return [c, 2 * c, c], [1.0, d, e]


@dataclass(frozen=True)
class RelanoDRNLDesign:
    """The filters of an ``F``-channel ``relanoiborra2019_drnl`` bank (float64).

    Attributes
    ----------
    fc : Tensor, shape (F,)
        Centre frequencies in Hz.
    lin_gain, a, b, c : Tensor, shape (F,)
        Linear-path gain and broken-stick constants.
    gt_lin, lp_lin, gt_nlin, lp_nlin : (b, a), Tensors of shape (F, 3)
        The sections of each path.
    lin_ngt, lin_nlp, nlin_ngt, nlin_nlp : int
        How often each section is applied.
    subject : str
    """

    fc: torch.Tensor
    lin_gain: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    gt_lin: tuple[torch.Tensor, torch.Tensor]
    lp_lin: tuple[torch.Tensor, torch.Tensor]
    gt_nlin: tuple[torch.Tensor, torch.Tensor]
    lp_nlin: tuple[torch.Tensor, torch.Tensor]
    lin_ngt: int
    lin_nlp: int
    nlin_ngt: int
    nlin_nlp: int
    subject: str


def relanoiborra2019_drnl_design(fc, fs: float, subject: str = "NH", *,
                                 above_nyquist: bool = False) -> RelanoDRNLDesign:
    """Design the DRNL of ``relanoiborra2019_drnl`` for centre frequencies ``fc``.

    Parameters
    ----------
    fc : array_like, shape (F,)
        Centre frequencies in Hz (> 0).
    fs : float
        Sampling rate in Hz.
    subject : {'NH', 'HIx'}
        Subject profile (see :func:`relanoiborra2019_drnl_channel`).
    above_nyquist : bool
        Design filters whose frequency reaches fs/2 anyway, with AMT's formulas (AMT
        does: e.g. its default 8000-Hz channel at 16 kHz has a nonlinear-path centre
        frequency of 8219 Hz, which the resonator aliases to 7781 Hz). Default False:
        refuse them.

    Returns
    -------
    RelanoDRNLDesign

    Raises
    ------
    ValueError
        If a channel's filter frequency (centre frequency or low-pass cut-off of either
        path, up to ~1.03·fc) reaches fs/2 and ``above_nyquist`` is False.
    """
    fs = _checks.check_fs(fs)
    fcs = _checks.check_frequencies(fc.detach() if isinstance(fc, torch.Tensor) else fc,
                                    None, "fc").to(torch.float64).reshape(-1)
    if fcs.numel() == 0:
        raise ValueError("fc must contain at least one centre frequency")
    params = [relanoiborra2019_drnl_channel(float(f), subject) for f in fcs.tolist()]
    for f, p in zip(fcs.tolist(), params, strict=True):
        top = max(p["lin_fc"], p["lin_lp_cutoff"], p["nlin_fc"], p["nlin_lp_cutoff"])
        if top >= fs / 2 and not above_nyquist:
            raise ValueError(f"fc = {f:.1f} Hz is too high for fs = {fs} Hz: its DRNL filters "
                             f"reach {top:.1f} Hz >= fs/2; lower fhigh, raise fs, or pass "
                             "above_nyquist=True for AMT's aliased filters")

    def table(name: str) -> torch.Tensor:
        return torch.tensor([p[name] for p in params], dtype=torch.float64)

    def sections(design, f_name: str, bw_name: str | None = None):
        rows = [design(p[f_name], p[bw_name], fs) if bw_name else design(p[f_name], fs)
                for p in params]
        return (torch.tensor([r[0] for r in rows], dtype=torch.float64),
                torch.tensor([r[1] for r in rows], dtype=torch.float64))

    first = params[0]
    return RelanoDRNLDesign(
        fc=fcs, lin_gain=table("lin_gain"), a=table("a"), b=table("b"), c=table("c"),
        gt_lin=sections(_gammatone_section, "lin_fc", "lin_bw"),
        lp_lin=sections(_lowpass_section, "lin_lp_cutoff"),
        gt_nlin=sections(_gammatone_section, "nlin_fc", "nlin_bw"),
        lp_nlin=sections(_lowpass_section, "nlin_lp_cutoff"),
        lin_ngt=first["lin_ngt"], lin_nlp=first["lin_nlp"], nlin_ngt=first["nlin_ngt"],
        nlin_nlp=first["nlin_nlp"], subject=subject)


def _cascade(y: torch.Tensor, ba: tuple[torch.Tensor, torch.Tensor], n: int) -> torch.Tensor:
    b, a = (c.to(y.device) for c in ba)
    for _ in range(n):
        y = lfilter(y, b, a)
    return y


def relanoiborra2019_drnl(x: torch.Tensor, design: RelanoDRNLDesign) -> torch.Tensor:
    """AMT ``relanoiborra2019_drnl`` for every channel of ``design``: ``(..., T) -> (..., F, T)``.

    Linear path: gain, ``lin_ngt`` gammatone sections, ``lin_nlp`` low-passes. Nonlinear
    path: ``nlin_ngt`` sections, broken stick ``sign(y)·min(a|y|, b|y|^c)``, ``nlin_ngt``
    sections, ``nlin_nlp`` low-passes. Output: the sum. Differentiable in ``x``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Sound pressure in Pa after the outer- and middle-ear filters (AMT applies
        ``headphonefilter`` and ``middleearfilter`` first, not delay-compensated).
    design : RelanoDRNLDesign
        From :func:`relanoiborra2019_drnl_design`.

    Returns
    -------
    Tensor, shape (..., F, T)
        Basilar-membrane velocity (m/s), the input's dtype.
    """
    x = x.unsqueeze(-2)

    def per_channel(t: torch.Tensor) -> torch.Tensor:
        return t.to(device=x.device, dtype=x.dtype)[:, None]

    lin = _cascade(x * per_channel(design.lin_gain), design.gt_lin, design.lin_ngt)
    lin = _cascade(lin, design.lp_lin, design.lin_nlp)
    nlin = _cascade(x.expand(*x.shape[:-2], len(design.fc), x.shape[-1]), design.gt_nlin,
                    design.nlin_ngt)
    nlin = broken_stick(nlin, per_channel(design.a), per_channel(design.b),
                        per_channel(design.c))
    nlin = _cascade(nlin, design.gt_nlin, design.nlin_ngt)
    nlin = _cascade(nlin, design.lp_nlin, design.nlin_nlp)
    return lin + nlin


# --------------------------------------------------------------------------- internal noise


def internal_noise_levels(num_channels: int) -> torch.Tensor:
    """The internal-noise level of each of the first ``num_channels`` channels in dB (re the
    100-dB convention): :data:`INTERNAL_NOISE_LEVELS` + :data:`BROADBAND_COMPENSATION`.

    Raises
    ------
    ValueError
        For more than 60 channels (AMT's table has 60 entries; AMT fails there too).
    """
    n = _checks.check_positive(num_channels, "num_channels", integer=True)
    if n > len(INTERNAL_NOISE_LEVELS):
        raise ValueError(f"the internal noise is defined for at most "
                         f"{len(INTERNAL_NOISE_LEVELS)} channels (AMT's table), got "
                         f"{n}; switch it off or use fewer channels")
    return torch.tensor([lvl + BROADBAND_COMPENSATION for lvl in INTERNAL_NOISE_LEVELS[:n]],
                        dtype=torch.float64)


def internal_noise(draws: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Scale unit-variance draws to the internal-noise levels, AMT
    ``scaletodbspl(randn(T, 1), level, 100)`` per channel.

    Each row is divided by its own rms and multiplied by ``10^((level - 100)/20)``, so the
    added noise has exactly the level (as in AMT, whatever the draws' own rms).

    Parameters
    ----------
    draws : Tensor, shape (..., F, T)
        Gaussian draws (any scale; a row of zeros is an error).
    levels : Tensor, shape (F,)
        Levels in dB re the 100-dB convention (:func:`internal_noise_levels`).

    Returns
    -------
    Tensor, shape (..., F, T)
    """
    rms = torch.sqrt(torch.mean(draws * draws, dim=-1, keepdim=True))
    if bool((rms == 0).any()):
        raise ValueError("noise_draws has a row of zeros: its level cannot be set")
    gain = torch.pow(10.0, (levels.to(draws) - 100) / 20)[:, None]
    return draws / rms * gain


# --------------------------------------------------------------------------- mfbtd


def mfbtd_mfc(umf: float = 1500.0, style: int = 1, Q: float = 2.0) -> list[float]:
    """Centre frequencies of ``relanoiborra2019_mfbtd(in, 0, umf, style, fs)``: 0 (the
    low-pass) first.

    ``style`` 1: 5 and 10 Hz (5-Hz spacing), then ``f_k = 16.67·r^k`` Hz up to ``umf``;
    ``style`` 2: ``10·r^k``; ``r = (1 + 1/(2Q))/(1 - 1/(2Q))``. With ``umf = 1500`` and
    style 1: 12 filters, the last at 992.3 Hz.

    Parameters
    ----------
    umf : float
        Upper limit in Hz (AMT: 1500).
    style : {1, 2}
        Low-pass cut-off 2.5 Hz (1) or 7.5 Hz (2), and the matching start.
    Q : float
        Quality factor of the band-passes (AMT: 2).
    """
    if style not in (1, 2):
        raise ValueError(f"style must be 1 (2.5-Hz low-pass) or 2 (7.5 Hz), got {style!r}")
    ex = (1 + 1 / (2 * Q)) / (1 - 1 / (2 * Q))
    start = 5.0 if style == 1 else 10.0
    if start >= 10:
        n = math.trunc(math.log(umf / start) / math.log(ex))
        return [0.0] + [start * ex ** float(k) for k in range(n + 1)]
    lin = [start + 5.0 * k for k in range(math.trunc((min(umf, 10.0) - start) / 5.0) + 1)]
    base = (lin[-1] + 5.0 / 2) / (1 - 1 / (2 * Q))
    n = math.trunc(math.log(umf / base) / math.log(ex))
    return [0.0] + lin + [base * ex ** float(k) for k in range(n + 1)]


def mfbtd_lowpass(fs: float, style: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The 0-Hz filter of ``relanoiborra2019_mfbtd`` (``local_solp``): a 2nd-order
    Butterworth low-pass at 2.5 Hz (style 1) or 7.5 Hz (style 2), bilinear with
    ``W0 = tan(ω0/2)``, ``Q = 1/√2``.

    Returns
    -------
    b, a : Tensor, shape (3,), float64
    """
    cutoff = 2.5 if style == 1 else 7.5
    w0 = math.tan(2 * math.pi * cutoff / fs / 2)
    q = 1 / math.sqrt(2)
    a = [1 + 1 / (q * w0) + 1 / w0 ** 2, -2 / w0 ** 2 + 2, 1 - 1 / (q * w0) + 1 / w0 ** 2]
    b = [1 / a[0], 2 / a[0], 1 / a[0]]
    return (torch.tensor(b, dtype=torch.float64),
            torch.tensor([a[0] / a[0], a[1] / a[0], a[2] / a[0]], dtype=torch.float64))


def mfbtd_design(fs: float, num_channels: int, *, umf: float = 1500.0, style: int = 1,
                 phase_insens: bool = True) -> ModFilterbankDesign:
    """The modulation filterbank of ``relanoiborra2019_mfbtd`` for ``num_channels``
    channels (the same filters in every channel: no ``fc/4`` limit).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (the audio rate: the model does not downsample).
    num_channels : int
        Number of auditory channels.
    umf : float
        Upper limit of the centre frequencies in Hz (AMT: 1500).
    style : {1, 2}
        See :func:`mfbtd_mfc`.
    phase_insens : bool
        True: the model's post-processing (real part for ``mfc <= 10`` Hz, ``|.|/√2``
        above); False: mfbtd's complex outputs (band-passes without their ×2, which
        :func:`relanoiborra2019_mfbtd` puts back).

    Returns
    -------
    ModFilterbankDesign
    """
    fs = _checks.check_fs(fs)
    n = _checks.check_positive(num_channels, "num_channels", integer=True)
    mfc = mfbtd_mfc(_checks.check_positive(umf, "umf"), style)
    if mfc[-1] >= fs / 2 or 150 >= fs / 2:
        raise ValueError(f"fs = {fs} Hz is too low for the modulation filterbank (filters "
                         f"up to {mfc[-1]:.1f} Hz and a 150-Hz low-pass)")
    bands = modfilterbank_bandpass(mfc[1:], fs, 2.0)
    mfc_t = torch.tensor(mfc, dtype=torch.float64)
    return ModFilterbankDesign(
        mfc=(mfc_t,) * n, lowpass=mfbtd_lowpass(fs, style), bandpass=(bands,) * n,
        gains=None, prefilter=modfilterbank_lowpass(fs, 150.0, order=1),
        att_factor=1 / math.sqrt(2), phase_insens=phase_insens)


def relanoiborra2019_mfbtd(x: torch.Tensor, fs: float, *, umf: float = 1500.0,
                           style: int = 1, postprocess: bool = True
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """AMT ``[fmod, out] = relanoiborra2019_mfbtd(x, 0, umf, style, fs)`` (and the model's
    post-processing ``local_mfbtdpp``).

    Parameters
    ----------
    x : Tensor, shape (..., F, T)
        Envelopes (adaptation output) of ``F`` channels.
    fs : float
        Sampling rate in Hz.
    umf, style
        See :func:`mfbtd_mfc`.
    postprocess : bool
        True: real part up to 10 Hz, ``|.|/√2`` above (real output, the model's); False:
        mfbtd's complex outputs (low-pass, then ``2·filter(b, a, ·)`` per band-pass).

    Returns
    -------
    out : Tensor, shape (..., F, M, T)
        float64 (complex128 without ``postprocess``) or the input's precision.
    fmod : Tensor, shape (M,), float64
    """
    x = _checks.check_signal(x, "x", ndim=range(2, 64), dim_names="(..., F, T)")
    design = mfbtd_design(fs, x.shape[-2], umf=umf, style=style, phase_insens=postprocess)
    out = torch.stack(modfilterbank_apply(x, design, dtype=x.dtype), dim=-3)
    if not postprocess:
        scale = torch.full((out.shape[-2], 1), 2.0, dtype=torch.float64)
        scale[0] = 1.0
        out = out * scale.to(out.device)
    return out, design.mfc[0]
