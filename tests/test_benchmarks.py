"""The benchmark scripts run end to end (smallest configuration); timings are never asserted."""

import os
import subprocess
import sys
from pathlib import Path

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
