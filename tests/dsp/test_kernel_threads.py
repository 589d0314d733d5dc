"""Row parallelism of the compiled kernels (torch_amt.dsp.iir.threads) and the loop-free
pure-torch adaptation loop (Newton over time with affine scans)."""

from __future__ import annotations

import math
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from torch_amt.dsp import lfilter
from torch_amt.dsp.adaptloop import adaptloop_recurrence
from torch_amt.dsp.iir import use_backend
from torch_amt.dsp.iir.threads import parallel_for
from torch_amt.dsp.scan import affine_scan as _affine_scan


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.mark.parametrize("n_items", [0, 1, 3, 17])
@pytest.mark.parametrize("n_threads", [1, 2, 5])
def test_parallel_for_covers_every_item_once(threads, n_items, n_threads):
    threads(n_threads)
    hits = np.zeros(n_items, dtype=int)
    seen = set()

    def kernel(lo, hi, out):
        seen.add(threading.get_ident())
        out[lo:hi] += 1

    parallel_for(kernel, n_items, hits)
    assert (hits == 1).all()
    assert len(seen) <= max(1, n_threads)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_parallel_for_gives_each_thread_its_own_scratch(threads, n_threads):
    threads(n_threads)
    scratch = [np.zeros(1) for _ in range(n_threads)]
    owner: dict[int, set[int]] = {}
    hits = np.zeros(24, dtype=int)

    def kernel(lo, hi, out, mine):
        owner.setdefault(id(mine), set()).add(threading.get_ident())
        mine[0] += hi - lo
        out[lo:hi] += 1

    parallel_for(kernel, 24, hits, scratch=scratch)
    assert (hits == 1).all() and sum(s[0] for s in scratch) == 24
    assert all(len(idents) == 1 for idents in owner.values())  # never shared by threads
    with pytest.raises(ValueError, match="scratch has 0 entries"):
        parallel_for(kernel, 24, hits, scratch=[])


def test_parallel_for_propagates_errors(threads):
    threads(2)

    def kernel(lo, hi):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        parallel_for(kernel, 8)


def _adaptation_coefficients(n_rows: int):
    fs = 44100.0
    tau = torch.tensor([0.005, 0.05, 0.129, 0.253, 0.5], dtype=torch.float64)
    a1 = torch.exp(-1 / (tau * fs)).expand(n_rows, -1)
    minlvl = torch.full((n_rows, 1), 1e-5, dtype=torch.float64)
    s0 = minlvl ** (1 / 2 ** torch.arange(1, 6, dtype=torch.float64))
    maxvalue = (1 - s0 * s0) * 10 - 1
    return a1, 1 - a1, s0, 2 * maxvalue, -2 / maxvalue, maxvalue - 1, minlvl[:, 0]


