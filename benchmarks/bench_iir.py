"""Benchmark of the IIR kernel on the size of dau1997's modulation stage.

372 rows x 44 100 samples (31 channels x 12 modulation filters x 1 s at 44.1 kHz), real
input, complex one-pole filters (AMT's ``efilt``), one different filter per row.
Baseline: a Python loop of ``scipy.signal.lfilter`` over the rows, in the same run.

Run: ``python -m benchmarks.bench_iir``
"""

from __future__ import annotations

import numpy as np
import scipy.signal
import torch

from benchmarks.common import (
    best_time,
    forward_backward,
    machine_load,
    setup_threads,
    write_results,
)
from torch_amt.dsp import lfilter, use_backend


def main(rows: int = 372, n_t: int = 44100, quick: bool = False) -> str:
    setup_threads(2)
    if quick:
        rows, n_t = 31, 4410
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, n_t))
    w0 = rng.uniform(2 * np.pi * 2 / 44100, 2 * np.pi * 1000 / 44100, rows)
    e0 = np.exp(-w0 / 2)
    a = np.stack([np.ones(rows), -e0 * np.exp(1j * w0)], 1)
    b = np.stack([1 - e0, np.zeros(rows)], 1)

    t_scipy = best_time(lambda: [scipy.signal.lfilter(b[i], a[i], x[i]) for i in range(rows)],
                        repeats=3)
    results = []
    for dtype in (torch.float64, torch.float32):
        ctype = torch.complex128 if dtype == torch.float64 else torch.complex64
        xt = torch.from_numpy(x).to(dtype)
        bt, at = torch.from_numpy(b).to(dtype), torch.from_numpy(a).to(ctype)
        backends = ("numba", "torch")
        for backend in backends:
            with use_backend(backend):
                t_fwd = best_time(lambda bt=bt, at=at, xt=xt: lfilter(xt, bt, at), repeats=3)
                t_fb = best_time(forward_backward(lambda v, bt=bt, at=at: lfilter(v, bt, at), xt),
                                 repeats=3)
            results.append({
                "dtype": str(dtype).replace("torch.", ""), "backend": backend,
                "rows": rows, "samples": n_t,
                "scipy_loop_s": t_scipy, "forward_s": t_fwd, "fwd_bwd_s": t_fb,
                "speedup_vs_scipy": t_scipy / t_fwd, "fwd_bwd_over_fwd": t_fb / t_fwd,
            })
    return write_results("iir", results,
                         f"lfilter: {rows} rows x {n_t} samples, complex one-pole filters "
                         f"({machine_load()})", quick)


if __name__ == "__main__":
    print(main())
