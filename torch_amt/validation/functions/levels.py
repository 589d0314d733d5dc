"""Handlers of AMT's level functions (``torch_amt.levels``): ``dbspl``, ``gaindb``,
``scaletodbspl``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from torch_amt import levels
from torch_amt.validation.convert import amt_to_torch, array_to_torch, torch_to_amt, torch_to_array
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import parse_ltfat_args


def _matrix(value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=np.result_type(np.asarray(value), np.float64))
    return arr.reshape(1, 1) if arr.ndim == 0 else arr


def _first_non_singleton(shape: tuple[int, ...]) -> int:
    return next((d for d, n in enumerate(shape) if n > 1), 0)


@amt_function("dbspl")
def dbspl(ctx: Context, args: list, nargout: int) -> tuple:
    """``dbspl(insig, dim, dboffset)`` / ``dbspl(insig, 'dboffset', d, 'ac')``: level in dB
    along ``dim`` (default: the first non-singleton dimension), default dboffset 93.98."""
    insig, *rest = args
    parsed = parse_ltfat_args(rest, posnames=("dim", "dboffset"))
    arr = _matrix(insig)
    dim = int(parsed.get("dim", _first_non_singleton(arr.shape) + 1)) - 1
    signals = array_to_torch(np.moveaxis(arr, dim, -1), ctx.dtype)
    level = levels.dbspl(signals, parsed.get("dboffset", levels.DBSPL_AMT),
                         ac="ac" in parsed.flags)
    out = np.expand_dims(torch_to_array(level), dim)
    return (float(out.reshape(-1)[0]) if out.size == 1 else out,)


@amt_function("gaindb")
def gaindb(ctx: Context, args: list, nargout: int) -> tuple:
    """``gaindb(insig, gn)``: ``insig * 10^(gn/20)``; a vector ``gn`` scales the columns."""
    insig, gain, *rest = args
    if rest:
        raise NotCovered("gaindb with a dimension argument")
    gain_array = np.asarray(gain, dtype=float)
    gain_value = (float(gain_array.reshape(-1)[0]) if gain_array.size == 1
                  else array_to_torch(gain_array.reshape(-1), ctx.dtype))
    return (torch_to_amt(levels.gaindb(amt_to_torch(_matrix(insig), ctx.dtype), gain_value)),)


@amt_function("scaletodbspl")
def scaletodbspl(ctx: Context, args: list, nargout: int) -> tuple:
    """``scaletodbspl(insig, spl, dboffset)`` (per column) or ``scaletodbspl(spl, [],
    dboffset)`` (the rms of a signal at ``spl``); default dboffset 20*log10(1/20e-6)."""
    insig, *rest = args
    spl = rest[0] if rest else np.zeros((0, 0))
    parsed = parse_ltfat_args(rest[1:], posnames=("dboffset",))
    dboffset = parsed.get("dboffset", levels.DBSPL_PASCAL)
    if np.size(spl) == 0:
        return (float(levels.dbspl_to_rms(float(insig), dboffset)),)
    arr = _matrix(insig)
    if math.isinf(float(spl)):
        return (np.zeros_like(arr),)
    vector = sum(n > 1 for n in arr.shape) <= 1
    signals = (array_to_torch(arr.reshape(1, -1), ctx.dtype) if vector
               else amt_to_torch(arr, ctx.dtype))
    scaled = levels.scaletodbspl(signals, float(spl), dboffset, ac="ac" in parsed.flags)
    return (torch_to_array(scaled).reshape(arr.shape) if vector else torch_to_amt(scaled),)
