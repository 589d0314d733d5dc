"""Run torch_amt on every AMT reference file and compare with the stored outputs.

For each ``.mat`` file (except ``stimuli.mat``) the harness

1. parses the file's ``call`` (the Octave statements that produced it);
2. classifies the stored variables: *inputs* (:data:`INPUT_NAMES`, and any stored
   variable the statements read but none assigns, e.g. the generator's parameters
   ``flow``, ``taus``, ``N_org``; taken from the file, the statements computing them are
   not run), *metadata* (:data:`METADATA_NAMES` and
   any other string no statement assigns; ignored), *outputs* (assigned by a statement,
   or a field ``<struct>_<field>`` of an assigned struct, as the generator flattens
   them) and the rest (reported not covered);
3. evaluates, lazily, only the statements the outputs need ("end-to-end": outputs of
   earlier statements feed later ones as computed values); a statement whose AMT
   function has no handler makes everything depending on it *not covered*;
4. for statements that read other stored outputs, evaluates them once more with those
   inputs read from the file ("stage-isolated"), so a stage is checked even while an
   earlier one is not covered;
5. recomputes the stored inputs that a statement computes (``insig = ...``) from the
   file's other variables (mode "input"), so the steps that made them are checked too;
6. compares every output (:mod:`torch_amt.validation.compare`) under the tolerance policy
   (:mod:`torch_amt.validation.tolerances`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import torch

from torch_amt.validation import functions
from torch_amt.validation.compare import (
    CheckRecord,
    NotCoveredRecord,
    Origin,
    compare,
    failed_check,
)
from torch_amt.validation.interpreter import (
    Interpreter,
    assigned_names,
    children,
    expr_reads,
    plan,
    statement_io,
)
from torch_amt.validation.registry import Context
from torch_amt.validation.syntax import (
    Apply,
    Assign,
    BinOp,
    ExprStmt,
    ForLoop,
    IfStmt,
    Lambda,
    MatlabSyntaxError,
    Name,
    Neg,
    TryCatch,
    parse,
)
from torch_amt.validation.values import Cell, Unavailable

__all__ = [
    "INPUT_NAMES",
    "METADATA_NAMES",
    "Result",
    "run_validation",
    "validate_file",
]

INPUT_NAMES = frozenset({"stimulus", "insig", "fs", "insig_channels", "insig_fc"})
"""Stored variables that are inputs: always read from the file, never recomputed. Besides
them, a stored variable that a statement reads and none assigns is an input too (a
parameter of the calls, e.g. ``flow`` or a second stimulus)."""

METADATA_NAMES = frozenset({
    "call", "calls", "stimulus_name", "stimulus_description", "stimulus_level_db_spl",
    "level_convention", "amt_version", "ltfat_version", "octave_version", "generator",
    "level_note", "note", "description", "fhigh_note", "minlvl_note",
    # the dboffset AMT's king2019 used when none was passed (93.98): a record of AMT's
    # default, checked implicitly by every output of the ``*_dboffsetdefault`` files,
    # which King2019's default dboffset must reproduce
    "dboffset_used",
    # stimulus levels (dB SPL) of the paulick2024 back-end files: descriptions of the
    # stored stimuli, which no statement reads
    "level_ref_db", "level_supra_db", "level_target_db", "level_ref_mask_db",
})
"""Stored variables describing the file (besides them, every unassigned string)."""

TRIVIAL_FUNCTIONS = frozenset({"numel", "zeros", "cell", "struct", "rmfield", "max", "abs",
                               "log10", "ceil", "length", "exp", "sqrt", "sum", "reshape",
                               "cellfun", "floor", "nan", "isnan", "isequal", "double",
                               "min", "size", "rms", "addpath", "rmpath", "rethrow", "not",
                               "isreal", "real"})
"""Builtins that do not name the stage of an output."""

END_TO_END = "end-to-end"
STAGE_ISOLATED = "stage-isolated"
INPUT = "input"


@dataclass
class Result:
    """Outcome of a validation run.

    Attributes
    ----------
    reference : str
        Reference directory.
    dtype : str
        ``'float64'`` or ``'float32'``.
    files : list of str
        Files validated.
    checks : list of CheckRecord
    not_covered : list of NotCoveredRecord
    """

    reference: str
    dtype: str
    files: list[str] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)
    not_covered: list[NotCoveredRecord] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckRecord]:
        """The failed checks."""
        return [c for c in self.checks if not c.passed and not c.undetermined]

    @property
    def undetermined(self) -> list[CheckRecord]:
        """float32 runs: the checks of values single precision cannot determine."""
        return [c for c in self.checks if c.undetermined]

    @property
    def passed(self) -> list[CheckRecord]:
        """The passed checks."""
        return [c for c in self.checks if c.passed]

    @property
    def ok(self) -> bool:
        """Whether no check failed."""
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; non-finite numbers become ``null``."""
        def clean(record: Any) -> dict[str, Any]:
            return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                    for k, v in asdict(record).items()}

        return {
            "reference": self.reference,
            "dtype": self.dtype,
            "summary": {"files": len(self.files), "passed": len(self.passed),
                        "failed": len(self.failed), "not_covered": len(self.not_covered),
                        "undetermined_in_float32": len(self.undetermined)},
            "checks": [clean(c) for c in self.checks],
            "not_covered": [n.key for n in self.not_covered],
            "not_covered_details": [asdict(n) for n in self.not_covered],
        }


