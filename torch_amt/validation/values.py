"""Values that flow through the harness besides plain MATLAB data.

MATLAB values are represented as: Python ``float``/``complex`` (scalars), NumPy arrays in
AMT layout (time first, at least 2-D), ``str``, ``list`` (cell arrays, column-major
order), ``dict`` (structs). On top of these:

* :class:`Checked` wraps a computed value with the tolerance it is checked against;
* :class:`ArgBundle` is what ``ltfatarghelper`` (or the generator's
  ``amtref_lopezpoveda2001_jepsen2008_flags``) returns: the unparsed argument list, which
  the handler of the AMT function that receives it via ``'argimport'`` interprets with
  :func:`parse_ltfat_args`;
* :class:`Unavailable` marks a variable whose computation was not covered or failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ArgBundle",
    "Cell",
    "Checked",
    "ParsedArgs",
    "Unavailable",
    "cell_shape",
    "is_empty",
    "merge_tolerances",
    "parse_ltfat_args",
    "magnitude",
    "scale_of",
    "unwrap",
    "with_scale",
]


@dataclass(frozen=True, eq=False)
class Checked:
    """A computed value together with the relative tolerance it is checked against.

    Parameters
    ----------
    value : ndarray (AMT layout), float, complex or list (cell)
        The computed value.
    tol : float or ndarray, shape (n,)
        Relative tolerance (max-abs error / max-abs reference): one number, or one per
        slice (per index along ``split_axis``, or per cell element). The harness never
        checks tighter than the policy default (:mod:`torch_amt.validation.tolerances`).
    reason : str or sequence of str (one per slice)
        Why this tolerance (cited in the report).
    split_axis : int, optional
        AMT axis (0 = time) along which an array is checked slice by slice, one check
        per index, e.g. 1 for the channels of a ``(time, channel)`` output. Cell arrays
        are always checked element by element.
    labels : sequence of str, optional
        One label per slice for the report, e.g. ``'fc 87 Hz'``; default the 1-based index.
    scale : float
        Magnitude of the operands this value is a difference of (0: none). The error of
        ``max(abs(a - b))`` (the reference generators' ``check_*`` values, which AMT
        computes as exactly 0 when its two computations agree bit for bit) is measured
        relative to ``max(|a|, |b|)`` where that exceeds the reference: subtraction
        cancels the operands' magnitude, not their rounding. Set by ``a - b`` / ``a + b``
        of two arrays and kept only by selections and magnitudes (indexing, ``abs``,
        ``max``, ``reshape``, ``cellfun``); any other computation drops it.
    cancellation : float
        How much a subtraction upstream amplified relative rounding errors: where a
        computation drops a source's ``scale`` (e.g. a difference that is then
        normalised), the ratio ``scale / max|source|`` (operands' magnitude over the
        difference's), multiplied along the chain; 1 for none. float32 runs check at
        ``FLOAT32_RTOL * cancellation`` and report values with ``cancellation >=
        1 / FLOAT32_RTOL`` as undetermined in float32 (see
        :func:`torch_amt.validation.tolerances.effective_tolerance`); float64 runs
        ignore it.
    """

    value: Any
    tol: float | np.ndarray = 0.0
    reason: str | tuple[str, ...] = ""
    split_axis: int | None = None
    labels: tuple[str, ...] | None = None
    scale: float = 0.0
    cancellation: float = 1.0

    def __post_init__(self) -> None:
        tol = np.asarray(self.tol, dtype=float)
        if tol.ndim > 1 or bool(np.any(tol < 0)) or bool(np.any(np.isnan(tol))):
            raise ValueError("tol must be a non-negative number or a 1-D array of them")
        n = self.n_slices
        if tol.ndim == 1 and len(tol) != n:
            raise ValueError(f"tol has {len(tol)} entries for {n} slices")
        if self.labels is not None and len(self.labels) != n:
            raise ValueError(f"labels has {len(self.labels)} entries for {n} slices")
        if not isinstance(self.reason, str) and len(self.reason) != n:
            raise ValueError(f"reason has {len(self.reason)} entries for {n} slices")
        object.__setattr__(self, "tol", tol if tol.ndim == 1 else float(tol))
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(self.labels))
        if not isinstance(self.reason, str):
            object.__setattr__(self, "reason", tuple(self.reason))

    @property
    def n_slices(self) -> int | None:
        """Number of separately checked slices, ``None`` when checked as a whole."""
        if isinstance(self.value, list):
            return len(self.value)
        if self.split_axis is None:
            return None
        shape = np.shape(self.value)
        if not 0 <= self.split_axis < len(shape):
            raise ValueError(f"split_axis {self.split_axis} out of range for shape {shape}")
        return shape[self.split_axis]

    def slice_tol(self, k: int | None = None) -> float:
        """Tolerance of slice ``k`` (0-based), or the largest one for ``k=None``."""
        if isinstance(self.tol, float):
            return self.tol
        if k is None:
            return float(self.tol.max()) if self.tol.size else 0.0
        return float(self.tol[k])

    def slice_reason(self, k: int | None = None) -> str:
        """Reason for slice ``k`` (0-based), or for the largest tolerance for ``k=None``."""
        if isinstance(self.reason, str):
            return self.reason
        if k is None:
            k = int(np.argmax(self.tol)) if isinstance(self.tol, np.ndarray) else 0
        return self.reason[k] if self.reason else ""

    def slice_label(self, k: int) -> str:
        """Report label of slice ``k`` (0-based)."""
        return self.labels[k] if self.labels is not None else str(k + 1)

    def select(self, value: Any, index: np.ndarray | slice) -> Any:
        """Re-wrap ``value``, the sub-array of this one at ``index`` along ``split_axis``."""
        tol = self.tol if isinstance(self.tol, float) else self.tol[index]
        labels = None if self.labels is None else tuple(np.asarray(self.labels)[index])
        reason = self.reason if isinstance(self.reason, str) else tuple(
            np.asarray(self.reason, dtype=object)[index])
        if np.ndim(value) == 0:
            tols = np.atleast_1d(tol)
            k = int(np.argmax(tols)) if tols.size else 0
            one = reason if isinstance(reason, str) else (reason[k] if len(reason) else "")
            return Checked(value, tol=float(tols.max(initial=0.0)), reason=one,
                           scale=self.scale, cancellation=self.cancellation)
        return Checked(value, tol=tol, reason=reason, split_axis=self.split_axis, labels=labels,
                       scale=self.scale, cancellation=self.cancellation)


class Cell(list):
    """A cell array that knows its MATLAB shape (elements in column-major order).

    Plain ``list`` values are cells too (a column, ``(len, 1)``); ``Cell`` is what
    ``cell(m, n)``, a stored 2-D cell and ``c(i, j)`` give, so that ``c{i, j}``,
    ``c(i, :)``, ``size``, ``rows`` and ``columns`` work.

    Parameters
    ----------
    elements : iterable
        The elements, column-major.
    shape : tuple of int
        MATLAB dimensions; their product must be the number of elements.
    """

    def __init__(self, elements: Any = (), shape: tuple[int, ...] | None = None) -> None:
        super().__init__(elements)
        shape = (len(self), 1) if shape is None else tuple(int(n) for n in shape)
        if int(np.prod(shape)) != len(self):
            raise ValueError(f"a cell of shape {shape} needs {int(np.prod(shape))} "
                             f"elements, got {len(self)}")
        self.shape = shape


def cell_shape(value: list) -> tuple[int, ...]:
    """MATLAB shape of a cell value (a plain list is a column)."""
    return value.shape if isinstance(value, Cell) else (len(value), 1)


def unwrap(value: Any) -> Any:
    """The plain value inside a :class:`Checked` (recursively inside cells and structs)."""
    if isinstance(value, Checked):
        return unwrap(value.value)
    if isinstance(value, Cell):
        return Cell([unwrap(v) for v in value], value.shape)
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


def _is_numeric(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_numeric(v) for v in value)
    return isinstance(value, (float, int, complex, np.ndarray, np.number)) and (
        not isinstance(value, np.ndarray) or value.dtype.kind in "biufc")


def _layout(raw: Any, own: Checked | None, sources: Sequence[Checked]) -> tuple | None:
    """``(axis, n)`` the merged value is split by (axis ``None``: cell elements)."""
    if own is not None and own.n_slices is not None:
        return (own.split_axis if not isinstance(raw, list) else None, own.n_slices)
    if isinstance(raw, list):
        return (None, len(raw))
    shape = np.shape(raw)
    for s in sources:
        if not isinstance(s.tol, np.ndarray):
            continue
        axis = 1 if isinstance(s.value, list) else s.split_axis
        if axis is not None and len(shape) > axis and shape[axis] == len(s.tol):
            return (axis, len(s.tol))
    return None


def _aligned(c: Checked, layout: tuple) -> bool:
    axis, n = layout
    if not isinstance(c.tol, np.ndarray) or len(c.tol) != n:
        return False
    return axis is None or isinstance(c.value, list) or c.split_axis == axis


def merge_tolerances(value: Any, sources: Sequence[Checked], factor: float = 1.0,
                     keep_scale: bool = False) -> Any:
    """Give ``value`` a tolerance no tighter than that of ``sources`` (times ``factor``).

    Used to carry tolerances along a chain of computations: a result computed from
    inputs that AMT itself only reproduces to some tolerance cannot be checked tighter.
    Per-slice tolerances are kept when ``value`` has as many slices along the same axis
    (or cell elements) as a source; otherwise the largest tolerance applies to all.

    Parameters
    ----------
    value : Any
        Computed value, possibly already :class:`Checked` (its own tolerance is kept
        where larger).
    sources : sequence of Checked
        Inputs the value was computed from.
    factor : float, default 1
        Error amplification from the sources to the value (e.g. ``p`` for ``x.^p``).
    keep_scale : bool, default False
        Whether the caller carries the sources' :attr:`~Checked.scale` on (selections,
        magnitudes, sums); otherwise a source's scale is dropped here and becomes
        :attr:`~Checked.cancellation` of the value.

    Returns
    -------
    Any
        ``value`` unchanged if nothing applies, else a :class:`Checked` (with the
        :attr:`~Checked.scale` of ``value`` itself, never that of a source).
    """
    own = value if isinstance(value, Checked) else None
    scale = own.scale if own is not None else 0.0
    raw = own.value if own is not None else value
    if not sources or not _is_numeric(unwrap(raw)):
        return value
    cancellation = max([own.cancellation if own is not None else 1.0]
                       + [s.cancellation if keep_scale else _cancellation_of(s)
                          for s in sources])
    candidates = ([(own, 1.0)] if own is not None else []) + [(s, abs(factor)) for s in sources]
    layout = _layout(raw, own, sources)
    per_slice, scalar_tol, scalar_reason = None, 0.0, ""
    reasons: list[str] = []
    for c, f in candidates:
        if layout is not None and _aligned(c, layout):
            tol = np.asarray(c.tol) * f
            rs = [c.slice_reason(k) for k in range(len(tol))]
            if per_slice is None:
                per_slice, reasons = tol, rs
            else:
                reasons = [r if a >= b else s for a, b, r, s in zip(per_slice, tol, reasons, rs,
                                                                      strict=True)]
                per_slice = np.maximum(per_slice, tol)
        elif c.slice_tol() * f > scalar_tol:
            scalar_tol, scalar_reason = c.slice_tol() * f, c.slice_reason()
    if per_slice is None:
        return Checked(raw, tol=scalar_tol, reason=scalar_reason,
                       split_axis=None if own is None else own.split_axis,
                       labels=None if own is None else own.labels, scale=scale,
                       cancellation=cancellation)
    reasons = [scalar_reason if scalar_tol > t else r
               for t, r in zip(per_slice, reasons, strict=True)]
    labels = next((c.labels for c, _ in candidates
                   if c.labels is not None and _aligned(c, layout)), None)
    return Checked(raw, tol=np.maximum(per_slice, scalar_tol), reason=tuple(reasons),
                   split_axis=layout[0], labels=labels, scale=scale, cancellation=cancellation)


def _cancellation_of(source: Checked) -> float:
    """The cancellation a computation from ``source`` inherits: its own, times
    ``scale / max|source|`` when its ``scale`` (operands of a difference) is dropped."""
    if source.scale <= 0:
        return source.cancellation
    try:
        size = magnitude(source.value)
    except (TypeError, ValueError):  # a cell or struct: no single magnitude
        return source.cancellation
    if size == 0:  # an exact zero: the operands were equal, nothing was lost
        return source.cancellation
    return source.cancellation * max(1.0, source.scale / size)


def magnitude(value: Any) -> float:
    """``max|value|`` over its finite entries (0 if none), for a numeric value (possibly
    :class:`Checked`); a TypeError or ValueError for a cell or struct."""
    arr = np.abs(np.asarray(unwrap(value)).astype(complex))
    return float(arr[np.isfinite(arr)].max(initial=0.0))


def with_scale(value: Any, scale: float) -> Any:
    """``value`` with :attr:`Checked.scale` raised to ``scale`` (unchanged for 0)."""
    if scale <= 0:
        return value
    own = value if isinstance(value, Checked) else Checked(value)
    if own.scale >= scale:
        return own
    return Checked(own.value, tol=own.tol, reason=own.reason, split_axis=own.split_axis,
                   labels=own.labels, scale=float(scale), cancellation=own.cancellation)


def scale_of(values: Sequence[Any]) -> float:
    """The largest :attr:`Checked.scale` among ``values`` (0 if none has one)."""
    return max((v.scale for v in values if isinstance(v, Checked)), default=0.0)


@dataclass(frozen=True)
class ArgBundle:
    """An unparsed AMT argument list, as returned by ``ltfatarghelper`` in a ``call``.

    AMT passes such results on with ``f(..., 'argimport', flags, kv)``; the harness keeps
    the raw arguments so the handler of ``f`` can interpret them with
    :func:`parse_ltfat_args` (which expands ``'argimport'``).

    Attributes
    ----------
    source : str
        Function that produced it (``'ltfatarghelper'``,
        ``'amtref_lopezpoveda2001_jepsen2008_flags'``, ...).
    args : tuple
        The argument list (MATLAB values).
    posnames : tuple of str
        Names of the leading positional arguments.
    imports : tuple of str
        ``definput.import`` groups (AMT ``arg_<name>`` defaults to apply).
    """

    source: str
    args: tuple
    posnames: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()


@dataclass
class ParsedArgs:
    """An AMT argument list split like ``ltfatarghelper`` does.

    Attributes
    ----------
    flags : list of str
        Flags in order of appearance (imported ones first).
    keyvals : dict
        Positional and key-value arguments by name.
    sources : list of str
        :attr:`ArgBundle.source` of every bundle imported via ``'argimport'``.
    imports : list of str
        ``definput.import`` groups of those bundles.
    """

    flags: list[str] = field(default_factory=list)
    keyvals: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)

    def get(self, name: str, default: Any = None) -> Any:
        """Value of ``name``; ``default`` when absent or given as ``[]``."""
        value = self.keyvals.get(name, default)
        return default if is_empty(value) else value


def is_empty(value: Any) -> bool:
    """Whether ``value`` is MATLAB's ``[]`` (an empty array)."""
    return isinstance(value, np.ndarray) and value.size == 0


