"""Validation handlers for AMT 1.4.0's decision stages (:mod:`torch_amt.decision`).

``mue = optimaldetector(ir_stim, template)``: :func:`torch_amt.decision.optimal_detector`
over all elements (AMT's ``mean(ir(:).*template(:)) * sqrt(numel(ir))``). Tolerance:
the policy default (1e-9): a sum of products of the (already checked) representations.
"""

from __future__ import annotations

import numpy as np
import torch

from torch_amt.decision import optimal_detector
from torch_amt.validation.convert import array_to_torch
from torch_amt.validation.registry import Context, NotCovered, amt_function


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
