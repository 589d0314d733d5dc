"""Validation handlers for AMT 1.6 ``paulick2024`` and its stages (:class:`torch_amt.Paulick2024`).

``paulick2024`` (the model, :class:`~torch_amt.models.paulick2024.Paulick2024`),
``paulick2024_drnl``, ``paulick2024_ihc``, ``paulick2024_roi``, ``paulick2024_corr``,
``paulick2024_decision`` and ``arg_paulick2024`` (the defaults), plus the names of the
reference generator's two stand-in folders (``shim_adaptloop_dir``, ``shim_octave_dir``,
put on the Octave path around some calls; see the files' ``shim_note`` and
``octave_shim_note``). What those stand-ins compute is what torch_amt computes: one AMT
1.4.0 ``adaptloop`` per channel with its own minimum level (``AdaptLoop`` with a
per-channel ``minspl``), and MATLAB's ``movmean``/``rms``/``sum(.., 'omitnan')``
(:mod:`torch_amt.validation.functions.matlab_builtins`).

Tolerances. The DRNL filters with gammatones in direct form (AMT ``gammatone(...,
'classic')`` polynomials, as torch_amt's float64 CPU path), which amplify a one-ulp
change of their input strongly in the low channels: the ear-filter outputs differ from
Octave's by ~1e-15 (summation order of the 513-tap FIRs), which becomes ~1e-7 at 250 Hz
with the third-order gammatones of ``'jepsen2008'`` (~1e-10 with the second-order ones of
``'paulick2024'``). ``Y.BM`` and every output after it are checked per auditory channel
against 10x the conditioning floor of that computation (:data:`CONDITIONING`, measured
as AMT's ``checks_amt140.txt`` floors are: the relative change for an input scaled by
1 + eps) where that exceeds the default 1e-9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torch_amt.decision.paulick2024 import (
    paulick2024_corr,
    paulick2024_decision,
    paulick2024_roi,
)
from torch_amt.functional.paulick2024 import paulick2024_ihc
from torch_amt.levels import DBSPL_AMT
from torch_amt.models.paulick2024 import Paulick2024
from torch_amt.stages.paulick2024_drnl import Paulick2024DRNL
from torch_amt.validation.convert import amt_to_torch, torch_to_amt, torch_to_row
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.tolerances import (
    CONDITIONING_MARGIN,
    DEFAULT_REASON,
    DEFAULT_RTOL,
    _table,
    labels_for,
)
from torch_amt.validation.values import Checked, parse_ltfat_args

_KEYS = ("flow", "fhigh", "Naud", "subject", "model", "dboffset")
_DEFAULTS = {"flow": 250.0, "fhigh": 8000.0, "Naud": 50.0, "subject": "NH",
             "model": "paulick2024", "dboffset": DBSPL_AMT}
_SHIM_DIRS = {"shim_adaptloop_dir": "tools/amt_reference/paulick2024_shims/adaptloop_vector",
              "shim_octave_dir": "tools/amt_reference/paulick2024_shims/octave_compat"}

_MEASURED = ("paulick2024(x, fs, 'model', {}) with 50 default channels, 65-dB noise at "
             "44.1 kHz: per channel, the largest relative change of Y.BM, Y.IHC, "
             "Y.adaptation and int_rep for an input scaled by (1 + eps), measured with "
             "torch_amt's float64 CPU path (AMT's direct-form arithmetic; AMT 1.6 could not "
             "be run here)")
CONDITIONING = {
    "paulick2024": _table(
        _MEASURED.format("'paulick2024'"), "fc",
        "250:4.3e-10 279:1.7e-10 309:1.7e-10 341:1.4e-10 375:9.9e-11 411:7.0e-11 "
        "449:6.5e-11 490:5.3e-11 533:2.5e-11 578:2.2e-11 627:2.0e-11 678:1.6e-11 "
        "732:1.1e-11 789:1.5e-11 850:8.2e-12 915:4.4e-12 983:4.0e-12 1056:3.3e-12 "
        "1132:2.9e-12 1214:2.4e-12 1300:1.3e-12 1391:1.6e-12 1488:1.5e-12 1591:1.1e-12 "
        "1699:7.4e-13 1815:6.0e-13 1937:5.7e-13 2066:5.4e-13 2203:5.2e-13 2349:2.9e-13 "
        "2503:1.9e-13 8000:2.4e-13"),
    "jepsen2008": _table(
        _MEASURED.format("'jepsen2008'"), "fc",
        "250:5.0e-06 279:1.3e-06 309:1.6e-06 341:5.7e-07 375:3.8e-07 411:4.1e-07 "
        "449:1.8e-07 490:1.4e-07 533:7.6e-08 578:4.0e-08 627:3.4e-08 678:2.3e-08 "
        "732:1.1e-08 789:1.1e-08 850:9.0e-09 915:5.6e-09 983:2.9e-09 1056:1.6e-09 "
        "1132:2.2e-09 1214:6.2e-10 1300:5.2e-10 1391:3.8e-10 1488:3.7e-10 1591:2.1e-10 "
        "1699:1.6e-10 1815:1.1e-10 1937:6.3e-11 2066:5.7e-11 2203:3.1e-11 2349:2.6e-11 "
        "2503:1.8e-11 2666:1.9e-11 2839:8.9e-12 3022:6.1e-12 3216:4.1e-12 3422:3.2e-12 "
        "3641:2.5e-12 3872:2.1e-12 4117:1.5e-12 4377:1.3e-12 4652:7.6e-13 4943:4.4e-13 "
        "5253:2.7e-13 5580:2.6e-13 5927:1.8e-13 6295:1.6e-13 8000:9.9e-14"),
}
"""Conditioning floors of the two parameter sets, per auditory channel (module docstring)."""


def _by_channel(value: np.ndarray, fc: np.ndarray, model: str, split_axis: int = 1) -> Checked:
    """``value`` checked per auditory channel: 10x the conditioning floor of ``model`` at
    the channel's centre frequency where that exceeds the default 1e-9."""
    table = CONDITIONING[model]
    floors = table.floor(fc)
    tol = np.maximum(DEFAULT_RTOL, CONDITIONING_MARGIN * floors)
    reasons = tuple(
        f"{CONDITIONING_MARGIN:g}x the conditioning floor {fl:.1e} at fc {f:.4g} Hz "
        f"({table.output})" if t > DEFAULT_RTOL else DEFAULT_REASON
        for f, fl, t in zip(fc, floors, tol, strict=True))
    return Checked(value, tol=tol, reason=reasons, split_axis=split_axis,
                   labels=labels_for(fc, "fc"))


