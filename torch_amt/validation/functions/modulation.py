"""Validation handlers for AMT ``modfilterbank`` and ``king2019_modfilterbank``.

Tolerances: torch_amt builds the modulation filters with Octave's ``butter`` arithmetic
and AMT's scalar expressions, and :func:`torch_amt.dsp.lfilter` runs Octave's recursion,
so the visible reference files agree to ~1e-15. The policy default (1e-9) is used for
``modfilterbank`` (well-conditioned one-pole filters; the 2.5-Hz low-pass is exact in
its coefficients). ``king2019_modfilterbank`` outputs are checked per modulation filter
with 10x AMT's own conditioning floor (2.9e-5 at 2 Hz, 1.8e-5 at 5.2 Hz, 1.9e-6 at
13.7 Hz; reference README) where that exceeds 1e-9: its 4-pole band-passes at 2–5 Hz
amplify one-ulp differences (of input or coefficients) by ~1e5.

AMT 0.9.10 (``amt0910_*`` files) had no flags: its ``modfilterbank`` is AMT 1.4.0's
``mfb_verhey1999`` (upper limit min(0.25·fc, 1000 Hz), no 150-Hz low-pass, factor 1;
checked bit for bit by the reference generator, README quirk 3).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_amt.functional.king2019_modfilterbank import (
    king2019_modfilterbank_apply,
    king2019_modfilterbank_design,
)
from torch_amt.functional.modfilterbank import (
    MODFILTERBANK_PRESETS,
    modfilterbank,
    modfilterbank_design,
    modfilterbank_lowpass,
)
from torch_amt.validation.convert import amt_to_torch, torch_to_amt, torch_to_array, torch_to_row
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.tolerances import checked_by_frequency
from torch_amt.validation.values import parse_ltfat_args

_MFB_KEYS = ("Q_mfb", "mfc_upper_limit_max", "mfc")
_MFB_FLAGS = {
    "mfc_upper_limit": ("use_upper_limit", True), "no_mfc_upper_limit": ("use_upper_limit", False),
    "LP_150_Hz": ("lp150", "filter"), "no_LP_150_Hz": ("lp150", "off"),
    "LP_150_Hz_att": ("lp150", "att_gain"),
    "phase_insens_hilbert": ("phase_insens", True), "no_phase_insens": ("phase_insens", False),
    "att_factor": ("att_factor", 1 / np.sqrt(2)), "no_att_factor": ("att_factor", 1.0),
}


def _modfilterbank_settings(ctx: Context, rest: list) -> dict[str, Any]:
    base = MODFILTERBANK_PRESETS["mfb_verhey1999" if ctx.is_amt0910 else "mfb_jepsen2008"]
    s: dict[str, Any] = {"use_upper_limit": base.use_upper_limit, "lp150": base.lp150,
                         "att_factor": base.att_factor, "phase_insens": True, "Q": 2.0,
                         "max_mfc": 1000.0}
    if ctx.is_amt0910 and rest:
        raise NotCovered("AMT 0.9.10 modfilterbank options are not covered")
    parsed = parse_ltfat_args(rest, (), _MFB_KEYS)
    for flag in parsed.flags:
        if flag in MODFILTERBANK_PRESETS:
            p = MODFILTERBANK_PRESETS[flag]
            s.update(use_upper_limit=p.use_upper_limit, lp150=p.lp150, att_factor=p.att_factor)
        elif flag in _MFB_FLAGS:
            key, value = _MFB_FLAGS[flag]
            s[key] = value
        elif flag not in ("mfb",):
            raise NotCovered(f"modfilterbank flag {flag!r} is not covered")
    if parsed.get("Q_mfb") is not None:
        s["Q"] = float(parsed.get("Q_mfb"))
    if parsed.get("mfc_upper_limit_max") is not None:
        s["max_mfc"] = float(parsed.get("mfc_upper_limit_max"))
    if parsed.get("mfc") is not None:
        raise NotCovered("modfilterbank key 'mfc' is not covered")
    return s


def _num2str(x: float) -> str:
    """Octave ``num2str`` of a real scalar."""
    if x == int(x):
        return str(int(x))
    digits = min(max(int(np.floor(np.log10(abs(x)))) + 5, 5), 16)
    return f"{x:.{digits}g}"


def _params(fs: float, fc: np.ndarray, s: dict[str, Any]) -> dict[str, Any]:
    """AMT's 3rd output: rows of the longest channel's filters (rows are never cleared)."""
    design = modfilterbank_design(fs, fc, Q=s["Q"], max_mfc=s["max_mfc"],
                                  use_upper_limit=s["use_upper_limit"], lp150=s["lp150"])
    longest = max(range(len(design.mfc)), key=lambda ch: len(design.mfc[ch]))
    bb, aa = design.bandpass[longest]
    b = np.zeros((len(design.mfc[longest]), 3))
    a = np.zeros((len(design.mfc[longest]), 3), dtype=complex)
    b[0], a[0] = design.lowpass[0].numpy(), design.lowpass[1].numpy()
    b[1:, :1], a[1:, :2] = bb.numpy(), aa.numpy()
    out: dict[str, Any] = {"mfb_b": b, "mfb_a": a, "fs": fs,
                           "description": "Coefficients for all modulation filters used in "
                                          f"modfilterbank obtained at fs={_num2str(fs)}"}
    if s["lp150"] != "off":
        b150, a150 = modfilterbank_lowpass(fs, 150.0, order=1)
        out.update(b_lp_150_Hz=torch_to_row(b150), a_lp_150_Hz=torch_to_row(a150))
    return out


@amt_function("modfilterbank")
def modfilterbank_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``[outsig, mfc, params] = modfilterbank(insig, fs, fc, flags...)``.

    ``outsig`` is a cell {channel}(time x modfilter); ``mfc`` the last channel's.
    """
    if len(args) < 3:
        raise NotCovered("modfilterbank needs insig, fs and fc")
    insig, fs = np.asarray(args[0], dtype=float), float(args[1])
    fc = np.asarray(args[2], dtype=float).reshape(-1)
    if fc.size == 0:
        raise NotCovered("modfilterbank without fc (filterbank bypassed) is not covered")
    s = _modfilterbank_settings(ctx, list(args[3:]))
    x = amt_to_torch(insig.reshape(insig.shape[0], -1), ctx.dtype)
    outs, mfcs = modfilterbank(x, fs, fc, Q=s["Q"], max_mfc=s["max_mfc"],
                               use_upper_limit=s["use_upper_limit"], lp150=s["lp150"],
                               att_factor=s["att_factor"], phase_insens=s["phase_insens"])
    cell = [torch_to_amt(o) for o in outs]
    result: list[Any] = [cell]
    if nargout >= 2:
        result.append(torch_to_row(mfcs[-1]))
    if nargout >= 3:
        result.append(_params(fs, fc, s))
    return tuple(result)


