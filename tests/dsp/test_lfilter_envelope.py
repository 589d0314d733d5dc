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