def parse_ltfat_args(
    args: Sequence[Any], posnames: Sequence[str] = (), keys: Sequence[str] = ()
) -> ParsedArgs:
    """Split a MATLAB argument list into flags and key-values, like ``ltfatarghelper``.

    Leading non-string arguments fill ``posnames`` in order. After them, a string that is
    in ``keys`` (or ``posnames``) takes the next argument as its value, ``'argimport'``
    takes two :class:`ArgBundle` arguments (their own arguments are parsed with their
    ``posnames`` and merged first, so later arguments override them), and every other
    string is a flag. Defaults are the handler's business (:meth:`ParsedArgs.get`).

    Parameters
    ----------
    args : sequence
        The arguments after the ones the function reads itself (e.g. after
        ``insig, fs``).
    posnames : sequence of str
        Names of the optional positional arguments.
    keys : sequence of str
        Names that take a value.

    Returns
    -------
    ParsedArgs

    Raises
    ------
    ValueError
        For more positional arguments than ``posnames``, a non-string where a flag or
        key is expected, a key without value, or ``'argimport'`` without two bundles.
    """
    keys = set(keys) | set(posnames)
    parsed = ParsedArgs()
    i = 0
    while i < len(args) and not isinstance(args[i], str):
        if i >= len(posnames):
            raise ValueError(f"too many positional arguments: {len(posnames)} allowed "
                             f"({', '.join(posnames) or 'none'})")
        parsed.keyvals[posnames[i]] = args[i]
        i += 1
    while i < len(args):
        name = args[i]
        if not isinstance(name, str):
            raise ValueError(f"expected a flag or key name, got {name!r}")
        if name == "argimport":
            bundles = args[i + 1:i + 3]
            if len(bundles) != 2 or not all(isinstance(b, ArgBundle) for b in bundles):
                raise ValueError("'argimport' must be followed by flags and kv bundles")
            for bundle in dict.fromkeys(bundles):
                inner = parse_ltfat_args(bundle.args, bundle.posnames, keys)
                parsed.flags.extend(inner.flags)
                parsed.keyvals.update(inner.keyvals)
                parsed.sources.extend([*inner.sources, bundle.source])
                parsed.imports.extend([*inner.imports, *bundle.imports])
            i += 3
        elif name in keys:
            if i + 1 >= len(args):
                raise ValueError(f"key {name!r} has no value")
            parsed.keyvals[name] = args[i + 1]
            i += 2
        else:
            parsed.flags.append(name)
            i += 1
    return parsed


@dataclass(frozen=True)
class Unavailable:
    """A variable that could not be computed.

    Attributes
    ----------
    reason : str
        Why (missing handler, or the error raised).
    failed : bool
        ``True`` if an error occurred (dependent checks fail), ``False`` if the
        computation is not covered yet (dependent checks are reported not covered).
    via : str
        The unavailable variable this one depends on (``''``: this one's own statement).
    """

    reason: str
    failed: bool
    via: str = ""