@amt_function("king2019_modfilterbank")
def king2019_modfilterbank_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``[outsig, mfc, step] = king2019_modfilterbank(insig, fs, 'argimport', flags, kv)``.

    ``outsig`` is time x channel x modfilter, checked per modulation filter.
    """
    if len(args) < 2:
        raise NotCovered("king2019_modfilterbank needs insig and fs")
    insig, fs = np.asarray(args[0], dtype=float), float(args[1])
    parsed = parse_ltfat_args(list(args[2:]), ("basef",),
                              ("basef", "flow", "fhigh", "dboffset", "subfs", "compression_n",
                               "compression_knee_dB", "compression_a", "compression_b",
                               "gamma_order", "mflow", "mfhigh", "modbank_Qfactor",
                               "modbank_Nmod", "adt_HP_fc", "adt_HP_order", "phase_insens_cut",
                               "bwmul", "mfc"))
    if not parsed.sources:
        raise NotCovered("king2019_modfilterbank has no defaults of its own (needs 'argimport')")
    lp150 = phase_insens = None
    for flag in parsed.flags:
        if flag in ("LP_150_Hz", "no_LP_150_Hz"):
            lp150 = flag == "LP_150_Hz"
        elif flag in ("phase_insens_hilbert", "no_phase_insens"):
            phase_insens = flag == "phase_insens_hilbert"
    nmod = parsed.get("modbank_Nmod")
    kw = dict(mflow=float(parsed.get("mflow", 2.0)), mfhigh=float(parsed.get("mfhigh", 150.0)),
              qfactor=float(parsed.get("modbank_Qfactor", 1.0)),
              nmod=None if nmod is None else int(nmod), lp150=bool(lp150),
              phase_insens=phase_insens is not False,
              phase_insens_cut=float(parsed.get("phase_insens_cut", 10.0)))
    x = amt_to_torch(insig.reshape(insig.shape[0], -1), ctx.dtype)
    design = king2019_modfilterbank_design(fs, **kw)
    y, e_mod = king2019_modfilterbank_apply(x, design, return_filtered=True)
    mfc_np = design.mfc.numpy()
    result: list[Any] = [checked_by_frequency(torch_to_amt(y), "king2019_mfc", mfc_np,
                                              split_axis=2)]
    if nargout >= 2:
        result.append(torch_to_row(design.mfc))
    if nargout >= 3:
        step: dict[str, Any] = {
            "a": torch_to_array(design.a), "b": torch_to_array(design.b), "fs_design": fs,
            "E_mod": checked_by_frequency(torch_to_amt(e_mod), "king2019_mfc", mfc_np,
                                          split_axis=2),
            "fmc": torch_to_row(design.mfc)}
        if kw["phase_insens"]:
            step["E_phase_ins"] = result[0]
        result.append(step)
    return tuple(result)
