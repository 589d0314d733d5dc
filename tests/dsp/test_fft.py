"""``fftconvolve``: exact linear convolution (no circular wrap), against NumPy's direct
convolution; float64 tolerance 1e-12 relative (FFT rounding is ~1e-15·log2(N))."""

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from torch_amt.dsp import lfilter
from torch_amt.dsp.fft import fftconvolve, fftresample


@pytest.mark.parametrize("complex_", [False, True])
def test_full_linear_convolution(complex_):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 777))
    h = rng.standard_normal((2, 300)) + (1j * rng.standard_normal((2, 300)) if complex_ else 0)
    y = fftconvolve(torch.from_numpy(x), torch.from_numpy(h)).numpy()
    ref = np.stack([np.convolve(x[i], h[i]) for i in range(2)])
    assert y.shape == ref.shape
    assert np.abs(y - ref).max() / np.abs(ref).max() <= 1e-12


def test_truncated_equals_fir_filtering():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal((3, 1000)))
    h = torch.from_numpy(rng.standard_normal(1000))  # as long as the signal: no wrap allowed
    y = fftconvolve(x, h, length=1000)
    ref = lfilter(x, h, torch.ones(1, dtype=torch.float64))
    assert float((y - ref).abs().max() / ref.abs().max()) <= 1e-12


def test_gradcheck():
    x = torch.randn(2, 16, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 9, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, h: fftconvolve(x, h, length=16), (x, h))


def test_bad_input():
    with pytest.raises(TypeError, match="x must be a floating-point"):
        fftconvolve(torch.arange(4), torch.ones(2))
    with pytest.raises(ValueError, match="h must have a non-empty"):
        fftconvolve(torch.ones(4), torch.ones(0))
    with pytest.raises(ValueError, match="length must be in"):
        fftconvolve(torch.ones(4), torch.ones(2), length=9)


@pytest.mark.parametrize(("n_in", "n_out"), [(441, 160), (440, 160), (160, 441), (300, 300)])
def test_fftresample_is_exact_for_bandlimited_periodic_signals(n_in, n_out):
    """A periodic signal whose harmonics lie below both Nyquist frequencies is resampled
    exactly by Fourier interpolation (1e-12 relative: FFT rounding only)."""
    harmonics = [(1, 0.3), (5, 1.1), (17, 2.0), (60, 0.7)]

    def signal(n):
        t = np.arange(n) / n
        return sum(np.cos(2 * np.pi * k * t + ph) for k, ph in harmonics)

    y = fftresample(torch.from_numpy(np.stack([signal(n_in), 2 * signal(n_in)])), n_out).numpy()
    ref = np.stack([signal(n_out), 2 * signal(n_out)])
    assert y.shape == (2, n_out)
    assert np.abs(y - ref).max() / np.abs(ref).max() <= 1e-12


def test_fftresample_complex_and_bad_input():
    x = torch.exp(2j * torch.pi * 3 * torch.arange(64, dtype=torch.float64) / 64)
    y = fftresample(x, 48)
    ref = torch.exp(2j * torch.pi * 3 * torch.arange(48, dtype=torch.float64) / 48)
    assert float((y - ref).abs().max()) <= 1e-12
    with pytest.raises(ValueError, match="length must be a non-negative integer"):
        fftresample(torch.ones(8), -1)
