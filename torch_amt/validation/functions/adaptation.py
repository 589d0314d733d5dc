"""Validation handler for AMT ``adaptloop`` (torch_amt.functional.adaptation)."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_amt.functional.adaptation import ADAPTLOOP_PRESETS, adaptloop
from torch_amt.validation.convert import amt_to_torch, torch_to_amt
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import ArgBundle, is_empty

_POSITIONAL = ("limit", "minspl", "tau")
_KEYS = {"limit": "limit", "minspl": "minspl", "minlvl": "minspl", "tau": "tau", "dim": "dim"}


def _settings(rest: list) -> dict[str, Any]:
    """Walk AMT's argument list in order, like ``ltfatarghelper``: positional values,
    then flag groups and key-values, later ones overriding earlier ones."""
    base = ADAPTLOOP_PRESETS["adt_dau1997"]
    out: dict[str, Any] = {"limit": base.limit, "minspl": base.minspl, "tau": base.tau}
    i = 0
    while i < len(rest) and not isinstance(rest[i], str):
        if i >= len(_POSITIONAL):
            raise NotCovered("adaptloop: too many positional arguments")
        if not is_empty(rest[i]):
            out[_POSITIONAL[i]] = rest[i]
        i += 1
    while i < len(rest):
        name = rest[i]
        if name == "argimport":
            for bundle in dict.fromkeys(b for b in rest[i + 1:i + 3] if isinstance(b, ArgBundle)):
                out.update(_settings(list(bundle.args)) if bundle.args else {})
            i += 3
        elif name in ADAPTLOOP_PRESETS:
            p = ADAPTLOOP_PRESETS[name]
            out.update(limit=p.limit, tau=p.tau)
            if name == "adt_relanoiborra2019":
                out["minspl"] = p.minspl
            i += 1
        elif name in _KEYS:
            if not is_empty(rest[i + 1]):
                out[_KEYS[name]] = rest[i + 1]
            i += 2
        elif name in ("adt", "no_adt"):
            i += 1
        else:
            raise NotCovered(f"adaptloop flag {name!r} is not covered")
    return out


@amt_function("adaptloop")
def adaptloop_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``outsig = adaptloop(insig, fs, limit, minspl, tau, flags...)``; time x channel."""
    if len(args) < 2:
        raise NotCovered("adaptloop needs insig and fs")
    s = _settings(list(args[2:]))
    if "dim" in s and float(s["dim"]) != 1:
        raise NotCovered(f"adaptloop along dim {s['dim']} is not covered")
    x = amt_to_torch(args[0], ctx.dtype)
    y = adaptloop(x, float(args[1]), float(np.asarray(s["limit"]).reshape(-1)[0]),
                  np.asarray(s["minspl"], dtype=float).reshape(-1).tolist(),
                  np.asarray(s["tau"], dtype=float).reshape(-1).tolist())
    return (torch_to_amt(y),)
