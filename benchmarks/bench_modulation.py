"""Benchmark of the four modulation filterbanks against a SciPy baseline.

31 auditory channels (log-spaced 100–8000 Hz), 1 s at 44.1 kHz, B = 1 and 8; forward
and forward+backward (gradient w.r.t. the input), float32 modules (float64 filtering
inside). Baseline: ``scipy.signal.lfilter`` per channel and filter, the same
coefficients. Prints a markdown table and writes ``benchmarks/results/modulation.csv``.

Run: ``python benchmarks/bench_modulation.py [--quick]``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import scipy.signal
import torch

from torch_amt.stages.modulation import (
    FastKing2019ModulationFilterbank,
    FastModulationFilterbank,
    King2019ModulationFilterbank,
    ModulationFilterbank,
)

FS = 44100.0
N_CHANNELS = 31


def _best(fn, repeats: int) -> float:
    fn()  # warm-up (numba compilation, allocator)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _scipy_dau(bank: ModulationFilterbank, x: np.ndarray) -> None:
    b_lp, a_lp = bank.b_lowpass.numpy(), bank.a_lowpass.numpy()
    for xb in x:
        for ch, sub in enumerate(bank.filter_coeffs):
            xc = scipy.signal.lfilter(bank.b_lp150.numpy(), bank.a_lp150.numpy(), xb[ch])
            scipy.signal.lfilter(b_lp, a_lp, xc)
            for b, a, m in zip(sub.b.numpy(), sub.a.numpy(), sub.mfc_init[1:].tolist(),
                               strict=True):
                y = 2 * scipy.signal.lfilter(b, a, xc)
                _ = y.real if m <= 10 else np.abs(y) / np.sqrt(2)


def _scipy_king(bank: King2019ModulationFilterbank, x: np.ndarray) -> None:
    for b, a, m in zip(bank.b.numpy(), bank.a.numpy(), bank.mfc_init.tolist(), strict=True):
        y = scipy.signal.lfilter(b, a, x, axis=-1)
        if m > 10:
            env = np.abs(scipy.signal.hilbert(y, axis=-1))
            _ = env * np.sqrt((y ** 2).mean(-1, keepdims=True) / (env ** 2).mean(-1,
                                                                                 keepdims=True))


def _output_sum(out) -> torch.Tensor:
    return sum(o.sum() for o in out) if isinstance(out, list) else out.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.25 s signals, 2 repeats")
    args = parser.parse_args()
    torch.set_num_threads(2)
    n_t = int(FS * (0.25 if args.quick else 1.0))
    repeats = 2 if args.quick else 3
    fc = np.geomspace(100, 8000, N_CHANNELS)
    banks = {
        "ModulationFilterbank": ModulationFilterbank(FS, fc, preset="jepsen2008"),
        "FastModulationFilterbank": FastModulationFilterbank(FS, fc, preset="jepsen2008"),
        "King2019ModulationFilterbank": King2019ModulationFilterbank(FS),
        "FastKing2019ModulationFilterbank": FastKing2019ModulationFilterbank(FS),
    }
    rows = []
    for batch in (1, 8):
        x_np = np.random.default_rng(0).random((batch, N_CHANNELS, n_t))
        scipy_dau = _best(lambda x=x_np: _scipy_dau(banks["ModulationFilterbank"], x), repeats)
        scipy_king = _best(lambda x=x_np: _scipy_king(banks["King2019ModulationFilterbank"], x),
                           repeats)
        for name, bank in banks.items():
            baseline = scipy_king if "King" in name else scipy_dau
            x = torch.from_numpy(x_np).float()

            def forward(bank=bank, x=x):
                with torch.no_grad():
                    bank(x)

            def backward(bank=bank, x=x):
                xg = x.clone().requires_grad_(True)
                _output_sum(bank(xg)).backward()

            t_fwd = _best(forward, repeats)
            t_bwd = _best(backward, repeats)
            rows.append({"module": name, "B": batch, "T": n_t, "forward_s": t_fwd,
                         "fwd_bwd_s": t_bwd, "scipy_fwd_s": baseline,
                         "speedup_vs_scipy": baseline / t_fwd})
    print("| module | B | forward (s) | fwd+bwd (s) | SciPy fwd (s) | SciPy / torch_amt |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['module']} | {r['B']} | {r['forward_s']:.3f} | {r['fwd_bwd_s']:.3f} | "
              f"{r['scipy_fwd_s']:.3f} | {r['speedup_vs_scipy']:.2f}x |")
    for batch in (1, 8):
        by = {r["module"]: r for r in rows if r["B"] == batch}
        print(f"B={batch}: Fast/ModulationFilterbank forward speedup "
              f"{by['ModulationFilterbank']['forward_s'] / by['FastModulationFilterbank']['forward_s']:.2f}x, "  # noqa: E501
              f"FastKing/King forward speedup "
              f"{by['King2019ModulationFilterbank']['forward_s'] / by['FastKing2019ModulationFilterbank']['forward_s']:.2f}x")  # noqa: E501
    out = Path(__file__).resolve().parent / "results" / "modulation.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
