"""Tolerance policy of the harness, as data.

* Every comparison is relative: ``max|computed - reference| / max|reference|`` (per
  check, i.e. per channel or cell element where a handler splits its output).
* Default: :data:`DEFAULT_RTOL` = 1e-9 in float64.
* Where AMT's own float64 output is ill-conditioned (its direct-form high-order IIR
  filters at low centre frequencies), the tolerance is :data:`CONDITIONING_MARGIN` (10)
  times the floor measured in the reference README, section "Numerical conditioning",
  and ``checks_amt140.txt``: how far AMT's result moves when its input is scaled by
  (1 + eps). The floor is interpolated log-log in the measured table per channel
  (centre frequency) or per modulation filter (king2019); below the lowest measured
  frequency it is extrapolated with the slope of the first segment (conditioning gets
  worse towards low frequencies), above the highest it stays constant.
* Tolerances only grow along a chain of computations: a value computed from
  :class:`~torch_amt.validation.values.Checked` inputs inherits their tolerance
  (:func:`~torch_amt.validation.values.merge_tolerances`).
* float32 runs: ``max(policy, FLOAT32_RTOL)`` with :data:`FLOAT32_RTOL` = 1e-4
  (single precision has eps = 1.2e-7; recursive filters and adaptation loops amplify
  it by a few hundred), times the cancellation of a difference the value is computed
  from (:attr:`~torch_amt.validation.values.Checked.cancellation`); a value whose
  cancellation reaches 1e4 is reported undetermined in float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from torch_amt.validation.values import Checked

__all__ = [
    "CONDITIONING",
    "CONDITIONING_MARGIN",
    "DEFAULT_REASON",
    "DEFAULT_RTOL",
    "FLOAT32_RTOL",
    "ConditioningTable",
    "checked_by_frequency",
    "conditioning_tolerance",
    "effective_tolerance",
    "labels_for",
    "undetermined_in_float32",
]

DEFAULT_RTOL = 1e-9
"""Default relative tolerance in float64."""
DEFAULT_REASON = "default float64 tolerance (1e-9 relative)"
FLOAT32_RTOL = 1e-4
"""Smallest relative tolerance of a float32 run."""
CONDITIONING_MARGIN = 10.0
"""Tolerance = this times AMT's measured conditioning floor, where that exceeds the default."""


@dataclass(frozen=True)
class ConditioningTable:
    """AMT's measured sensitivity of an output to a one-ulp change of its input.

    Attributes
    ----------
    output : str
        What was measured (AMT call).
    axis : str
        What the frequencies are: ``'fc'`` (channel centre frequency) or ``'mfc'``
        (modulation-filter centre frequency).
    points : tuple of (float, float)
        ``(frequency in Hz, relative change)`` pairs, increasing in frequency.
    """

    output: str
    axis: str
    points: tuple[tuple[float, float], ...]

    def floor(self, freqs: Any) -> np.ndarray:
        """Measured relative floor at ``freqs`` (Hz), log-log interpolated."""
        f = np.log(np.maximum(np.asarray(freqs, dtype=float).reshape(-1), 1e-3))
        x = np.log([p[0] for p in self.points])
        y = np.log([p[1] for p in self.points])
        out = np.interp(f, x, y)
        below = f < x[0]
        slope = (y[1] - y[0]) / (x[1] - x[0])
        out[below] = y[0] + min(slope, 0.0) * (f[below] - x[0])
        return np.exp(out)


def _table(output: str, axis: str, text: str) -> ConditioningTable:
    pairs = tuple((float(f), float(v)) for f, v in (p.split(":") for p in text.split()))
    return ConditioningTable(output, axis, pairs)


