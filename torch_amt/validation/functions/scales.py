"""Handlers of LTFAT's auditory-scale functions (``torch_amt.scales``).

``erbspacebw``, ``erbspace``, ``audfiltbw``, ``freqtoaud``/``audtofreq`` and the older
names ``freqtoerb``/``erbtofreq``, for the ERB scale (LTFAT's default, the only one
torch_amt implements; another scale flag is reported not covered).

They compute in float64 in every run, float32 runs included: frequencies are design
values, and torch_amt's stages and models compute and keep their centre frequencies in
float64 whatever the signal's dtype (``model.fc`` is a float64 buffer). AMT's reference
chains compare such values exactly (``isequal(erbspace(...), fc)``); a float32
``erbspace`` would fail those comparisons against a float64 model frequency by design,
not by error.
"""

from __future__ import annotations

import torch

from torch_amt import scales
from torch_amt.validation.convert import array_to_torch, torch_to_array, torch_to_row
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import parse_ltfat_args

_DTYPE = torch.float64
"""Precision of every scale computation (see the module docstring)."""


def _erb_only(flags: list[str], function: str) -> None:
    other = [f for f in flags if f != "erb"]
    if other:
        raise NotCovered(f"{function} with flags {other}: torch_amt.scales has the ERB "
                         "scale only")


@amt_function("erbspacebw")
def erbspacebw(ctx: Context, args: list, nargout: int) -> tuple:
    """``[y, n] = erbspacebw(flow, fhigh, bw, hitme)`` (LTFAT ``audspacebw``, ERB)."""
    flow, fhigh, *rest = args
    parsed = parse_ltfat_args(rest, posnames=("bw", "hitme"))
    _erb_only(parsed.flags, "erbspacebw")
    fc = scales.erbspacebw(flow, fhigh, parsed.get("bw", 1.0), parsed.get("hitme"),
                           dtype=_DTYPE)
    return (torch_to_row(fc), float(fc.numel()))


@amt_function("erbspace")
def erbspace(ctx: Context, args: list, nargout: int) -> tuple:
    """``[y, bw] = erbspace(flow, fhigh, n)`` (LTFAT ``audspace``, ERB)."""
    flow, fhigh, n = args
    fc = scales.erbspace(flow, fhigh, int(n), dtype=_DTYPE)
    limits = scales.freqtoerb([flow, fhigh], dtype=_DTYPE)
    return (torch_to_row(fc), float((limits[1] - limits[0]) / (n - 1)) if n > 1 else 0.0)


@amt_function("audfiltbw")
def audfiltbw(ctx: Context, args: list, nargout: int) -> tuple:
    """``bw = audfiltbw(fc)``: ERB in Hz (Glasberg & Moore 1990), same shape as ``fc``."""
    fc, *rest = args
    _erb_only(parse_ltfat_args(rest).flags, "audfiltbw")
    return (torch_to_array(scales.audfiltbw(array_to_torch(fc, _DTYPE))),)


@amt_function("freqtoaud", "freqtoerb")
def freqtoaud(ctx: Context, args: list, nargout: int) -> tuple:
    """``aud = freqtoaud(freq, 'erb')``, same shape as ``freq``."""
    freq, *rest = args
    _erb_only(parse_ltfat_args(rest).flags, "freqtoaud")
    return (torch_to_array(scales.freqtoerb(array_to_torch(freq, _DTYPE))),)


@amt_function("audtofreq", "erbtofreq")
def audtofreq(ctx: Context, args: list, nargout: int) -> tuple:
    """``freq = audtofreq(aud, 'erb')``, same shape as ``aud``."""
    aud, *rest = args
    _erb_only(parse_ltfat_args(rest).flags, "audtofreq")
    return (torch_to_array(scales.erbtofreq(array_to_torch(aud, _DTYPE))),)
