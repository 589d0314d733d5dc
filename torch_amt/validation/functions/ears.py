"""Handlers of AMT ``headphonefilter`` and ``middleearfilter`` (torch_amt.functional.ears).

The FIR taps agree with AMT to ~1e-15 relative (the inverse FFT inside ``fir2`` and the
cepstral minimum-phase step round differently from Octave's FFTW); the policy's 1e-9
covers that with a wide margin.
"""

from __future__ import annotations

import numpy as np

from torch_amt.functional.ears import MIDDLE_EAR_PRESETS
from torch_amt.functional.ears import headphonefilter as hp
from torch_amt.functional.ears import middleearfilter as me
from torch_amt.validation.convert import torch_to_array
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import parse_ltfat_args


def _row(t) -> np.ndarray:
    a = torch_to_array(t)
    return a.reshape(1, -1) if a.ndim == 1 else a


@amt_function("headphonefilter")
def headphonefilter(ctx: Context, args: list, nargout: int) -> tuple:
    """``b = headphonefilter(fs, order)``; ``headphonefilter()`` returns the data table."""
    if not args:
        return (torch_to_array(hp()),)
    order = int(args[1]) if len(args) > 1 else 512
    return (_row(hp(float(args[0]), order)),)


@amt_function("middleearfilter")
def middleearfilter(ctx: Context, args: list, nargout: int) -> tuple:
    """``[b, a] = middleearfilter(fs, flags..., 'order', n)``; no fs: the data table."""
    fs = None
    rest = list(args)
    if rest and not isinstance(rest[0], str):
        fs = float(rest.pop(0))
    parsed = parse_ltfat_args(rest, keys=("order",))
    presets = [f for f in parsed.flags if f in MIDDLE_EAR_PRESETS]
    phases = [f for f in parsed.flags if f in ("minimum", "zero")]
    unknown = set(parsed.flags) - set(presets) - set(phases)
    if unknown:
        raise NotCovered(f"middleearfilter flags {sorted(unknown)} are not implemented")
    preset = presets[-1] if presets else "lopezpoveda2001"
    phase = phases[-1] if phases else "minimum"
    result = me(fs, preset, phase, int(parsed.get("order", 512)))
    if isinstance(result, tuple):
        b, a = result
        return (_row(b), _row(a))
    if fs is None:
        return (torch_to_array(result), 1.0)
    return (_row(result), 1.0)