def _options(rest: list) -> dict[str, Any]:
    parsed = parse_ltfat_args(rest, ("flow", "fhigh"), _KEYS)
    bad = [f for f in parsed.flags if f not in ("no_debug", "debug")]
    if bad:
        raise NotCovered(f"paulick2024 flag(s) {bad} are not covered")
    return {k: parsed.get(k, v) for k, v in _DEFAULTS.items()}


@amt_function("arg_paulick2024")
def arg_paulick2024(ctx: Context, args: list, nargout: int) -> tuple:
    """``definput = arg_paulick2024(definput)``: AMT 1.6's defaults of ``paulick2024``."""
    return ({"flags": {"disp": ["no_debug", "debug"]}, "keyvals": dict(_DEFAULTS)},)


@amt_function(*_SHIM_DIRS)
def _shim_dir(ctx: Context, args: list, nargout: int) -> tuple:
    """The reference generator's stand-in folders (only ``addpath``/``rmpath`` read them)."""
    return ("tools/amt_reference/paulick2024_shims",)


@amt_function("paulick2024")
def paulick2024(ctx: Context, args: list, nargout: int) -> tuple:
    """``[int_rep, Y, fc_aud, fc_mod, fsR] = paulick2024(insig, fs, flow, fhigh, key, val)``.

    ``int_rep``: time x channel x max #mfc, NaN where a channel has fewer modulation
    filters; ``Y``: struct ``OM``, ``BM``, ``IHC``, ``adaptation``; ``fc_mod``: the last
    channel's modulation centre frequencies.
    """
    if len(args) < 2:
        raise NotCovered("paulick2024 needs insig and fs")
    insig = np.asarray(args[0], dtype=float)
    if insig.ndim > 2 or (insig.ndim == 2 and min(insig.shape) > 1):
        raise NotCovered("paulick2024 is monaural: a single-column insig is covered")
    o = _options(list(args[2:]))
    fs = float(args[1])
    model = Paulick2024(fs, float(o["flow"]), float(o["fhigh"]), naud=int(o["Naud"]),
                        subject=str(o["subject"]), model=str(o["model"]), dtype=ctx.dtype)
    x = amt_to_torch(insig.reshape(-1, 1), ctx.dtype)[0]
    with torch.no_grad():
        stages = model(x, return_stages=True)
    fc = model.fc.detach().double().numpy()
    mode = model.model
    out = stages["out"]
    n_mod = max(o.shape[0] for o in out)
    int_rep = np.full((out[0].shape[-1], len(out), n_mod), np.nan)
    for ch, y in enumerate(out):
        int_rep[:, ch, :y.shape[0]] = torch_to_amt(y)
    ihc = stages["ihc"] if mode == "paulick2024" else stages["expansion"]
    y_struct = {
        "OM": torch_to_amt(stages["middleear"]).reshape(-1, 1),
        "BM": _by_channel(torch_to_amt(stages["drnl"]), fc, mode),
        "IHC": _by_channel(torch_to_amt(ihc), fc, mode),
        "adaptation": _by_channel(torch_to_amt(stages["adt"]), fc, mode),
    }
    outputs: list[Any] = [_by_channel(int_rep, fc, mode), y_struct, torch_to_row(model.fc),
                          torch_to_row(model.mfc[-1]), model.output_fs]
    return tuple(outputs[:max(nargout, 1)])


