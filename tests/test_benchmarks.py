"""The benchmark scripts run end to end (smallest configuration; timings are never asserted),
and their SciPy/numba baselines compute what the models compute."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_benchmark_writes_its_outputs(tmp_path):
    env = dict(os.environ, TORCH_AMT_BENCH_RESULTS=str(tmp_path), MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("models_quick.csv", "models_quick.md", "models_quick.png",
                 "summary_quick.md"):
        assert (tmp_path / name).stat().st_size > 0, name
    header = (tmp_path / "models_quick.csv").read_text().splitlines()[0].split(",")
    assert {"forward_s", "fwd_bwd_s", "baseline_s", "floor_s"} <= set(header)
    # a smoke run never replaces the full results
    assert not (tmp_path / "models.csv").exists()


def _bench_models():
    """``benchmarks.bench_models`` (the repository root is not on ``sys.path`` under a bare
    ``pytest``, only under ``python -m pytest``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.bench_models")


def _last_rows(out) -> np.ndarray:
    """The last signal's output of a model as rows ``(R, T)``: modulation rows channel by
    channel (the baselines' order) or the EI map's channels."""
    if isinstance(out, list):  # F tensors (B, M_f, T)
        return np.concatenate([o[-1].numpy() for o in out])
    return out[-1].numpy().reshape(-1, out.shape[-1])


@pytest.mark.parametrize("name", ["relanoiborra2019", "paulick2024", "breebaart2001",
                                  "jepsen2008"])
def test_baseline_computes_the_model(name):
    """The hand-written SciPy/numba baseline computes what the model computes (float64,
    50 ms, two signals: the baseline returns the last one's output). Relative max-abs
    error <= 1e-6 (measured: 2e-12 to 5e-10; the FIRs are FFT convolutions in the
    baselines and direct sums in the models, and the adaptation loops amplify the
    rounding of quiet samples)."""
    bench = _bench_models()
    model = bench.MODELS[name](torch.float64)
    x = bench._signal(2, round(0.05 * bench.FS), binaural=getattr(model, "binaural", False))
    baseline = bench.BASELINES[name](model)(x)
    with torch.no_grad():
        expected = _last_rows(model(torch.from_numpy(x)))
    got = np.stack(baseline) if isinstance(baseline, list) else baseline
    got = got.reshape(-1, got.shape[-1])
    assert got.shape == expected.shape
    error = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
    assert error <= 1e-6, f"{name}: relative max-abs error {error:.3g}"
