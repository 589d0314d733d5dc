"""Speed of the models against straightforward SciPy/numba pipelines of the same chains.

1 s of audio at 44.1 kHz, batch 1 and 8, float32 (and float64), forward and
forward+backward, with real-time factors (processing time / audio duration; lower is
faster). The baselines are what a researcher would write by hand: per-channel
``scipy.signal.lfilter`` with the same coefficients, a numba port of AMT's adaptation
loop (``benchmarks.bench_adaptation.baseline_adaptloop``), ``scipy.signal.hilbert`` and
``scipy.fft`` resampling — forward only, one signal after the other.

Run: ``python -m benchmarks.bench_models [--quick]``
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.fft
import scipy.signal
import torch

from benchmarks.bench_adaptation import baseline_adaptloop
from benchmarks.common import best_time, forward_backward, setup_threads, write_results
from torch_amt.models import Dau1997, King2019

FS = 44100


def _signal(batch: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(n) / FS
    x = np.sin(2 * np.pi * 1000 * t) * (1 + 0.8 * np.sin(2 * np.pi * 8 * t))
    x = x + 0.3 * rng.standard_normal((batch, n))
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True)) * 10 ** ((65 - 100) / 20)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy() if not t.is_complex() else t.detach().cdouble().numpy()


def dau1997_baseline(model: Dau1997):
    """Dau1997's chain written with SciPy/numba, coefficients taken from ``model``."""
    gb, ga = _np(model.afb.b), _np(model.afb.a)
    ib, ia = _np(model.ihc.b), _np(model.ihc.a)
    tau = np.array(model.adt.config.tau, dtype=float)
    limit, minlvl = float(model.adt.config.limit), float(_np(model.adt.minlvl).reshape(-1)[0])
    rows_b, rows_a = (_np(c) for c in model.mfb._row_coefficients())
    row_channel = model.mfb.row_channel.numpy()
    use_lp150 = model.mfb.use_lp150_prefilter
    lp_b, lp_a = _np(model.mfb.b_lp150), _np(model.mfb.a_lp150)

    def run(x: np.ndarray) -> None:
        for sig in x:
            bm = np.stack([2 * np.real(scipy.signal.lfilter(gb[c], ga[c], sig))
                           for c in range(len(gb))])
            env = scipy.signal.lfilter(ib, ia, np.maximum(bm, 0), axis=-1)
            adt = baseline_adaptloop(np.ascontiguousarray(env.T), FS, limit, minlvl, tau).T
            if use_lp150:
                adt = scipy.signal.lfilter(lp_b, lp_a, adt, axis=-1)
            for r in range(len(rows_b)):
                scipy.signal.lfilter(rows_b[r], rows_a[r], adt[row_channel[r]])

    return run


def king2019_baseline(model: King2019):
    """King2019's chain written with SciPy, coefficients taken from ``model``."""
    gb, ga = _np(model.afb.b), _np(model.afb.a)
    ib, ia = _np(model.ihc.b), _np(model.ihc.a)
    hb, ha = (_np(c) for c in model.adt.coefficients())
    mb, ma = _np(model.mfb.b), _np(model.mfb.a)
    knee = 10 ** ((30 - model.dboffset) / 20)
    high = model.mfb.mfc.numpy() > 10

    def run(x: np.ndarray) -> None:
        for sig in x:
            bm = np.stack([2 * np.real(scipy.signal.lfilter(gb[c], ga[c], sig))
                           for c in range(len(gb))])
            big = np.abs(bm) > knee
            bm[big] = np.sign(bm[big]) * np.abs(bm[big]) ** 0.3 / knee**0.3 * knee
            env = scipy.signal.lfilter(ib, ia, np.maximum(bm, 0), axis=-1)
            adapted = scipy.signal.lfilter(hb, ha, env, axis=-1)
            mod = np.stack([scipy.signal.lfilter(mb[k], ma[k], adapted, axis=-1)
                            for k in range(len(mb))], axis=1)
            envelope = np.abs(scipy.signal.hilbert(mod[:, high], axis=-1))
            mod[:, high] = envelope * (np.sqrt(np.mean(mod[:, high] ** 2, -1, keepdims=True))
                                       / np.sqrt(np.mean(envelope**2, -1, keepdims=True)))
            n_out = round(mod.shape[-1] / FS * 16000)
            spec = scipy.fft.rfft(mod, axis=-1)[..., : n_out // 2 + 1]
            scipy.fft.irfft(spec, n_out, axis=-1)

    return run


def main(quick: bool = False) -> str:
    setup_threads(2)
    n = FS // 4 if quick else FS
    rows = []
    builders = {"dau1997": (lambda dt: Dau1997(FS, dtype=dt), dau1997_baseline),
                "king2019": (lambda dt: King2019(FS, 1000, dtype=dt), king2019_baseline)}
    for name, (make, baseline) in builders.items():
        for batch in ((1,) if quick else (1, 8)):
            x_np = _signal(batch, n)
            run_baseline = baseline(make(torch.float64))
            t_base = best_time(lambda run=run_baseline, x=x_np: run(x), repeats=2)
            for dtype in (torch.float32,) if quick else (torch.float32, torch.float64):
                model = make(dtype)
                x = torch.from_numpy(x_np).to(dtype)

                def forward(model=model, x=x):
                    with torch.no_grad():
                        model(x)

                t_fwd = best_time(forward, repeats=2 if quick else 3)
                t_fb = best_time(forward_backward(model, x), repeats=2 if quick else 3)
                duration = n / FS
                rows.append({
                    "model": name, "batch": batch, "dtype": str(dtype).removeprefix("torch."),
                    "seconds_audio": duration, "baseline_s": t_base, "forward_s": t_fwd,
                    "fwd_bwd_s": t_fb, "speedup_vs_baseline": t_base / t_fwd,
                    "fwd_bwd_over_fwd": t_fb / t_fwd,
                    "rtf_forward": t_fwd / (duration * batch),
                    "rtf_fwd_bwd": t_fb / (duration * batch),
                })
    return write_results("models", rows, f"Models on {n / FS:g} s at 44.1 kHz vs hand-written "
                         "SciPy/numba pipelines (RTF per second of audio per signal)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.25 s, B=1, float32 only")
    print(main(parser.parse_args().quick))
