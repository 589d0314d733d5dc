"""Run every benchmark and collect their tables in ``benchmarks/results/summary.md``.

Usage: ``python -m benchmarks [--quick | --smoke] [--only NAME ...]`` from the repository
root. Each ``benchmarks/bench_<name>.py`` has a ``main()`` that times torch_amt against
a SciPy/numba baseline in the same run and writes ``results/<name>.csv`` and ``.md``.
A full run also writes the summary to ``docs/_generated/benchmarks.md`` and the models'
table to the ``## Performance`` section of ``README.md`` (between the ``bench-table``
markers). ``--quick`` (small sizes, only the benchmarks that have a quick mode) and
``--smoke`` (the smallest model configuration, for CI) write ``*_quick`` files only and
never touch the full results, the docs or the README.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import platform
import re
import time
from pathlib import Path

import torch

from benchmarks.common import RESULTS, machine_load

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the benchmark modules (``bench_<name>.py``)."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


ROOT = Path(__file__).resolve().parent.parent
DOCS_TABLE = ROOT / "docs" / "_generated" / "benchmarks.md"
README = ROOT / "README.md"
README_START, README_END = "<!-- bench-table -->", "<!-- /bench-table -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="small sizes (only the benchmarks that have a quick mode)")
    size.add_argument("--smoke", action="store_true",
                      help="the smallest model configuration only (CI: the scripts run)")
    parser.add_argument("--only", nargs="+", choices=available(), help="benchmarks to run")
    args = parser.parse_args(argv)
    header = (f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}"
              f", torch {torch.__version__}, 2 threads, {machine_load()} at the start")
    sections = [f"# torch_amt benchmarks\n\n{header}\n"]
    names = ["models"] if args.smoke else (args.only or available())
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        params = inspect.signature(module.main).parameters
        if args.smoke:
            table = module.main(smoke=True)
        elif args.quick:
            if "quick" not in params:
                continue
            table = module.main(quick=True)
        else:
            table = module.main()
        if table:
            print(table, flush=True)
            sections.append(table)
    sections.append(f"Machine load at the end: {machine_load()}.\n")
    summary = "\n".join(sections)
    RESULTS.mkdir(parents=True, exist_ok=True)
    quick = args.quick or args.smoke
    target = RESULTS / ("summary_quick.md" if quick else "summary.md")
    target.write_text(summary)
    print(f"written: {target}")
    if not quick and "models" in names:
        DOCS_TABLE.parent.mkdir(parents=True, exist_ok=True)
        DOCS_TABLE.write_text(summary)
        write_readme_section(header)
        print(f"written: {DOCS_TABLE}, {README} (## Performance)")
    return 0


def write_readme_section(header: str) -> None:
    """Replace the text between the bench-table markers of README.md with the models'
    targets and tables (``results/models_targets.md``, ``models.md``, ``models_memory.md``)."""
    parts = [f"Measured with `python -m benchmarks` ({header}); full tables: "
             "`benchmarks/results/`, docs page *Benchmarks*.", ""]
    for name in ("models_targets", "models", "models_memory"):
        path = RESULTS / f"{name}.md"
        if path.is_file():
            parts += [path.read_text().strip(), ""]
    block = f"{README_START}\n" + "\n".join(parts) + f"{README_END}"
    text = README.read_text()
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    elif "\n## Licence" in text:  # a new section, before the licence section
        head, tail = text.split("\n## Licence", 1)
        text = f"{head.rstrip()}\n\n## Performance\n\n{block}\n\n## Licence{tail}"
    else:
        text = text.rstrip("\n") + "\n\n## Performance\n\n" + block + "\n"
    README.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
