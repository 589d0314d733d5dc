"""Evaluation of parsed ``call`` statements, and the data flow between them.

:class:`Interpreter` executes statements on MATLAB values (see
:mod:`torch_amt.validation.values`): names bound to variables are indexed (1-based), other names
are AMT functions dispatched to :mod:`torch_amt.validation.registry`. Tolerances of
:class:`~torch_amt.validation.values.Checked` values follow the data through indexing and
arithmetic (``x.^p`` scales them by ``|p|``).

:func:`plan` selects, by backward data flow, the statements needed for some target
variables when other variables are *frozen* (taken from the reference file and never
recomputed): this is what makes evaluation lazy, and the stored inputs (``insig`` ...)
isolate a file's computation from the steps that produced them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from torch_amt.validation.registry import (
    STATE,
    AmtError,
    Context,
    NotCovered,
    call_function,
    copy_state,
)
from torch_amt.validation.syntax import (
    Apply,
    BinOp,
    CellLit,
    CellRef,
    Colon,
    End,
    ExprStmt,
    FieldRef,
    ForLoop,
    IfStmt,
    Lambda,
    MatrixLit,
    Name,
    Neg,
    Not,
    Num,
    RangeExpr,
    Str,
    Transpose,
    TryCatch,
)
from torch_amt.validation.values import (
    Cell,
    Checked,
    Unavailable,
    cell_shape,
    magnitude,
    merge_tolerances,
    scale_of,
    unwrap,
    with_scale,
)

__all__ = [
    "AnonymousFunction",
    "DependencyFailed",
    "DependencyNotCovered",
    "Interpreter",
    "assigned_names",
    "children",
    "expr_reads",
    "plan",
    "statement_io",
]

_ALL = slice(None)  # a bare ':' subscript



class DependencyNotCovered(NotCovered):
    """A statement read a variable whose computation is not covered."""

    def __init__(self, reason: str, via: str) -> None:
        super().__init__(reason)
        self.via = via


class DependencyFailed(Exception):
    """A statement read a variable whose computation failed."""

    def __init__(self, reason: str, via: str) -> None:
        super().__init__(reason)
        self.via = via


# --------------------------------------------------------------------------- data flow


def children(node: object) -> Iterable[object]:
    """Direct sub-expressions of an expression node."""
    if isinstance(node, (Apply, CellRef)):
        return (node.target, *node.args)
    if isinstance(node, FieldRef):
        return (node.target,)
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, (Neg, Not, Transpose)):
        return (node.operand,)
    if isinstance(node, RangeExpr):
        return tuple(n for n in (node.start, node.step, node.stop) if n is not None)
    if isinstance(node, (MatrixLit, CellLit)):
        return tuple(e for row in node.rows for e in row)
    if isinstance(node, Lambda):
        return (node.body,)
    return ()


def expr_reads(node: object, variables: set[str]) -> set[str]:
    """Variables (names in ``variables``) that evaluating ``node`` reads (the parameters
    of an anonymous function are its own, not variables)."""
    if isinstance(node, Name):
        return {node.id} & variables
    if isinstance(node, Lambda):
        return expr_reads(node.body, variables - set(node.params))
    return set().union(*(expr_reads(c, variables) for c in children(node)))


def _base_name(target: object) -> str:
    while isinstance(target, (CellRef, FieldRef, Apply)):
        target = target.target
    return target.id


def _static(node: object) -> str | None:
    return node.value if isinstance(node, Str) else None


def hidden_io(node: object, variables: set[str]) -> tuple[set[str], set[str]]:
    """``(resets, updates)``: the hidden states (:data:`~torch_amt.validation.registry.STATE`)
    that the calls inside an expression reset, and read and update."""
    resets: set[str] = set()
    updates: set[str] = set()
    name, args, inner = None, (), children(node)
    if isinstance(node, Name) and node.id not in variables:
        name = node.id
    elif isinstance(node, Apply) and isinstance(node.target, Name) and (
            node.target.id not in variables):
        name, args, inner = node.target.id, node.args, node.args  # not the name again
    if name in STATE:
        r, u = STATE[name]([_static(a) for a in args])
        resets |= set(r)
        updates |= set(u)
    if isinstance(node, Lambda):
        return hidden_io(node.body, variables | set(node.params))
    for child in inner:
        r, u = hidden_io(child, variables)
        resets |= r
        updates |= u
    return resets, updates


def statement_io(stmt: object, variables: set[str]) -> tuple[set[str], set[str], set[str]]:
    """``(reads, full_writes, partial_writes)`` of a statement.

    A full write replaces a variable (``x = ...``); a partial write (``c{i} = ...``,
    ``s.f = ...``, ``x(i, j) = ...``, anything inside a loop or a try/catch block) updates
    it and so also depends on its previous value.
    """
    if isinstance(stmt, TryCatch):
        reads, partial = set(), {stmt.var} - {None}
        for inner in (*stmt.body, *stmt.handler):
            r, f, p = statement_io(inner, variables)
            reads |= r
            partial |= f | p
        return reads - {stmt.var}, set(), partial
    if isinstance(stmt, ForLoop):
        reads = expr_reads(stmt.iterable, variables)
        partial: set[str] = set()
        for inner in stmt.body:
            r, f, p = statement_io(inner, variables)
            reads |= r
            partial |= f | p
        return reads - {stmt.var}, {stmt.var}, partial
    if isinstance(stmt, IfStmt):
        reads, partial = set(), set()
        for condition, _ in stmt.branches:
            resets, updates = hidden_io(condition, variables)
            reads |= expr_reads(condition, variables) | updates
            partial |= resets | updates
        for inner in (*(s for _, body in stmt.branches for s in body), *stmt.orelse):
            r, f, p = statement_io(inner, variables)
            reads |= r
            partial |= f | p
        return reads, set(), partial
    if isinstance(stmt, ExprStmt):
        resets, updates = hidden_io(stmt.expr, variables)
        return expr_reads(stmt.expr, variables) | updates, resets - updates, updates
    resets, updates = hidden_io(stmt.value, variables)
    reads = expr_reads(stmt.value, variables) | updates
    full, partial = resets - updates, set(updates)
    for target in stmt.targets:
        if target is None:
            continue
        if isinstance(target, Name):
            full.add(target.id)
        else:
            partial.add(_base_name(target))
            reads |= {_base_name(target)} | set().union(
                *(expr_reads(c, variables) for c in children(target)))
    return reads, full, partial


def assigned_names(statements: Sequence[object]) -> set[str]:
    """Every variable some statement assigns (fully or partly), loop variables included."""
    names: set[str] = set()
    for stmt in statements:
        _, full, partial = statement_io(stmt, set())
        names |= full | partial
    return names


def plan(statements: Sequence[object], targets: Iterable[str], frozen: set[str],
         variables: set[str]) -> list[object]:
    """The statements needed to compute ``targets``, in execution order.

    Parameters
    ----------
    statements : sequence
        Parsed statements.
    targets : iterable of str
        Variables wanted after the last statement.
    frozen : set of str
        Variables bound beforehand and never reassigned (their writers are not needed).
    variables : set of str
        All variable names (assigned ones and the pre-bound ones).

    Returns
    -------
    list
        Sub-sequence of ``statements``.
    """
    needed = set(targets) - frozen
    selected = []
    for stmt in reversed(statements):
        reads, full, partial = statement_io(stmt, variables)
        if (full | partial) & needed:
            selected.append(stmt)
            needed = (needed - full) | (reads - frozen)
    return selected[::-1]


# --------------------------------------------------------------------------- values


def _scalarize(value: Any) -> Any:
    """MATLAB 1x1 arrays as Python scalars."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biufc":
        item = value.reshape(-1)[0].item()
        return complex(item) if isinstance(item, complex) else float(item)
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return float(value)
    if isinstance(value, np.complexfloating):
        return complex(value)
    return value


