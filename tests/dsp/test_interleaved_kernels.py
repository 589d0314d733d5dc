"""The interleaved (four rows per time loop) numba kernels against the one-row kernels.

The interleaved kernels exist for speed only: they must give every row exactly the
values of the one-row kernels (the same operations in the same order), including the
padding of a last incomplete group of four, initial states, real and complex
coefficients and signals. These are bit-for-bit comparisons (``array_equal``): AMT
agreement of the one-row arithmetic is what the validation harness checks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_amt.dsp.iir import lfilter, lfilter_envelope
from torch_amt.dsp.iir import numba_adjoints as na
from torch_amt.dsp.iir import numba_kernels as nk


def _filters(rng, n_rows: int, order: int, complex_: bool):
    a = np.concatenate([np.ones((n_rows, 1)), 0.3 * rng.standard_normal((n_rows, order))], 1)
    b = rng.standard_normal((n_rows, order + 1))
    if complex_:
        a = a.astype(complex)
        a[:, 1:] *= np.exp(0.7j)
        b = b * (1 - 0.5j)
    return b, a


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("n_rows", [1, 3, 4, 9])
@pytest.mark.parametrize("complex_", [False, True])
def test_forward_quads_equal_rows(order, n_rows, complex_):
    rng = np.random.default_rng(order * 100 + n_rows)
    b, a = _filters(rng, n_rows, order, complex_)
    zi = rng.standard_normal((n_rows, order)).astype(a.dtype)
    x = rng.standard_normal((n_rows, 400)).astype(np.float32)
    rows = np.empty((n_rows, 400), dtype=a.dtype)
    quads = np.empty_like(rows)
    nk._nb_forward_rows(x, b, a, zi, rows)
    nk._nb_forward_quads(x, b, a, zi, quads)
    assert np.array_equal(rows, quads)


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("n_rows", [1, 5, 8])
@pytest.mark.parametrize("complex_", [False, True])
def test_input_adjoint_quads_equal_rows(order, n_rows, complex_):
    rng = np.random.default_rng(order * 10 + n_rows)
    b, a = _filters(rng, n_rows, order, complex_)
    x = rng.standard_normal((n_rows, 300))
    g = rng.standard_normal((n_rows, 300)).astype(a.dtype)
    real_gx = complex_  # a real signal through complex filters: the real part only
    shape = (n_rows, 300)
    expected = [np.zeros(shape if not real_gx else (1, 1), a.dtype),
                np.zeros(shape if real_gx else (1, 1))]
    got = [np.zeros_like(t) for t in expected]
    empty = np.zeros((1, 1), a.dtype)
    na._nb_backward(g, x, np.zeros_like(g), b, a, True, False, False, False, real_gx,
                    *expected, empty, empty, empty)
    na._nb_backward_quads(g, b, a, real_gx, *got)
    assert all(np.array_equal(e, r) for e, r in zip(expected, got, strict=True))


@pytest.mark.parametrize("batch", [1, 3])
def test_envelope_plan_equals_one_row_kernel(batch):
    """The fused envelope kernel: orders 1, 2 and 4 in quads (a quad of four ``Re`` rows
    through its branch-free loop), the rest row by row."""
    rng = np.random.default_rng(batch)
    n_filters, n_ch = 11, 4
    b1, a1 = _filters(rng, n_filters, 1, True)  # one-pole band-passes
    b2, a2 = _filters(rng, 2, 2, False)  # low-passes
    b3, a3 = _filters(rng, 1, 3, False)  # a third-order row
    b4, a4 = _filters(rng, 6, 4, True)  # gammatone-like fourth-order rows
    b = np.zeros((n_filters + 9, 5), complex)
    a = np.zeros_like(b)
    b[:n_filters, :2], a[:n_filters, :2] = b1, a1
    b[n_filters:n_filters + 2, :3], a[n_filters:n_filters + 2, :3] = b2, a2
    b[n_filters + 2, :4], a[n_filters + 2, :4] = b3[0], a3[0]
    b[-6:], a[-6:] = b4, a4
    n_rows = batch * b.shape[0]
    src = (np.arange(n_rows) // b.shape[0]) * n_ch + rng.integers(0, n_ch, n_rows)
    keep = rng.random(b.shape[0]) < 0.5
    keep[-6:-2] = True  # one quad of Re rows (batch 1), then mixed quads
    gain = rng.uniform(0.5, 2, b.shape[0])
    x = rng.standard_normal((batch * n_ch, 300))
    planned = np.empty((n_rows, 300))
    one_by_one = np.empty_like(planned)
    nk._nb_forward_envelope(x, src, b, a, keep, 0.7, gain, planned)
    nk._nb_envelope_rows(x, src, b, a, keep, 0.7, gain, one_by_one, np.arange(n_rows))
    assert np.array_equal(planned, one_by_one)


def test_envelope_adjoint_matches_composition():
    """The interleaved envelope adjoint = autograd of the unfused composition."""
    rng = np.random.default_rng(7)
    b = torch.from_numpy(np.stack([1 - 0.9 * np.exp(1j * rng.uniform(0, 1, 10)),
                                   np.zeros(10)], 1))
    a = torch.from_numpy(np.stack([np.ones(10), -0.9 * np.exp(1j * rng.uniform(0, 1, 10))],
                                  1))
    index = torch.from_numpy(rng.integers(0, 3, 10))
    keep = torch.from_numpy(rng.random(10) < 0.5)
    x = torch.from_numpy(rng.standard_normal((2, 3, 200)))
    g = torch.from_numpy(rng.standard_normal((2, 10, 200)))
    grads = []
    for fused in (True, False):
        xx = x.clone().requires_grad_(True)
        if fused:
            y = lfilter_envelope(xx, b, a, index, keep, 0.7)
        else:
            w = lfilter(xx[..., index, :], b, a)
            y = torch.where(keep[:, None], w.real, 0.7 * w.abs())
        y.backward(g)
        grads.append(xx.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-12, atol=1e-12)
