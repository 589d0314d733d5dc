"""Registry of handlers: Python implementations of the AMT functions named in ``call``.

A handler computes what one AMT/LTFAT function computes, with torch_amt::

    from torch_amt.validation.registry import amt_function

    @amt_function("audfiltbw")
    def audfiltbw(ctx, args, nargout):
        ...
        return (bandwidths,)

``args`` are evaluated MATLAB values (see :mod:`torch_amt.validation.values`), ``nargout`` the
number of outputs the statement asks for (at least 1). A handler returns a tuple of
outputs in AMT layout (NumPy, time first), any of them optionally wrapped in
:class:`~torch_amt.validation.values.Checked` to set its tolerance, or a :class:`NotCovered`
instance for an output it cannot compute; it raises :class:`NotCovered` when it cannot
compute the call at all. Modules in :mod:`torch_amt.validation.functions` are imported
automatically.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from torch_amt.validation.values import (
    ArgBundle,
    Checked,
    merge_tolerances,
    scale_of,
    unwrap,
    with_scale,
)

__all__ = ["HANDLERS", "KEEPS_SCALE", "STATE", "AmtError", "Context", "Handler", "NotCovered",
           "StateSpec", "amt_function", "call_function", "copy_state"]


class NotCovered(Exception):
    """torch_amt does not compute this (yet); the dependent checks are reported not covered."""


class AmtError(Exception):
    """AMT itself stops with an error for this call (a handler reproducing a known AMT bug).

    ``str(err)`` is AMT's error message as Octave reports it (``err.message``); a
    ``try ... catch err ... end`` block in ``call`` catches it, as Octave does.

    Parameters
    ----------
    message : str
        Octave's ``err.message``.
    identifier : str
        Octave's ``err.identifier`` (``''`` for most AMT errors).
    """

    def __init__(self, message: str, identifier: str = "") -> None:
        super().__init__(message)
        self.identifier = identifier


@dataclass(frozen=True)
class Context:
    """What a handler may know besides its arguments.

    Attributes
    ----------
    file : str
        Name of the reference file.
    variables : Mapping[str, Any]
        All variables stored in the file (MATLAB values), e.g. ``amt_version``.
    dtype : torch.dtype
        Precision to compute in (``torch.float64`` or ``torch.float32``).
    """

    file: str
    variables: Mapping[str, Any]
    dtype: torch.dtype
    state: dict[str, Any] | None = None
    """For a function registered with ``state=``: its hidden state (Octave's random
    stream, ``persistent`` variables) by name, ``None`` for a fresh one; the handler
    replaces entries or updates them in place (also before raising :class:`AmtError`)."""

    @property
    def amt_version(self) -> str:
        """The file's ``amt_version`` string (``''`` if absent)."""
        version = self.variables.get("amt_version", "")
        return version if isinstance(version, str) else ""

    @property
    def is_amt0910(self) -> bool:
        """Whether the file was made with AMT 0.9.10 (``amt0910_*`` files)."""
        return "0.9.10" in self.amt_version


Handler = Callable[[Context, list, int], tuple]
HANDLERS: dict[str, Handler] = {}
StateSpec = Callable[[list], tuple[frozenset, frozenset]]
STATE: dict[str, StateSpec] = {}
"""Functions with hidden state (Octave's ``randn`` stream, AMT's ``persistent``
variables): for the call's arguments as written (a ``str`` for a string literal,
``None`` for anything else) the hidden names it *resets* and those it *reads and
updates*. The harness orders such calls by these names (so ``randn('state', s)`` or
``clear f`` before a loop is run when the loop is) and keeps the states per evaluation.
A state value is ``None`` (fresh), an immutable object or one with ``copy()`` (the
handler may change it in place: it gets a copy); one that also has
``digest()`` (equal states, equal digests: :class:`~torch_amt.validation.octave_rng.
OctaveRandn`) lets :func:`call_function` cache the call with the state in the key."""
KEEPS_SCALE: set[str] = set()
"""Functions whose outputs keep the :attr:`~torch_amt.validation.values.Checked.scale` of
their inputs (selections and magnitudes: ``abs``, ``max``, ``reshape``)."""