def _numeric(value: Any, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{what} must be numeric, got {type(value).__name__}")
    return arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64)


def _matrix(value: Any, what: str) -> np.ndarray:
    arr = _numeric(value, what)
    return arr.reshape(1, 1) if arr.ndim == 0 else arr


def _subscript(sub: Any, n: int) -> np.ndarray | slice:
    """0-based indices of a 1-based MATLAB subscript into a dimension of length ``n``."""
    if sub is _ALL:
        return _ALL
    idx = _numeric(unwrap(sub), "an index").reshape(-1, order="F")
    raw = np.asarray(unwrap(sub))
    if raw.dtype == bool:  # logical indexing: the positions of the true elements
        mask = raw.reshape(-1, order="F")
        if mask.size > n and np.any(mask[n:]):
            raise IndexError(f"logical index selects beyond the dimension ({n})")
        return np.flatnonzero(mask[:n])
    if idx.dtype.kind == "c" or np.any(idx != np.round(idx)) or np.any(idx < 1):
        raise IndexError(f"indices must be positive integers, got {idx}")
    if np.any(idx > n):
        raise IndexError(f"index {int(idx.max())} exceeds the dimension ({n})")
    return idx.astype(int) - 1


def _take(arr: np.ndarray, idx: np.ndarray | slice) -> np.ndarray:
    return arr if isinstance(idx, slice) else arr[idx]


def _index(value: Any, subs: Sequence[Any]) -> Any:
    """``value(subs{:})`` with MATLAB semantics (1-based, column-major); a selection keeps
    the value's :attr:`~torch_amt.validation.values.Checked.scale`."""
    return with_scale(_select(value, subs), scale_of([value]))