CONDITIONING: dict[str, ConditioningTable] = {
    "auditoryfilterbank": _table(
        "auditoryfilterbank(x, fs)", "fc",
        "87:3.6e-08 123:3.7e-08 163:3.1e-08 208:2.1e-08 257:9.3e-09 313:5.6e-09 375:3.6e-09 "
        "443:3.4e-09 520:1.7e-09 605:1.7e-09 700:1.1e-09 806:7.8e-10 924:5.8e-10 "
        "1056:3.8e-10 1202:2.0e-10 1365:1.9e-10 1547:1.3e-10 1749:9.5e-11 1975:5.3e-11 "
        "2226:2.4e-11 2506:3.9e-11 2818:1.7e-11 3165:9.7e-12 3552:1.1e-11 3983:5.3e-12 "
        "4463:3.1e-12 4997:2.2e-12 5593:1.6e-12 6257:1.1e-12 6996:1.2e-12 7819:5.2e-13"),
    "lopezpoveda2001": _table(
        "lopezpoveda2001(x, fs), AMT-default parameters", "fc",
        "87:5.1e-05 123:1.5e-05 163:1.2e-05 208:2.7e-06 257:8.1e-07 313:6.3e-07 375:1.5e-07 "
        "443:7.6e-08 520:3.1e-08 605:1.4e-08 700:5.8e-09 806:4.7e-09 924:2.1e-09 "
        "1056:1.0e-09 1202:5.0e-10 1365:3.8e-10 1547:1.6e-10 1749:6.9e-11 1975:4.6e-11 "
        "2226:3.2e-11 2506:1.1e-11 2818:5.9e-12 3165:4.9e-12 3552:2.2e-12 3983:1.0e-12 "
        "4463:7.1e-13 4997:4.5e-13 5593:2.5e-13 6257:1.0e-13 6996:6.9e-14 7819:2.6e-14"),
    "lopezpoveda2001_jepsen2008": _table(
        "lopezpoveda2001(x, fs) with jepsen2008 parameters", "fc",
        "87:7.1e-09 123:2.3e-09 163:1.4e-09 208:4.6e-10 257:2.7e-10 313:1.9e-10 375:8.0e-11 "
        "443:5.2e-11 520:3.4e-11 605:1.4e-11 700:1.2e-11 806:1.1e-11 924:5.9e-12 "
        "1056:4.2e-12 1202:2.1e-12 1365:1.4e-12 1547:1.1e-12 1749:8.0e-13 1975:3.7e-13 "
        "2226:3.9e-13 2506:2.1e-13 2818:1.1e-13 3165:8.2e-14 3552:5.6e-14 3983:4.7e-14 "
        "4463:2.6e-14 4997:2.2e-14 5593:1.1e-14 6257:9.7e-15 6996:6.2e-15 7819:4.5e-15"),
    "dau1997_adaptation": _table(
        "dau1997(x, fs, 'no_mfb') (adaptation-loop output)", "fc",
        "108:4.8e-08 146:4.0e-08 189:1.9e-08 236:2.1e-08 289:1.1e-08 348:5.4e-09 414:4.9e-09 "
        "487:5.5e-09 569:1.4e-09 660:1.8e-09 761:9.1e-10 874:4.8e-10 1000:4.2e-10 "
        "1140:2.4e-10 1296:2.6e-10 1470:1.2e-10 1664:1.3e-10 1879:7.8e-11 2119:3.7e-11 "
        "2387:2.7e-11 2685:3.6e-11 3017:1.6e-11 3387:1.1e-11 3800:5.4e-12 4259:4.0e-12 "
        "4770:2.1e-12 5340:1.2e-12 5975:1.1e-12 6682:5.5e-13 7470:6.8e-13"),
    "dau1997_modulation": _table(
        "dau1997(x, fs) (modulation-filter outputs, all mfc of a channel pooled)", "fc",
        "108:6.2e-09 146:1.6e-08 189:8.3e-09 236:5.4e-09 289:6.0e-09 348:3.2e-09 414:3.4e-09 "
        "487:3.0e-09 569:9.3e-10 660:9.8e-10 761:5.3e-10 874:3.5e-10 1000:2.0e-10 "
        "1140:1.6e-10 1296:1.5e-10 1470:7.9e-11 1664:7.4e-11 1879:5.5e-11 2119:1.7e-11 "
        "2387:1.4e-11 2685:1.5e-11 3017:8.1e-12 3387:7.2e-12 3800:2.6e-12 4259:2.5e-12 "
        "4770:1.0e-12 5340:8.1e-13 5975:1.1e-12 6682:2.7e-12 7470:1.2e-12"),
    "king2019_mfc": _table(
        "king2019(x, fs, 1000, 'dboffset', 100) (per mfc, channels pooled)", "mfc",
        "2:2.9e-05 5.24:1.8e-05 13.7:1.9e-06 35.9:7.8e-08 94:3.0e-09"),
    "king2019_adapted_response": _table(
        "king2019 step.adapted_response (per channel)", "fc",
        "761:2.9e-09 874:1.2e-09 1000:8.2e-10 1140:5.2e-10 1296:7.0e-10"),
}
"""Measured floors (``checks_amt140.txt``, 65-dB noise, fs = 44100 Hz), by output."""