def amt_function(*names: str, keeps_scale: bool = False,
                 state: StateSpec | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of the AMT functions ``names``.

    Parameters
    ----------
    *names : str
        AMT/LTFAT function names as written in ``call`` (aliases allowed).
    keeps_scale : bool
        The outputs keep the largest ``Checked.scale`` of the arguments (a function that
        only selects elements or takes magnitudes, see :data:`KEEPS_SCALE`).
    state : callable, optional
        The function has hidden state (see :data:`STATE`); the handler finds it in
        :attr:`Context.state`.

    Raises
    ------
    ValueError
        If a name already has a handler.
    """
    if not names:
        raise ValueError("amt_function needs at least one function name")

    def register(handler: Handler) -> Handler:
        for name in names:
            if name in HANDLERS:
                raise ValueError(f"AMT function {name!r} already has a handler "
                                 f"({HANDLERS[name].__module__}.{HANDLERS[name].__name__})")
            HANDLERS[name] = handler
            if keeps_scale:
                KEEPS_SCALE.add(name)
            if state is not None:
                STATE[name] = state
        return handler

    return register


def _checked_inputs(value: Any) -> list[Checked]:
    if isinstance(value, Checked):
        return [value]
    if isinstance(value, list):
        return [c for v in value for c in _checked_inputs(v)]
    return []


def _validate_output(name: str, value: Any) -> None:
    if isinstance(unwrap(value), torch.Tensor):
        raise TypeError(f"handler of {name!r} returned a torch.Tensor; convert it to AMT "
                        "layout with validation.convert (torch_to_amt, torch_to_array)")


def _digest(value: Any, h: Any) -> None:
    """Feed a MATLAB value into the hash ``h`` (TypeError for anything else)."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError("object array")
        h.update(f"a{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (bool, int, float, complex, str, type(None))):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, (list, tuple)):
        h.update(f"l{len(value)}(".encode())
        for v in value:
            _digest(v, h)
        h.update(b")")
    elif isinstance(value, dict):
        h.update(f"d{len(value)}(".encode())
        for k, v in value.items():
            _digest(k, h)
            _digest(v, h)
        h.update(b")")
    elif isinstance(value, ArgBundle):
        _digest(("bundle", value.source, value.args, value.posnames, value.imports), h)
    else:
        raise TypeError(f"cannot hash {type(value).__name__}")


def _cache_key(name: str, args: list, nargout: int, salt: bytes = b"") -> bytes | None:
    h = hashlib.blake2b(f"{name}/{nargout}".encode() + salt, digest_size=20)
    try:
        _digest(args, h)
    except TypeError:
        return None
    return h.digest()


def copy_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """An independent copy of hidden states (see :data:`STATE`)."""
    return {k: v.copy() if hasattr(v, "copy") else v for k, v in state.items()}


def _state_digest(state: Mapping[str, Any]) -> bytes | None:
    """The hidden states' part of a cache key; ``None`` if one cannot be digested."""
    parts = []
    for name in sorted(state):
        value = state[name]
        if value is not None and not hasattr(value, "digest"):
            return None
        parts.append(f"{name}=".encode() + (b"fresh" if value is None else value.digest()))
    return b";".join(parts)


def call_function(name: str, ctx: Context, args: list, nargout: int,
                  cache: dict[bytes, tuple] | None = None) -> tuple:
    """Call the handler of ``name``; outputs inherit the tolerances of ``Checked`` inputs.

    Parameters
    ----------
    name : str
        AMT function name.
    ctx : Context
        File context.
    args : list
        Evaluated arguments, possibly :class:`Checked` (unwrapped before the call).
    nargout : int
        Number of requested outputs (0 is passed as 1).
    cache : dict, optional
        Memo of handler outputs by function, ``nargout`` and argument values: a call
        repeated with bitwise-equal arguments (e.g. a stage-isolated run whose stored
        inputs equal the computed ones) is not computed again. With ``ctx.state`` (a
        :data:`STATE` function) the key includes the digests of the hidden states before
        the call (a state without ``digest()`` is never cached), and a repeated call
        leaves the states the first one left.

    Returns
    -------
    tuple
        The handler's outputs.

    Raises
    ------
    NotCovered
        If ``name`` has no handler, or the handler raises it.
    """
    handler = HANDLERS.get(name)
    if handler is None:
        raise NotCovered(f"no handler for AMT function {name!r}")
    plain = [unwrap(a) for a in args]
    salt = b"" if ctx.state is None else _state_digest(ctx.state)
    key = None if cache is None or salt is None else _cache_key(name, plain, nargout, salt)
    if key is not None and key in cache:
        outputs = cache[key]
        if ctx.state is not None:
            ctx.state.update(copy_state(cache[key + b"/state"]))
    else:
        outputs = handler(ctx, plain, max(nargout, 1))
        if not isinstance(outputs, tuple):
            raise TypeError(f"handler of {name!r} must return a tuple, got "
                            f"{type(outputs).__name__}")
        if key is not None:
            cache[key] = outputs
            if ctx.state is not None:
                cache[key + b"/state"] = copy_state(ctx.state)
    sources = [c for a in args for c in _checked_inputs(a)]
    scale = scale_of(sources) if name in KEEPS_SCALE else 0.0
    result = []
    for out in outputs:
        if isinstance(out, NotCovered):
            result.append(out)
            continue
        _validate_output(name, out)
        if isinstance(out, dict) and sources:  # a struct: each field inherits them
            out = {k: merge_tolerances(v, sources) for k, v in out.items()}
        result.append(with_scale(merge_tolerances(out, sources, keep_scale=scale > 0), scale))
    return tuple(result)
