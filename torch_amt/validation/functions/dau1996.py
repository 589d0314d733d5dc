"""Validation handler for AMT 1.4.0 ``dau1996`` (:class:`torch_amt.Dau1996`).

``[outsig, fc] = dau1996(insig, fs, flow, fhigh, ...)``: ``outsig`` time x channel after
the 20-ms modulation low-pass. AMT's flags are translated by :meth:`Dau1996.amt_options`
(which ignores, as AMT does, the ``'ihc'``/``'adt'`` and ear flags it imports). AMT's
``'subfs'`` always stops with an error (quirk 13: the code reads an undefined ``subfs``);
the handler raises :class:`~torch_amt.validation.registry.AmtError` with Octave's message,
so a ``try ... catch`` in ``call`` sees what Octave saw. Tolerance: the policy default
(1e-9); every stage runs Octave's ``filter`` recursion on AMT's own coefficients.
"""

from __future__ import annotations

import numpy as np
import torch

from torch_amt.models.dau1996 import Dau1996
from torch_amt.validation.convert import amt_to_torch, torch_to_amt, torch_to_row
from torch_amt.validation.functions.models import _model_options
from torch_amt.validation.registry import AmtError, Context, NotCovered, amt_function
from torch_amt.validation.values import parse_ltfat_args

_KEYS = ("flow", "fhigh", "basef", "bwmul", "dboffset", "fs_up", "subfs")
# Octave 7.3's message for AMT 1.4.0 dau1996.m line 131 (`round(length(outsig)/fs*subfs)`)
SUBFS_ERROR = "'subfs' undefined near line 131, column 55"


@amt_function("dau1996")
def dau1996(ctx: Context, args: list, nargout: int) -> tuple:
    """``[outsig, fc] = dau1996(insig, fs, flow, fhigh, flags..., key, val)``."""
    if len(args) < 2:
        raise NotCovered("dau1996 needs insig and fs")
    insig = np.asarray(args[0], dtype=float)
    if insig.ndim > 2 or (insig.ndim == 2 and min(insig.shape) > 1):
        raise NotCovered("dau1996 with a multi-column insig is not covered")
    rest = list(args[2:])
    if parse_ltfat_args(rest, ("flow", "fhigh"), _KEYS).get("subfs") is not None:
        raise AmtError(SUBFS_ERROR)
    model = Dau1996(float(args[1]), dtype=ctx.dtype,
                    **_model_options(Dau1996, rest, ("flow", "fhigh"), _KEYS))
    with torch.no_grad():
        out = model(amt_to_torch(insig.reshape(-1, 1), ctx.dtype))
    return (torch_to_amt(out[0]), torch_to_row(model.fc.detach()))[:max(nargout, 1)]
