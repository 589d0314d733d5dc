"""The speed targets of issue #14 as ratios measured in one run (interleaved repetitions,
minimum of N): threads, backward cost, the pure-torch backend, King2019's FFT floor.

* ``b8_over_b1``: Dau1997 forward, per-signal throughput at B=8 over B=1, at 1 and at
  ``torch.get_num_threads()`` threads (target >= 1.7 on 2 threads).
* ``fwd_bwd_over_fwd``: forward+backward time over forward time, Dau1997 and Jepsen2008,
  B=1 and B=8 (target <= 3).
* ``torch_over_numba``: Dau1997 forward on the pure-torch backend (forced, CPU) over the
  numba backend (target <= 10).
* ``over_floor``: King2019 forward over the time of its recursions and FFTs alone
  (target <= 2).

All at 44.1 kHz, float32, 1 s of audio (``--quick``: 0.25 s and fewer repetitions).
Absolute times on a shared machine mean little; each ratio's two sides are timed
alternately in the same process. Every ratio is measured twice (column ``allocator``):
with the C allocator's defaults, and inside :func:`torch_amt.dsp.retained_memory`
(freed blocks kept for reuse instead of mapped and zeroed again by the kernel on every
batch; opt-in, see :mod:`torch_amt.dsp.memory`). Run:
``python -m benchmarks --only speed [--quick]`` or ``python -m benchmarks.bench_speed``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from benchmarks.common import forward_backward, kernel_clock, machine_load, write_results
from torch_amt.dsp import retained_memory, use_backend
from torch_amt.models import Dau1997, Jepsen2008, King2019

FS = 44100


def _signal(batch: int, seconds: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    n = round(FS * seconds)
    t = torch.arange(n) / FS
    x = torch.sin(2 * torch.pi * 1000 * t) * (1 + 0.8 * torch.sin(2 * torch.pi * 8 * t))
    x = x + 0.3 * torch.randn(batch, n, generator=g)
    return (x / x.pow(2).mean(-1, keepdim=True).sqrt() * 10 ** ((65 - 100) / 20)).float()


def _interleaved(fns: dict[str, Callable[[], object]], repeats: int,
                 warmup: int = 2) -> dict[str, float]:
    """Minimum wall time of each function, the functions run in turn ``repeats`` times."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def _no_grad(model, x) -> Callable[[], None]:
    def run() -> None:
        with torch.no_grad():
            model(x)
    return run


def _with_threads(n: int, fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            fn()
        finally:
            torch.set_num_threads(before)
    return run


def _ratios(quick: bool, allocator: str) -> list[dict]:
    """The four ratios (rows of the table) under one allocator setting."""
    seconds, repeats = (0.25, 3) if quick else (1.0, 5)
    threads = torch.get_num_threads()
    rows = []

    def row(**fields) -> None:
        rows.append({"ratio": fields.pop("ratio"), "allocator": allocator, **fields})

    dau = Dau1997(FS)
    x1, x8 = _signal(1, seconds), _signal(8, seconds)
    for n in sorted({1, threads}):
        t = _interleaved({"b1": _with_threads(n, _no_grad(dau, x1)),
                          "b8": _with_threads(n, _no_grad(dau, x8))}, repeats)
        row(ratio="b8_over_b1", model="dau1997", batch="8 vs 1", threads=n,
            value=t["b1"] / (t["b8"] / 8), target=">= 1.7 (2 threads)", a_s=t["b1"],
            b_s=t["b8"])

    for name, model in (("dau1997", dau), ("jepsen2008", Jepsen2008(FS))):
        for batch, x in ((1, x1), (8, x8)):
            t = _interleaved({"fwd": _no_grad(model, x), "fb": forward_backward(model, x)},
                             repeats)
            row(ratio="fwd_bwd_over_fwd", model=name, batch=batch, threads=threads,
                value=t["fb"] / t["fwd"], target="<= 3", a_s=t["fb"], b_s=t["fwd"])

    short = _signal(1, min(seconds, 0.25))

    def torch_backend() -> None:
        with use_backend("torch"):
            _no_grad(dau, short)()

    t = _interleaved({"torch": torch_backend, "numba": _no_grad(dau, short)},
                     max(2, repeats // 2), warmup=1)
    row(ratio="torch_over_numba", model="dau1997", batch=1, threads=threads,
        value=t["torch"] / t["numba"], target="<= 10", a_s=t["torch"], b_s=t["numba"])

    king = King2019(FS, 1000)
    fwd, floors = _no_grad(king, x1), []
    t = _interleaved({"fwd": fwd}, repeats)
    for _ in range(repeats):
        with kernel_clock() as clock:
            fwd()
        floors.append(clock["seconds"])
    row(ratio="over_floor", model="king2019", batch=1, threads=threads,
        value=t["fwd"] / min(floors), target="<= 2", a_s=t["fwd"], b_s=min(floors))
    return rows


def main(quick: bool = False) -> str:
    """Measure the four ratios with the default and the retaining allocator; write
    ``results/speed[_quick].csv/.md``."""
    seconds = 0.25 if quick else 1.0
    load = machine_load()
    rows = _ratios(quick, "default")
    with retained_memory() as applied:
        rows += _ratios(quick, "retained") if applied else []
    rows.sort(key=lambda r: (r["ratio"], str(r["model"]), str(r["batch"]), r["threads"]))
    title = (f"Speed ratios, float32, 44.1 kHz, {seconds:g} s ({load} before, "
             f"{machine_load()} after; a_s / b_s are the two timed sides; allocator "
             "'retained' = inside torch_amt.dsp.retained_memory())")
    return write_results("speed", rows, title, quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.25 s, fewer repetitions")
    print(main(parser.parse_args().quick))