# --------------------------------------------------------------------------- loading


def from_mat(value: Any) -> Any:
    """A variable as :func:`scipy.io.loadmat` returns it, as a MATLAB value.

    Char arrays become ``str``, cells ``list`` (column-major), 1x1 structs ``dict``, 1x1
    numeric arrays Python scalars; other numeric arrays stay float64/complex128 arrays.
    """
    if not isinstance(value, np.ndarray):
        return value
    if value.dtype.kind == "U":
        return "".join(value.reshape(-1))
    if value.dtype.names:
        structs = [{name: from_mat(s[name]) for name in value.dtype.names}
                   for s in value.reshape(-1, order="F")]
        return structs[0] if len(structs) == 1 else structs
    if value.dtype == object:
        return Cell([from_mat(v) for v in value.reshape(-1, order="F")], value.shape)
    if value.size == 1:
        item = value.reshape(-1)[0].item()
        return complex(item) if isinstance(item, complex) else float(item)
    return value.astype(np.complex128 if value.dtype.kind == "c" else np.float64)


# --------------------------------------------------------------------------- one file


def _writes(stmt: object, variables: set[str]) -> set[str]:
    _, full, partial = statement_io(stmt, variables)
    return full | partial


def _last_writer(statements: Sequence[object], name: str, variables: set[str],
                 before: int | None = None) -> int | None:
    stop = len(statements) if before is None else before
    return next((i for i in range(stop - 1, -1, -1)
                 if name in _writes(statements[i], variables)), None)


def _calls(node: object, variables: set[str]) -> list[str]:
    """Names of the functions a statement or expression calls, in pre-order."""
    if isinstance(node, ForLoop):
        return [c for stmt in node.body for c in _calls(stmt, variables)]
    if isinstance(node, TryCatch):
        return [c for stmt in (*node.body, *node.handler) for c in _calls(stmt, variables)]
    if isinstance(node, IfStmt):
        inner = (*(s for _, body in node.branches for s in body), *node.orelse)
        return [*(c for cond, _ in node.branches for c in _calls(cond, variables)),
                *(c for stmt in inner for c in _calls(stmt, variables))]
    if isinstance(node, Lambda):
        return _calls(node.body, variables | set(node.params))
    if isinstance(node, Assign):
        return _calls(node.value, variables)
    if isinstance(node, ExprStmt):
        return _calls(node.expr, variables)
    if isinstance(node, Name):
        return [] if node.id in variables else [node.id]
    if isinstance(node, Apply) and isinstance(node.target, Name) and (
            node.target.id not in variables):
        return [node.target.id, *(c for a in node.args for c in _calls(a, variables))]
    return [c for child in children(node) for c in _calls(child, variables)]


