"""Adaptation loops (AMT ``adaptloop``), stateless.

Five (in general ``L``) feedback loops in series, each dividing its input by a low-passed
copy of its own output (Püschel 1988; Dau et al. 1996a), optionally with the overshoot
limitation of Münkner (1993) / Dau et al. (1997a). The recurrence runs in
:func:`torch_amt.dsp.adaptloop.adaptloop_recurrence`; this module derives its
coefficients exactly as AMT 1.4.0's ``comp_adaptloop.m`` does (same operations in the
same order; ``exp``/``pow`` of the C library on CPU), and holds the AMT presets.

Level convention: AMT's adaptation loops assume ``dboffset = 100`` (an rms of 1 is
100 dB SPL); ``minspl`` in dB is converted with it (``0 dB -> 1e-5``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from torch_amt._checks import check_choice, check_fs, check_number, check_signal, check_values
from torch_amt.dsp import libm
from torch_amt.dsp.streaming import adaptloop_recurrence

__all__ = ["AdaptLoopPreset", "ADAPTLOOP_PRESETS", "adaptloop", "adaptloop_core",
           "minspl_to_minlvl", "resolve_adaptloop"]

#: Dau et al. (1996a) time constants in s.
_TAU_DAU1996 = (0.005, 0.050, 0.129, 0.253, 0.500)
#: Püschel (1988): linspace(0.005, 0.5, 5) as Octave computes it.
_TAU_PUSCHEL1988 = (0.005, 0.12875, 0.2525, 0.37625, 0.5)
#: AMT adaptloop's level convention (SPL of an rms of 1).
ADAPTLOOP_DBOFFSET = 100.0


@dataclass(frozen=True)
class AdaptLoopPreset:
    """One AMT ``adaptloop`` flag group (``arg_adaptloop``).

    Attributes
    ----------
    name : str
        AMT group name.
    tau : tuple of float
        Time constants of the loops in s (their number is the number of loops).
    limit : float
        Overshoot limit; ``limit <= 1`` means no limitation.
    minspl : float
        Minimum level: dB SPL re ``dboffset = 100``, or a linear floor if in (0, 1).
    """

    name: str
    tau: tuple[float, ...]
    limit: float
    minspl: float = 0.0


#: AMT 1.4.0 ``adaptloop`` presets. ``adt_relanoiborra2019``'s minspl is AMT's
#: ``dbspl(2e-7, [], 100)`` = 20·log10(2e-7) + 100 ≈ -33.98 dB.
ADAPTLOOP_PRESETS: dict[str, AdaptLoopPreset] = {
    p.name: p
    for p in (
        AdaptLoopPreset("adt_dau1997", _TAU_DAU1996, 10.0),
        AdaptLoopPreset("adt_dau1996", _TAU_DAU1996, 0.0),
        AdaptLoopPreset("adt_puschel1988", _TAU_PUSCHEL1988, 0.0),
        AdaptLoopPreset("adt_breebaart2001", _TAU_PUSCHEL1988, 0.0),
        AdaptLoopPreset("adt_osses2021", _TAU_DAU1996, 5.0),
        AdaptLoopPreset("adt_relanoiborra2019", _TAU_DAU1996, 10.0,
                        20 * math.log10(2e-7) + ADAPTLOOP_DBOFFSET),
    )
}


def minspl_to_minlvl(minspl, dtype: torch.dtype = torch.float64,
                     device: torch.device | str | None = None) -> torch.Tensor:
    """AMT ``adaptloop``'s minimum level rule, per element.

    ``0 < minspl < 1`` is taken as a linear floor as it is; any other value is a level
    in dB SPL re ``dboffset = 100``: ``10^((minspl - 100) / 20)`` (so 0 dB -> 1e-5).

    Parameters
    ----------
    minspl : float or sequence of float or Tensor, shape () or (C,)
        Minimum level(s), one per channel allowed.

    Returns
    -------
    Tensor, shape (C,) (``(1,)`` for a scalar)
    """
    values = check_values(minspl, "minspl", nonempty=False).detach().reshape(-1).cpu().tolist()
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"minspl must be finite (dB SPL, or a linear level in (0, 1)), got "
                         f"{minspl!r}")
    too_high = [v for v in values if v >= 1 and v - ADAPTLOOP_DBOFFSET > 6000]
    if too_high:
        raise ValueError(f"minspl must be a level in dB SPL of at most {ADAPTLOOP_DBOFFSET + 6000} "
                         f"(or a linear level in (0, 1)), got {too_high[0]}")
    lin = [v if 0 < v < 1 else math.pow(10.0, (v - ADAPTLOOP_DBOFFSET) / 20) for v in values]
    return torch.tensor(lin, dtype=dtype, device=device)


def resolve_adaptloop(preset: str = "adt_dau1997", limit=None, minspl=None,
                      tau=None) -> AdaptLoopPreset:
    """A preset with AMT keyval overrides applied (None keeps the preset's value)."""
    base = ADAPTLOOP_PRESETS[check_choice(preset, "preset", tuple(ADAPTLOOP_PRESETS))]
    if tau is not None:
        tau = tuple(check_values(tau, "tau (time constants in s)", positive=True)
                    .detach().reshape(-1).tolist())
    if limit is not None:
        limit = check_number(limit, "limit (<= 1: no overshoot limitation)")
    if minspl is not None and (isinstance(minspl, str)
                               or not isinstance(minspl, (int, float, Sequence, torch.Tensor))):
        raise TypeError(f"minspl must be a number, a sequence or a tensor, got "
                        f"{type(minspl).__name__}")
    return AdaptLoopPreset(base.name,
                           base.tau if tau is None else tau,
                           base.limit if limit is None else float(limit),
                           base.minspl if minspl is None else minspl)


def adaptloop_core(x: torch.Tensor, fs: float, tau: torch.Tensor, limit: torch.Tensor | float,
                   minlvl: torch.Tensor, limited: bool) -> torch.Tensor:
    """Adaptation loops with explicit (possibly learnable) parameters.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Input (e.g. IHC envelope ``(B, F, T)``).
    fs : float
        Sampling rate in Hz.
    tau : Tensor, shape (L,)
        Time constants in s (may require grad).
    limit : Tensor or float
        Overshoot limit (may require grad; only used when ``limited``).
    minlvl : Tensor, shape (1,) or (C,)
        Linear minimum level(s); ``C`` must equal ``x.shape[-2]`` when > 1.
    limited : bool
        Overshoot limitation on (AMT: ``limit > 1``).

    Returns
    -------
    Tensor, shape (..., T)
        Output in model units, dtype of ``x``.
    """
    n_t = x.shape[-1]
    n_ch = minlvl.numel()
    if n_ch > 1 and (x.ndim < 2 or x.shape[-2] != n_ch):
        raise ValueError(f"a per-channel minspl of {n_ch} values needs x of shape "
                         f"(..., {n_ch}, T), got {tuple(x.shape)}")
    f64 = dict(dtype=torch.float64, device=x.device)
    tau = tau.to(**f64)
    minlvl = minlvl.detach().to(**f64).reshape(-1, 1)  # (C, 1)
    n_loops = tau.numel()
    # comp_adaptloop.m, line by line
    b0 = 1 / (tau * fs)
    a1 = libm.exp(-b0)
    b0 = 1 - a1
    corr = libm.pow(minlvl, 1 / 2**n_loops)  # (C, 1)
    mult = 100 / (1 - corr)
    s0 = libm.pow(minlvl, 1 / 2 ** torch.arange(1, n_loops + 1, **f64))  # (C, L)
    maxvalue = (1 - s0 * s0) * limit - 1
    factor = maxvalue * 2
    expfac = -2 / maxvalue
    offset = maxvalue - 1
    # rows: broadcast the per-channel constants over the leading axes
    lead = x.shape[:-1]
    rows = x.reshape(-1, n_t)
    n_rows = rows.shape[0]

    def per_row(c: torch.Tensor) -> torch.Tensor:
        return c.expand(*lead[:-1], n_ch, c.shape[-1]).reshape(n_rows, c.shape[-1]) if n_ch > 1 \
            else c.expand(n_rows, c.shape[-1])

    # the floor (in float64, so that e.g. silence in float32 sees AMT's exact minimum
    # level) and the scaling to model units run inside the recurrence's one pass
    y = adaptloop_recurrence(rows, a1[None], b0[None], per_row(s0), per_row(factor),
                             per_row(expfac), per_row(offset), limited,
                             floor=per_row(minlvl)[:, 0], corr=per_row(corr)[:, 0],
                             mult=per_row(mult)[:, 0], dtype=x.dtype)
    return y.reshape(x.shape)


def adaptloop(x: torch.Tensor, fs: float, limit: float | None = None, minspl=None,
              tau=None, *, preset: str = "adt_dau1997") -> torch.Tensor:
    """Adaptation loops, AMT ``adaptloop(x, fs, limit, minspl, tau)`` / ``(x, fs, preset)``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Input, typically the IHC envelope ``(B, F, T)`` in the ``dboffset = 100``
        convention; time is the last axis.
    fs : float
        Sampling rate in Hz.
    limit : float, optional
        Overshoot limit (AMT positional/keyval ``limit``); ``<= 1`` disables the
        limitation. Default: the preset's (10 for ``adt_dau1997``).
    minspl : float or sequence or Tensor, optional
        Minimum level (AMT ``minspl``): dB SPL re 100 dB, or a linear floor if in (0, 1);
        a sequence gives one value per channel (``x.shape[-2]``). Default: the preset's
        (0 dB -> 1e-5).
    tau : sequence of float, optional
        Time constants in s (AMT ``tau``; their number sets the number of loops).
        Default: the preset's.
    preset : str
        AMT group: ``'adt_dau1997'`` (default: Dau et al. 1997a, limit 10),
        ``'adt_dau1996'`` (no limitation), ``'adt_puschel1988'`` and
        ``'adt_breebaart2001'`` (linearly spaced tau 5–500 ms, no limitation),
        ``'adt_osses2021'`` (limit 5), ``'adt_relanoiborra2019'`` (limit 10, minspl
        ≈ -33.98 dB i.e. a floor of 2e-7).

    Returns
    -------
    Tensor, shape (..., T)
        Adapted signal in model units (AMT's ``(y - corr) · 100 / (1 - corr)``), dtype of
        ``x``. Silence gives a constant (≈ -3.67e-14 in float64, as in AMT).

    References
    ----------
    D. Püschel, "Prinzipien der zeitlichen Analyse beim Hören," PhD thesis, Universität
    Göttingen (1988). T. Dau, D. Püschel, and A. Kohlrausch, J. Acoust. Soc. Am. 99(6),
    3615–3622 (1996a). T. Dau, B. Kollmeier, and A. Kohlrausch, J. Acoust. Soc. Am.
    102, 2892–2905 (1997a). J. Breebaart, S. van de Par, and A. Kohlrausch, J. Acoust.
    Soc. Am. 110, 1074–1088 (2001). H. Relaño-Iborra, J. Zaar, and T. Dau, J. Acoust.
    Soc. Am. 146(5) (2019).
    """
    x = check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
    fs = check_fs(fs)
    cfg = resolve_adaptloop(preset, limit, minspl, tau)
    tau_t = torch.tensor(cfg.tau, dtype=torch.float64, device=x.device)
    minlvl = minspl_to_minlvl(cfg.minspl, device=x.device)
    return adaptloop_core(x, fs, tau_t, cfg.limit, minlvl, cfg.limit > 1)
