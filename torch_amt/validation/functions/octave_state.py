"""Octave builtins with hidden state, and the shape queries the stateful files use.

* ``randn('state', s)`` / ``randn('twister', s)`` seeds Octave's normal stream and
  ``randn(m, n, ...)`` draws from it, bit for bit
  (:class:`~torch_amt.validation.octave_rng.OctaveRandn`); a draw before any seeding is
  not covered (Octave's start-up state is not reproducible);
* ``clear f`` resets the ``persistent`` variables of the AMT function ``f`` (AMT's
  way to reset a stateful stage such as ``breebaart2001_centralproc``);
* ``rows``, ``columns`` (also of cell arrays), ``isequal``, ``double``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_amt.validation.octave_rng import OctaveRandn
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import Cell, cell_shape, is_empty

RANDN = "%randn"
"""Hidden name of Octave's normal-distribution stream."""

_SEEDING = ("state", "twister")


def persistent(function: str) -> str:
    """Hidden name of the ``persistent`` variables of the AMT function ``function``."""
    return f"%persistent:{function}"


def _randn_state(args: list) -> tuple[frozenset, frozenset]:
    if args and args[0] in _SEEDING and len(args) == 2:
        return frozenset({RANDN}), frozenset()
    return frozenset(), frozenset({RANDN})


@amt_function("randn", state=_randn_state)
def randn(ctx: Context, args: list, nargout: int) -> tuple:
    """``randn('state', s)`` (no output) or ``randn(m, n, ...)`` / ``randn([m n])``."""
    if args and isinstance(args[0], str):
        if args[0] not in _SEEDING or len(args) != 2:
            raise NotCovered(f"randn({args[0]!r}, ...) other than seeding with 'state' or "
                             "'twister'")
        try:
            ctx.state[RANDN] = OctaveRandn(np.asarray(args[1], dtype=float))
        except ValueError as err:
            raise NotCovered(str(err)) from err
        return ()
    generator = ctx.state[RANDN]
    if generator is None:
        raise NotCovered("randn draws before randn('state', seed): Octave's start-up "
                         "state is not reproducible")
    if len(args) == 1 and np.size(args[0]) > 1:
        args = list(np.asarray(args[0]).reshape(-1))
    dims = [int(float(np.asarray(a).reshape(-1)[0])) for a in args] or [1]
    if any(d < 0 for d in dims):
        raise ValueError(f"randn dimensions must be non-negative, got {dims}")
    draws = generator.randn(*dims)
    return (float(draws.reshape(-1)[0]) if draws.size == 1 else draws,)


def _clear_state(args: list) -> tuple[frozenset, frozenset]:
    return frozenset(persistent(a) for a in args if a is not None), frozenset()


@amt_function("clear", state=_clear_state)
def clear(ctx: Context, args: list, nargout: int) -> tuple:
    """``clear f``: the persistent variables of function ``f`` start afresh."""
    if not args or not all(isinstance(a, str) for a in args):
        raise NotCovered("clear is covered with function names (clear f)")
    for name in args:
        ctx.state[persistent(name)] = None
    return ()


def _shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        return cell_shape(value)
    if isinstance(value, str):
        return (1, len(value))
    if isinstance(value, dict):
        return (1, 1)
    arr = np.asarray(value)
    return (1, 1) if arr.ndim == 0 else arr.shape + (1,) * (2 - arr.ndim)


@amt_function("rows")
def rows(ctx: Context, args: list, nargout: int) -> tuple:
    """``rows(x)``: the size of dimension 1."""
    return (float(_shape(args[0])[0]),)


@amt_function("columns")
def columns(ctx: Context, args: list, nargout: int) -> tuple:
    """``columns(x)``: the size of dimension 2."""
    return (float(_shape(args[0])[1]),)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and _shape(a) == _shape(b)
                and all(_equal(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(_equal(a[k], b[k]) for k in a))
    if is_empty(a) and is_empty(b):
        return True
    return _shape(a) == _shape(b) and bool(np.array_equal(np.asarray(a), np.asarray(b)))


@amt_function("isequal")
def isequal(ctx: Context, args: list, nargout: int) -> tuple:
    """``isequal(a, b, ...)``: same shape and values (NaN differs from NaN); a logical."""
    if len(args) < 2:
        raise ValueError("isequal needs at least two arguments")
    return (bool(all(_equal(args[0], other) for other in args[1:])),)


@amt_function("double")
def double(ctx: Context, args: list, nargout: int) -> tuple:
    """``double(x)`` of a numeric or logical value (logicals to 0/1)."""
    (x,) = args
    if isinstance(x, (list, dict, str, Cell)):
        raise NotCovered("double of a cell, struct or char array")
    arr = np.asarray(x, dtype=float)
    return (float(arr) if arr.ndim == 0 else arr,)
