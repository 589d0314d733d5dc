"""JSON and markdown reports of a validation run."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from torch_amt.validation.compare import CheckRecord, NotCoveredRecord
from torch_amt.validation.harness import Result

__all__ = ["render_markdown", "summary_text", "write_json", "write_markdown"]


def write_json(result: Result, path: str | Path) -> None:
    """Write :meth:`Result.to_json` to ``path`` (strict JSON: non-finite numbers are null)."""
    Path(path).write_text(json.dumps(result.to_json(), indent=1, allow_nan=False) + "\n")


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return "inf" if math.isinf(value) else f"{value:.2e}"


def _stage_key(stage: str) -> tuple[bool, str]:
    return (stage.startswith("("), stage)


def _rel(check: CheckRecord) -> float:
    return math.inf if check.rel_err is None else check.rel_err


def _stages(result: Result) -> list[str]:
    names = {c.stage for c in result.checks} | {n.stage for n in result.not_covered}
    return sorted(names, key=_stage_key)


def _by_stage(result: Result) -> tuple[dict[str, list[CheckRecord]],
                                        dict[str, list[NotCoveredRecord]]]:
    checks: dict[str, list[CheckRecord]] = defaultdict(list)
    missing: dict[str, list[NotCoveredRecord]] = defaultdict(list)
    for c in result.checks:
        checks[c.stage].append(c)
    for n in result.not_covered:
        missing[n.stage].append(n)
    return checks, missing


def _summary_rows(result: Result) -> list[tuple[str, int, int, int, str, str]]:
    checks, missing = _by_stage(result)
    rows = []
    for stage in _stages(result):
        done = checks.get(stage, [])
        worst = max((c for c in done if not c.undetermined), key=_rel, default=None)
        rows.append((stage, sum(c.passed for c in done),
                     sum(not c.passed and not c.undetermined for c in done),
                     len(missing.get(stage, [])), _num(worst.rel_err) if worst else "–",
                     _num(worst.tolerance) if worst else "–"))
    return rows


def summary_text(result: Result, max_failures: int = 20) -> str:
    """A plain-text summary for the terminal."""
    lines = [
        f"AMT validation of torch_amt: {len(result.files)} files in {result.reference} "
        f"({result.dtype})",
        f"checks: {len(result.passed)} passed, {len(result.failed)} failed; "
        f"not covered: {len(result.not_covered)}"
        + (f"; undetermined in float32: {len(result.undetermined)}"
           if result.undetermined else ""),
        "",
        f"{'stage':32s} {'passed':>7s} {'failed':>7s} {'n/c':>5s} {'worst rel':>10s}",
    ]
    for stage, n_pass, n_fail, n_missing, worst, _ in _summary_rows(result):
        lines.append(f"{stage:32s} {n_pass:7d} {n_fail:7d} {n_missing:5d} {worst:>10s}")
    if result.failed:
        lines += ["", "failed checks:"]
        for c in result.failed[:max_failures]:
            lines.append(f"  {c.file}: {c.quantity}: rel {_num(c.rel_err)} > tol "
                         f"{_num(c.tolerance)} ({c.reason})")
        if len(result.failed) > max_failures:
            lines.append(f"  ... and {len(result.failed) - max_failures} more")
    if result.undetermined:
        lines += ["", "undetermined in float32 (checked in float64 runs):"]
        lines += [f"  {c.file}: {c.quantity}: {c.reason}" for c in result.undetermined]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: Result) -> str:
    """The report: summary, summary by stage, failures, all checks and not-covered
    outputs grouped by stage."""
    checks, missing = _by_stage(result)
    out = [
        "# torch_amt validation against AMT",
        "",
        f"- reference: `{result.reference}` ({len(result.files)} files)",
        f"- dtype: {result.dtype}",
        f"- checks: **{len(result.passed)} passed**, **{len(result.failed)} failed**; "
        f"**{len(result.not_covered)} not covered**"
        + (f"; {len(result.undetermined)} undetermined in float32 (values single "
           "precision cannot represent; checked in float64)" if result.undetermined else ""),
        "",
        "rel. error = max |torch_amt - AMT| / max |AMT| per check; modes: *end-to-end* "
        "(inputs computed by earlier statements), *stage-isolated* (inputs read from the "
        "file), *input* (a stored input recomputed).",
        "",
        "## Summary by stage",
        "",
        "| stage (AMT function) | passed | failed | not covered | worst rel. error | "
        "its tolerance |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    out += [f"| `{s}` | {p} | {f} | {n} | {w} | {t} |" for s, p, f, n, w, t in
            _summary_rows(result)]
    if result.failed:
        out += ["", "## Failed checks", "", "| stage | file | quantity | rel. error | "
                "tolerance | reason |", "|---|---|---|---:|---:|---|"]
        out += [f"| `{c.stage}` | {c.file} | `{c.quantity}` | {_num(c.rel_err)} | "
                f"{_num(c.tolerance)} | {_escape(c.reason)} |" for c in result.failed]
    out += ["", "## Checks by stage"]
    for stage in sorted(checks, key=_stage_key):
        out += ["", f"### `{stage}`", "", "| file | quantity | mode | max abs err | "
                "max abs ref | rel. err | tolerance | result |",
                "|---|---|---|---:|---:|---:|---:|---|"]
        out += [f"| {c.file} | `{c.quantity}` | {c.mode} | {_num(c.max_abs_err)} | "
                f"{_num(c.max_abs_ref)} | {_num(c.rel_err)} | {_num(c.tolerance)} | "
                f"{'pass' if c.passed else '**FAIL**'} |" for c in checks[stage]]
        reasons = sorted({c.reason for c in checks[stage] if c.passed})
        if reasons:
            out += ["", "Tolerances: " + "; ".join(_escape(r) for r in reasons) + "."]
    if result.not_covered:
        out += ["", "## Not covered"]
        for stage in sorted(missing, key=_stage_key):
            out += ["", f"### `{stage}`", "", "| file | quantity | mode | reason |",
                    "|---|---|---|---|"]
            out += [f"| {n.file} | `{n.quantity}` | {n.mode} | {_escape(n.reason)} |"
                    for n in missing[stage]]
    return "\n".join(out) + "\n"


def write_markdown(result: Result, path: str | Path) -> None:
    """Write :func:`render_markdown` to ``path``."""
    Path(path).write_text(render_markdown(result))
