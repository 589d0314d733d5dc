"""MATLAB/Octave builtins and argument helpers used in ``call`` statements.

``numel zeros cell struct rmfield max min abs log10 ceil floor real exp sqrt length sum
mean rms reshape size squeeze cat fliplr find nan isnan not isreal linspace`` with NumPy
(``abs``, ``max``, ``reshape``, ``squeeze``, ``fliplr`` keep ``Checked.scale``; ``isnan``,
``not`` and ``isreal`` give MATLAB logicals, bool arrays; ``linspace`` is Octave's,
built from both ends), ``cellfun`` with an anonymous function (uniform output, keeping
the scale of its results); ``filter`` through torch_amt's IIR kernel
(:func:`torch_amt.dsp.lfilter`); ``freqz`` (Octave signal package, ``n`` points on
[0, pi)) with NumPy; ``fir2`` (Octave signal package) with
:func:`torch_amt.dsp.fir.fir2`; ``ltfatarghelper`` and the generator's
``amtref_lopezpoveda2001_jepsen2008_flags`` return :class:`~torch_amt.validation.values.ArgBundle`
objects for the handler that receives them via ``'argimport'``; ``resample`` (Octave
signal) and ``movmean``; ``addpath``/``rmpath`` (no-ops) and ``rethrow``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torch_amt.dsp import lfilter
from torch_amt.dsp.fir import fir2 as design_fir2
from torch_amt.dsp.movmean import movmean
from torch_amt.dsp.resample import resample, resample_filter
from torch_amt.scales import _octave_linspace
from torch_amt.validation.convert import (
    amt_to_torch,
    array_to_torch,
    torch_to_amt,
    torch_to_array,
    vector_to_torch,
)
from torch_amt.validation.registry import AmtError, Context, NotCovered, amt_function
from torch_amt.validation.values import ArgBundle, Cell, cell_shape, scale_of, unwrap, with_scale


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


def _dims(args: list) -> list[int]:
    """The dimensions of ``zeros(...)``-like calls: ``n``, ``m, n, ...`` or a size vector."""
    if len(args) == 1 and np.size(args[0]) > 1:
        return [_count(v, "a dimension") for v in np.asarray(args[0]).reshape(-1)]
    dims = [_count(a, "a dimension") for a in args] or [1]
    return dims * 2 if len(dims) == 1 else dims


@amt_function("numel")
def numel(ctx: Context, args: list, nargout: int) -> tuple:
    """``numel(x)``: number of elements (cells: elements, structs and scalars: 1)."""
    (x,) = args
    if isinstance(x, (list, str)):
        return (float(len(x)),)
    return (float(np.size(x)) if isinstance(x, np.ndarray) else 1.0,)


@amt_function("zeros")
def zeros(ctx: Context, args: list, nargout: int) -> tuple:
    """``zeros(n)`` (n x n), ``zeros(m, n, ...)`` or ``zeros([m, n, ...])``."""
    return (np.zeros(_dims(args)),)


@amt_function("cell")
def cell(ctx: Context, args: list, nargout: int) -> tuple:
    """``cell(n)``, ``cell(m, n, ...)`` or ``cell([m, n])``: a cell array of empty
    matrices (elements column-major, with its shape)."""
    if len(args) == 1 and np.size(args[0]) > 1:
        args = list(np.asarray(args[0]).reshape(-1))
    dims = [_count(a, "a dimension") for a in args] or [0]
    dims = dims * 2 if len(dims) == 1 else dims
    return (Cell([np.zeros((0, 0)) for _ in range(int(np.prod(dims)))], tuple(dims)),)


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
amt_function("floor")(_elementwise(np.floor))
amt_function("real")(_elementwise(np.real))
amt_function("exp")(_elementwise(np.exp))
amt_function("sqrt")(_elementwise(np.emath.sqrt))


@amt_function("mean")
def mean(ctx: Context, args: list, nargout: int) -> tuple:
    """``mean(x)`` along the first non-singleton dimension."""
    (x,) = args
    arr = _array(x, "x")
    if sum(n > 1 for n in arr.shape) <= 1:
        return (arr.mean().item(),)
    axis = next(d for d, n in enumerate(arr.shape) if n > 1)
    return (arr.mean(axis=axis, keepdims=True),)


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
    """``sum(x)`` along the first non-singleton dimension; ``sum(x, 'all')``; the flag
    ``'omitnan'`` skips NaN (MATLAB; Octave 7 has neither flag, the paulick2024 reference
    files supply them with a stand-in)."""
    x, *flags = args
    if any(f not in ("all", "omitnan", "includenan") for f in flags):
        raise NotCovered(f"sum with options {flags} is not covered")
    arr = _array(x, "x")
    total = np.nansum if "omitnan" in flags else np.sum
    if "all" in flags or sum(n > 1 for n in arr.shape) <= 1:
        return (total(arr).item(),)
    axis = next(d for d, n in enumerate(arr.shape) if n > 1)
    return (total(arr, axis=axis, keepdims=True),)


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


@amt_function("size")
def size(ctx: Context, args: list, nargout: int) -> tuple:
    """``sz = size(x)`` (a row, at least two entries), ``size(x, dim)`` or
    ``[m, n, ...] = size(x)`` (the last output takes the product of the rest)."""
    x, *dim = args
    shape = cell_shape(x) if isinstance(x, list) else _array(x, "x").shape
    if dim:
        d = _count(dim[0], "dim")
        return (float(shape[d - 1]) if d <= len(shape) else 1.0,)
    if nargout <= 1:
        return (np.array(shape, dtype=float).reshape(1, -1),)
    padded = list(shape) + [1] * max(0, nargout - len(shape))
    return tuple(float(n) for n in padded[:nargout - 1]) + (float(np.prod(padded[nargout - 1:])),)


@amt_function("squeeze", keeps_scale=True)
def squeeze(ctx: Context, args: list, nargout: int) -> tuple:
    """``squeeze(x)``: singleton dimensions removed (a result stays at least 2-D; a
    vector becomes a column), 2-D arrays unchanged."""
    (x,) = args
    arr = _array(x, "x")
    if arr.ndim <= 2:
        return (arr,)
    kept = [n for n in arr.shape if n != 1]
    return (arr.reshape((kept + [1, 1])[:max(2, len(kept))], order="F"),)


@amt_function("cat")
def cat(ctx: Context, args: list, nargout: int) -> tuple:
    """``cat(dim, a, b, ...)``: concatenation along dimension ``dim`` (1-based)."""
    dim, *parts = args
    d = _count(dim, "dim")
    arrays = [_array(p, "an array") for p in parts if np.size(p)]
    if d < 1 or not arrays:
        raise ValueError("cat needs a dimension >= 1 and at least one non-empty array")
    ndim = max(d, *(a.ndim for a in arrays))
    arrays = [a.reshape(a.shape + (1,) * (ndim - a.ndim)) for a in arrays]
    return (np.concatenate(arrays, axis=d - 1),)


@amt_function("fliplr", keeps_scale=True)
def fliplr(ctx: Context, args: list, nargout: int) -> tuple:
    """``fliplr(x)``: the columns (2nd dimension) in reverse order."""
    (x,) = args
    return (np.flip(_array(x, "x"), axis=1).copy(),)


@amt_function("find")
def find(ctx: Context, args: list, nargout: int) -> tuple:
    """``find(x)`` / ``find(x, n)``: 1-based linear indices of the non-zero elements (the
    first ``n``), a row for a row vector, else a column."""
    x, *limit = args
    arr = _array(x, "x")
    found = np.flatnonzero(arr.reshape(-1, order="F") != 0) + 1.0
    if limit:
        found = found[:_count(limit[0], "n")]
    row = arr.ndim == 2 and arr.shape[0] == 1
    value = found.reshape(1, -1) if row else found.reshape(-1, 1)
    return (float(value[0, 0]) if value.size == 1 else value,)


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


@amt_function("nan", "NaN")
def nan(ctx: Context, args: list, nargout: int) -> tuple:
    """``nan(n)`` (n x n), ``nan(m, n, ...)`` or ``nan(size_vector)``."""
    dims = _dims(args)
    return (np.full(dims, np.nan),)


@amt_function("isnan")
def isnan(ctx: Context, args: list, nargout: int) -> tuple:
    """``isnan(x)``: a logical (bool) array."""
    (x,) = args
    return (np.isnan(_array(x, "x")),)


@amt_function("not")
def not_(ctx: Context, args: list, nargout: int) -> tuple:
    """``not(x)``, also ``~x``: a logical (bool) array, a bool for a scalar."""
    (x,) = args
    value = np.logical_not(_array(x, "x"))
    return (bool(value.reshape(-1)[0]) if value.size == 1 else value,)


@amt_function("min")
def min_(ctx: Context, args: list, nargout: int) -> tuple:
    """``[m, i] = min(x)`` of a vector (first index of the minimum, 1-based; NaN ignored),
    or ``min(a, b)``."""
    if len(args) == 2:
        return (np.fmin(_array(args[0], "a"), _array(args[1], "b")),)
    (x,) = args
    arr = _array(x, "x")
    if sum(n > 1 for n in arr.shape) > 1:
        raise NotCovered("min of a matrix is not covered (only vectors)")
    flat = arr.reshape(-1)
    k = int(np.nanargmin(flat))
    return (float(flat[k]), float(k + 1))


@amt_function("rms")
def rms(ctx: Context, args: list, nargout: int) -> tuple:
    """``rms(x)``: ``sqrt(mean(x.^2))`` along the first non-singleton dimension."""
    (x,) = args
    arr = _array(x, "x")
    if sum(n > 1 for n in arr.shape) <= 1:
        return (float(np.sqrt(np.mean(arr.reshape(-1) ** 2))),)
    axis = next(d for d, n in enumerate(arr.shape) if n > 1)
    return (np.sqrt(np.mean(arr**2, axis=axis, keepdims=True)),)


@amt_function("movmean")
def movmean_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``movmean(x, k)`` of a column (or row) vector, :func:`torch_amt.dsp.movmean.movmean`
    (a non-integer ``k`` as the paulick2024 reference files' stand-in reads it)."""
    if len(args) != 2:
        raise NotCovered("movmean with options is not covered")
    x, k = args
    arr = _array(x, "x")
    if sum(n > 1 for n in arr.shape) > 1:
        raise NotCovered("movmean of a matrix is not covered (only vectors)")
    y = movmean(vector_to_torch(arr, ctx.dtype), float(k))
    return (y.detach().numpy().astype(np.float64).reshape(arr.shape),)


