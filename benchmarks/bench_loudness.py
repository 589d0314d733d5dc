"""Speed of the Glasberg & Moore (2002) loudness model against a plain NumPy/SciPy pipeline.

:class:`torch_amt.Glasberg2002` (float64 chain from the ear filter on; numba ``lfilter``
for the 4097-tap ear FIR, batched FFTs, a gathered lower-skirt sum for the excitation)
against what a researcher would write from AMT's ``glasberg2002.m``: Octave's resample
filter applied with ``scipy.signal.upfirdn``, ``scipy.signal.filtfilt``, NumPy FFTs
per window length, a loop over the 1-ms blocks for the excitation pattern, SciPy's
``PchipInterpolator`` for the loudness tables and a Python loop for the short- and
long-term loudness. Both run in the same process on the same signals, and the run
first checks that they agree (``eLdB`` to 1e-9 relative, the loudness to AMT's rounding
bound, see the validation handler). Forward, and forward + backward for torch_amt;
real-time factor = processing time per second of audio per signal.

Run: ``python -m benchmarks.bench_loudness [--quick]``
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np
import scipy.fft
import scipy.interpolate
import scipy.signal
import torch

from benchmarks.common import (
    best_time,
    forward_backward,
    machine_load,
    setup_threads,
    write_results,
)
from torch_amt.models import Glasberg2002


def _signal(batch: int, n: int, fs: int) -> np.ndarray:
    """A 1-kHz tone with 4-Hz amplitude modulation plus noise, 60 dB SPL, in pascal."""
    rng = np.random.default_rng(0)
    t = np.arange(n) / fs
    x = np.sin(2 * np.pi * 1000 * t) * (1 + 0.8 * np.sin(2 * np.pi * 4 * t))
    x = x + 0.3 * rng.standard_normal((batch, n))
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True)) * 20e-6 * 10 ** (60 / 20)


def _mround(v: np.ndarray | float) -> np.ndarray:
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


class Baseline:
    """AMT ``glasberg2002`` in NumPy/SciPy (default settings), one signal at a time."""

    F_REF = [50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 750, 800, 1000]
    TQ = [28.18, 23.9, 19.2, 15.68, 12.67, 10.09, 8.08, 6.3, 5.3, 4.5, 3.73, 3.73, 3.73,
          3.73, 3.73]
    G_A = np.array([2454531, 2378397, 2278169, 1978305, 1621055, 1123866, 945902, 738338,
                    589392, 497718, 362882, 250042, 177405, 157745, 124006, 94596, 75663,
                    52501, 35451, 18750, 7845, 2470, 0]) * -1e-5
    A = np.array([885200, 863150, 835840, 765258, 699954, 610719, 582490, 555322, 536425,
                  525064, 510314, 498203, 490515, 488449, 484918, 481854, 479890, 477494,
                  475736, 474019, 472899, 472349, 472096]) * 1e-5
    ALPHA = np.array([26692, 25016, 23679, 22228, 21055, 20000]) * 1e-5

    def __init__(self, b: np.ndarray, fs: int = 32000, fft_len: int = 2048) -> None:
        self.b, self.fs, self.fft_len = b, fs, fft_len
        self.one_hz = (fft_len + 2) / fs
        e0 = 21.366 * math.log10(0.004368 * 50 + 1)
        e1 = 21.366 * math.log10(0.004368 * 15000 + 1)
        erb_n = e0 + 0.25 * np.arange(int(np.floor((e1 - e0) / 0.25)) + 1)
        self.fc = fc = (10 ** (erb_n / 21.366) - 1) / 0.004368
        lo = _mround((10 ** ((erb_n - 0.5) / 21.366) - 1) / 0.004368 * self.one_hz).astype(int)
        hi = _mround((10 ** ((erb_n + 0.5) / 21.366) - 1) / 0.004368 * self.one_hz).astype(int)
        self.bands = list(zip(lo - 1, hi, strict=True))
        self.freqs = np.linspace(0, fs / 2, fft_len // 2 + 1)
        erb = 24.673 * (0.004368 * fc + 1)
        self.p51 = 4 * fc / erb
        self.p511 = 4 * 1000 / (24.673 * (0.004368 * 1000 + 1))
        self.g = np.abs(self.freqs[:, None] - fc[None, :]) / fc[None, :]
        self.lower = np.arange(self.freqs.size)[:, None] < _mround(fc * self.one_hz)[None, :]
        pchip = scipy.interpolate.PchipInterpolator
        t_q_db = pchip(self.F_REF, self.TQ, extrapolate=False)(fc)
        gain_db = 3.73 - t_q_db
        self.t_q, self.gain = 10 ** (t_q_db / 10), 10 ** (gain_db / 10)
        self.a = pchip(self.G_A, self.A, extrapolate=False)(gain_db)
        self.alpha = pchip([-25, -20, -15, -10, -5, 0], self.ALPHA, extrapolate=False)(gain_db)

    @staticmethod
    def resample(x: np.ndarray, p: int, q: int) -> np.ndarray:
        """Octave ``resample(x, p, q)`` with ``scipy.signal.upfirdn``."""
        g = math.gcd(p, q)
        p, q = p // g, q // g
        cutoff = 1 / (2 * max(p, q))
        half = math.ceil(52 / (28.714 * cutoff / 10))
        t = np.arange(-half, half + 1)
        h = 2 * p * cutoff * np.sinc(2 * cutoff * t) * scipy.signal.windows.kaiser(
            2 * half + 1, 0.1102 * (60 - 8.7))
        pre = math.floor(q - math.fmod(half, q))
        offset = math.floor((half + pre) / q)
        y = scipy.signal.upfirdn(np.concatenate([np.zeros(pre), h]), x, p, q)
        return y[offset:offset + -(-x.size * p // q)]

    def __call__(self, x: np.ndarray, fs: int) -> dict[str, np.ndarray]:
        if fs != self.fs:
            x = self.resample(x, self.fs, fs)
        ear = scipy.signal.filtfilt(self.b, [1.0], x, padtype="odd", padlen=3 * (self.b.size - 1))
        step, n_blocks = 32, -(-ear.size // 32)
        padded = np.concatenate([ear, np.zeros(2048)])
        edges = [int(_mround(v * self.one_hz)) for v in (4050, 2540, 1250, 500, 80)]
        ranges = [(edges[0], 1025), *[(edges[k + 1], edges[k]) for k in range(4)],
                  (0, edges[4])]
        spect = np.zeros((n_blocks, 1025))
        for n, (lo, hi) in zip((64, 128, 256, 512, 1024, 2048), ranges, strict=True):
            w = scipy.signal.windows.hann(n)
            frames = np.lib.stride_tricks.sliding_window_view(padded, n)[::step][:n_blocks]
            spectrum = scipy.fft.rfft(frames * w, self.fft_len)
            spect[:, lo:hi] = np.abs(spectrum[:, lo:hi]) ** 2 / np.sum(w**2)
        intensity = 2 * spect / self.fs
        erb_int = np.stack([intensity[:, a:b].sum(1) for a, b in self.bands], 1)
        erb_db = 10 * np.log10(erb_int / (20e-6) ** 2)
        knots = np.concatenate([[0], self.fc, [self.fs / 2]])
        excitation = np.empty((n_blocks, self.fc.size))
        for i in range(n_blocks):
            low = erb_db[i].min()
            level = np.interp(self.freqs, knots, np.concatenate([[low], erb_db[i], [low]]))
            p_low = self.p51 - 0.35 * (self.p51 / self.p511) * (level[:, None] - 51)
            pg = np.where(self.lower, p_low, self.p51) * self.g
            excitation[i] = ((1 + pg) * np.exp(-pg) * intensity[i][:, None]).sum(0)
        with np.errstate(invalid="ignore"):
            core = (self.gain * excitation + self.a) ** self.alpha - self.a ** self.alpha
            s1 = 0.046871 * (2 * excitation / (excitation + self.t_q)) ** 1.5 * core
            s2 = 0.046871 * core
            s3 = 0.046871 * (excitation / 1.04e6) ** 0.5
        specific = np.zeros_like(excitation)
        below = excitation < self.t_q
        middle = (excitation <= 1e10) & (excitation > self.t_q)
        specific[below], specific[middle] = s1[below], s2[middle]
        specific[excitation > 1e10] = s3[excitation > 1e10]
        loudness = 2 * specific.sum(1) * 0.25
        stl, ltl = np.zeros(n_blocks), np.zeros(n_blocks)
        for i in range(1, n_blocks):
            a = 0.045 if loudness[i] > stl[i - 1] else 0.02
            stl[i] = a * loudness[i] + (1 - a) * stl[i - 1]
            a = 0.01 if stl[i] > ltl[i - 1] else 0.0005
            ltl[i] = a * stl[i] + (1 - a) * ltl[i - 1]
        return {"eLdB": 10 * np.log10(excitation / (20e-6) ** 2),
                "loudness": np.stack([loudness, stl, ltl])}


def _agreement(model: Glasberg2002, baseline: Baseline, x: np.ndarray, fs: int) -> dict:
    """Largest relative differences between torch_amt (float64) and the baseline."""
    with torch.no_grad():
        stages = model(torch.from_numpy(x), return_stages=True)
    el_db = (10 * torch.log10(stages["excitation"] / (20e-6) ** 2)).numpy().T
    ref = baseline(x, fs)
    rel = {"eLdB_rel_diff": float(np.abs(el_db - ref["eLdB"]).max() / np.abs(ref["eLdB"]).max()),
           "loudness_rel_diff": float(np.abs(stages["out"].numpy() - ref["loudness"]).max()
                                      / np.abs(ref["loudness"]).max())}
    if rel["eLdB_rel_diff"] > 1e-9 or rel["loudness_rel_diff"] > 1e-3:
        raise AssertionError(f"torch_amt and the NumPy/SciPy baseline disagree: {rel}")
    return rel


def _cases(quick: bool) -> list[tuple[int, int, float, bool]]:
    """(fs, batch, seconds, with_backward)."""
    if quick:
        return [(32000, 1, 0.5, True)]
    return [(32000, 1, 1.0, True), (48000, 1, 1.0, False), (32000, 4, 1.0, False),
            (32000, 1, 5.0, False)]


def main(quick: bool = False) -> str:
    """Time every case; write ``loudness[_quick].csv/.md``."""
    setup_threads(2)
    load_before = machine_load()
    repeats = 1 if quick else 3
    rows = []
    for fs, batch, seconds, backward in _cases(quick):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the resampling and short-input notes
            model = Glasberg2002(fs)
        x_np = _signal(batch, round(fs * seconds), fs)
        baseline = Baseline(model.outermiddle.b.numpy())
        agreement = _agreement(model, baseline, x_np[0], fs)
        x = torch.from_numpy(x_np)

        def forward(model=model, x=x) -> None:
            with torch.no_grad():
                model(x)

        t_fwd = best_time(forward, repeats=repeats, warmup=1)
        t_fb = (best_time(forward_backward(model, x), repeats=repeats, warmup=1)
                if backward else float("nan"))
        t_base = best_time(lambda x_np=x_np, fs=fs, run=baseline: [run(v, fs) for v in x_np],
                           repeats=repeats, warmup=0)
        rows.append({"fs": fs, "batch": batch, "seconds_audio": seconds, "forward_s": t_fwd,
                     "fwd_bwd_s": t_fb, "baseline_s": t_base, "speedup_vs_baseline":
                     t_base / t_fwd, "rtf_forward": t_fwd / (seconds * batch), **agreement})
    note = f"{load_before} before, {machine_load()} after"
    return write_results("loudness", rows, "Glasberg2002 loudness, float64 input, 2 threads, "
                         f"vs a NumPy/SciPy pipeline ({note})", quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.5 s at 32 kHz, B=1 only")
    print(main(parser.parse_args().quick))
