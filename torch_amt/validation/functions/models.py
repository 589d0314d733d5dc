"""Validation handlers for the AMT models: ``dau1997``, AMT 0.9.10's ``dau1997_preproc``
and ``king2019`` (torch_amt.models).

The handlers translate AMT's argument lists into the model classes' keywords, run the
model in the requested dtype and return AMT's outputs in AMT layout. Tolerances follow
AMT's measured conditioning per auditory channel (Dau) or per modulation filter (King);
see :mod:`torch_amt.validation.tolerances`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torch_amt.functional.adaptation import ADAPTLOOP_PRESETS
from torch_amt.functional.ihc import IHC_METHODS
from torch_amt.models.dau1997 import Dau1997
from torch_amt.models.king2019 import King2019
from torch_amt.stages.modulation import MODFILTERBANK_PRESETS
from torch_amt.validation.convert import amt_to_torch, torch_to_amt, torch_to_row
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.tolerances import checked_by_frequency
from torch_amt.validation.values import parse_ltfat_args

_DAU_KEYS = ("flow", "fhigh", "basef", "bwmul", "dboffset", "subfs")


def _dau_options(rest: list, amt0910: bool) -> dict[str, Any]:
    parsed = parse_ltfat_args(rest, ("flow", "fhigh"), _DAU_KEYS)
    opts: dict[str, Any] = {k: float(parsed.get(k)) for k in _DAU_KEYS if parsed.get(k) is not None}
    if amt0910:
        # AMT 0.9.10's dau1997_preproc = AMT 1.4.0 dau1997(..., 'mfb_verhey1999')
        opts["modulation"] = "mfb_verhey1999"
    for flag in parsed.flags:
        if flag in ("no_ihc", "no_adt", "no_mfb"):
            opts[flag[3:]] = False
        elif flag in ("ihc", "adt", "mfb", "no_outerear", "no_middleear"):
            opts.setdefault(flag, True) if not flag.startswith("no_") else None
        elif flag == "outerear":
            opts["outerear"] = True
        elif flag in ("middleear", "jepsen2008"):
            opts["middleear"] = "lopezpoveda2001" if flag == "middleear" else "jepsen2008"
        elif flag in MODFILTERBANK_PRESETS:
            opts["modulation"] = flag
        elif flag in ADAPTLOOP_PRESETS:
            opts["adaptation"] = flag
        elif flag in IHC_METHODS:
            opts["ihc_method"] = flag
        else:
            raise NotCovered(f"dau1997 flag {flag!r} is not covered")
    return opts


def _dau_outputs(ctx: Context, args: list, nargout: int, amt0910: bool) -> tuple:
    if len(args) < 2:
        raise NotCovered("dau1997 needs insig and fs")
    opts = _dau_options(list(args[2:]), amt0910)
    fs = float(args[1])
    model = Dau1997(fs, dtype=ctx.dtype, **opts)
    x = amt_to_torch(args[0], ctx.dtype)
    with torch.no_grad():
        stages = model(x, return_stages=True)
    fc = model.fc.detach().double().numpy()
    out = stages["out"]
    if model.mfb is not None:
        cell = [torch_to_amt(ch[0]) for ch in out]
        value = checked_by_frequency(cell, "dau1997_modulation", fc)
    else:
        last = "adt" if model.adt is not None else ("ihc" if model.ihc is not None else "afb")
        table = "dau1997_adaptation" if last == "adt" else "auditoryfilterbank"
        value = checked_by_frequency(torch_to_amt(out[0]), table, fc)
    outputs: list[Any] = [value, torch_to_row(model.fc.detach())]
    if nargout >= 3:
        if model.mfb is None:
            raise NotCovered("dau1997 returns mfc only with the modulation filterbank")
        outputs.append(torch_to_row(model.mfc[-1]))
    return tuple(outputs[:max(nargout, 1)])


@amt_function("dau1997")
def dau1997(ctx: Context, args: list, nargout: int) -> tuple:
    """``[outsig, fc, mfc] = dau1997(insig, fs, flow, fhigh, flags...)`` (AMT 1.4.0)."""
    if ctx.is_amt0910:
        raise NotCovered("AMT 0.9.10 dau1997 is not covered (its files call dau1997_preproc)")
    return _dau_outputs(ctx, args, nargout, amt0910=False)


@amt_function("dau1997_preproc")
def dau1997_preproc(ctx: Context, args: list, nargout: int) -> tuple:
    """AMT 0.9.10 ``[outsig, fc, mfc] = dau1997_preproc(insig, fs, flow, fhigh)``."""
    return _dau_outputs(ctx, args, nargout, amt0910=True)


_KING_KEYS = ("basef", "flow", "fhigh", "dboffset", "subfs", "compression_n",
              "compression_knee_dB", "mflow", "mfhigh", "modbank_Qfactor", "modbank_Nmod",
              "adt_HP_fc", "adt_HP_order", "phase_insens_cut")
_KING_FLAGS = {
    "compression_brokenstick": ("compression", "brokenstick"),
    "compression_power": ("compression", "power"),
    "no_compression": ("compression", "none"),
    "LP_150_Hz": ("lp150", True), "no_LP_150_Hz": ("lp150", False),
    "phase_insens_hilbert": ("phase_insens", True), "no_phase_insens": ("phase_insens", False),
}


def king2019_model(ctx: Context, fs: float, rest: list) -> King2019:
    """The :class:`King2019` model an AMT ``king2019`` argument list describes."""
    parsed = parse_ltfat_args(rest, ("basef",), _KING_KEYS)
    kw: dict[str, Any] = {}
    for flag in parsed.flags:
        if flag in _KING_FLAGS:
            key, value = _KING_FLAGS[flag]
            kw[key] = value
        elif flag in IHC_METHODS:
            kw["ihc_method"] = flag
        elif flag not in ("afb", "ihc", "adt", "mfb", "no_debug"):
            raise NotCovered(f"king2019 flag {flag!r} is not covered")
    names = {"flow": "flow", "fhigh": "fhigh", "dboffset": "dboffset", "subfs": "subfs",
             "compression_knee_dB": "compression_knee_db", "mflow": "mflow",
             "mfhigh": "mfhigh", "modbank_Qfactor": "qfactor", "adt_HP_fc": "adt_hp_fc"}
    for amt_name, name in names.items():
        if parsed.get(amt_name) is not None:
            kw[name] = float(parsed.get(amt_name))
    if parsed.get("compression_n") is not None:
        kw["compression_n"] = np.asarray(parsed.get("compression_n"), float).reshape(-1).tolist()
    for amt_name, name in (("modbank_Nmod", "nmod"), ("adt_HP_order", "adt_hp_order")):
        if parsed.get(amt_name) is not None:
            kw[name] = int(parsed.get(amt_name))
    if parsed.get("phase_insens_cut") not in (None, 10, 10.0):
        raise NotCovered("king2019 with a phase_insens_cut other than 10 Hz is not covered")
    basef = parsed.get("basef")
    return King2019(fs, None if basef is None else float(basef), dtype=ctx.dtype, **kw)


@amt_function("king2019")
def king2019(ctx: Context, args: list, nargout: int) -> tuple:
    """``[outsig, fc, mfc, step] = king2019(insig, fs, basef, ...)``; ``step`` as a struct."""
    if len(args) < 2:
        raise NotCovered("king2019 needs insig and fs")
    fs = float(args[1])
    model = king2019_model(ctx, fs, list(args[2:]))
    x = amt_to_torch(args[0], ctx.dtype)
    with torch.no_grad():
        st = model(x, return_stages=True)
    fc = model.fc.detach().double().numpy()
    mfc = model.mfc.detach().double().numpy()

    def per_channel(name: str, table: str = "auditoryfilterbank") -> Any:
        return checked_by_frequency(torch_to_amt(st[name][0]), table, fc)

    outsig = checked_by_frequency(torch_to_amt(st["out"][0]), "king2019_mfc", mfc, 2)
    outputs: list[Any] = [outsig, torch_to_row(model.fc.detach()), torch_to_row(model.mfc)]
    if nargout >= 4:
        b_hp, a_hp = model.adt.coefficients()
        outputs.append({
            "gtone_response": per_channel("gtone_response"),
            "compressed_response": per_channel("compressed_response"),
            "ihc": per_channel("ihc"),
            "a_adapt_HP": torch_to_row(a_hp.detach()),
            "b_adapt_HP": torch_to_row(b_hp.detach()),
            "adapted_response": per_channel("adapted_response", "king2019_adapted_response"),
            "a_mfb": model.mfb.a.detach().double().numpy(),
            "b_mfb": model.mfb.b.detach().double().numpy(),
            "E_mod": checked_by_frequency(torch_to_amt(st["E_mod"][0]), "king2019_mfc", mfc, 2),
            "fmc": torch_to_row(model.mfc),
            "subfs": float(model.output_fs),
        })
    return tuple(outputs[:max(nargout, 1)])