@amt_function("resample")
def resample_handler(ctx: Context, args: list, nargout: int) -> tuple:
    """``[y, h] = resample(x, p, q)``, GNU Octave signal 1.4.3 (along the columns of
    ``x``), :func:`torch_amt.dsp.resample.resample`."""
    if len(args) != 3:
        raise NotCovered("resample with a given filter is not covered")
    x, p, q = args
    arr = _array(x, "x")
    h = resample_filter(_count(p, "p"), _count(q, "q"))
    if arr.ndim == 2 and arr.shape[0] == 1:
        y = torch_to_array(resample(array_to_torch(arr, ctx.dtype), int(p), int(q), h))
    else:
        y = torch_to_amt(resample(amt_to_torch(arr, ctx.dtype), int(p), int(q), h))
    return (y, h.numpy().reshape(-1, 1))


@amt_function("addpath", "rmpath")
def path_(ctx: Context, args: list, nargout: int) -> tuple:
    """``addpath(dir)`` / ``rmpath(dir)``: the Octave path does not matter here (what a
    reference file's own stand-ins change is reproduced by the handlers)."""
    return ("",)


@amt_function("rethrow")
def rethrow(ctx: Context, args: list, nargout: int) -> tuple:
    """``rethrow(err)``: raise the caught AMT error again."""
    (err,) = args
    raise AmtError(err.get("message", ""), err.get("identifier", ""))