def _stage(statements: Sequence[object], index: int, variables: set[str]) -> str:
    """AMT function behind the output of ``statements[index]``.

    The first non-trivial function the statement calls; for a statement that only
    selects from another variable (``x = s.f``, ``rmfield(s, ...)``) that variable's
    stage; for arithmetic ``'(expression)'``.
    """
    stmt = statements[index]
    calls = [c for c in _calls(stmt, variables) if c not in TRIVIAL_FUNCTIONS]
    if calls:
        return calls[0]
    if isinstance(stmt, Assign) and not isinstance(stmt.value, (BinOp, Neg)):
        for name in sorted(expr_reads(stmt.value, variables)):
            writer = _last_writer(statements, name, variables, before=index)
            if writer is not None:
                return _stage(statements, writer, variables)
    return "(expression)"


@dataclass
class _Plan:
    """What to check in one file."""

    statements: tuple
    stored: dict[str, Any]          # raw loadmat values
    values: dict[str, Any]          # as MATLAB values
    written: set[str]
    variables: set[str]
    inputs: set[str]
    units: dict[str, list[tuple[str, str | None]]]  # variable -> [(stored name, field)]
    unassigned: list[str]


def _classify(statements: tuple, stored: dict[str, Any], values: dict[str, Any]) -> _Plan:
    written = assigned_names(statements)
    names = set(stored)
    # a stored variable that statements read and none assigns (the generator's parameters:
    # 'flow', 'taus', 'N_org', ...) is an input of the call, like 'stimulus'
    read = set().union(*(statement_io(s, names | written)[0] for s in statements))
    inputs = (names & INPUT_NAMES) | ((names & read) - written)
    units: dict[str, list[tuple[str, str | None]]] = {}
    unassigned = []
    for name in sorted(names - inputs - METADATA_NAMES):
        if name in written:
            units.setdefault(name, []).append((name, None))
            continue
        bases = [w for w in written if name.startswith(w + "_") and w not in inputs]
        if bases:
            base = max(bases, key=len)
            units.setdefault(base, []).append((name, name[len(base) + 1:]))
        elif not isinstance(values[name], str):
            unassigned.append(name)
    return _Plan(statements, stored, values, written, written | names, inputs, units,
                 unassigned)


def _evaluate(p: _Plan, ctx: Context, targets: set[str], frozen: set[str],
              cache: dict[bytes, tuple]) -> dict[str, Any]:
    env = {name: p.values[name] for name in frozen}
    needed = plan(p.statements, targets, frozen, p.variables)
    Interpreter(ctx, env, frozen, cache).run(needed, p.variables)
    return env


def _record(p: _Plan, origin: Origin, items: list[tuple[str, str | None]], value: Any,
            dtype: torch.dtype, checks: list[CheckRecord],
            missing: list[NotCoveredRecord]) -> None:
    """Compare ``value`` (or its fields) with the stored variables ``items``."""
    suffix = "" if origin.mode == END_TO_END else f" ({origin.mode})"
    for name, field_name in items:
        quantity = name + suffix
        item = value
        if field_name is not None and not isinstance(value, Unavailable):
            base = name[:-len(field_name) - 1]
            item = (value.get(field_name, Unavailable(
                f"the computed struct {base} has no field {field_name!r}", failed=False))
                if isinstance(value, dict) else Unavailable(
                f"no statement assigns it, and {base} is not a struct", failed=False))
        if isinstance(item, Unavailable):
            via = f" (needs {item.via})" if item.via else ""
            if item.failed:
                checks.append(failed_check(origin, quantity, f"error{via}: {item.reason}",
                                           dtype))
            else:
                missing.append(NotCoveredRecord(origin.file, quantity, origin.stage,
                                                origin.mode, f"{item.reason}{via}"))
            continue
        for check in compare(origin, name, item, p.stored[name], dtype):
            check.quantity += suffix
            checks.append(check)


def _load(path: Path, dtype: torch.dtype) -> tuple[_Plan | None, Context, list[CheckRecord]]:
    stored = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    values = {k: from_mat(v) for k, v in stored.items()}
    ctx = Context(file=path.name, variables=values, dtype=dtype)
    call = values.get("call")
    try:
        if not isinstance(call, str):
            raise MatlabSyntaxError("the file has no `call` string")
        statements = parse(call)
    except MatlabSyntaxError as err:
        return None, ctx, [failed_check(Origin(path.name, "(harness)", END_TO_END), "call",
                                        f"cannot interpret the file's statements: {err}",
                                        dtype)]
    return _classify(statements, stored, values), ctx, []


