"""The Triton kernels of the adaptation loop and of the IIR filter (the CUDA path) against
the numba kernels,
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


_LFILTER_SCRIPT = r"""
import json, torch
from torch_amt.dsp.iir import triton_kernels as tk
from torch_amt.dsp.iir.autograd import _LFilterRows

assert tk.AVAILABLE
g = torch.Generator().manual_seed(0)
errors = {}
n_rows, n_t = 5, 24


def rel(a, b):
    return float((a - b).abs().max() / a.abs().max().clamp_min(1e-300))


def randn(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


for order in (1, 2, 4, 5):
    for kind in ("real", "complex_coeffs", "complex_signal"):
        # stable filters from random poles inside the unit circle
        radius = 0.9 * torch.rand(n_rows, order, generator=g, dtype=torch.float64)
        angle = 2 * torch.pi * torch.rand(n_rows, order, generator=g, dtype=torch.float64)
        poles = radius * (torch.sign(torch.cos(angle)) if kind == "real"
                          else torch.exp(1j * angle))
        a = torch.ones(n_rows, 1, dtype=poles.dtype)
        for k in range(order):
            zero = torch.zeros(n_rows, 1, dtype=poles.dtype)
            a = torch.cat([a, zero], 1) - poles[:, k:k + 1] * torch.cat([zero, a], 1)
        b = randn(n_rows, order + 1)
        if kind != "real":
            b = b + 1j * randn(n_rows, order + 1)
        x = randn(n_rows, n_t)
        if kind == "complex_signal":
            x = x + 1j * randn(n_rows, n_t)
        zi = randn(n_rows, order).to(b.dtype)
        inputs = [t.clone().requires_grad_() for t in (x, b, a, zi)]
        y = _LFilterRows.apply(*inputs)  # the numba kernels (CPU)
        w = randn(*y.shape).to(y.dtype)
        ref = torch.autograd.grad((y * w.conj()).real.sum(), inputs)
        yt = tk.lfilter_forward(x, b, a, zi)
        got = tk.lfilter_backward(w, x, yt, b, a, [True] * 4)
        got[0] = got[0] if x.is_complex() else got[0].real
        e = [rel(y.detach(), yt)] + [rel(r, q) for r, q in zip(ref, got)]
        e.append(rel(_LFilterRows.apply(x, b, a, None), tk.lfilter_forward(x, b, a, None)))
        errors[f"order={order} {kind}"] = e
print(json.dumps(errors))
"""


def test_triton_lfilter_matches_numba_under_interpreter():
    """Forward (with and without an initial state) and every gradient (signal, b, a, zi)
    of the Triton TDF-II kernel against the numba kernels: real, complex-coefficient and
    complex-signal filters of orders 1, 2, 4, 5."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, TRITON_INTERPRET="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(root),
                                                        os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", _LFILTER_SCRIPT], capture_output=True,
                          text=True, env=env, cwd=root, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(errors) == 12
    for case, rel in errors.items():  # y (zi), dL/dx, dL/db, dL/da, dL/dzi, y (no zi)
        assert max(rel) <= 1e-12, (case, rel)
