"""Speed of the peripheral stages: GammatoneFilterbank (31 ch) and DRNLFilterbank.

1 s of noise at 44.1 kHz, B = 1 and 8, forward and forward+backward, float32 and
float64, against a SciPy baseline (``scipy.signal.lfilter`` per channel with the same
coefficients). Writes ``benchmarks/results/periphery.csv`` / ``.md`` (``--quick``: B = 1,
float32, ``periphery_quick.*``).

Run: ``python -m benchmarks --only periphery`` (or ``python -m benchmarks.bench_periphery``).
"""

from __future__ import annotations

import numpy as np
import scipy.signal as ss
import torch

from benchmarks.common import best_time, forward_backward, setup_threads, write_results
from torch_amt.functional.drnl import DRNL_PRESETS, drnl_channel_values, drnl_design
from torch_amt.functional.ears import middleearfilter
from torch_amt.levels import DBSPL_AMT
from torch_amt.stages.drnl import DRNLFilterbank
from torch_amt.stages.gammatone import GammatoneFilterbank

FS = 44100
REPEATS = 3


def scipy_gammatone(x: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.stack([2 * np.real(ss.lfilter(b[k], a[k], x, axis=-1)) for k in range(len(b))], -2)


def scipy_drnl(x: np.ndarray) -> np.ndarray:
    params = DRNL_PRESETS["jepsen2008"]
    fc = GammatoneFilterbank(FS, dtype=torch.float64).fc0
    d = drnl_design(drnl_channel_values(fc, params), FS, params)
    x = ss.lfilter(middleearfilter(FS, "jepsen2008").numpy(), 1,
                   x * 10 ** ((DBSPL_AMT - 100) / 20))
    out = []
    for k in range(fc.numel()):
        lin = ss.lfilter(d.gt_lin.b[k].numpy(), d.gt_lin.a[k].numpy(), x * d.lin_gain[k].item())
        for _ in range(4):
            lin = ss.lfilter(d.lp_lin[0][k].numpy(), d.lp_lin[1][k].numpy(), lin)
        y = ss.lfilter(d.gt_before.b[k].numpy(), d.gt_before.a[k].numpy(), x)
        y = np.sign(y) * np.minimum(d.nlin_a[k].item() * np.abs(y),
                                    d.nlin_b[k].item() * np.abs(y) ** d.nlin_c[k].item())
        y = ss.lfilter(d.gt_after.b[k].numpy(), d.gt_after.a[k].numpy(), y)
        for _ in range(3):
            y = ss.lfilter(d.lp_nlin[0][k].numpy(), d.lp_nlin[1][k].numpy(), y)
        out.append(lin + y)
    return np.stack(out, -2)


def main(quick: bool = False) -> str:
    setup_threads(2)
    rows = []
    for batch in (1,) if quick else (1, 8):
        x64 = 0.01 * torch.randn(batch, FS, dtype=torch.float64)
        gt64 = GammatoneFilterbank(FS, dtype=torch.float64)
        b, a = gt64.b.numpy(), gt64.a.numpy()
        t_scipy_gt = best_time(lambda x=x64, b=b, a=a: scipy_gammatone(x.numpy(), b, a),
                               REPEATS)
        t_scipy_drnl = best_time(lambda x=x64: scipy_drnl(x.numpy()), REPEATS)
        for dtype in (torch.float32,) if quick else (torch.float32, torch.float64):
            x = x64.to(dtype)
            for name, module, baseline in (
                ("gammatone (31 ch)", GammatoneFilterbank(FS, dtype=dtype), t_scipy_gt),
                ("DRNL jepsen2008 (31 ch)", DRNLFilterbank(FS, "jepsen2008", dtype=dtype),
                 t_scipy_drnl),
            ):
                fwd = best_time(lambda m=module, x=x: m(x), REPEATS)
                both = best_time(forward_backward(module, x), REPEATS)
                rows.append({"stage": name, "B": batch, "dtype": str(dtype).split(".")[1],
                             "forward_s": fwd, "forward_backward_s": both,
                             "scipy_forward_s": baseline, "speedup_vs_scipy": baseline / fwd})
    return write_results("periphery", rows, "Peripheral stages, 1 s at 44.1 kHz, vs "
                         "scipy.signal.lfilter per channel", quick)


if __name__ == "__main__":
    print(main())
