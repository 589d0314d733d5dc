"""The Triton kernels of the adaptation loop (the CUDA path) against the numba kernels,
run on CPU under Triton's interpreter (``TRITON_INTERPRET=1``, set before Triton is
imported, hence a subprocess). Small sizes: the interpreter runs every operation of the
time loop from Python."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                reason="triton is not installed (pip install triton; it is "
                                       "in the dev extra)")

_SCRIPT = r"""
import json, math, torch
from torch_amt.dsp.adaptloop import adaptloop_recurrence
from torch_amt.dsp.iir import triton_kernels as tk

assert tk.AVAILABLE
errors = {}
n_rows, n_t = 5, 24
g = torch.Generator().manual_seed(0)
t = torch.arange(n_t, dtype=torch.float64)
for n_loops in (3, 5):
    tau = torch.linspace(0.0002, 0.003, n_loops, dtype=torch.float64)
    a1 = torch.exp(-1 / (tau * 44100)).expand(n_rows, -1).contiguous()
    floor = torch.full((n_rows,), 1e-5, dtype=torch.float64)
    s0 = (floor[:, None] ** (1 / 2 ** torch.arange(1, n_loops + 1, dtype=torch.float64)))
    maxvalue = (1 - s0 * s0) * 10 - 1
    coeffs = [a1, 1 - a1, s0, 2 * maxvalue, -2 / maxvalue, maxvalue - 1]
    # silence, then an onset (the limiter acts), a tie with the floor
    x = (t > 4) * torch.rand(n_rows, n_t, generator=g, dtype=torch.float64) * 2.0 + 1e-6
    x[:, 2] = 1e-5
    affine = (floor, torch.full((n_rows,), 0.1, dtype=torch.float64),
              torch.full((n_rows,), 2.5, dtype=torch.float64))
    weight = torch.sin(t / 3).expand(n_rows, -1)
    for limited in (True, False):
        inputs = [x.clone().requires_grad_()] + [c.clone().requires_grad_() for c in coeffs]
        y = adaptloop_recurrence(*inputs, limited, floor=affine[0], corr=affine[1],
                                 mult=affine[2])
        ref = torch.autograd.grad(y, inputs, weight)
        yt, states = tk.adaptloop_forward(x, coeffs, affine, limited, True, torch.float64)
        got = tk.adaptloop_backward(weight, x, states, coeffs, affine, limited)
        rel = [float((yt - y).abs().max() / y.abs().max())]
        rel += [float((a - b).abs().max() / a.abs().max().clamp_min(1e-300))
                for a, b in zip(ref, got)]
        errors[f"L={n_loops} limited={limited}"] = rel
print(json.dumps(errors))
"""


def test_triton_adaptloop_matches_numba_under_interpreter():
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, TRITON_INTERPRET="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(root),
                                                        os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                          env=env, cwd=root, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(errors) == 4
    for case, rel in errors.items():  # output, then dL/dx and the six coefficient grads
        assert max(rel) <= 1e-12, (case, rel)