def _select(value: Any, subs: Sequence[Any]) -> Any:
    checked = value if isinstance(value, Checked) else None
    raw = unwrap(value)
    if isinstance(raw, list):
        cell = checked.value if checked else value
        return _sub_cell(cell, subs)
    if isinstance(raw, (dict, str)):
        raise TypeError(f"()-indexing of a {type(raw).__name__} value is not supported")
    arr = _matrix(raw, "an indexed value")
    if len(subs) == 1:
        flat = arr.reshape(-1, order="F")
        idx = _subscript(subs[0], flat.size)
        picked = _take(flat, idx)
        if isinstance(idx, slice):
            shape = (flat.size, 1)
        elif np.asarray(unwrap(subs[0])).dtype == bool:  # logical: a column (a row's row)
            shape = (1, picked.size) if arr.ndim == 2 and arr.shape[0] == 1 else (
                picked.size, 1)
        elif arr.ndim == 2 and arr.shape[0] == 1:
            shape = (1, picked.size)
        elif arr.ndim == 2 and arr.shape[1] == 1:
            shape = (picked.size, 1)
        else:
            shape = _matrix(unwrap(subs[0]), "an index").shape
        result = _scalarize(picked.reshape(shape, order="F"))
        return merge_tolerances(result, [checked]) if checked else result
    shape = arr.shape
    if len(subs) < arr.ndim:
        arr = arr.reshape(shape[:len(subs) - 1] + (-1,), order="F")
    elif len(subs) > arr.ndim:
        arr = arr.reshape(shape + (1,) * (len(subs) - arr.ndim))
    idxs = [_subscript(s, arr.shape[d]) for d, s in enumerate(subs)]
    result = arr
    for d, idx in enumerate(idxs):
        if not isinstance(idx, slice):
            result = np.take(result, idx, axis=d)
    while result.ndim > 2 and result.shape[-1] == 1:  # MATLAB drops trailing singletons
        result = result[..., 0]
    result = _scalarize(result)
    if checked is None:
        return result
    if checked.split_axis is not None and len(subs) == len(shape):
        return checked.select(result, idxs[checked.split_axis])
    return merge_tolerances(result, [checked])


def _cell_positions(shape: tuple[int, ...], subs: Sequence[Any]) -> tuple[list[int], tuple]:
    """Linear (column-major, 0-based) positions that ``subs`` select in a cell of
    ``shape``, and the shape of the selection."""
    n = int(np.prod(shape))
    if len(subs) == 1:
        idx = _subscript(subs[0], n)
        ks = list(range(n)) if isinstance(idx, slice) else [int(k) for k in idx]
        return ks, (len(ks), 1) if shape[0] != 1 or len(shape) > 2 else (1, len(ks))
    dims = tuple(shape[:len(subs) - 1]) + (int(np.prod(shape[len(subs) - 1:])),)
    dims = dims + (1,) * (len(subs) - len(dims))
    idxs = [_subscript(sub, dims[d]) for d, sub in enumerate(subs)]
    lists = [list(range(dims[d])) if isinstance(i, slice) else [int(k) for k in i]
             for d, i in enumerate(idxs)]
    grid = np.zeros([len(v) for v in lists], dtype=int)
    stride = 1
    for d, v in enumerate(lists):
        shape_d = [1] * len(lists)
        shape_d[d] = len(v)
        grid = grid + np.asarray(v).reshape(shape_d) * stride
        stride *= dims[d]
    return [int(k) for k in grid.reshape(-1, order="F")], tuple(len(v) for v in lists)


def _sub_cell(value: Any, subs: Sequence[Any]) -> Cell:
    """``c(subs)``: the selected elements as a cell (each keeps its tolerance)."""
    checked = value if isinstance(value, Checked) else None
    cell = checked.value if checked else value
    ks, shape = _cell_positions(cell_shape(cell), subs)
    if checked is None:
        return Cell([cell[k] for k in ks], shape)
    return Cell([merge_tolerances(cell[k], [Checked(unwrap(cell[k]), tol=checked.slice_tol(k),
                                                    reason=checked.slice_reason(k))])
                 for k in ks], shape)


def _nonconformant(selection: Sequence[int], value: np.ndarray) -> ValueError:
    return ValueError(f"=: nonconformant arguments (op1 is {'x'.join(map(str, selection))}, "
                      f"op2 is {'x'.join(map(str, value.shape))})")


def _assign_linear(arr: np.ndarray, sub: Any, value: np.ndarray) -> Any:
    """``arr(k) = value`` with a linear (column-major) subscript; beyond the end only a
    vector or an empty array grows (a column stays a column, anything else becomes a row)."""
    flat = arr.reshape(-1, order="F")
    idx = np.arange(flat.size) if sub is _ALL else _subscript(sub, np.iinfo(np.int64).max)
    size = max(flat.size, int(idx.max()) + 1 if idx.size else 0)
    if value.size not in (1, idx.size):
        raise _nonconformant((1, idx.size), value)
    grown = np.zeros(size, dtype=np.result_type(flat, value))
    grown[:flat.size] = flat
    grown[idx] = value.reshape(-1, order="F") if value.size != 1 else value.reshape(-1)[0]
    if size == flat.size:
        return _scalarize(grown.reshape(arr.shape, order="F"))
    if arr.ndim != 2 or (arr.size and min(arr.shape) != 1):
        raise IndexError(f"a linear index beyond the end can only grow a vector, not a "
                         f"{'x'.join(map(str, arr.shape))} array")
    column = arr.shape[1] == 1 and arr.shape[0] != 1
    return _scalarize(grown.reshape((size, 1) if column else (1, size)))


