"""Speed of AdaptLoop (forward, forward+backward) against a plain numba port of AMT's loop.

1 s of 31-channel IHC-envelope-like input at 44.1 kHz, batch 1 and 8, float32 and
float64. Baseline: a straightforward single-threaded numba transcription of AMT's
``comp_adaptloop.m`` (forward only, no gradients). Prints a markdown table and writes
``benchmarks/results/adaptation.csv`` / ``.md``.

Run: ``python -m benchmarks.bench_adaptation``
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from benchmarks.common import (
    best_time,
    forward_backward,
    machine_load,
    setup_threads,
    write_results,
)
from torch_amt.stages.adaptation import AdaptLoop

FS = 44100
N_CHANNELS = 31
REPEATS = 5
TAU = np.array([0.005, 0.050, 0.129, 0.253, 0.500])


@numba.njit(cache=True)
def baseline_adaptloop(x, fs, limit, minlvl, tau):  # pragma: no cover - compiled
    """AMT comp_adaptloop.m, transcribed literally (columns = channels, time first)."""
    siglen, nsigs = x.shape
    nloops = tau.size
    a1 = np.exp(-1.0 / (tau * fs))
    b0 = 1.0 - a1
    corr = minlvl ** (1.0 / 2.0 ** nloops)
    mult = 100.0 / (1.0 - corr)
    out = np.maximum(x, minlvl)
    stateinit = np.empty(nloops)
    for j in range(nloops):
        stateinit[j] = minlvl ** (1.0 / 2.0 ** (j + 1))
    maxvalue = (1.0 - stateinit ** 2) * limit - 1.0
    factor = maxvalue * 2.0
    expfac = -2.0 / maxvalue
    offset = maxvalue - 1.0
    for w in range(nsigs):
        state = stateinit.copy()
        for i in range(siglen):
            tmp1 = out[i, w]
            for j in range(nloops):
                tmp1 = tmp1 / state[j]
                if limit > 1 and tmp1 > 1.0:
                    tmp1 = factor[j] / (1.0 + np.exp(expfac[j] * (tmp1 - 1.0))) - offset[j]
                state[j] = a1[j] * state[j] + b0[j] * tmp1
            out[i, w] = tmp1
    return (out - corr) * mult


def _input(batch: int, dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(FS, dtype=torch.float64) / FS
    env = 10 ** ((torch.rand(batch, N_CHANNELS, 1, generator=g, dtype=torch.float64) * 60
                  - 60) / 20) * (1 + torch.sin(2 * math.pi * 4 * t)) ** 2
    return (env * torch.rand(batch, N_CHANNELS, FS, generator=g, dtype=torch.float64)).to(dtype)


def main(quick: bool = False) -> str:
    setup_threads(2)
    rows = []
    for dtype in (torch.float32,) if quick else (torch.float32, torch.float64):
        for batch in (1,) if quick else (1, 8):
            x = _input(batch, dtype)
            x_np = np.ascontiguousarray(x.double().reshape(-1, FS).numpy().T)
            stage = AdaptLoop(FS, learnable=True, dtype=dtype)

            def forward(stage=stage, x=x):
                with torch.no_grad():
                    stage(x)

            t_base = best_time(lambda x_np=x_np: baseline_adaptloop(x_np, FS, 10.0, 1e-5, TAU),
                               repeats=REPEATS)
            t_fwd = best_time(forward, repeats=REPEATS)
            t_fb = best_time(forward_backward(stage, x), repeats=REPEATS)
            rows.append({"dtype": str(dtype).replace("torch.", ""), "batch": batch,
                         "channels": N_CHANNELS, "samples": FS,
                         "baseline_numba_fwd_s": t_base, "adaptloop_fwd_s": t_fwd,
                         "adaptloop_fwd_bwd_s": t_fb, "fwd_vs_baseline": t_fwd / t_base,
                         "fwd_bwd_vs_fwd": t_fb / t_fwd})
    return write_results("adaptation", rows,
                         "AdaptLoop (31 channels x 1 s at 44.1 kHz) vs a numba port of "
                         f"comp_adaptloop.m ({machine_load()})", quick)


if __name__ == "__main__":
    print(main())
