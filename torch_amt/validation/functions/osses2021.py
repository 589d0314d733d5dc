"""Validation handler for AMT 1.4.0 ``osses2021`` (:class:`torch_amt.Osses2021`).

The handler translates AMT's argument list with :meth:`Osses2021.amt_options`, runs the
model in the requested dtype and returns AMT's outputs in AMT layout: ``outsig`` (a cell
{channel}(time x mfc) with the modulation filterbank, else the last stage's time x
channel array), ``fc``, ``mfc`` (the last channel's) and ``params`` (modfilterbank's
3rd output for the last channel's filters).

Tolerance: every output after the gammatone filterbank is checked per auditory channel
against 10x AMT's own conditioning floor of ``auditoryfilterbank`` at that channel's
centre frequency (where that exceeds 1e-9), the tolerance the filterbank stage itself is
checked with and that the later stages inherit (tolerances only grow along a chain, see
:mod:`torch_amt.validation.tolerances`). The outer- and middle-ear FIRs round their
output differently from Octave by ~1e-16; AMT's direct-form gammatones amplify that in
the low channels (3e-8 relative at 100 Hz for the clicks, within the floor of 3.6e-8 x
10), and the IHC, adaptation and modulation stages carry it on. Without the filterbank
(``'no_afb'``) the output is checked at the default 1e-9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torch_amt.models.osses2021 import Osses2021
from torch_amt.validation.convert import amt_to_torch, torch_to_amt, torch_to_row
from torch_amt.validation.functions.models import _model_options
from torch_amt.validation.functions.modulation import _modfilterbank_settings, _params
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.tolerances import checked_by_frequency

_KEYS = ("flow", "fhigh", "basef", "bwmul", "dboffset", "subfs", "silent_mode")


@amt_function("osses2021")
def osses2021(ctx: Context, args: list, nargout: int) -> tuple:
    """``[outsig, fc, mfc, params] = osses2021(insig, fs, flow, fhigh, flags..., key, val)``."""
    if len(args) < 2:
        raise NotCovered("osses2021 needs insig and fs")
    insig = np.asarray(args[0], dtype=float)
    if insig.ndim > 2 or (insig.ndim == 2 and min(insig.shape) > 1):
        raise NotCovered("osses2021 is monaural: a single-column insig is covered")
    model = Osses2021(float(args[1]), dtype=ctx.dtype,
                      **_model_options(Osses2021, list(args[2:]), ("flow", "fhigh"), _KEYS))
    x = amt_to_torch(insig.reshape(-1, 1), ctx.dtype)
    with torch.no_grad():
        out = model(x)
    has_afb, has_mfb = "afb" in model.chain, "mfb" in model.chain
    if has_mfb:
        outsig = [torch_to_amt(ch[0]) for ch in out]
    else:
        outsig = torch_to_amt(out[0] if has_afb else out)
    if has_afb:
        outsig = checked_by_frequency(outsig, "auditoryfilterbank",
                                      model.fc.detach().double().numpy())
    outputs: list[Any] = [outsig, torch_to_row(model.fc.detach()) if has_afb
                          else np.zeros((0, 0))]
    if nargout >= 3:
        outputs.append(torch_to_row(model.mfc[-1]) if has_mfb else np.zeros((0, 0)))
    if nargout >= 4:
        if not has_mfb:
            outputs.append(np.zeros((0, 0)))
        else:
            settings = _modfilterbank_settings(ctx, [model.mfb.preset])
            outputs.append(_params(model.mfb.fs, model.fc.detach().double().numpy(),
                                   settings))
    return tuple(outputs)
