"""Benchmark of the four modulation filterbanks against a SciPy baseline.

31 auditory channels (log-spaced 100–8000 Hz), 1 s at 44.1 kHz, B = 1 and 8; forward
and forward+backward (gradient w.r.t. the input), float32 modules (float64 filtering
inside). Baseline: ``scipy.signal.lfilter`` per channel and filter, the same
coefficients. Writes ``benchmarks/results/modulation.csv`` / ``.md``.

Run: ``python -m benchmarks.bench_modulation [--quick]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.signal
import torch

from benchmarks.common import best_time, forward_backward, setup_threads, write_results
from torch_amt.stages import (
    FastKing2019ModulationFilterbank,
    FastModulationFilterbank,
    King2019ModulationFilterbank,
    ModulationFilterbank,
)

FS = 44100.0
N_CHANNELS = 31


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


def main(quick: bool = False) -> str:
    setup_threads(2)
    n_t = int(FS * (0.25 if quick else 1.0))
    repeats = 2 if quick else 3
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
        scipy_dau = best_time(lambda x=x_np: _scipy_dau(banks["ModulationFilterbank"], x),
                              repeats)
        scipy_king = best_time(
            lambda x=x_np: _scipy_king(banks["King2019ModulationFilterbank"], x), repeats)
        for name, bank in banks.items():
            baseline = scipy_king if "King" in name else scipy_dau
            x = torch.from_numpy(x_np).float()

            def forward(bank=bank, x=x):
                with torch.no_grad():
                    bank(x)

            t_fwd = best_time(forward, repeats)
            t_fb = best_time(forward_backward(bank, x), repeats)
            rows.append({"module": name, "B": batch, "T": n_t, "forward_s": t_fwd,
                         "fwd_bwd_s": t_fb, "scipy_fwd_s": baseline,
                         "speedup_vs_scipy": baseline / t_fwd})
    return write_results("modulation", rows, "Modulation filterbanks (31 channels, 44.1 kHz) "
                         "vs scipy.signal.lfilter per channel and filter", quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.25 s signals, 2 repeats")
    print(main(parser.parse_args().quick))
