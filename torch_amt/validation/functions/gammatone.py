"""Handlers of AMT ``gammatone`` and ``auditoryfilterbank`` (torch_amt.functional.gammatone)."""

from __future__ import annotations

import math

import numpy as np
import torch

from torch_amt.functional.gammatone import auditoryfilterbank as afb
from torch_amt.functional.gammatone import default_betamul, gammatone_design
from torch_amt.scales import audfiltbw
from torch_amt.validation.convert import (
    amt_to_torch,
    torch_to_amt,
    torch_to_array,
    torch_to_row,
    vector_to_torch,
)
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.tolerances import FLOAT32_RTOL, checked_by_frequency
from torch_amt.validation.values import Checked, parse_ltfat_args

_COVERED_FLAGS = {"complex", "real", "allpole", "classic", "causalphase", "0dBforall"}


@amt_function("gammatone")
def gammatone(ctx: Context, args: list, nargout: int) -> tuple:
    """``[b, a, delay] = gammatone(fc, fs, n, betamul, flags...)``.

    The coefficients are designed in float64 whatever the run's precision (they are
    design constants; a float32 run casts them when filtering).
    """
    fc, fs, *rest = args
    parsed = parse_ltfat_args(rest, posnames=("n", "betamul"))
    unknown = [f for f in parsed.flags if f not in _COVERED_FLAGS]
    if unknown:
        raise NotCovered(f"gammatone flags {unknown} are not implemented")
    kind = "complex" if "complex" in parsed.flags else "real"
    filtertype = "classic" if "classic" in parsed.flags else "allpole"
    n = int(parsed.get("n", 4))
    betamul = parsed.get("betamul")
    betamul = default_betamul(n) if betamul is None else float(betamul)
    fc_t = vector_to_torch(fc)
    design = gammatone_design(fc_t, float(fs), n, betamul, kind=kind, filtertype=filtertype)
    delay = 3 / (2 * math.pi * (betamul * audfiltbw(fc_t)))
    return (torch_to_array(design.b), torch_to_array(design.a), torch_to_row(delay))


@amt_function("auditoryfilterbank")
def auditoryfilterbank(ctx: Context, args: list, nargout: int) -> tuple:
    """``[outsig, fc] = auditoryfilterbank(insig, fs, flow, fhigh, 'basef', .., 'bwmul', ..)``.

    ``insig`` time x signal: one signal gives time x channel, several (e.g. the two ears
    of ``breebaart2001``) time x channel x signal, as AMT.
    Checked per channel against AMT's conditioning floor as measured in the reference
    set (its ``README.md`` and ``checks_amt140.txt``; see
    :mod:`torch_amt.validation.tolerances`).
    """
    insig, fs, *rest = args
    parsed = parse_ltfat_args(rest, posnames=("flow", "fhigh"),
                              keys=("basef", "bwmul", "dboffset", "fs_up"))
    extra = [f for f in parsed.flags if f not in ("default", "no_outerear", "no_middleear",
                                                  "no_internalnoise")]
    if extra:
        raise NotCovered(f"auditoryfilterbank flags {extra} are not implemented")
    basef = parsed.get("basef")
    x = amt_to_torch(np.asarray(insig), ctx.dtype)
    if x.ndim != 2:
        raise NotCovered("auditoryfilterbank of a signal with more than two axes is not covered")
    out, fc = afb(x, float(fs), float(parsed.get("flow", 80.0)),
                  float(parsed.get("fhigh", 8000.0)), float(parsed.get("bwmul", 1.0)),
                  None if basef is None else float(basef))
    out = out[0] if x.shape[0] == 1 else out.movedim(0, 1)  # (F, T) or (F, signal, T)
    value = checked_by_frequency(torch_to_amt(out), "auditoryfilterbank", fc.numpy())
    if ctx.dtype == torch.float32:
        value = float32_whole_output(value, out)
    return (value, torch_to_row(fc))


def float32_whole_output(value: Checked, out: torch.Tensor) -> Checked:
    """float32: allow 1e-4 of the whole output's peak in every channel.

    Single-precision rounding is relative to the signal's overall scale, so a channel far
    from the stimulus frequency (its own peak 1e-2 of the loudest channel's) carries the
    absolute error of the loud ones: checked per channel against its own peak, its
    tolerance is ``1e-4 · max|all channels| / max|this channel|``.
    """
    peaks = out.abs().flatten(1).amax(-1).double().numpy()
    ratio = peaks.max() / np.maximum(peaks, np.finfo(float).tiny) if peaks.max() > 0 else \
        np.ones_like(peaks)
    loose = FLOAT32_RTOL * ratio
    tol = np.maximum(np.atleast_1d(value.tol) * np.ones_like(loose), loose)
    reasons = tuple(
        f"float32: 1e-4 of the whole output's peak ({r:.3g} x this channel's)" if lo >= t0
        else value.slice_reason(k)
        for k, (r, lo, t0) in enumerate(zip(ratio, loose, np.atleast_1d(value.tol)
                                            * np.ones_like(loose), strict=True)))
    return Checked(value.value, tol=tol, reason=reasons, split_axis=value.split_axis,
                   labels=value.labels)
