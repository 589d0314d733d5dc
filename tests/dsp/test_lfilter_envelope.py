"""The fused filter-bank readout ``lfilter_envelope`` against its defining composition."""

import numpy as np
import pytest
import torch

from torch_amt.dsp import use_backend
from torch_amt.dsp.iir import lfilter, lfilter_envelope


def _bank(n_rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(0.05, 2.5, n_rows)
    e0 = np.exp(-w0 / 4)
    a = torch.from_numpy(np.stack([np.ones(n_rows), -e0 * np.exp(1j * w0), 0 * w0], 1))
    b = torch.from_numpy(np.stack([1 - e0, 0.3 * e0, 0 * w0], 1)).to(torch.complex128)
    a[0] = torch.tensor([1.0, -1.6, 0.64], dtype=torch.complex128)  # a real low-pass row
    b[0] = torch.tensor([0.01, 0.02, 0.01], dtype=torch.complex128)
    return b, a


def _composition(x, b, a, index, keep, factor, gain):
    y = lfilter(x[..., index, :], b, a) * gain[:, None]
    return torch.where(keep[:, None], y.real, factor * y.abs())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_equals_composition_bit_for_bit(dtype):
    b, a = _bank(7)
    x = torch.randn(2, 3, 500, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    index = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    keep = torch.tensor([True, True, False, True, False, False, False])
    gain = torch.linspace(0.5, 2.0, 7, dtype=torch.float64)
    got = lfilter_envelope(x, b, a, index, keep, 0.7, gain, dtype)
    ref = _composition(x, b, a, index, keep, 0.7, gain).to(dtype)
    assert got.dtype == dtype and got.shape == (2, 7, 500)
    # |.| is sqrt(re² + im²) in the kernel, torch's hypot here: equal up to the last bit
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=4e-16 if dtype == torch.float64
                               else 0, atol=0)
    with use_backend("torch"):
        torch_path = lfilter_envelope(x, b, a, index, keep, 0.7, gain, dtype)
    np.testing.assert_allclose(torch_path.numpy(), ref.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("coefficients_grad", [True, False])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_gradcheck(backend, coefficients_grad):
    b, a = _bank(4, seed=2)
    b.requires_grad_(coefficients_grad)
    a = a.clone().requires_grad_(coefficients_grad)
    x = torch.randn(2, 2, 40, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(3))
    index = torch.tensor([0, 1, 1, 0])
    keep = torch.tensor([True, False, True, False])
    gain = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64)
    with use_backend(backend):
        assert torch.autograd.gradcheck(
            lambda x, b, a: lfilter_envelope(x, b, a, index, keep, 0.7, gain), (x, b, a))


@pytest.fixture
def tiny_groups(monkeypatch):
    """Groups of at most two rows of 2 × 60 float64 samples: every split has several
    kernel groups (and a piece larger than a group is one of its own)."""
    import torch_amt.dsp.iir.api as api
    monkeypatch.setattr(api, "ENVELOPE_GROUP_BYTES", 2 * 2 * 60 * 8)


@pytest.mark.parametrize("split", [[7], [2, 2, 3], [1, 5, 1], [3, 1, 1, 1, 1]])
def test_split_equals_split_output_and_its_gradients(split, tiny_groups):
    b, a = _bank(7, seed=4)
    b = b.clone().requires_grad_()
    a = a.clone().requires_grad_()
    x = torch.randn(2, 3, 60, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(5))
    index = torch.tensor([0, 2, 1, 1, 2, 0, 2])
    keep = torch.tensor([True, False, False, True, False, False, True])
    gain = torch.linspace(0.5, 2.0, 7, dtype=torch.float64)
    whole = lfilter_envelope(x, b, a, index, keep, 0.7, gain)
    pieces = lfilter_envelope(x, b, a, index, keep, 0.7, gain, split=split)
    assert [p.shape for p in pieces] == [(2, n, 60) for n in split]
    for got, ref in zip(pieces, torch.split(whole, split, dim=-2), strict=True):
        assert torch.equal(got, ref)  # rows never interact: the same kernel values
    # gradients with an upstream gradient on some pieces only (the others unused)
    weights = [torch.randn(p.shape, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(i)) for i, p in
               enumerate(pieces)]
    used = range(0, len(split), 2) if len(split) > 1 else [0]
    loss = sum((pieces[i] * weights[i]).sum() for i in used)
    got = torch.autograd.grad(loss, (x, b, a), retain_graph=True)
    ref_loss = sum((p * w).sum() for i, (p, w) in enumerate(
        zip(torch.split(whole, split, dim=-2), weights, strict=True)) if i in used)
    ref = torch.autograd.grad(ref_loss, (x, b, a), retain_graph=True)
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-13, atol=1e-13)
    # sums: expanded (stride-0) gradients, read in place by the kernels
    got = torch.autograd.grad(sum(p.sum() for p in pieces), (x, b, a))
    ref = torch.autograd.grad(whole.sum(), (x, b, a))
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_split_gradcheck_and_gradgradcheck(backend, tiny_groups):
    b, a = _bank(5, seed=6)
    b.requires_grad_()
    x = torch.randn(2, 2, 30, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(7))
    index = torch.tensor([0, 1, 1, 0, 1])
    keep = torch.tensor([True, False, True, False, False])

    def fn(x, b):
        return tuple(lfilter_envelope(x, b, a, index, keep, 0.7, split=[2, 1, 2]))

    with use_backend(backend):
        assert torch.autograd.gradcheck(fn, (x, b))
        assert torch.autograd.gradgradcheck(fn, (x, b))


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("split", [[2, 2], [3, 0, 2], [6, -1]])
def test_split_must_count_every_row(split, streamed):
    from torch_amt.dsp import streaming

    b, a = _bank(5)
    x = torch.randn(1, 2, 20, dtype=torch.float64)

    def call(chunk):
        return streaming.lfilter_envelope(chunk, b, a, torch.tensor([0, 1, 1, 0, 1]),
                                          torch.zeros(5, dtype=torch.bool), split=split)

    with pytest.raises(ValueError, match="split must hold positive row counts summing to"):
        streaming.stream_call(call, x) if streamed else call(x)
