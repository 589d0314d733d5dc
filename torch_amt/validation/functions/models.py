"""Validation handlers for the AMT models: ``dau1997``, AMT 0.9.10's ``dau1997_preproc``
and ``king2019`` (torch_amt.models).

The handlers translate AMT's argument lists into the model classes' keywords, run the
model in the requested dtype and return AMT's outputs in AMT layout. Tolerances follow
AMT's measured conditioning per auditory channel (Dau) or per modulation filter (King);
see :mod:`torch_amt.validation.tolerances`.
"""

from __future__ import annotations

from typing import Any

import torch

from torch_amt.models.base import AuditoryModel
from torch_amt.models.dau1997 import Dau1997
from torch_amt.models.king2019 import King2019
from torch_amt.validation.convert import amt_to_torch, torch_to_amt, torch_to_row
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.tolerances import checked_by_frequency
from torch_amt.validation.values import parse_ltfat_args


def _model_options(cls: type[AuditoryModel], rest: list, posnames: tuple[str, ...],
                   keys: tuple[str, ...]) -> dict[str, Any]:
    """The keyword arguments of ``cls`` for an AMT argument list (the model's own
    :meth:`~torch_amt.models.AuditoryModel.amt_options` translation)."""
    parsed = parse_ltfat_args(rest, posnames, keys)
    try:
        return cls.amt_options(parsed.flags, parsed.keyvals)
    except ValueError as err:
        raise NotCovered(str(err)) from err


def _dau_outputs(ctx: Context, args: list, nargout: int, amt0910: bool) -> tuple:
    if len(args) < 2:
        raise NotCovered("dau1997 needs insig and fs")
    opts = _model_options(Dau1997, list(args[2:]), ("flow", "fhigh"),
                          ("flow", "fhigh", "basef", "bwmul", "dboffset", "subfs"))
    if amt0910:
        # AMT 0.9.10's dau1997_preproc = AMT 1.4.0 dau1997(..., 'mfb_verhey1999')
        opts["mfb_preset"] = "mfb_verhey1999"
    fs = float(args[1])
    model = Dau1997(fs, dtype=ctx.dtype, **opts)
    x = amt_to_torch(args[0], ctx.dtype)
    with torch.no_grad():
        stages = model(x, return_stages=True)
    fc = model.fc.detach().double().numpy()
    out = stages["out"]
    if "mfb" in model.chain:
        cell = [torch_to_amt(ch[0]) for ch in out]
        value = checked_by_frequency(cell, "dau1997_modulation", fc)
    else:
        last = model.chain[-1]
        table = "dau1997_adaptation" if last == "adt" else "auditoryfilterbank"
        value = checked_by_frequency(torch_to_amt(out[0]), table, fc)
    outputs: list[Any] = [value, torch_to_row(model.fc.detach())]
    if nargout >= 3:
        if "mfb" not in model.chain:
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


def king2019_model(ctx: Context, fs: float, rest: list) -> King2019:
    """The :class:`King2019` model an AMT ``king2019`` argument list describes."""
    keys = ("basef", "flow", "fhigh", "dboffset", "subfs", "compression_n",
            "compression_knee_dB", "mflow", "mfhigh", "modbank_Qfactor", "modbank_Nmod",
            "adt_HP_fc", "adt_HP_order", "phase_insens_cut")
    return King2019(fs, dtype=ctx.dtype, **_model_options(King2019, rest, ("basef",), keys))


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

    def per_channel(value: torch.Tensor, table: str = "auditoryfilterbank") -> Any:
        return checked_by_frequency(torch_to_amt(value[0]), table, fc)

    outsig = checked_by_frequency(torch_to_amt(st["out"][0]), "king2019_mfc", mfc, 2)
    compressed = st["compression"] if "compression" in model.chain else st["afb"]
    outputs: list[Any] = [outsig, torch_to_row(model.fc.detach()), torch_to_row(model.mfc)]
    if nargout >= 4:
        b_hp, a_hp = model.adt.coefficients()
        with torch.no_grad():
            _, e_mod = model.mfb(st["adt"], return_filtered=True)
        outputs.append({
            "gtone_response": per_channel(st["afb"]),
            "compressed_response": per_channel(compressed),
            "ihc": per_channel(st["ihc"]),
            "a_adapt_HP": torch_to_row(a_hp.detach()),
            "b_adapt_HP": torch_to_row(b_hp.detach()),
            "adapted_response": per_channel(st["adt"], "king2019_adapted_response"),
            "a_mfb": model.mfb.a.detach().double().numpy(),
            "b_mfb": model.mfb.b.detach().double().numpy(),
            "E_mod": checked_by_frequency(torch_to_amt(e_mod[0]), "king2019_mfc", mfc, 2),
            "fmc": torch_to_row(model.mfc),
            "subfs": float(model.output_fs),
        })
    return tuple(outputs[:max(nargout, 1)])