@amt_function("isreal")
def isreal(ctx: Context, args: list, nargout: int) -> tuple:
    """``isreal(x)``: true unless ``x`` is stored complex (MATLAB keeps an array complex
    once any element is); a logical."""
    (x,) = args
    return (not np.iscomplexobj(unwrap(x)),)


@amt_function("linspace")
def linspace(ctx: Context, args: list, nargout: int) -> tuple:
    """``linspace(a, b, n)``: a row of ``n`` points (``n`` default 100), as Octave builds
    it (from both ends, :func:`torch_amt.scales._octave_linspace`)."""
    a, b, *rest = args
    n = _count(rest[0], "n") if rest else 100
    ends = [torch.tensor(float(np.asarray(v).reshape(-1)[0]), dtype=torch.float64)
            for v in (a, b)]
    if n < 2:  # Octave: linspace(a, b, 1) is b
        return (np.full((1, n), float(ends[1])),)
    return (_octave_linspace(*ends, n).numpy().reshape(1, -1),)


@amt_function("fir2")
def fir2(ctx: Context, args: list, nargout: int) -> tuple:
    """``b = fir2(n, f, m)`` (Octave signal package; grid and ramp defaults): a row."""
    if len(args) != 3:
        raise NotCovered("fir2 with a grid size, ramp or window argument is not covered")
    n, f, m = args
    b = design_fir2(_count(n, "n"), np.asarray(f, dtype=float).ravel(),
                    np.asarray(m, dtype=float).ravel())
    return (b.numpy().reshape(1, -1),)
