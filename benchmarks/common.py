"""Shared timing and reporting helpers for the benchmark scripts.

Every benchmark times its torch_amt computation and a plain SciPy/numba baseline in the
same run (absolute times on a shared CPU mean little; ratios do) and writes a CSV and a
markdown table under ``benchmarks/results/``.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def setup_threads(n: int = 2) -> None:
    """Pin torch (and numba, via its default) to ``n`` threads for repeatable ratios."""
    torch.set_num_threads(n)


def best_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Minimum wall-clock time of ``fn()`` in seconds over ``repeats`` runs after warm-up."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def forward_backward(module_fn: Callable[[torch.Tensor], object], x: torch.Tensor
                     ) -> Callable[[], None]:
    """A closure running forward + backward of ``module_fn`` on a fresh leaf copy of ``x``."""

    def run() -> None:
        xg = x.detach().clone().requires_grad_()
        out = module_fn(xg)
        outs = out if isinstance(out, (list, tuple)) else [out]
        total = sum(o.real.sum() if o.is_complex() else o.sum() for o in outs)
        total.backward()

    return run


def write_results(name: str, rows: Sequence[dict], title: str) -> str:
    """Write ``rows`` to ``results/<name>.csv`` and ``results/<name>.md``; return the table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    keys = list(rows[0].keys())
    with open(RESULTS / f"{name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"### {title}", "", "| " + " | ".join(keys) + " |",
             "|" + "|".join("---" for _ in keys) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row[k]) for k in keys) + " |")
    table = "\n".join(lines) + "\n"
    (RESULTS / f"{name}.md").write_text(table)
    return table


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
