"""Comparison of computed values with stored AMT outputs.

One check compares a computed array with the stored one: shapes must agree (trailing
singleton dimensions beyond the second are ignored, a scalar is 1x1), NaN must be at the
same positions, and ``rel_err = max|computed - reference| / max|reference|`` (complex:
modulus of the difference; both exactly zero: 0; reference all zero but error > 0: inf)
must not exceed the tolerance. A value that is a difference of computed operands
(``Checked.scale``, e.g. ``max(abs(a - b))``) is measured relative to the larger of
``max|reference|`` and the operands' magnitude. Cell arrays are checked element by element, structs
field by field, strings for equality, and a :class:`~torch_amt.validation.values.Checked` value
with ``split_axis`` slice by slice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from torch_amt.validation.tolerances import effective_tolerance, undetermined_in_float32
from torch_amt.validation.values import Checked, merge_tolerances, unwrap

__all__ = ["CheckRecord", "NotCoveredRecord", "Origin", "compare", "failed_check"]


@dataclass(frozen=True)
class Origin:
    """Where a check comes from: reference file, AMT function (stage), evaluation mode."""

    file: str
    stage: str
    mode: str


@dataclass
class CheckRecord:
    """One comparison with a stored AMT output.

    Attributes
    ----------
    file, stage, mode : str
        Reference file, AMT function that produced the output, and ``'end-to-end'``
        (inputs computed by earlier statements) or ``'stage-isolated'`` (inputs read from
        the file).
    quantity : str
        Stored variable name, optionally followed by ``[slice]`` (1-based index or label)
        or ``.field``.
    max_abs_err, max_abs_ref, rel_err : float or None
        ``None`` when no numbers could be compared (error, shape mismatch).
    tolerance : float
        Relative tolerance used.
    passed : bool
    reason : str
        Why this tolerance; notes on failures.
    undetermined : bool
        float32 runs only: the value is not determined in single precision (see
        :func:`~torch_amt.validation.tolerances.undetermined_in_float32`); the check is
        neither passed nor failed.
    """

    file: str
    quantity: str
    stage: str
    mode: str
    max_abs_err: float | None
    max_abs_ref: float | None
    rel_err: float | None
    tolerance: float
    passed: bool
    reason: str
    undetermined: bool = False


@dataclass
class NotCoveredRecord:
    """A stored output the harness could not compute, and why."""

    file: str
    quantity: str
    stage: str
    mode: str
    reason: str

    @property
    def key(self) -> str:
        """``'file:quantity'``."""
        return f"{self.file}:{self.quantity}"


def failed_check(origin: Origin, quantity: str, reason: str, dtype: torch.dtype,
                 tol: float = 0.0, tol_reason: str = "") -> CheckRecord:
    """A failed check without numbers (error, shape or type mismatch)."""
    tolerance, why = effective_tolerance(tol, tol_reason, dtype)
    return CheckRecord(origin.file, quantity, origin.stage, origin.mode, None, None, None,
                       tolerance, False, f"{reason}; tolerance: {why}")


def _matlab_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = (1, 1) if len(shape) == 0 else tuple(shape)
    while len(shape) > 2 and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def _is_string(reference: Any) -> bool:
    return isinstance(reference, str) or (
        isinstance(reference, np.ndarray) and reference.dtype.kind == "U")


def _as_string(reference: Any) -> str:
    return reference if isinstance(reference, str) else "".join(reference.reshape(-1))


def _numbers(origin: Origin, quantity: str, value: np.ndarray, reference: np.ndarray,
             tol: float, tol_reason: str, dtype: torch.dtype, scale: float = 0.0,
             cancellation: float = 1.0) -> CheckRecord:
    tolerance, reason = effective_tolerance(tol, tol_reason, dtype, cancellation)
    complex_ = np.iscomplexobj(value) or np.iscomplexobj(reference)
    kind = np.complex128 if complex_ else np.float64
    val, ref = value.astype(kind), reference.astype(kind)
    nan_val, nan_ref = np.isnan(val), np.isnan(ref)
    nan_ok = bool(np.array_equal(nan_val, nan_ref))
    if not nan_ok:
        reason = (f"NaN positions differ ({int(nan_ref.sum())} NaN in the reference, "
                  f"{int(nan_val.sum())} computed); tolerance: {reason}")
    both = ~(nan_val | nan_ref)
    v, r = val[both], ref[both]
    with np.errstate(invalid="ignore"):
        diff = np.where(v == r, 0.0, np.abs(v - r))
    err = float(diff.max(initial=0.0))
    ref_abs = np.abs(r[np.isfinite(r)])
    ref_max = float(ref_abs.max(initial=0.0))
    denominator = max(ref_max, scale)
    if scale > ref_max:
        reason += (f"; relative to the magnitude of the operands of a difference, {scale:.3g} "
                   "(see Checked.scale)")
    rel = 0.0 if err == 0 else (math.inf if denominator == 0 else err / denominator)
    if undetermined_in_float32(dtype, cancellation):
        return CheckRecord(origin.file, quantity, origin.stage, origin.mode, err, ref_max, rel,
                           tolerance, False, f"undetermined in float32: computed from a "
                           f"difference {cancellation:.3g} times smaller than its operands "
                           "(checked in float64)", undetermined=True)
    return CheckRecord(origin.file, quantity, origin.stage, origin.mode, err, ref_max, rel,
                       tolerance, nan_ok and rel <= tolerance, reason)


def _compare_array(origin: Origin, quantity: str, checked: Checked, reference: np.ndarray,
                   dtype: torch.dtype) -> list[CheckRecord]:
    raw = checked.value
    value = np.asarray(raw)
    if value.dtype.kind not in "biufc":
        return [failed_check(origin, quantity, f"computed a {type(raw).__name__}, the "
                             f"reference is a numeric array {reference.shape}", dtype)]
    if _matlab_shape(value.shape) != _matlab_shape(reference.shape):
        return [failed_check(origin, quantity, f"shape {value.shape} differs from the "
                             f"reference {reference.shape}", dtype,
                             checked.slice_tol(), checked.slice_reason())]
    value = value.reshape(reference.shape)
    axis = checked.split_axis
    if axis is None:
        return [_numbers(origin, quantity, value, reference, checked.slice_tol(),
                         checked.slice_reason(), dtype, checked.scale, checked.cancellation)]
    return [
        _numbers(origin, f"{quantity}[{checked.slice_label(k)}]", np.take(value, k, axis=axis),
                 np.take(reference, k, axis=axis), checked.slice_tol(k),
                 checked.slice_reason(k), dtype, checked.scale, checked.cancellation)
        for k in range(reference.shape[axis])
    ]


def compare(origin: Origin, quantity: str, value: Any, reference: Any,
            dtype: torch.dtype) -> list[CheckRecord]:
    """Compare a computed value with a stored reference value.

    Parameters
    ----------
    origin : Origin
        File, stage and mode recorded in every check.
    quantity : str
        Name of the stored variable (prefix of every check's quantity).
    value : Any
        Computed MATLAB value, possibly :class:`~torch_amt.validation.values.Checked`.
    reference : Any
        The stored value as :func:`scipy.io.loadmat` returns it.
    dtype : torch.dtype
        Precision of the run (tolerance policy).

    Returns
    -------
    list of CheckRecord
        One per compared array (per slice / cell element / field).
    """
    checked = value if isinstance(value, Checked) else Checked(value)
    raw = checked.value
    if _is_string(reference):
        equal = isinstance(raw, str) and raw == _as_string(reference)
        return [CheckRecord(origin.file, quantity, origin.stage, origin.mode,
                            0.0 if equal else 1.0, 1.0, 0.0 if equal else 1.0, 0.0, equal,
                            "strings must be equal" if equal else
                            f"computed {raw!r}, reference {_as_string(reference)!r}")]
    if isinstance(reference, np.ndarray) and reference.dtype.names:
        if not isinstance(raw, dict):
            return [failed_check(origin, quantity, f"computed a {type(raw).__name__}, the "
                                 "reference is a struct", dtype)]
        out = []
        for name in reference.dtype.names:
            sub = f"{quantity}.{name}"
            if name not in raw:
                out.append(failed_check(origin, sub, "the computed struct has no such field",
                                        dtype))
            else:
                out.extend(compare(origin, sub, raw[name], reference[name].reshape(-1)[0],
                                   dtype))
        return out
    if isinstance(reference, np.ndarray) and reference.dtype == object:
        elements = list(reference.reshape(-1, order="F"))
        if not isinstance(raw, list) or len(raw) != len(elements):
            got = (f"{len(raw)} elements" if isinstance(raw, list) else type(raw).__name__)
            return [failed_check(origin, quantity, f"the reference is a cell array of "
                                 f"{len(elements)} elements, computed {got}", dtype)]
        out = []
        for k, (element, ref) in enumerate(zip(raw, elements, strict=True)):
            own = Checked(unwrap(element), tol=checked.slice_tol(k),
                          reason=checked.slice_reason(k), cancellation=checked.cancellation)
            out.extend(compare(origin, f"{quantity}[{checked.slice_label(k)}]",
                               merge_tolerances(element, [own]), ref, dtype))
        return out
    return _compare_array(origin, quantity, checked, np.asarray(reference), dtype)
