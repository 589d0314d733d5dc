"""Validation handlers for AMT 1.4.0 ``glasberg2002`` (:class:`torch_amt.Glasberg2002`) and
``data_glasberg2002``.

``results = glasberg2002(insig, fs, flags..., key, val)`` returns AMT's struct: ``eLdB``
(block x band, complex where the excitation is negative, as AMT's), ``erbN`` (row),
``monauralLoudness``, ``binauralLoudness``, ``STL``, ``LTL`` (columns).
``data = data_glasberg2002(flag, 'fVec', f)`` returns the tables' fields
(``'tfOuterMiddle1997'``: ``tfOuterMiddle``, ``tfOuter``, ``tfMiddle``, ``fOuter``,
``fMiddle``; ``'tfOuterMiddle2007'``: ``tfOuterMiddle``; ``'specLoud'``: ``tQ``, ``tQ500``,
``g``, ``a``, ``alpha``, ``c``), rows like ``fVec``.

Tolerances: ``eLdB`` and ``erbN`` at the default 1e-9. The four loudness outputs are
checked against AMT's own rounding error (its conditioning floor), where that exceeds
1e-9: the specific-loudness law evaluates ``(G·E + a)^α − a^α`` with ``G·E`` ~1e-10 or
less next to ``a`` ≈ 4.7 (the excitation enters in Pa², quirk 16), so AMT's float64
loudness keeps only ``log10(a/(G·E))`` fewer digits; the tolerance is the first-order
bound of that rounding (:func:`torch_amt.functional.glasberg2002.loudness_rounding_bound`,
computed from this run's excitation, max over the blocks, relative to the largest
output value), 1x the bound. On the visible reference set the errors are 0.03 ... 0.16 of
it (up to 2e-3 relative for a 50-dB tone burst, whose loudness is pure rounding in its
silent parts; below 1e-10 for a 70-dB noise). ``STL`` and ``LTL`` are convex
combinations of the instantaneous loudness and inherit its absolute bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torch_amt.functional.glasberg2002 import (
    excitation_level_db,
    instantaneous_loudness,
    loudness_rounding_bound,
    outer_middle_ear_db,
    outer_middle_ear_tables,
    specific_loudness_parameters,
)
from torch_amt.models.glasberg2002 import _AMT_KEYS, Glasberg2002
from torch_amt.validation.convert import amt_to_torch, torch_to_amt, torch_to_row
from torch_amt.validation.functions.models import _model_options
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import Checked, parse_ltfat_args

_FLOOR_REASON = ("AMT's float64 loudness is rounded: (G·E + a)^α − a^α cancels (G·E ≪ a ≈ "
                 "4.7, E in Pa², quirk 16); tolerance = 1x the first-order rounding bound of "
                 "that law summed over the bands (loudness_rounding_bound, max over blocks) "
                 "relative to the largest value")


def _floor_checked(value: np.ndarray, bound: float) -> Checked | np.ndarray:
    """``value`` checked against ``bound`` (absolute) relative to its largest magnitude."""
    peak = float(np.abs(value).max()) if value.size else 0.0
    if peak == 0.0 or bound == 0.0:
        return value
    return Checked(value, tol=bound / peak, reason=_FLOOR_REASON)


@amt_function("glasberg2002")
def glasberg2002(ctx: Context, args: list, nargout: int) -> tuple:
    """``results = glasberg2002(insig, fs, flags..., key, val)``."""
    if len(args) < 2:
        raise NotCovered("glasberg2002 needs insig and fs")
    insig = np.asarray(args[0])
    if insig.ndim > 2 or (insig.ndim == 2 and min(insig.shape) > 1):
        raise NotCovered("glasberg2002 is monaural: a single-column insig is covered")
    opts = _model_options(Glasberg2002, list(args[2:]), (), tuple(_AMT_KEYS))
    model = Glasberg2002(float(args[1]), dtype=ctx.dtype, **opts)
    x = amt_to_torch(insig.reshape(-1, 1), ctx.dtype)[0]
    with torch.no_grad():
        stages = model(x, return_stages=True)
    excitation = stages["excitation"]
    fc = model.fc.detach().cpu().numpy()
    mono = instantaneous_loudness(stages["specificloudness"])
    out = stages["out"]
    bound = 0.0
    if not torch.is_complex(excitation):
        bound = float(loudness_rounding_bound(excitation, fc).max())
    results: dict[str, Any] = {
        "eLdB": torch_to_amt(excitation_level_db(excitation)),
        "erbN": torch_to_row(model.erb_n),
        "monauralLoudness": _floor_checked(torch_to_amt(mono), bound / 2),
        "binauralLoudness": _floor_checked(torch_to_amt(out[0]), bound),
        "STL": _floor_checked(torch_to_amt(out[1]), bound),
        "LTL": _floor_checked(torch_to_amt(out[2]), bound),
    }
    return (results,)


@amt_function("data_glasberg2002")
def data_glasberg2002(ctx: Context, args: list, nargout: int) -> tuple:
    """``data = data_glasberg2002(flag, 'fVec', f)`` (free field only)."""
    parsed = parse_ltfat_args(list(args), (), ("fVec", "fieldType"))
    flags = [f for f in parsed.flags if f in ("tfOuterMiddle1997", "tfOuterMiddle2007",
                                              "specLoud")]
    if len(flags) != 1 or len(parsed.flags) != 1:
        raise NotCovered(f"data_glasberg2002 needs exactly one of its flags, got {parsed.flags}")
    field_type = parsed.get("fieldType", "free")
    if field_type != "free":
        raise NotCovered("data_glasberg2002 'fieldType' other than 'free' is not covered (AMT "
                         "compares the strings with ==, which fails for 'diffuse')")
    f_vec = parsed.get("fVec")
    if f_vec is None:
        raise NotCovered("data_glasberg2002 needs 'fVec'")
    f = np.asarray(f_vec, dtype=float)
    shape = f.shape if f.ndim == 2 else (1, f.size)
    flag = flags[0]
    if flag == "specLoud":
        params = specific_loudness_parameters(f.ravel())
        return ({k: (v.reshape(shape) if isinstance(v, np.ndarray) else float(v))
                 for k, v in params.items()},)
    data: dict[str, Any] = {"tfOuterMiddle": outer_middle_ear_db(f.ravel(), flag).reshape(shape)}
    if flag == "tfOuterMiddle1997":
        data.update({k: v[None, :] for k, v in outer_middle_ear_tables(flag).items()})
    return (data,)
