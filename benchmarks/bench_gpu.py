"""The CUDA path against the CPU path: Dau1997 and Jepsen2008, B=32 x 10 s at 44.1 kHz.

Times the forward (float32) on the GPU (adaptation loop and IIR filters as Triton
kernels when Triton is installed, otherwise the pure-torch block/scan formulations) and
on the CPU (numba kernels, ``torch.get_num_threads()`` threads), and checks exactness:
the float64 outputs of both paths on a shorter input (B=2 x 1 s), as the largest
relative difference per model. Without a CUDA device it writes a table that says so.

Run: ``python -m benchmarks --only gpu`` or ``python -m benchmarks.bench_gpu [--quick]``
(``--quick``: B=4 x 1 s).
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.common import best_time, machine_load, write_results
from torch_amt.dsp.iir import triton_kernels
from torch_amt.models import Dau1997, Jepsen2008

FS = 44100
MODELS = {"dau1997": Dau1997, "jepsen2008": Jepsen2008}


def _signal(batch: int, seconds: float, dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    n = round(FS * seconds)
    t = torch.arange(n, dtype=torch.float64) / FS
    x = torch.sin(2 * torch.pi * 1000 * t) * (1 + 0.8 * torch.sin(2 * torch.pi * 8 * t))
    x = x + 0.3 * torch.randn(batch, n, generator=g, dtype=torch.float64)
    return (x / x.pow(2).mean(-1, keepdim=True).sqrt() * 10 ** ((65 - 100) / 20)).to(dtype)


def _outputs(model, x) -> list[torch.Tensor]:
    with torch.no_grad():
        out = model(x)
    return [o.cpu() for o in (out if isinstance(out, (list, tuple)) else [out])]


def main(quick: bool = False) -> str:
    """Time the GPU and CPU forwards and compare their float64 outputs."""
    if not torch.cuda.is_available():
        rows = [{"model": m, "status": "not measured (no CUDA device)"} for m in MODELS]
        return write_results("gpu", rows, "CUDA against CPU (no GPU here)", quick)
    batch, seconds = (4, 1.0) if quick else (32, 10.0)
    rows = []
    for name, factory in MODELS.items():
        x = _signal(batch, seconds, torch.float32)
        cpu, gpu = factory(FS), factory(FS).cuda()
        xg = x.cuda()

        def run_gpu(model=gpu, xg=xg) -> None:
            with torch.no_grad():
                model(xg)
            torch.cuda.synchronize()

        def run_cpu(model=cpu, x=x) -> None:
            with torch.no_grad():
                model(x)

        t_gpu = best_time(run_gpu, repeats=3, warmup=1)
        t_cpu = best_time(run_cpu, repeats=1 if not quick else 2, warmup=0 if not quick else 1)
        x64 = _signal(2, 1.0, torch.float64)
        ref = _outputs(factory(FS, dtype=torch.float64), x64)
        got = _outputs(factory(FS, dtype=torch.float64).cuda(), x64.cuda())
        rel = max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(got, ref,
                                                                               strict=True))
        rows.append({"model": name, "batch": batch, "seconds_audio": seconds,
                     "gpu": torch.cuda.get_device_name(), "triton": triton_kernels.AVAILABLE,
                     "gpu_s": t_gpu, "cpu_s": t_cpu, "cpu_over_gpu": t_cpu / t_gpu,
                     "max_rel_diff_float64": rel})
    title = (f"CUDA against CPU ({torch.get_num_threads()} threads), float32 forward; "
             f"exactness in float64, B=2 x 1 s ({machine_load()})")
    return write_results("gpu", rows, title, quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="B=4 x 1 s")
    print(main(parser.parse_args().quick))
