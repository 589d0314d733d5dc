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

float32 runs: the model computes in float64 from the ear filter on; ``eLdB`` is checked
against 10x the measured effect of rounding the input to float32 (where that exceeds the
float32 policy of 1e-4), see :func:`_input_rounding_checked`.
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


def _input_rounding_checked(el_db: np.ndarray, model: Glasberg2002, insig: np.ndarray,
                            dtype: torch.dtype) -> Checked | np.ndarray:
    """float32 runs: ``eLdB`` checked against 10x the effect of rounding the input to
    float32 (measured: the float64 model on the input and on its float32 rounding).

    The model computes in float64 from the ear filter on, so a float32 run differs from
    AMT only by the float32 input (and output): its rounding noise, ~150 dB below the
    signal, reaches the quietest ERB bands of a pure tone (eLdB some 110 dB below the
    peak, 0.006 dB there)."""
    if dtype != torch.float32 or np.iscomplexobj(el_db):
        return el_db
    exact = amt_to_torch(insig.reshape(-1, 1), torch.float64)[0]
    rounded = exact.to(torch.float32).to(torch.float64)
    model64 = model.double()
    with torch.no_grad():
        levels = [excitation_level_db(model64(v, return_stages=True)["excitation"]).numpy()
                  for v in (exact, rounded)]
    peak = float(np.abs(levels[0]).max())
    floor = float(np.abs(levels[1] - levels[0]).max()) / peak if peak > 0 else 0.0
    if not np.isfinite(floor) or floor == 0.0:
        return el_db
    return Checked(el_db, tol=10 * floor,
                   reason=f"float32 input: rounding the input to float32 alone moves eLdB by "
                          f"{floor:.2e} relative (measured with the float64 model); 10x that")


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
    el_db = torch_to_amt(excitation_level_db(excitation))
    results: dict[str, Any] = {
        "eLdB": _input_rounding_checked(el_db, model, insig, ctx.dtype),
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
