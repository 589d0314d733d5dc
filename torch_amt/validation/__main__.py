"""``python -m torch_amt.validation --reference DIR [--json OUT.json] [--report OUT.md]
[--dtype float64|float32] [--only PATTERN]``: validate torch_amt against AMT reference
files; exit status 1 if a check fails."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from torch_amt.validation.harness import run_validation
from torch_amt.validation.report import summary_text, write_json, write_markdown


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m torch_amt.validation",
        description="Compare torch_amt with AMT reference outputs (.mat files made by "
                    "validation/make_reference.m or the torch_amt reference generator).")
    parser.add_argument("--reference", required=True, type=Path, metavar="DIR",
                        help="directory of reference .mat files (stimuli.mat is skipped)")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="write the checks as JSON")
    parser.add_argument("--report", type=Path, metavar="OUT.md",
                        help="write a markdown report")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="precision of the torch_amt computations (default float64)")
    parser.add_argument("--only", metavar="PATTERN",
                        help="only files matching this glob (no wildcard: substring)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a check failed)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result = run_validation(args.reference, getattr(torch, args.dtype), args.only)
    except FileNotFoundError as err:
        parser.error(str(err))
    if args.json:
        write_json(result, args.json)
    if args.report:
        write_markdown(result, args.report)
    print(summary_text(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