def _assign_indexed(arr: np.ndarray, subs: Sequence[Any], value: np.ndarray) -> Any:
    """``arr(subs{:}) = value`` with MATLAB semantics: 1-based subscripts, the array grows
    with zeros where an index exceeds it, a ``:`` into an empty array takes the value's
    size along that dimension, the value fills the selection in column-major order (or is
    a scalar); subscripts may be logical masks; with fewer subscripts than dimensions the
    last one runs over the remaining dimensions."""
    if len(subs) == 1:
        return _assign_linear(arr, subs[0], value)
    if arr.ndim > len(subs):  # the last subscript runs over the trailing dimensions folded
        folded = arr.shape[:len(subs) - 1] + (int(np.prod(arr.shape[len(subs) - 1:])),)
        out = _assign_indexed(arr.reshape(folded, order="F"), subs, value)
        if np.shape(out) != folded:
            raise IndexError(f"indexed assignment with {len(subs)} subscripts cannot grow a "
                             f"{'x'.join(map(str, arr.shape))} array")
        return np.reshape(out, arr.shape, order="F")
    vshape = value.shape + (1,) * max(0, len(subs) - value.ndim)
    shape = list(arr.shape[:len(subs)]) + [1] * max(0, len(subs) - arr.ndim)
    empty = arr.size == 0
    idxs = []
    for d, sub in enumerate(subs):
        if sub is _ALL:
            if empty:
                shape[d] = vshape[d] if d < len(vshape) else 1
            idxs.append(np.arange(shape[d]))
        else:
            idx = _subscript(sub, np.iinfo(np.int64).max)
            shape[d] = max(shape[d], int(idx.max()) + 1) if idx.size else shape[d]
            idxs.append(idx)
    out = np.zeros(shape, dtype=np.result_type(arr, value))
    if not empty:
        out[tuple(slice(0, n) for n in arr.shape[:len(subs)])] = arr.reshape(
            arr.shape[:len(subs)] + (1,) * max(0, len(subs) - arr.ndim))
    lengths = tuple(len(i) for i in idxs)
    if value.size == 1:
        out[np.ix_(*idxs)] = value.reshape(-1)[0]
    elif value.size == int(np.prod(lengths)):
        out[np.ix_(*idxs)] = value.reshape(lengths, order="F")
    else:
        raise _nonconformant(lengths, value)
    while out.ndim > 2 and out.shape[-1] == 1:
        out = out[..., 0]
    return _scalarize(out)


def _assigned_tolerance(current: Any, subs: Sequence[Any], value: Any, result: Any) -> Any:
    """The tolerance of ``current(subs{:}) = value``: assigning whole columns of a
    ``(time, channel)`` array keeps one tolerance per column (that of the column's
    value, e.g. per auditory channel); any other assignment takes the largest of the
    two operands' tolerances."""
    sources = [v for v in (current, value) if isinstance(v, Checked)]
    if not sources:
        return result
    shape = np.shape(result)
    if len(subs) == 2 and len(shape) == 2 and subs[0] is _ALL and subs[1] is not _ALL:
        n = shape[1]
        old = current if isinstance(current, Checked) else None
        per_column = old is not None and old.split_axis == 1 and old.n_slices == n
        tol = np.array([old.slice_tol(k if per_column else None) if old else 0.0
                        for k in range(n)])
        reason = [old.slice_reason(k if per_column else None) if old else ""
                  for k in range(n)]
        labels = [old.slice_label(k) if per_column else str(k + 1) for k in range(n)]
        new = value if isinstance(value, Checked) else None
        for k in np.atleast_1d(_subscript(subs[1], n)):
            tol[k] = new.slice_tol() if new else 0.0
            reason[k] = new.slice_reason() if new else ""
            if new is not None and new.n_slices == 1:
                labels[k] = new.slice_label(0)
        return Checked(unwrap(result), tol=tol, reason=tuple(reason), split_axis=1,
                       labels=tuple(labels))
    return merge_tolerances(unwrap(result), sources)


def _cell_elements(value: Any, subs: Sequence[Any]) -> list[Any]:
    """The elements ``c{subs}`` selects (a comma-separated list in MATLAB), in order."""
    checked = value if isinstance(value, Checked) else None
    cell = checked.value if checked else value
    if not isinstance(cell, list):
        raise TypeError(f"{{}}-indexing needs a cell array, got {type(cell).__name__}")
    ks, _ = _cell_positions(cell_shape(cell), subs)
    if checked is None:
        return [cell[k] for k in ks]
    return [merge_tolerances(cell[k], [Checked(unwrap(cell[k]), tol=checked.slice_tol(k),
                                               reason=checked.slice_reason(k))]) for k in ks]


