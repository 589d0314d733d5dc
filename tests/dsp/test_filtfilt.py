"""dsp.octave_filtfilt: GNU Octave's filtfilt (odd reflection of 3(n-1) samples,
steady-state initial conditions), checked against SciPy and a direct NumPy transcription."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
from torch.autograd import gradcheck

from torch_amt.dsp import octave_filtfilt

RNG = np.random.default_rng(3)


def _numpy_octave(b, a, x):
    """Octave's algorithm written out with scipy.signal.lfilter (1-D x)."""
    n = max(len(a), len(b))
    b = np.pad(np.asarray(b, float), (0, n - len(b)))
    a = np.pad(np.asarray(a, float), (0, n - len(a)))
    k = 3 * (n - 1)
    si = np.cumsum((b - b.sum() / a.sum() * a)[::-1])[::-1][1:]
    v = np.concatenate([2 * x[0] - x[k:0:-1], x, 2 * x[-1] - x[-2:-k - 2:-1]])
    v = scipy.signal.lfilter(b, a, v, zi=si * v[0])[0]
    v = scipy.signal.lfilter(b, a, v[::-1], zi=si * v[-1])[0][::-1]
    return v[k:k + len(x)]


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("n_t", [7, 13, 200])
def test_matches_octave_algorithm_and_scipy_with_octave_padding(order, n_t):
    b, a = scipy.signal.butter(order, 0.1)
    x = RNG.standard_normal((3, n_t))
    if n_t <= 3 * order:
        with pytest.raises(ValueError, match="longer than"):
            octave_filtfilt(torch.from_numpy(x), b, a)
        return
    y = octave_filtfilt(torch.from_numpy(x), b, a).numpy()
    expected = np.stack([_numpy_octave(b, a, row) for row in x])
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    scipy_y = scipy.signal.filtfilt(b, a, x, padtype="odd", padlen=3 * order)
    np.testing.assert_allclose(y, scipy_y, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_differs_from_scipys_default_padding():
    p = np.exp(-1 / (44100 * 0.03))
    x = np.abs(RNG.standard_normal(400)) ** 2
    y = octave_filtfilt(torch.from_numpy(x), [1 - p], [1, -p]).numpy()
    assert np.abs(y - scipy.signal.filtfilt([1 - p], [1, -p], x)).max() > 1e-6


def test_first_order_lowpass_keeps_a_constant():
    p = 0.9
    y = octave_filtfilt(torch.full((2, 50), 3.0, dtype=torch.float64), [1 - p], [1, -p])
    torch.testing.assert_close(y, torch.full_like(y, 3.0), rtol=1e-14, atol=0)


def test_float32_and_batch_shapes():
    x = torch.from_numpy(RNG.standard_normal((2, 3, 64)))
    y64 = octave_filtfilt(x, [0.2], [1, -0.8])
    y32 = octave_filtfilt(x.float(), [0.2], [1, -0.8])
    assert y32.dtype == torch.float32 and y32.shape == x.shape
    torch.testing.assert_close(y32.double(), y64, rtol=1e-5, atol=1e-5)


def test_gradcheck():
    x = torch.from_numpy(RNG.standard_normal(12)).requires_grad_(True)
    b = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([1.0, -0.6], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, b, a: octave_filtfilt(x, b, a), (x, b, a))


def test_bad_input():
    with pytest.raises(TypeError):
        octave_filtfilt(torch.zeros(10, dtype=torch.int64), [1.0], [1.0, -0.5])
    with pytest.raises(ValueError, match="non-zero"):
        octave_filtfilt(torch.zeros(10), [1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="longer than 3"):
        octave_filtfilt(torch.zeros(3), [1.0], [1.0, -0.5])