@amt_function("paulick2024_drnl")
def paulick2024_drnl(ctx: Context, args: list, nargout: int) -> tuple:
    """``out = paulick2024_drnl(x, CF, fs, subj, model)``: a row (1 x time)."""
    if len(args) != 5:
        raise NotCovered("paulick2024_drnl needs x, CF, fs, subject and model")
    x, cf, fs, subject, model = args
    cf = float(np.asarray(cf).reshape(-1)[0])
    stage = Paulick2024DRNL(float(fs), fc=[cf], subject=subject, model=model,
                            dtype=ctx.dtype)
    signal = torch.as_tensor(np.asarray(x, dtype=float).reshape(-1), dtype=ctx.dtype)
    with torch.no_grad():
        y = stage(signal)[0]
    return (_by_channel(torch_to_row(y), np.array([cf]), model, split_axis=0),)


@amt_function("paulick2024_ihc")
def paulick2024_ihc_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``V = paulick2024_ihc(vel, fs)``: time x channel."""
    vel, fs = args
    with torch.no_grad():
        v = paulick2024_ihc(amt_to_torch(np.asarray(vel, dtype=float), ctx.dtype), float(fs))
    return (torch_to_amt(v),)


@amt_function("paulick2024_roi")
def paulick2024_roi_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``roi = paulick2024_roi(insig, fs, fc_aud)``: struct ``idx`` (1-based), ``freq``."""
    insig, fs, fc = args[:3]
    x = amt_to_torch(np.asarray(insig, dtype=float), ctx.dtype)
    roi = paulick2024_roi(x, float(fs), np.asarray(fc, dtype=float).reshape(-1))
    return ({"idx": (roi.idx.double() + 1).numpy().reshape(1, -1),
             "freq": roi.freq.numpy().reshape(1, -1)},)


def _model_key(rest: list) -> str:
    parsed = parse_ltfat_args(rest, ("flow", "fhigh"), _KEYS)
    return str(parsed.get("model", "paulick2024"))


@amt_function("paulick2024_corr")
def paulick2024_corr_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``out = paulick2024_corr(x, template, fs, fc_aud, fc_mod, ...)``: struct ``int``
    (column, one value per modulation filter), ``fin``."""
    x, template, _fs, fc, fc_mod, *rest = args

    def layout(a: Any) -> torch.Tensor:  # time x channel x mfc -> (F, M, T)
        arr = np.asarray(a, dtype=float)
        arr = arr.reshape(arr.shape + (1,) * (3 - arr.ndim))
        return torch.as_tensor(arr.transpose(1, 2, 0).copy(), dtype=ctx.dtype)

    out = paulick2024_corr(layout(x), layout(template), np.asarray(fc, dtype=float),
                           np.asarray(fc_mod, dtype=float), _model_key(rest))
    return ({"int": out.int.double().numpy().reshape(-1, 1), "fin": float(out.fin)},)


@amt_function("paulick2024_decision")
def paulick2024_decision_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``[Y, prob] = paulick2024_decision(mue, nAFC, rule, ...)``."""
    mue, n_afc, rule, *rest = args
    rule = np.asarray(rule, dtype=float).reshape(-1)
    decision, prob = paulick2024_decision(
        torch.tensor(float(mue), dtype=ctx.dtype), int(n_afc), tuple(rule), _model_key(rest))
    return (float(decision), float(prob))