def validate_file(path: str | Path, dtype: torch.dtype = torch.float64
                  ) -> tuple[list[CheckRecord], list[NotCoveredRecord]]:
    """Validate one reference file.

    Runs the three evaluation modes: every output end-to-end; outputs of statements that
    read other stored outputs once more stage-isolated; and the stored inputs that a
    statement computes (``insig = ...``) recomputed from the file's other variables.

    Parameters
    ----------
    path : str or Path
        ``.mat`` reference file.
    dtype : torch.dtype
        Precision of the torch_amt computations.

    Returns
    -------
    (list of CheckRecord, list of NotCoveredRecord)
    """
    functions.load_all()
    path = Path(path)
    p, ctx, checks = _load(path, dtype)
    if p is None:
        return checks, []
    statements, stored = p.statements, set(p.stored)
    missing = [NotCoveredRecord(path.name, name, "(none)", END_TO_END,
                                "stored, but no statement of `call` assigns it")
               for name in p.unassigned]
    writers = {unit: _last_writer(statements, unit, p.variables) for unit in p.units}
    stage = {unit: _stage(statements, i, p.variables) for unit, i in writers.items()}

    cache: dict[bytes, tuple] = {}

    def run(mode: str, units: set[str], frozen: set[str], items: dict) -> None:
        env = _evaluate(p, ctx, units, frozen, cache)
        for unit in sorted(units):
            _record(p, Origin(path.name, stage[unit], mode), items[unit], env[unit], dtype,
                    checks, missing)

    run(END_TO_END, set(p.units), stored - (p.written - p.inputs), p.units)
    computed_outputs = (p.written & stored) - p.inputs
    for index in sorted(set(writers.values())):
        group = {u for u, i in writers.items() if i == index}
        needed = plan(statements, group, stored - group, p.variables)
        reads = set().union(*(statement_io(s, p.variables)[0] for s in needed))
        if reads & (computed_outputs - group):
            run(STAGE_ISOLATED, group, stored - group, p.units)
    recomputed = p.inputs & p.written
    for name in recomputed:
        stage[name] = _stage(statements, _last_writer(statements, name, p.variables),
                             p.variables)
    if recomputed:
        run(INPUT, recomputed, stored - recomputed, {n: [(n, None)] for n in recomputed})
    return checks, missing


def _selected(path: Path, only: str | None) -> bool:
    if only is None:
        return True
    pattern = only if any(c in only for c in "*?[") else f"*{only}*"
    return fnmatch.fnmatch(path.name, pattern)


def run_validation(reference_dir: str | Path, dtype: torch.dtype = torch.float64,
                   only: str | None = None) -> Result:
    """Validate torch_amt against every reference file in a directory.

    Parameters
    ----------
    reference_dir : str or Path
        Directory of AMT reference ``.mat`` files (``stimuli.mat`` is skipped).
    dtype : torch.dtype, default torch.float64
        Precision of the torch_amt computations (``torch.float32`` loosens the
        tolerances, see :mod:`torch_amt.validation.tolerances`).
    only : str, optional
        Validate only files whose name matches this glob pattern (a pattern without
        ``*?[`` matches as a substring).

    Returns
    -------
    Result

    Raises
    ------
    FileNotFoundError
        If ``reference_dir`` is not a directory or holds no selected ``.mat`` file.
    """
    if dtype not in (torch.float64, torch.float32):
        raise ValueError(f"dtype must be torch.float64 or torch.float32, got {dtype}")
    root = Path(reference_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"reference directory {root} does not exist")
    files = [f for f in sorted(root.glob("*.mat"))
             if f.name != "stimuli.mat" and _selected(f, only)]
    if not files:
        raise FileNotFoundError(f"no reference .mat files in {root}"
                                + (f" matching {only!r}" if only else ""))
    result = Result(reference=str(root), dtype=str(dtype).removeprefix("torch."))
    for f in files:
        checks, missing = validate_file(f, dtype)
        result.files.append(f.name)
        result.checks.extend(checks)
        result.not_covered.extend(missing)
    return result
