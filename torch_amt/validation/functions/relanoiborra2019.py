"""Validation handlers for AMT 1.4.0 ``relanoiborra2019`` (sCASP) and its stages:
``relanoiborra2019_featureextraction``, ``relanoiborra2019_drnl``,
``relanoiborra2019_mfbtd``, ``relanoiborra2019_decision``, ``relanoiborra2019_preproc``
(which cannot run in AMT 1.4.0) and Octave's ``randn``.

The model handlers run :class:`torch_amt.RelanoIborra2019` and the back end
:mod:`torch_amt.decision.correlation`; the internal noise takes its draws from Octave's
normal generator in the file's state (``randn('state', seed)`` earlier in ``call``,
replayed bit for bit by :mod:`torch_amt.validation.octave_random`), one ``randn(T, 1)`` per
channel, as AMT draws them. A call with internal noise and an unseeded generator is not
covered (Octave's start-up state is not reproducible).

Tolerance: the default (1e-9 relative in float64); measured ≤ 1e-11 (the outer/middle-ear
FIRs and the recursive filters round differently from Octave by ~1e-16, the 2.5-Hz
modulation low-pass amplifies that most).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torch_amt.decision.correlation import EmptyCorrelationError, relanoiborra2019_decision
from torch_amt.functional.relanoiborra2019 import (
    relanoiborra2019_drnl,
    relanoiborra2019_drnl_design,
    relanoiborra2019_mfbtd,
)
from torch_amt.models.relanoiborra2019 import RelanoIborra2019
from torch_amt.validation.convert import (
    amt_to_torch,
    array_to_torch,
    torch_to_amt,
    torch_to_array,
    torch_to_row,
    vector_to_torch,
)
from torch_amt.validation.registry import AmtError, Context, NotCovered, amt_function
from torch_amt.validation.values import parse_ltfat_args

_KEYS = ("flow", "fhigh", "fcnt", "subject", "N_org", "dboffset", "bwmul", "basef", "limit",
         "minspl", "tau")
_CORR2_ERROR = "corr2: I and J must be real matrices"


def _column(value: Any, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 2 or (arr.ndim == 2 and min(arr.shape) > 1):
        raise NotCovered(f"{what}: a single signal (vector) is covered")
    return arr.reshape(-1, 1)


def _model(ctx: Context, fs: float, rest: list, posnames: tuple[str, ...]
           ) -> tuple[RelanoIborra2019, dict[str, Any]]:
    parsed = parse_ltfat_args(rest, posnames, _KEYS)
    if "erbspacebw" in parsed.flags:
        raise NotCovered("relanoiborra2019 with 'erbspacebw' is not covered")
    keyvals = {k: v for k, v in parsed.keyvals.items() if k not in ("bwmul", "basef")}
    try:
        opts = RelanoIborra2019.amt_options(parsed.flags, keyvals)
    except ValueError as err:
        raise NotCovered(str(err)) from err
    opts.setdefault("fhigh", 8000.0)  # AMT's default at every fs, aliased where fs is low
    return (RelanoIborra2019(fs, above_nyquist=True, dtype=ctx.dtype, **opts),
            parsed.keyvals)


def _features(ctx: Context, model: RelanoIborra2019, insig: np.ndarray) -> dict[str, Any]:
    """One ``relanoiborra2019_featureextraction`` run: AMT's outputs as torch tensors."""
    x = amt_to_torch(insig, ctx.dtype)[0]
    kwargs = {}
    if "internalnoise" in model.chain:
        if ctx.rng is None or not ctx.rng.seeded:
            raise NotCovered("internal noise from Octave's unseeded randn cannot be "
                             "reproduced")
        draws = np.stack([ctx.rng.randn(x.shape[-1], 1)[:, 0]
                          for _ in range(model.drnl.num_channels)])
        kwargs["noise_draws"] = torch.from_numpy(draws)
    with torch.no_grad():
        stages = model(x, return_stages=True, **kwargs)
    return {"mfb": stages["out"], "afb": stages[model.chain[-2]], "fc": model.fc,
            "fmod": model.mfc}


@amt_function("relanoiborra2019_featureextraction", random=True)
def relanoiborra2019_featureextraction(ctx: Context, args: list, nargout: int) -> tuple:
    """``[outsig_mfb, fc_mod, outsig_afb, fc] = relanoiborra2019_featureextraction(insig,
    fs, flags..., key, val)``; ``outsig_afb`` is the last stage before the modulation
    filterbank (adaptation, or IHC with ``'no_an'``, or DRNL + 50 dB (+ noise))."""
    if len(args) < 2:
        raise NotCovered("relanoiborra2019_featureextraction needs insig and fs")
    model, _ = _model(ctx, float(args[1]), list(args[2:]), ())
    out = _features(ctx, model, _column(args[0], "insig"))
    return (torch_to_amt(out["mfb"]), torch_to_row(out["fmod"]), torch_to_amt(out["afb"]),
            torch_to_row(out["fc"]))


def _decision(clean: torch.Tensor, noisy: torch.Tensor, fs: float, fc, fmod) -> dict:
    try:
        out = relanoiborra2019_decision(clean, noisy, fs, fc, fmod)
    except EmptyCorrelationError as err:
        raise AmtError(_CORR2_ERROR) from err
    return {"dint": torch_to_row(out["dint"]), "dsegments": torch_to_array(out["dsegments"]),
            "dfinal": float(out["dfinal"])}