def conditioning_tolerance(table: str, freqs: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per-frequency tolerances and reasons from a table of :data:`CONDITIONING`.

    Parameters
    ----------
    table : str
        Key of :data:`CONDITIONING`.
    freqs : array_like, shape (n,)
        Channel (or modulation-filter) centre frequencies in Hz.

    Returns
    -------
    tol : ndarray, shape (n,)
        ``max(DEFAULT_RTOL, CONDITIONING_MARGIN * floor(f))``.
    reasons : tuple of str, length n
    """
    entry = CONDITIONING[table]
    floors = entry.floor(freqs)
    tol = np.maximum(DEFAULT_RTOL, CONDITIONING_MARGIN * floors)
    reasons = tuple(
        f"{CONDITIONING_MARGIN:g}x AMT's own conditioning floor {fl:.1e} at {entry.axis} "
        f"{f:.4g} Hz ({entry.output}; reference README, checks_amt140.txt)"
        if t > DEFAULT_RTOL else DEFAULT_REASON
        for f, fl, t in zip(np.asarray(freqs, dtype=float).reshape(-1), floors, tol,
                            strict=True))
    return tol, reasons


def checked_by_frequency(value: Any, table: str, freqs: Any, split_axis: int = 1,
                         label: str | None = None) -> Checked:
    """Wrap an output so it is checked per channel (or per modulation filter).

    Parameters
    ----------
    value : ndarray (AMT layout) or list (cell, one element per frequency)
        Computed output, e.g. ``(time, channel)``.
    table : str
        Key of :data:`CONDITIONING` giving the tolerance per frequency.
    freqs : array_like, shape (n,)
        Frequency (Hz) of each slice along ``split_axis`` (or of each cell element).
    split_axis : int, default 1
        AMT axis of the channels (ignored for cells).
    label : str, optional
        Label prefix, default the table's axis (``'fc'`` / ``'mfc'``): slices are
        reported as ``name[fc 87 Hz]``.

    Returns
    -------
    Checked
    """
    freqs = np.asarray(freqs, dtype=float).reshape(-1)
    tol, reasons = conditioning_tolerance(table, freqs)
    labels = labels_for(freqs, label or CONDITIONING[table].axis)
    return Checked(value, tol=tol, reason=reasons,
                   split_axis=None if isinstance(value, list) else split_axis, labels=labels)


def effective_tolerance(tol: float, reason: str, dtype: torch.dtype,
                        cancellation: float = 1.0) -> tuple[float, str]:
    """The tolerance a check uses: the policy floor applied to a handler's tolerance.

    Parameters
    ----------
    tol : float
        Tolerance asked for by the handler (or inherited); 0 for none.
    reason : str
        Its reason.
    dtype : torch.dtype
        Precision of the run.
    cancellation : float
        :attr:`~torch_amt.validation.values.Checked.cancellation` of the value: in
        float32, a value computed from a difference whose operands are ``c`` times larger
        than the difference carries ``c`` times their relative error, so its floor is
        ``c * FLOAT32_RTOL`` (a condition number, like the conditioning tables above).
        float64 runs keep the policy: the harness reproduces AMT's arithmetic operation
        by operation there, so the operands' rounding cancels as it does in AMT.

    Returns
    -------
    (float, str)
        ``max(tol, DEFAULT_RTOL)`` in float64, ``max(tol, DEFAULT_RTOL, FLOAT32_RTOL *
        cancellation)`` in float32, and the matching reason. A float32 tolerance of 1 or
        more means the value is not determined in single precision
        (:func:`undetermined_in_float32`).
    """
    if tol <= DEFAULT_RTOL:
        tol, reason = DEFAULT_RTOL, DEFAULT_REASON
    elif not reason:
        reason = "tolerance set by the handler (no reason given)"
    if dtype == torch.float32:
        floor = FLOAT32_RTOL * max(1.0, cancellation)
        if tol < floor:
            if cancellation > 1.0:
                return floor, (f"float32 run: 1e-4 relative times the cancellation "
                               f"{cancellation:.3g} of a difference upstream (policy: "
                               f"{reason})")
            return FLOAT32_RTOL, f"float32 run: 1e-4 relative (policy: {reason})"
    return tol, reason


def undetermined_in_float32(dtype: torch.dtype, cancellation: float) -> bool:
    """Whether a float32 run cannot determine a value at all: it is computed from a
    difference at least ``1 / FLOAT32_RTOL`` (1e4) times smaller than its operands, so
    float32 rounding of the operands leaves no significant digit of 1e-4 in it (e.g.
    an internal noise 1e8 times below the signal it is added to, recovered by
    subtracting the noiseless output). Such checks are reported as undetermined, not
    passed or failed; float64 runs check them."""
    return dtype == torch.float32 and FLOAT32_RTOL * cancellation >= 1.0


def labels_for(values: Sequence[float], prefix: str) -> tuple[str, ...]:
    """Report labels ``'<prefix> <value> Hz'`` for a sequence of frequencies."""
    return tuple(f"{prefix} {v:.4g} Hz" for v in values)
