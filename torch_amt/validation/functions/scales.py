"""Handlers of LTFAT's auditory-scale functions (``torch_amt.scales``).

``erbspacebw``, ``erbspace``, ``audfiltbw``, ``freqtoaud``/``audtofreq`` and the older
names ``freqtoerb``/``erbtofreq``, for the ERB scale (LTFAT's default, the only one
torch_amt implements; another scale flag is reported not covered).
"""

from __future__ import annotations

from torch_amt import scales
from torch_amt.validation.convert import array_to_torch, torch_to_array, torch_to_row
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import parse_ltfat_args


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
                           dtype=ctx.dtype)
    return (torch_to_row(fc), float(fc.numel()))


@amt_function("erbspace")
def erbspace(ctx: Context, args: list, nargout: int) -> tuple:
    """``[y, bw] = erbspace(flow, fhigh, n)`` (LTFAT ``audspace``, ERB)."""
    flow, fhigh, n = args
    fc = scales.erbspace(flow, fhigh, int(n), dtype=ctx.dtype)
    limits = scales.freqtoerb([flow, fhigh], dtype=ctx.dtype)
    return (torch_to_row(fc), float((limits[1] - limits[0]) / (n - 1)) if n > 1 else 0.0)


@amt_function("audfiltbw")
def audfiltbw(ctx: Context, args: list, nargout: int) -> tuple:
    """``bw = audfiltbw(fc)``: ERB in Hz (Glasberg & Moore 1990), same shape as ``fc``."""
    fc, *rest = args
    _erb_only(parse_ltfat_args(rest).flags, "audfiltbw")
    return (torch_to_array(scales.audfiltbw(array_to_torch(fc, ctx.dtype))),)


@amt_function("freqtoaud", "freqtoerb")
def freqtoaud(ctx: Context, args: list, nargout: int) -> tuple:
    """``aud = freqtoaud(freq, 'erb')``, same shape as ``freq``."""
    freq, *rest = args
    _erb_only(parse_ltfat_args(rest).flags, "freqtoaud")
    return (torch_to_array(scales.freqtoerb(array_to_torch(freq, ctx.dtype))),)


@amt_function("audtofreq", "erbtofreq")
def audtofreq(ctx: Context, args: list, nargout: int) -> tuple:
    """``freq = audtofreq(aud, 'erb')``, same shape as ``aud``."""
    aud, *rest = args
    _erb_only(parse_ltfat_args(rest).flags, "audtofreq")
    return (torch_to_array(scales.erbtofreq(array_to_torch(aud, ctx.dtype))),)