def _cell_index(value: Any, subs: Sequence[Any]) -> Any:
    elements = _cell_elements(value, subs)
    if len(elements) != 1:
        raise TypeError("c{k} needs a single index here (a comma-separated list is only "
                        "supported inside [...])")
    return elements[0]


def _end_index(value: Any, position: int, count: int) -> float:
    """What ``end`` stands for as subscript ``position`` of ``count`` into ``value``."""
    raw = unwrap(value)
    shape = cell_shape(raw) if isinstance(raw, list) else _matrix(raw, "an indexed value").shape
    if count == 1:
        return float(np.prod(shape))
    if position < count - 1:
        return float(shape[position] if position < len(shape) else 1)
    return float(np.prod(shape[position:]))


def _field(value: Any, name: str) -> Any:
    struct = unwrap(value) if isinstance(value, Checked) else value
    if not isinstance(struct, dict):
        raise TypeError(f"field access .{name} needs a struct, got {type(struct).__name__}")
    if name not in struct:
        raise KeyError(f"struct has no field {name!r} (fields: {', '.join(struct) or 'none'})")
    field = struct[name]
    return merge_tolerances(field, [value]) if isinstance(value, Checked) else field


_ELEMENTWISE = {"+": np.add, "-": np.subtract, ".*": np.multiply, "./": np.true_divide,
                ".^": np.power, "*": np.multiply, "/": np.true_divide, "^": np.power}
_LOGICAL = {"==": np.equal, "~=": np.not_equal, "<": np.less, "<=": np.less_equal,
            ">": np.greater, ">=": np.greater_equal, "&": np.logical_and, "|": np.logical_or}
"""Comparisons and element-wise logical operators (results: MATLAB logicals)."""


def _logical(value: Any) -> Any:
    """A MATLAB logical: a bool array, a Python bool for a scalar (a bool subscript is a
    mask, see :func:`_subscript`)."""
    return bool(value) if np.ndim(value) == 0 else value


def _truth(value: Any, op: str | None = None) -> bool:
    """MATLAB's truth of an ``if`` condition (non-empty, every element non-zero) or of an
    operand of ``&&``/``||`` (``op``; that must be a scalar)."""
    arr = _numeric(unwrap(value), f"an operand of {op}" if op else "an if condition")
    if op is not None and arr.size != 1:
        raise TypeError(f"operands of {op} must be logical scalars, got shape {arr.shape}")
    return arr.size > 0 and bool(np.all(arr != 0))


def _arith(op: str, x: Any, y: Any) -> Any:
    """MATLAB arithmetic; matrix ``/`` and ``^`` only with scalar operands."""
    a, b = _numeric(x, f"operand of {op}"), _numeric(y, f"operand of {op}")
    a_scalar, b_scalar = a.size == 1, b.size == 1
    if op in _LOGICAL:
        if op in ("<", "<=", ">", ">="):  # MATLAB orders complex numbers by their real parts
            a, b = (v.real if v.dtype.kind == "c" else v for v in (a, b))
        return _logical(_LOGICAL[op](a.reshape(()) if a_scalar else a,
                                     b.reshape(()) if b_scalar else b))
    elementwise = (op in ("+", "-", ".*", "./", ".^") or (op == "*" and (a_scalar or b_scalar))
                   or (op == "/" and b_scalar) or (op == "^" and a_scalar and b_scalar))
    with np.errstate(all="ignore"):
        if elementwise:
            a = a.reshape(()) if a_scalar else a
            b = b.reshape(()) if b_scalar else b
            return _scalarize(_ELEMENTWISE[op](a, b))
        if op == "*":
            return _scalarize(_matrix(a, "operand") @ _matrix(b, "operand"))
    raise TypeError(f"operator {op} is only supported with scalar operands here "
                    f"(shapes {a.shape} and {b.shape})")


def _binop(op: str, left: Any, right: Any) -> Any:
    """``left op right``. The sum or difference of two arrays is checked relative to the
    operands' magnitude where that exceeds its own (see ``Checked.scale``)."""
    a, b = unwrap(left), unwrap(right)
    result = _arith(op, a, b)
    scale = 0.0
    if op in ("+", "-") and np.size(a) > 1 and np.size(b) > 1:
        scale = max(magnitude(a), magnitude(b), scale_of([left, right]))
    sources = [v for v in (left, right) if isinstance(v, Checked)]
    if not sources:
        return with_scale(result, scale)
    exponent = unwrap(right)
    factor = 1.0
    if op in ("^", ".^") and np.ndim(exponent) == 0 and not isinstance(exponent, complex):
        factor = max(1.0, abs(float(exponent)))
    return with_scale(merge_tolerances(result, sources, factor, keep_scale=scale > 0), scale)