@amt_function("relanoiborra2019", random=True)
def relanoiborra2019(ctx: Context, args: list, nargout: int) -> tuple:
    """``[out, clean, noisy] = relanoiborra2019(insig_clean, insig_noisy, fs, flow, fhigh,
    flags..., key, val)``: both representations, then the decision from ``N_org + 1`` on
    (AMT's default ``N_org = length(insig_clean)`` leaves nothing: AMT's corr2 error)."""
    if len(args) < 3:
        raise NotCovered("relanoiborra2019 needs insig_clean, insig_noisy and fs")
    fs = float(args[2])
    model, keyvals = _model(ctx, fs, list(args[3:]), ("flow", "fhigh"))
    clean_sig, noisy_sig = _column(args[0], "insig_clean"), _column(args[1], "insig_noisy")
    clean = _features(ctx, model, clean_sig)
    noisy = _features(ctx, model, noisy_sig)
    n_org = keyvals.get("N_org")
    n_org = clean_sig.shape[0] if n_org is None or np.size(n_org) == 0 else int(n_org)
    out = _decision(clean["mfb"][..., n_org:], noisy["mfb"][..., n_org:], fs, model.fc,
                    model.mfc)
    structs = [{"afb": torch_to_amt(s["afb"]), "fc": torch_to_row(s["fc"]),
                "mfb": torch_to_amt(s["mfb"]), "fmod": torch_to_row(s["fmod"])}
               for s in (clean, noisy)]
    return (out, *structs)


@amt_function("relanoiborra2019_decision")
def relanoiborra2019_decision_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``out = relanoiborra2019_decision(clean_mfb, noisy_mfb, fs, fc, fc_mod, ...)``."""
    if len(args) < 5:
        raise NotCovered("relanoiborra2019_decision needs clean, noisy, fs, fc, fc_mod")
    clean, noisy = (np.asarray(a, dtype=float) for a in args[:2])
    if clean.ndim == 2:
        clean, noisy = clean[:, :, None], noisy[:, :, None]
    if clean.ndim != 3:
        raise NotCovered("relanoiborra2019_decision takes time x channel x fmod arrays")
    return (_decision(amt_to_torch(clean, ctx.dtype), amt_to_torch(noisy, ctx.dtype),
                      float(args[2]), vector_to_torch(args[3]), vector_to_torch(args[4])),)


@amt_function("relanoiborra2019_drnl")
def relanoiborra2019_drnl_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``out = relanoiborra2019_drnl(insig, CF, fs, subj)`` (the input's orientation)."""
    if len(args) != 4 or not isinstance(args[3], str):
        raise NotCovered("relanoiborra2019_drnl(insig, CF, fs, subj) is covered")
    insig = np.asarray(args[0], dtype=float)
    row = insig.ndim == 2 and insig.shape[0] == 1
    design = relanoiborra2019_drnl_design([float(args[1])], float(args[2]), args[3],
                                          above_nyquist=True)
    y = relanoiborra2019_drnl(array_to_torch(insig.reshape(-1), ctx.dtype), design)[0]
    return (torch_to_row(y) if row else torch_to_amt(y),)


@amt_function("relanoiborra2019_mfbtd")
def relanoiborra2019_mfbtd_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``[fmod, out] = relanoiborra2019_mfbtd(in, lmf, umf, style, fs)`` with ``lmf = 0``
    (in every entry; the model's call): complex outputs, time x channel x fmod."""
    if len(args) != 5:
        raise NotCovered("relanoiborra2019_mfbtd(in, lmf, umf, style, fs) is covered")
    x, lmf, umf, style, fs = args
    if np.any(np.asarray(lmf) != 0):
        raise NotCovered("relanoiborra2019_mfbtd with lmf > 0 is not covered")
    arr = np.asarray(x, dtype=float)
    arr = arr.reshape(-1, 1) if arr.ndim < 2 else arr
    out, fmod = relanoiborra2019_mfbtd(amt_to_torch(arr, ctx.dtype), float(fs), umf=float(umf),
                                       style=int(style), postprocess=False)
    return (torch_to_row(fmod), torch_to_amt(out))


@amt_function("relanoiborra2019_preproc")
def relanoiborra2019_preproc(ctx: Context, args: list, nargout: int) -> tuple:
    """AMT 1.4.0's ``relanoiborra2019_preproc`` stops at its argument parsing (its default
    group sets the keyval ``hearing_profile``, which no imported ``arg_*`` defines; quirk
    14)."""
    raise AmtError("RELANOIBORRA2019_PREPROC: Unknown parameter: hearing_profile")


@amt_function("randn", random=True)
def randn(ctx: Context, args: list, nargout: int) -> tuple:
    """Octave's ``randn('state', s)`` (also ``'seed'``, ``'twister'``) and
    ``randn(n)`` / ``randn(m, n, ...)`` (:class:`~torch_amt.validation.octave_random.
    OctaveRandn`)."""
    if args and isinstance(args[0], str):
        if len(args) != 2 or args[0] not in ("state", "seed", "twister"):
            raise NotCovered(f"randn({args[0]!r}, ...) is not covered")
        ctx.rng.seed(args[1])
        return (np.zeros((0, 0)),)
    dims = [int(np.asarray(a).reshape(-1)[0]) for a in args] or [1]
    if any(isinstance(a, str) for a in args):
        raise NotCovered("randn with a class name is not covered")
    shape = dims * 2 if len(dims) == 1 else dims
    try:
        return (ctx.rng.randn(*shape),)
    except RuntimeError as err:
        raise NotCovered(str(err)) from err
