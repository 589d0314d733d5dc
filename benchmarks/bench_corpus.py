"""Corpus processing: files per second on 1 and 2 Dask workers, and the peak memory of a
long recording processed chunk by chunk.

Usage: ``python -m benchmarks.bench_corpus [--quick] [--files N] [--memory-seconds S ...]``
from the repository root (needs the ``corpus`` extra).

* Throughput: ``N`` generated WAV files (1 s, 16 kHz, mono) through Dau1997
  (:func:`torch_amt.corpus.process`) on a LocalCluster of 1, then 2 worker processes (one
  thread each). Each cluster first runs one warm-up file (imports, numba caches), so the
  time is the steady state: files per second of wall clock.
* Memory: a WAV of ``S`` seconds through Dau1997 (16 kHz, float32) in a fresh process:
  ``stream`` reads it block by block and runs ``model.stream`` on chunks of
  ``--chunk-seconds`` (2 s; outputs dropped: the model's own memory); ``zarr`` is the same
  through :func:`torch_amt.corpus.process_file` into a Zarr store (what
  ``torch-amt run ... --out STORE.zarr`` does); ``whole`` is one ``forward`` on the whole
  signal, for comparison. The peak is the growth of the process's peak RSS (``VmHWM``)
  over its RSS after imports.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from benchmarks.common import machine_load, write_results

ROOT = Path(__file__).resolve().parent.parent

_MEMORY_SCRIPT = r"""
import json, os, sys, time
import torch
spec = json.loads(sys.argv[1])
from torch_amt import corpus
from torch_amt.io import audio_blocks
from torch_amt.models import Dau1997


def rss_kb(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field))


corpus._single_thread()
model = Dau1997(spec["fs"])
with torch.no_grad():
    model.stream(torch.zeros(1, 100))  # kernels compiled / loaded before the baseline
before = rss_kb("VmRSS:")
start = time.perf_counter()
n = round(spec["chunk_seconds"] * spec["fs"])
if spec["mode"] == "stream":
    state = None
    with torch.no_grad():
        for block in audio_blocks(spec["wav"], n):
            out, state = model.stream(block.float().unsqueeze(0), state)
elif spec["mode"] == "zarr":
    job = corpus.Job("dau1997", store=spec["store"], chunk_seconds=spec["chunk_seconds"])
    record = corpus.process_file(job, spec["wav"], "long.wav")
    assert record["status"] == "done", record
else:
    from torch_amt.io import read_input
    x = read_input(spec["wav"])[0]
    with torch.no_grad():
        out = model(x.float().unsqueeze(0))
seconds = time.perf_counter() - start
print(json.dumps({"growth_kb": rss_kb("VmHWM:") - before, "seconds": seconds}))
"""


def _wav(path: str, seconds: float, fs: int, channels: int = 1, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with soundfile.SoundFile(path, "w", fs, channels, "PCM_16") as f:
        left = round(seconds * fs)
        while left > 0:  # written in blocks: the generator never holds the whole file
            n = min(left, 60 * fs)
            f.write(0.05 * rng.standard_normal((n, channels)))
            left -= n


def throughput(n_files: int, workers: tuple[int, ...] = (1, 2)) -> list[dict]:
    """Files per second of :func:`torch_amt.corpus.process` per number of workers."""
    from dask.distributed import Client, LocalCluster

    from torch_amt import corpus

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "in"))
        _wav(os.path.join(tmp, "warmup.wav"), 1.0, 16000)
        for k in range(n_files):
            _wav(os.path.join(tmp, "in", f"f{k:03d}.wav"), 1.0, 16000, seed=k + 1)
        files = corpus.find_audio(os.path.join(tmp, "in"))
        for n in workers:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            with Client(cluster) as client:
                client.run(corpus._single_thread)
                store = os.path.join(tmp, f"out{n}.zarr")
                # warm-up: every worker imports torch_amt and loads its kernels
                for w in range(n):
                    corpus.process(os.path.join(tmp, "warmup.wav"), "dau1997",
                                   store=os.path.join(tmp, f"warm{n}_{w}.zarr"),
                                   client=client, progress=False)
                start = time.perf_counter()
                result = corpus.process(files, "dau1997", store=store, client=client,
                                        progress=False)
                wall = time.perf_counter() - start
            cluster.close()
            assert result.ok and len(result.done) == n_files, result.failed
            rows.append({"workers": n, "files": n_files, "file_s": 1.0, "wall_s": wall,
                         "files_per_s": n_files / wall})
    return rows


def memory(seconds: float, mode: str, chunk_seconds: float, fs: int = 16000) -> dict:
    """Peak memory of one long file (see the module docstring), in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "long.wav")
        _wav(wav, seconds, fs)
        spec = json.dumps({"wav": wav, "fs": fs, "mode": mode, "chunk_seconds": chunk_seconds,
                           "store": os.path.join(tmp, "out.zarr")})
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, spec], capture_output=True,
                              text=True, check=True, env=env, cwd=ROOT)
    info = json.loads(done.stdout.strip().splitlines()[-1])
    return {"mode": mode, "audio_s": seconds, "chunk_s": chunk_seconds if mode != "whole"
            else "", "peak_growth_mb": info["growth_kb"] / 1024, "wall_s": info["seconds"],
            "realtime_factor": info["seconds"] / seconds}


def main(quick: bool = False, files: int | None = None,
         memory_seconds: tuple[float, ...] | None = None, chunk_seconds: float = 2.0) -> str:
    files = files or (4 if quick else 8)
    memory_seconds = memory_seconds or ((20.0, 40.0) if quick else (30.0, 60.0, 120.0))
    load = machine_load()
    tables = [write_results("corpus_throughput", throughput(files),
                            f"Corpus throughput, Dau1997 on 1-s 16-kHz files ({load})",
                            quick)]
    rows = [memory(min(memory_seconds), "whole", chunk_seconds)]
    rows += [memory(s, "stream", chunk_seconds) for s in memory_seconds]
    rows.append(memory(min(memory_seconds), "zarr", chunk_seconds))
    tables.append(write_results("corpus_memory", rows,
                                f"Peak memory of a long file, Dau1997 16 kHz float32 "
                                f"({machine_load()})", quick))
    return "\n".join(tables)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--files", type=int)
    parser.add_argument("--memory-seconds", type=float, nargs="+")
    parser.add_argument("--chunk-seconds", type=float, default=2.0)
    args = parser.parse_args()
    print(main(args.quick, args.files, tuple(args.memory_seconds or ()) or None,
               args.chunk_seconds))
