"""Run every benchmark and collect their tables in ``benchmarks/results/summary.md``.

Usage: ``python -m benchmarks [--quick] [--only NAME ...]`` from the repository root.
Each ``benchmarks/bench_<name>.py`` has a ``main()`` that times torch_amt against a
SciPy/numba baseline in the same run and writes ``results/<name>.csv`` and ``.md``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import platform
import time
from pathlib import Path

import torch

from benchmarks.common import RESULTS

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the benchmark modules (``bench_<name>.py``)."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (only for benchmarks that support it)")
    parser.add_argument("--only", nargs="+", choices=available(), help="benchmarks to run")
    args = parser.parse_args(argv)
    sections = [f"# torch_amt benchmarks\n\n{time.strftime('%Y-%m-%d %H:%M')}, "
                f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
                f"{torch.get_num_threads()} threads\n"]
    for name in args.only or available():
        module = importlib.import_module(f"benchmarks.bench_{name}")
        params = inspect.signature(module.main).parameters
        table = module.main(quick=True) if args.quick and "quick" in params else module.main()
        print(table, flush=True)
        sections.append(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.md").write_text("\n".join(sections))
    print(f"written: {RESULTS / 'summary.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