def _range(start: Any, step: Any, stop: Any) -> np.ndarray:
    a, s, b = (float(_numeric(unwrap(v), "a range limit").reshape(-1)[0])
               for v in (start, step, stop))
    if s == 0 or (b - a) / s < 0:
        return np.zeros((1, 0))
    n = int(np.floor((b - a) / s * (1 + 1e-12)))
    return (a + np.arange(n + 1) * s).reshape(1, -1)


def _concatenate(rows: list[list[Any]]) -> Any:
    blocks = []
    for row in rows:
        parts = [_matrix(unwrap(v), "a matrix element") for v in row]
        parts = [p for p in parts if p.size]
        if parts:
            blocks.append(np.concatenate(parts, axis=1))
    if not blocks:
        return np.zeros((0, 0))
    return _scalarize(np.concatenate(blocks, axis=0))


# --------------------------------------------------------------------------- interpreter


def _grown(shape: tuple[int, ...], ks: Sequence[int]) -> tuple[tuple[int, ...], tuple]:
    """MATLAB's shape after assigning at 0-based subscripts ``ks`` (growing as needed),
    and the subscripts as a full index into it."""
    if len(ks) == 1:
        n = int(np.prod(shape))
        if ks[0] < n:
            return shape, np.unravel_index(ks[0], shape, order="F")
        if len(shape) == 2 and (shape[0] == 1 or n == 0):
            new = (1, ks[0] + 1)
        elif len(shape) == 2 and shape[1] == 1:
            new = (ks[0] + 1, 1)
        else:
            raise IndexError("a linear index can only grow a vector")
        return new, np.unravel_index(ks[0], new, order="F")
    if len(ks) < len(shape) and any(k >= n for k, n in zip(ks, shape, strict=False)):
        raise IndexError("growing needs a subscript per dimension")
    full = tuple(ks) + (0,) * (len(shape) - len(ks))
    dims = tuple(max(n, k + 1) for n, k in zip(shape + (1,) * (len(full) - len(shape)), full,
                                              strict=True))
    return dims, full


def _set_cell_element(current: list, ks: Sequence[int], value: Any) -> Cell:
    """``c{k...} = value``."""
    shape = cell_shape(current)
    dims, index = _grown(shape, ks)
    if dims == shape:
        out = Cell(current, shape)
    else:
        out = Cell([np.zeros((0, 0))] * int(np.prod(dims)), dims)
        for k, element in enumerate(current):
            out[int(np.ravel_multi_index(np.unravel_index(k, shape, order="F"), dims,
                                         order="F"))] = element
    out[int(np.ravel_multi_index(index, dims, order="F"))] = value
    return out


class AnonymousFunction:
    """The value of ``@(params) body``: callable with MATLAB values.

    As in MATLAB, the variables the body reads are captured when the function is made.
    """

    def __init__(self, node: Lambda, interpreter: Interpreter) -> None:
        self.node = node
        self.ctx = interpreter.ctx
        self.cache = interpreter.cache
        self.captured = dict(interpreter.env)

    def __call__(self, *args: Any) -> Any:
        """The body's value with the parameters bound to ``args``."""
        if len(args) > len(self.node.params):
            raise TypeError(f"anonymous function of {len(self.node.params)} argument(s) "
                            f"called with {len(args)}")
        env = {**self.captured, **dict(zip(self.node.params, args, strict=False))}
        return Interpreter(self.ctx, env, set(), self.cache).eval(self.node.body)


