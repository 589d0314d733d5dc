"""Validation handlers for AMT 1.4.0's decision stages (:mod:`torch_amt.decision`).

``mue = optimaldetector(ir_stim, template)``: :func:`torch_amt.decision.optimal_detector`
over all elements (AMT's ``mean(ir(:).*template(:)) * sqrt(numel(ir))``). Tolerance:
the policy default (1e-9): a sum of products of the (already checked) representations.

``decision = breebaart2001_centralproc(EI_map, monol, monor, bimonostring[, monofactor])``
(cells of one map per interval): :func:`torch_amt.decision.breebaart2001_centralproc`
with AMT's ``persistent`` templates kept as the hidden state
``%persistent:breebaart2001_centralproc`` (reset by ``clear breebaart2001_centralproc``)
and the internal noise drawn from the replayed Octave ``randn`` stream, one draw per
interval in AMT's order. Where AMT stops because its templates were never created
(a first call without 3 intervals), the handler draws the one ``randn`` AMT draws
before the failing statement, keeps AMT's incremented counters and raises Octave's
message. The decision is an interval index: compared exactly (any error is a wrong
interval).
"""

from __future__ import annotations

import numpy as np
import torch

from torch_amt.decision import (
    CentralProcState,
    breebaart2001_centralproc,
    centralproc_channels,
    optimal_detector,
)
from torch_amt.validation.convert import array_to_torch
from torch_amt.validation.functions.octave_state import RANDN, persistent
from torch_amt.validation.registry import AmtError, Context, NotCovered, amt_function


def _numeric(value, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise NotCovered(f"{name} must be a real numeric array")
    return arr.reshape(1, 1) if arr.ndim == 0 else arr


@amt_function("optimaldetector")
def optimaldetector(ctx: Context, args: list, nargout: int) -> tuple:
    """``mue = optimaldetector(ir_stim, template)`` (same number of elements)."""
    if len(args) != 2:
        raise NotCovered("optimaldetector takes (ir_stim, template)")
    ir, template = (_numeric(a, n) for a, n in zip(args, ("ir_stim", "template"),
                                                   strict=True))
    if ir.size != template.size:
        raise NotCovered("optimaldetector with arrays of different sizes (MATLAB would "
                         "broadcast or fail)")
    with torch.no_grad():
        mue = optimal_detector(array_to_torch(ir.reshape(-1), ctx.dtype),
                               array_to_torch(template.reshape(-1), ctx.dtype))
    return (float(mue),)


_CENTRALPROC = persistent("breebaart2001_centralproc")


def _centralproc_state(args: list) -> tuple[frozenset, frozenset]:
    return frozenset(), frozenset({RANDN, _CENTRALPROC})


def _maps(cell, name: str, dtype: torch.dtype) -> torch.Tensor:
    if not isinstance(cell, list) or not cell:
        raise NotCovered(f"{name} must be a non-empty cell array of maps")
    arrays = [_numeric(m, f"{name} element") for m in cell]
    if len({a.shape for a in arrays}) != 1 or any(a.ndim != 2 for a in arrays):
        raise NotCovered(f"{name}: maps of different shapes or more than 2 dimensions")
    return torch.stack([array_to_torch(a, dtype) for a in arrays])


@amt_function("breebaart2001_centralproc", state=_centralproc_state)
def breebaart2001_centralproc_(ctx: Context, args: list, nargout: int) -> tuple:
    """``decision = breebaart2001_centralproc(EI_map, monol, monor, bimonostring,
    monofactor)`` (1-based interval index)."""
    if len(args) not in (4, 5) or not isinstance(args[3], str):
        raise NotCovered("breebaart2001_centralproc takes (EI_map, monol, monor, "
                         "bimonostring[, monofactor])")
    rng = ctx.state[RANDN]
    if rng is None:
        raise NotCovered("breebaart2001_centralproc draws randn before randn('state', "
                         "seed): Octave's start-up state is not reproducible")
    bimono = args[3]
    monofactor = float(args[4]) if len(args) == 5 else 0.0003
    channels = centralproc_channels(bimono)
    names = {"b": "EI_map", "l": "monol", "r": "monor"}
    maps = {c: _maps(args[("b", "l", "r").index(c)], names[c], ctx.dtype) for c in channels}
    state = ctx.state[_CENTRALPROC] or CentralProcState()
    n_intervals = len(args[0]) if isinstance(args[0], list) else 0
    counted = state.counted(n_intervals)
    missing = [c for c in channels if counted.n_masker != 2 and c not in counted.templates]
    if missing:
        # AMT: counters already updated, one randn drawn, then EI_map{1} - [] fails
        rng.normal()
        ctx.state[_CENTRALPROC] = counted
        rows_, cols = maps[missing[0]].shape[1:]
        raise AmtError(f"operator -: nonconformant arguments (op1 is {rows_}x{cols}, "
                       "op2 is 0x0)")
    noise = torch.tensor([rng.normal() for _ in range(n_intervals)], dtype=ctx.dtype)
    with torch.no_grad():
        decision, new_state = breebaart2001_centralproc(
            maps.get("b"), maps.get("l"), maps.get("r"), state, bimono,
            monofactor=monofactor, noise=noise)
    ctx.state[_CENTRALPROC] = new_state
    return (float(decision) + 1.0,)
