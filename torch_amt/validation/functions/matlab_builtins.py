"""MATLAB/Octave builtins and argument helpers used in ``call`` statements.

``numel zeros cell struct rmfield max abs log10 ceil exp sqrt length sum reshape not
double isreal real linspace`` with NumPy (``abs``, ``max``, ``reshape`` keep
``Checked.scale``), ``cellfun`` with an anonymous function (uniform output, keeping
the scale of its results); ``filter`` through torch_amt's IIR kernel
(:func:`torch_amt.dsp.lfilter`); ``freqz`` (Octave signal package, ``n`` points on
[0, pi)) with NumPy; ``fir2`` (Octave signal package) with
:func:`torch_amt.dsp.fir.fir2`; ``ltfatarghelper`` and the generator's
``amtref_lopezpoveda2001_jepsen2008_flags`` return :class:`~torch_amt.validation.values.ArgBundle`
objects for the handler that receives them via ``'argimport'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_amt.dsp import lfilter
from torch_amt.dsp.fir import fir2 as design_fir2
from torch_amt.validation.convert import (
    amt_to_torch,
    array_to_torch,
    torch_to_amt,
    torch_to_array,
    vector_to_torch,
)
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.values import ArgBundle, scale_of, unwrap, with_scale


def _count(value: Any, what: str) -> int:
    number = float(np.asarray(value).reshape(-1)[0])
    if number != int(number) or number < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {number}")
    return int(number)


def _array(value: Any, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{what} must be numeric, got {type(value).__name__}")
    return arr.reshape(1, 1) if arr.ndim == 0 else arr


@amt_function("numel")
def numel(ctx: Context, args: list, nargout: int) -> tuple:
    """``numel(x)``: number of elements (cells: elements, structs and scalars: 1)."""
    (x,) = args
    if isinstance(x, (list, str)):
        return (float(len(x)),)
    return (float(np.size(x)) if isinstance(x, np.ndarray) else 1.0,)


@amt_function("zeros")
def zeros(ctx: Context, args: list, nargout: int) -> tuple:
    """``zeros(n)`` (n x n) or ``zeros(m, n, ...)``."""
    dims = [_count(a, "a dimension") for a in args] or [1]
    return (np.zeros(dims * 2 if len(dims) == 1 else dims),)


@amt_function("cell")
def cell(ctx: Context, args: list, nargout: int) -> tuple:
    """``cell(n)`` or ``cell(m, n)``: a cell array of empty matrices (stored flat)."""
    dims = [_count(a, "a dimension") for a in args] or [0]
    size = int(np.prod(dims * 2 if len(dims) == 1 else dims))
    return ([np.zeros((0, 0)) for _ in range(size)],)


@amt_function("struct")
def struct(ctx: Context, args: list, nargout: int) -> tuple:
    """``struct()`` or ``struct('name', value, ...)``."""
    if len(args) % 2:
        raise ValueError("struct needs name/value pairs")
    return ({args[i]: args[i + 1] for i in range(0, len(args), 2)},)


@amt_function("rmfield")
def rmfield(ctx: Context, args: list, nargout: int) -> tuple:
    """``rmfield(s, 'name')`` or ``rmfield(s, {'a', 'b'})``."""
    s, names = args
    names = [names] if isinstance(names, str) else list(names)
    missing = [n for n in names if n not in s]
    if missing:
        raise KeyError(f"rmfield: struct has no field(s) {missing}")
    return ({k: v for k, v in s.items() if k not in names},)


@amt_function("max", keeps_scale=True)
def max_(ctx: Context, args: list, nargout: int) -> tuple:
    """``max(x)`` along the first non-singleton dimension, or ``max(a, b)``; NaN ignored."""
    if len(args) == 2:
        return (np.fmax(_array(args[0], "a"), _array(args[1], "b")),)
    (x,) = args
    arr = _array(x, "x")
    if np.iscomplexobj(arr):
        raise NotCovered("max of complex values is not implemented in the harness")
    if sum(n > 1 for n in arr.shape) <= 1:
        return (float(np.nanmax(arr)) if arr.size else np.zeros((0, 0)),)
    axis = next(d for d, n in enumerate(arr.shape) if n > 1)
    return (np.nanmax(arr, axis=axis, keepdims=True),)


@amt_function("abs", keeps_scale=True)
def abs_(ctx: Context, args: list, nargout: int) -> tuple:
    """``abs(x)``."""
    (x,) = args
    return (np.abs(_array(x, "x")),)


@amt_function("log10")
def log10(ctx: Context, args: list, nargout: int) -> tuple:
    """``log10(x)`` (complex for negative values, as in MATLAB)."""
    (x,) = args
    with np.errstate(divide="ignore"):
        return (np.emath.log10(_array(x, "x")),)


def _elementwise(function: Any) -> Any:
    def handler(ctx: Context, args: list, nargout: int) -> tuple:
        (x,) = args
        with np.errstate(all="ignore"):
            value = function(_array(x, "x"))
        return (float(value.reshape(-1)[0]) if value.size == 1 and value.dtype.kind == "f"
                else value,)
    return handler


amt_function("ceil")(_elementwise(np.ceil))
amt_function("exp")(_elementwise(np.exp))
amt_function("sqrt")(_elementwise(np.emath.sqrt))


@amt_function("length")
def length(ctx: Context, args: list, nargout: int) -> tuple:
    """``length(x)``: the largest dimension (0 for an empty array)."""
    (x,) = args
    if isinstance(x, (list, str)):
        return (float(len(x)),)
    shape = np.shape(x)
    return (float(max(shape) if shape and min(shape) > 0 else (1 if not shape else 0)),)


@amt_function("sum")
def sum_(ctx: Context, args: list, nargout: int) -> tuple:
    """``sum(x)`` along the first non-singleton dimension."""
    (x,) = args
    arr = _array(x, "x")
    if sum(n > 1 for n in arr.shape) <= 1:
        return (arr.sum().item(),)
    axis = next(d for d, n in enumerate(arr.shape) if n > 1)
    return (arr.sum(axis=axis, keepdims=True),)


@amt_function("reshape", keeps_scale=True)
def reshape(ctx: Context, args: list, nargout: int) -> tuple:
    """``reshape(x, m, n, ...)`` (column-major); one size may be ``[]``."""
    x, *dims = args
    arr = _array(x, "x")
    sizes = [-1 if isinstance(d, np.ndarray) and d.size == 0 else _count(d, "a size")
             for d in dims]
    if len(sizes) < 2 or sizes.count(-1) > 1:
        raise NotCovered("reshape needs at least two sizes, at most one of them []")
    return (arr.reshape(sizes, order="F"),)


@amt_function("cellfun")
def cellfun(ctx: Context, args: list, nargout: int) -> tuple:
    """``cellfun(@(a, ...) expr, c1, ...)``: one scalar per cell element (column)."""
    function, *cells = args
    if not callable(function) or not cells or not all(isinstance(c, list) for c in cells):
        raise NotCovered("cellfun is covered with an anonymous function and cell arrays")
    if len({len(c) for c in cells}) != 1:
        raise ValueError("cellfun: all cell arrays must have the same number of elements")
    results = [function(*elements) for elements in zip(*cells, strict=True)]
    values = [np.asarray(unwrap(r)) for r in results]
    if any(v.size != 1 for v in values):
        raise NotCovered("cellfun with non-scalar results ('UniformOutput', false)")
    value = np.array([v.reshape(-1)[0] for v in values]).reshape(-1, 1)
    return (with_scale(value, scale_of(results)),)


@amt_function("ltfatarghelper")
def ltfatarghelper(ctx: Context, args: list, nargout: int) -> tuple:
    """``[flags, kv] = ltfatarghelper(posnames, definput, arglist)``: one ArgBundle twice."""
    posnames, definput, arglist = args
    posnames = [posnames] if isinstance(posnames, str) else list(posnames)
    imports = definput.get("import", []) if isinstance(definput, dict) else []
    bundle = ArgBundle("ltfatarghelper", tuple(arglist), tuple(posnames),
                       tuple([imports] if isinstance(imports, str) else imports))
    return (bundle, bundle)


@amt_function("amtref_lopezpoveda2001_jepsen2008_flags")
def amtref_lopezpoveda2001_jepsen2008_flags(ctx: Context, args: list, nargout: int) -> tuple:
    """The reference generator's ``lopezpoveda2001`` jepsen2008 parameter set plus the
    given arguments, as ``[flags, kv]`` for ``'argimport'``.

    The generator passes the group's values this way because AMT 1.x's
    ``lopezpoveda2001(x, fs, 'jepsen2008')`` never returns (the group contains its own
    name as a flag, which ``ltfatarghelper`` re-expands forever)."""
    bundle = ArgBundle("amtref_lopezpoveda2001_jepsen2008_flags", tuple(args))
    return (bundle, bundle)


@amt_function("filter")
def filter_(ctx: Context, args: list, nargout: int) -> tuple:
    """``filter(b, a, x)`` along the first non-singleton dimension of ``x``, computed by
    :func:`torch_amt.dsp.lfilter`."""
    if len(args) != 3:
        raise NotCovered("filter with initial conditions or a dimension argument")
    b, a, x = args
    arr = _array(x, "x")
    coefficients = vector_to_torch(b, ctx.dtype), vector_to_torch(a, ctx.dtype)
    if arr.ndim == 2 and arr.shape[0] == 1:
        return (torch_to_array(lfilter(array_to_torch(arr, ctx.dtype), *coefficients)),)
    return (torch_to_amt(lfilter(amt_to_torch(arr, ctx.dtype), *coefficients)),)


def _on_grid(c: np.ndarray, n: int) -> np.ndarray:
    """Polynomial ``c`` evaluated at exp(-i pi k / n), k = 0..n-1, by a folded 2n-FFT."""
    size = 2 * n
    folded = np.zeros(size, dtype=np.result_type(c, np.float64))
    for start in range(0, len(c), size):
        chunk = c[start:start + size]
        folded[:len(chunk)] += chunk
    return np.fft.fft(folded)[:n]


@amt_function("freqz")
def freqz(ctx: Context, args: list, nargout: int) -> tuple:
    """``[h, w] = freqz(b, a, n)``: response at ``n`` frequencies ``w = pi*(0:n-1)'/n``."""
    if not 1 <= len(args) <= 3:
        raise NotCovered("freqz with frequency vectors, 'whole' or a sampling rate")
    b = _array(args[0], "b").reshape(-1)
    a = _array(args[1], "a").reshape(-1) if len(args) > 1 else np.ones(1)
    n = _count(args[2], "n") if len(args) > 2 else 512
    h = _on_grid(b, n) / _on_grid(a, n)
    w = np.pi * np.arange(n) / n
    return (h.reshape(-1, 1), w.reshape(-1, 1))