class Interpreter:
    """Executes parsed statements in an environment of MATLAB values.

    Parameters
    ----------
    ctx : Context
        Handed to every AMT function handler.
    env : dict
        Variables; updated in place. An :class:`~torch_amt.validation.values.Unavailable` entry
        makes every statement reading it not covered (or failed).
    frozen : set of str
        Variables that assignments leave unchanged (values taken from the file).
    cache : dict, optional
        Memo of AMT function results, shared between interpreters of the same file
        (see :func:`~torch_amt.validation.registry.call_function`).
    """

    def __init__(self, ctx: Context, env: dict[str, Any], frozen: set[str],
                 cache: dict[bytes, tuple] | None = None) -> None:
        self.ctx = ctx
        self.env = env
        self.frozen = frozen
        self.cache = cache
        self._indexed: list[tuple[Any, int, int]] = []  # what 'end' refers to

    def run(self, statements: Sequence[object], variables: set[str]) -> None:
        """Execute ``statements``; one that fails marks what it assigns unavailable."""
        for stmt in statements:
            try:
                self.execute(stmt)
            except (DependencyNotCovered, DependencyFailed) as err:
                failed = isinstance(err, DependencyFailed)
                self._poison(stmt, variables, Unavailable(str(err), failed, err.via))
            except NotCovered as err:
                self._poison(stmt, variables, Unavailable(str(err), failed=False))
            except Exception as err:  # noqa: BLE001 - any error is reported as a failure
                reason = f"{type(err).__name__}: {err} (in `{stmt.text}`)"
                self._poison(stmt, variables, Unavailable(reason, failed=True))

    def _poison(self, stmt: object, variables: set[str], marker: Unavailable) -> None:
        _, full, partial = statement_io(stmt, variables)
        for name in (full | partial) - self.frozen:
            self.env[name] = marker

    def execute(self, stmt: object) -> None:
        """Execute one statement (errors propagate; a try block catches :class:`AmtError`)."""
        if isinstance(stmt, TryCatch):
            try:
                for inner in stmt.body:
                    self.execute(inner)
            except AmtError as err:
                if stmt.var is not None:
                    self._set(stmt.var, {"message": str(err), "identifier": err.identifier})
                for inner in stmt.handler:
                    self.execute(inner)
        elif isinstance(stmt, ForLoop):
            values = _matrix(unwrap(self.eval(stmt.iterable)), "a for-loop range")
            for j in range(values.shape[1] if values.ndim == 2 else 0):
                self._set(stmt.var, _scalarize(values[:, j:j + 1]))
                for inner in stmt.body:
                    self.execute(inner)
        elif isinstance(stmt, IfStmt):
            body = stmt.orelse
            for condition, branch in stmt.branches:
                if _truth(self.eval(condition)):
                    body = branch
                    break
            for inner in body:
                self.execute(inner)
        elif isinstance(stmt, ExprStmt):
            self.eval(stmt.expr, nargout=0)
        elif stmt.multi or len(stmt.targets) > 1:
            outputs = self.eval_multi(stmt.value, len(stmt.targets))
            for k, target in enumerate(stmt.targets):
                if target is None:
                    continue
                if k >= len(outputs):
                    callee = getattr(stmt.value, "target", stmt.value).id
                    reason = f"the {callee} handler returns only {len(outputs)} output(s)"
                    self._set(_base_name(target), Unavailable(reason, failed=False))
                elif isinstance(outputs[k], NotCovered):
                    self._set(_base_name(target), Unavailable(str(outputs[k]), failed=False))
                else:
                    self._assign(target, outputs[k])
        else:
            self._assign(stmt.targets[0], self.eval(stmt.value))

    def _set(self, name: str, value: Any) -> None:
        if name not in self.frozen:
            self.env[name] = value

    def _assign(self, target: object, value: Any) -> None:
        if isinstance(target, Name):
            self._set(target.id, value)
            return
        if not isinstance(target.target, Name):
            raise TypeError("nested indexed assignment is not supported")
        name = target.target.id
        current = self.env.get(name)
        if isinstance(current, Unavailable):
            self._lookup(name)
        if isinstance(target, FieldRef):
            struct = dict(current) if isinstance(current, dict) else {}
            struct[target.name] = value
            self._set(name, struct)
            return
        if isinstance(target, Apply):
            base = np.zeros((0, 0)) if current is None else current
            subs = self.eval_subscripts(base, target.args)
            updated = _assign_indexed(_matrix(unwrap(base), f"{name}"), subs,
                                      _numeric(unwrap(value), "the assigned value"))
            self._set(name, _assigned_tolerance(current, subs, value, updated))
            return
        subs = [self.eval_subscript(a) for a in target.args]
        if not subs or any(s is _ALL or np.size(unwrap(s)) != 1 for s in subs):
            raise TypeError("only indexed assignments with scalar subscripts are supported")
        ks = [int(_subscript(s, np.iinfo(np.int64).max)[0]) for s in subs]
        if current is not None and not isinstance(current, list):
            raise TypeError(f"{{}}-assignment needs a cell array, {name} is "
                            f"{type(unwrap(current)).__name__}")
        self._set(name, _set_cell_element(current or Cell([], (0, 0)), ks, value))

    def _lookup(self, name: str) -> Any:
        value = self.env[name]
        if isinstance(value, Unavailable):
            cls = DependencyFailed if value.failed else DependencyNotCovered
            raise cls(value.reason, value.via or name)
        return value

    def is_variable(self, name: str) -> bool:
        """Whether ``name`` is bound (else it names a function)."""
        return name in self.env

    def eval_subscript(self, node: object) -> Any:
        """An index argument: ``:`` or a value."""
        return _ALL if isinstance(node, Colon) else self.eval(node)

    def eval_subscripts(self, value: Any, nodes: Sequence[object]) -> list[Any]:
        """The index arguments of ``value(nodes)``, with ``end`` referring to ``value``."""
        subs = []
        for k, node in enumerate(nodes):
            self._indexed.append((value, k, len(nodes)))
            try:
                subs.append(self.eval_subscript(node))
            finally:
                self._indexed.pop()
        return subs

    def call(self, name: str, nodes: Sequence[object], nargout: int) -> tuple:
        """Call the AMT function ``name`` on the argument expressions ``nodes``; a
        function with hidden state gets a copy of it from the environment and leaves the
        updated state there (also when it raises)."""
        args = [self.eval(a) for a in nodes]
        spec = STATE.get(name)
        if spec is None:
            return call_function(name, self.ctx, args, nargout, self.cache)
        resets, updates = spec([_static(a) for a in nodes])
        state = {key: None for key in resets}
        state.update(copy_state({key: self._lookup(key) if key in self.env else None
                                 for key in updates}))
        try:
            return call_function(name, replace(self.ctx, state=state), args, nargout,
                                 self.cache)
        finally:
            for key, value in state.items():
                self._set(key, value)

    def eval_multi(self, node: object, nargout: int) -> tuple:
        """Evaluate the right side of ``[a, b, ...] = node`` (must be a function call)."""
        if isinstance(node, Name) and not self.is_variable(node.id):
            return self.call(node.id, (), nargout)
        if isinstance(node, Apply) and isinstance(node.target, Name) and not self.is_variable(
                node.target.id):
            return self.call(node.target.id, node.args, nargout)
        raise TypeError("only a function call can have several outputs")

    def eval(self, node: object, nargout: int = 1) -> Any:
        """Evaluate an expression to a MATLAB value."""
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Str):
            return node.value
        if isinstance(node, Name):
            if self.is_variable(node.id):
                return self._lookup(node.id)
            return self._first(self.call(node.id, (), nargout), node.id, nargout)
        if isinstance(node, Apply):
            if isinstance(node.target, Name) and not self.is_variable(node.target.id):
                if any(isinstance(a, Colon) for a in node.args):
                    raise TypeError(f"':' is not a valid argument of {node.target.id}()")
                name = node.target.id
                return self._first(self.call(name, node.args, nargout), name, nargout)
            target = self.eval(node.target)
            if isinstance(target, AnonymousFunction):
                return target(*(self.eval(a) for a in node.args))
            return _index(target, self.eval_subscripts(target, node.args))
        if isinstance(node, CellRef):
            target = self.eval(node.target)
            return _cell_index(target, self.eval_subscripts(target, node.args))
        if isinstance(node, End):
            if not self._indexed:
                raise TypeError("'end' outside an index")
            return _end_index(*self._indexed[-1])
        if isinstance(node, Lambda):
            return AnonymousFunction(node, self)
        if isinstance(node, FieldRef):
            return _field(self.eval(node.target), node.name)
        if isinstance(node, BinOp):
            if node.op in ("&&", "||"):  # short-circuit, as MATLAB
                left = _truth(self.eval(node.left), node.op)
                if left == (node.op == "||"):
                    return left
                return _truth(self.eval(node.right), node.op)
            return _binop(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, Transpose):
            operand = self.eval(node.operand)
            arr = _matrix(unwrap(operand), "a transposed value")
            if arr.ndim != 2:
                raise TypeError(f"transpose of a {arr.ndim}-D array")
            return merge_tolerances(_scalarize(np.conj(arr.T)),
                                    [operand] if isinstance(operand, Checked) else [])
        if isinstance(node, Not):  # ~x is not(x)
            return self._first(call_function("not", self.ctx, [self.eval(node.operand)], 1),
                               "not")
        if isinstance(node, Neg):
            operand = self.eval(node.operand)
            return merge_tolerances(_arith(".*", -1.0, unwrap(operand)),
                                    [operand] if isinstance(operand, Checked) else [])
        if isinstance(node, RangeExpr):
            step = self.eval(node.step) if node.step is not None else 1.0
            return _range(self.eval(node.start), step, self.eval(node.stop))
        if isinstance(node, MatrixLit):
            values = [[v for e in row for v in self.eval_elements(e)] for row in node.rows]
            sources = [v for row in values for v in row if isinstance(v, Checked)]
            # concatenation only rearranges values: it keeps their scale, as indexing does
            return with_scale(merge_tolerances(_concatenate(values), sources, keep_scale=True),
                              scale_of(sources))
        if isinstance(node, CellLit):
            rows = [[self.eval(e) for e in row] for row in node.rows]
            if len({len(r) for r in rows}) > 1:
                raise ValueError("cell literal rows have different lengths")
            return [v for col in zip(*rows, strict=True) for v in col] if rows else []
        raise TypeError(f"cannot evaluate {type(node).__name__} here")

    def eval_elements(self, node: object) -> list[Any]:
        """The values an element of ``[...]`` contributes: one, or all that ``c{...}``
        selects (MATLAB's comma-separated list, e.g. ``[c{:}]``)."""
        if isinstance(node, CellRef):
            target = self.eval(node.target)
            return _cell_elements(target, self.eval_subscripts(target, node.args))
        return [self.eval(node)]

    @staticmethod
    def _first(outputs: tuple, name: str, nargout: int = 1) -> Any:
        if not outputs:
            if nargout == 0:
                return None
            raise TypeError(f"{name} returned no output")
        if isinstance(outputs[0], NotCovered):
            raise outputs[0]
        return outputs[0]