def _onsets(n_rows: int, n_t: int) -> torch.Tensor:
    """Silence, loud tone bursts with sharp on- and offsets, noise: the loops' overshoot
    (the hardest case for an iterative solution)."""
    g = torch.Generator().manual_seed(1)
    t = torch.arange(n_t, dtype=torch.float64) / 44100
    gate = ((t > 0.01) & (t < 0.06)) | (t > 0.09)
    level = torch.logspace(-3, 0.5, n_rows, dtype=torch.float64)[:, None]
    tone = torch.sin(2 * math.pi * 1000 * t).clamp_min(0) * gate
    return level * tone + 1e-3 * torch.rand(n_rows, n_t, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("limited", [True, False])
def test_numba_results_do_not_depend_on_threads(threads, limited):
    *coeffs, floor = _adaptation_coefficients(9)
    x = _onsets(9, 3000).requires_grad_()
    outs = []
    for n in (1, 2, 3):
        threads(n)
        y = adaptloop_recurrence(x, *coeffs, limited, floor=floor)
        b = torch.tensor([1.0, -0.3, 0.2], dtype=torch.float64)
        z = lfilter(y, b, torch.tensor([1.0, -1.6, 0.8], dtype=torch.float64))
        (gx,) = torch.autograd.grad((z * z).sum(), x)
        outs.append((z.detach(), gx))
    for z, gx in outs[1:]:
        assert torch.equal(z, outs[0][0]) and torch.equal(gx, outs[0][1])


@pytest.mark.parametrize("form", ["sweep", "graph"])
def test_affine_scan_matches_the_recursion(form):
    """Both forms of the scan (in place on CPU; log-depth with a gradient graph), every
    block length down to 1, lengths around the block boundaries and several levels of
    the recursion on the blocks' end values."""
    g = torch.Generator().manual_seed(0)
    for n_t in (1, 2, 5, 16, 17, 64, 200, 1000):
        alpha = torch.rand(3, n_t, generator=g, dtype=torch.float64) * 2 - 1
        beta = torch.randn(3, n_t, generator=g, dtype=torch.float64)
        init = torch.randn(3, generator=g, dtype=torch.float64)
        y, ref = init.clone(), []
        for t in range(n_t):
            y = alpha[:, t] * y + beta[:, t]
            ref.append(y)
        for block in (None, 1, 2, 3, 8, 16):
            if form == "graph":
                alpha = alpha.clone().requires_grad_()
            out = _affine_scan(alpha, beta, init, block=block)
            assert out.requires_grad == (form == "graph")
            torch.testing.assert_close(out.detach(), torch.stack(ref, 1), rtol=1e-13,
                                       atol=1e-13)


def test_first_kernel_call_keeps_torch_thread_count():
    """Starting numba's OpenMP layer resets the calling thread's OpenMP thread count,
    which torch reads as its own: the first kernel call must not undo a user's
    ``torch.set_num_threads(1)`` (a fresh process: numba starts once per process)."""
    code = ("import torch; torch.set_num_threads(1); import torch_amt; "
            "torch_amt.Dau1997(16000)(torch.randn(2, 1600)); "
            "print(torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "1", out.stdout + out.stderr


def test_affine_scan_leaves_its_inputs_alone():
    alpha = torch.full((2, 50), 0.5, dtype=torch.float64)
    beta = torch.ones(2, 50, dtype=torch.float64)
    init = torch.zeros(2, dtype=torch.float64)
    _affine_scan(alpha, beta, init)
    assert torch.equal(alpha, torch.full_like(alpha, 0.5))
    assert torch.equal(beta, torch.ones_like(beta)) and torch.equal(init, torch.zeros(2))


@pytest.mark.parametrize("limited", [True, False])
def test_torch_backend_matches_numba_on_onsets(limited):
    """The Newton/scan solution equals the sequential recurrence to rounding (float64),
    forward and every gradient, through the loops' overshoots."""
    *coeffs, floor = _adaptation_coefficients(4)
    x = _onsets(4, 6000)
    weight = torch.sin(torch.arange(6000, dtype=torch.float64) / 13)
    results = {}
    for backend in ("numba", "torch"):
        inputs = [x.clone().requires_grad_()] + [c.clone().requires_grad_() for c in coeffs]
        with use_backend(backend):
            y = adaptloop_recurrence(*inputs, limited, floor=floor)
            grads = torch.autograd.grad((y * weight).sum(), inputs)
        results[backend] = (y.detach(), grads)
    (y_nb, g_nb), (y_t, g_t) = results["numba"], results["torch"]
    assert ((y_t - y_nb).abs().max() / y_nb.abs().max()) < 1e-12
    for a, b in zip(g_nb, g_t, strict=True):
        assert ((a - b).abs().max() / a.abs().max().clamp_min(1e-300)) < 1e-11


def test_torch_backend_has_no_loop_over_samples():
    """The number of torch operations of the pure-torch adaptation loop (forward and
    backward) does not grow with the signal length (beyond the logarithmic depth of
    the scans)."""
    from torch.overrides import TorchFunctionMode

    class Count(TorchFunctionMode):
        calls = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            Count.calls += 1
            return func(*args, **(kwargs or {}))

    *coeffs, floor = _adaptation_coefficients(2)
    counts = {}
    for n_t in (500, 8000):
        x = _onsets(2, n_t).requires_grad_()
        Count.calls = 0
        with use_backend("torch"), Count():
            y = adaptloop_recurrence(x, *coeffs, True, floor=floor)
            y.sum().backward()
        counts[n_t] = Count.calls
    # a loop over samples: 16x; the scans' recursion on block ends adds a level or two
    assert counts[8000] < 3 * counts[500], counts