@amt_function("not")
def not_(ctx: Context, args: list, nargout: int) -> tuple:
    """``~x`` / ``not(x)``: logical negation (1.0/0.0; MATLAB's logicals as doubles)."""
    (x,) = args
    value = np.logical_not(_array(x, "x")).astype(float)
    return (float(value.reshape(-1)[0]) if value.size == 1 else value,)


@amt_function("double")
def double(ctx: Context, args: list, nargout: int) -> tuple:
    """``double(x)``: numeric values as they are (logicals are already 1.0/0.0 here)."""
    (x,) = args
    return (x,)


@amt_function("isreal")
def isreal(ctx: Context, args: list, nargout: int) -> tuple:
    """``isreal(x)``: 1 unless ``x`` is stored complex (MATLAB keeps an array complex
    once any element is)."""
    (x,) = args
    return (0.0 if np.iscomplexobj(unwrap(x)) else 1.0,)


@amt_function("real")
def real(ctx: Context, args: list, nargout: int) -> tuple:
    """``real(x)``."""
    (x,) = args
    value = np.real(_array(x, "x"))
    return (float(value.reshape(-1)[0]) if value.size == 1 else value,)


@amt_function("linspace")
def linspace(ctx: Context, args: list, nargout: int) -> tuple:
    """``linspace(a, b, n)``: a row of ``n`` points (``n`` default 100)."""
    a, b, *rest = args
    n = _count(rest[0], "n") if rest else 100
    return (np.linspace(float(np.asarray(a).reshape(-1)[0]), float(np.asarray(b).reshape(-1)[0]),
                        n).reshape(1, -1),)


@amt_function("fir2")
def fir2(ctx: Context, args: list, nargout: int) -> tuple:
    """``b = fir2(n, f, m)`` (Octave signal package; grid and ramp defaults): a row."""
    if len(args) != 3:
        raise NotCovered("fir2 with a grid size, ramp or window argument is not covered")
    n, f, m = args
    b = design_fir2(_count(n, "n"), np.asarray(f, dtype=float).ravel(),
                    np.asarray(m, dtype=float).ravel())
    return (b.numpy().reshape(1, -1),)
