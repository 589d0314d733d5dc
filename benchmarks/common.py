"""Shared timing and reporting helpers for the benchmark scripts.

Every benchmark times its torch_amt computation and a plain SciPy/numba baseline in the
same run (absolute times on a shared CPU mean little; ratios do) and writes a CSV and a
markdown table under ``benchmarks/results/``.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch

from torch_amt.dsp.profiling import kernel_timer, run_kernel

RESULTS = Path(os.environ.get("TORCH_AMT_BENCH_RESULTS",
                              Path(__file__).resolve().parent / "results"))
"""Output folder (``TORCH_AMT_BENCH_RESULTS`` overrides it, e.g. for the CI smoke test)."""


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
    """A closure running forward + backward of ``module_fn`` with respect to ``x``.

    The leaf tensor is made once, outside the timed closure (its gradient is reset in
    each run), so the timing holds the forward and backward passes and nothing else."""
    xg = x.detach().clone().requires_grad_()

    def run() -> None:
        xg.grad = None
        out = module_fn(xg)
        outs = out if isinstance(out, (list, tuple)) else [out]
        total = sum(o.real.sum() if o.is_complex() else o.sum() for o in outs)
        total.backward()

    return run


def result_name(name: str, quick: bool) -> str:
    """``name`` for a full run, ``name_quick`` for a quick one (never overwrites the full)."""
    return f"{name}_quick" if quick else name


def write_results(name: str, rows: Sequence[dict], title: str, quick: bool = False) -> str:
    """Write ``rows`` to ``results/<name>.csv`` and ``results/<name>.md``; return the table.

    Quick runs write ``<name>_quick.*`` so that they never replace the full results."""
    name = result_name(name, quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    rows = [{k: row.get(k, "") for k in keys} for row in rows]
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


def machine_load() -> str:
    """The 1/5/15-minute load averages (the machine may be shared: state it with timings)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


_FFTS = ("fft", "ifft", "rfft", "irfft")
"""The ``torch.fft`` transforms :func:`kernel_clock` times."""


@contextlib.contextmanager
def kernel_clock() -> Iterator[dict]:
    """Time the compiled recursions (the numba kernels) and FFTs called inside the block.

    Yields a dict whose ``'seconds'`` is the total time spent inside the IIR,
    fused-envelope and adaptation-loop kernels and the ``torch.fft`` transforms
    (King2019's Hilbert envelopes and resampling), and ``'calls'`` their number: the
    arithmetic of the recursions and transforms alone (same orders, channel counts,
    lengths and precision as the model's), without any conversion, readout or Python
    work around them. Both are filled when the block exits.

    The kernels report through :func:`torch_amt.dsp.profiling.kernel_timer`; the
    transforms are timed by routing the public ``torch.fft`` functions through
    :func:`torch_amt.dsp.profiling.run_kernel` for the duration of the block."""
    totals = {"seconds": 0.0, "calls": 0}
    originals = {name: getattr(torch.fft, name) for name in _FFTS}
    for name, transform in originals.items():
        setattr(torch.fft, name, functools.partial(run_kernel, f"torch.fft.{name}", transform))
    try:
        with kernel_timer() as times:
            yield totals
    finally:
        for name, transform in originals.items():
            setattr(torch.fft, name, transform)
    totals.update(seconds=times.seconds, calls=times.calls)


_PEAK_SCRIPT = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(2)


def rss_kb(field):
    # VmHWM/VmRSS of this process image; getrusage's ru_maxrss survives fork + exec, so
    # it would report the parent's high-water mark
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(field))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss



spec = json.loads(sys.argv[1])
import importlib
module, attr = spec["factory"].rsplit(":", 1)
model = getattr(importlib.import_module(module), attr)(**spec["kwargs"])
n = int(spec["seconds"] * spec["fs"])
x = (torch.randn(spec["batch"], n, generator=torch.Generator().manual_seed(0)) * 0.01)
before = rss_kb("VmRSS:")
start = time.perf_counter()
with torch.no_grad():
    out = model(x)
seconds = time.perf_counter() - start
outs = out if isinstance(out, (list, tuple)) else [out]
out_bytes = sum(o.numel() * o.element_size() for o in outs)
peak = rss_kb("VmHWM:")
print(json.dumps({"before_kb": before, "peak_kb": peak, "out_bytes": out_bytes,
                  "in_bytes": x.numel() * x.element_size(), "seconds": seconds}))
"""


def peak_memory(factory: str, kwargs: dict, seconds: float, batch: int = 1,
                fs: float = 44100.0) -> dict:
    """Peak resident memory of one no-grad forward, measured in a fresh subprocess.

    ``factory`` is ``'module:callable'`` building the model from ``kwargs``. Returns the
    growth of the process's peak RSS (``VmHWM``) over its RSS before the forward (torch
    allocations are invisible to ``tracemalloc``), the input and output sizes and the
    time."""
    spec = json.dumps({"factory": factory, "kwargs": kwargs, "seconds": seconds,
                       "batch": batch, "fs": fs})
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, spec], capture_output=True,
                          text=True, check=True, env=env, cwd=root)
    info = json.loads(done.stdout.strip().splitlines()[-1])
    growth = (info["peak_kb"] - info["before_kb"]) * 1024
    return {"peak_growth_mb": growth / 2**20, "input_mb": info["in_bytes"] / 2**20,
            "output_mb": info["out_bytes"] / 2**20,
            "peak_over_output": growth / max(info["out_bytes"], 1),
            "forward_s": info["seconds"]}
