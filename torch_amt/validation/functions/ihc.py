"""Validation handler for AMT ``ihcenvelope`` (torch_amt.functional.ihc)."""

from __future__ import annotations

from typing import Any

from torch_amt.functional.ihc import IHC_METHODS, get_method, ihc_envelope
from torch_amt.validation.convert import amt_to_torch, torch_to_amt
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import parse_ltfat_args

#: Flags of the ``ihc_type`` group of AMT's ``arg_ihcenvelope`` (``ihc_undefined``
#: means none was given).
_IHC_FLAGS = (*IHC_METHODS, "ihc_meddis1990", "ihc_undefined")
_KEYS = ("ihc_filter_order", "ihc_minlvl", "ihc_scal_constant", "dim")


@amt_function("ihcenvelope")
def ihcenvelope(ctx: Context, args: list, nargout: int) -> tuple:
    """``outsig = ihcenvelope(insig, fs, method, ...)``; ``insig`` is time x channel."""
    if len(args) < 2:
        raise NotCovered("ihcenvelope needs insig and fs")
    insig, fs, rest = args[0], float(args[1]), args[2:]
    parsed = parse_ltfat_args(rest, (), _KEYS)
    methods = [f for f in parsed.flags if f in _IHC_FLAGS and f != "ihc_undefined"]
    if not methods:
        raise NotCovered("ihcenvelope without an IHC method flag errors in AMT")
    method = methods[-1]
    dim = parsed.get("dim")
    if dim is not None and float(dim) != 1:
        raise NotCovered(f"ihcenvelope along dim {dim} is not covered")
    try:
        spec = get_method(method)
    except NotImplementedError as err:
        raise NotCovered(str(err)) from err
    order: Any = parsed.get("ihc_filter_order")
    # the ihc_breebaart2001 / ihc_dau1996 flag groups set ihc_filter_order themselves
    filter_order = int(order) if (order is not None and spec.variable_passes) else None
    minlvl = parsed.get("ihc_minlvl")
    x = amt_to_torch(insig, ctx.dtype)
    y = ihc_envelope(x, fs, method, filter_order=filter_order,
                     minlvl=None if minlvl is None else float(minlvl))
    return (torch_to_amt(y),)
