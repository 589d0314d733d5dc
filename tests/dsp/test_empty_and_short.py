"""Empty batches and very short signals at the entry points of ``torch_amt.dsp`` (issue #19).

* A zero-size leading (batch) axis gives a correctly shaped empty output everywhere; the
  FFT-based functions used to fail with an MKL error ("Inconsistent configuration
  parameters") while the recursive filters returned empty outputs.
* ``fftresample(x, 0)`` returns an empty time axis: a model resampling a 1-sample
  44.1 kHz signal to 16 kHz asks for ``round(1·16000/44100) = 0`` samples (``King2019``
  raised about an internal ``length`` argument), and the recursive filters after it
  take an empty time axis as they do everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from torch_amt.dsp import (
    fftconvolve,
    fftresample,
    hilbert,
    lfilter,
    lfilter_double_double,
    lfilter_envelope,
    sosfilt,
)
from torch_amt.dsp.adaptloop import adaptloop_recurrence

F64 = torch.float64


def _adaptloop(x: torch.Tensor) -> torch.Tensor:
    ones = torch.ones(1, 2, dtype=F64)
    return adaptloop_recurrence(x.reshape(-1, x.shape[-1]), 0.9 * ones, 0.1 * ones, ones,
                                2 * ones, -ones, 0 * ones, True).reshape(x.shape)


def _envelope(x: torch.Tensor) -> torch.Tensor:
    b = torch.tensor([[0.3, 0.1j], [0.2, 0.0]], dtype=torch.complex128)
    a = torch.tensor([[1.0, -0.5 + 0.1j], [1.0, -0.3]], dtype=torch.complex128)
    return lfilter_envelope(x[..., None, :], b, a, torch.tensor([0, 0]),
                            torch.tensor([False, True]))


#: entry point -> (function of x (..., T), output shape for input shape (..., T))
ENTRY_POINTS: dict[str, tuple[Callable, Callable]] = {
    "lfilter": (lambda x: lfilter(x, [0.5, 0.2], [1.0, -0.5]), lambda s: s),
    "sosfilt": (lambda x: sosfilt(x, [[1.0, 0.2, 0.0, 1.0, -0.5, 0.1]]), lambda s: s),
    "lfilter_envelope": (_envelope, lambda s: (*s[:-1], 2, s[-1])),
    "adaptloop_recurrence": (_adaptloop, lambda s: s),
    "fftresample": (lambda x: fftresample(x, 7), lambda s: (*s[:-1], 7)),
    "fftresample_complex": (lambda x: fftresample(x.to(torch.complex128), 7),
                            lambda s: (*s[:-1], 7)),
    "fftconvolve": (lambda x: fftconvolve(x, torch.ones(3, dtype=F64)),
                    lambda s: (*s[:-1], s[-1] + 2)),
    "fftconvolve_length": (lambda x: fftconvolve(x, torch.ones(3, dtype=F64), 4),
                           lambda s: (*s[:-1], 4)),
    "hilbert": (hilbert, lambda s: s),
    "hilbert_n": (lambda x: hilbert(x, 12), lambda s: (*s[:-1], 12)),
    "lfilter_double_double": (lambda x: lfilter_double_double(x, [0.5], [1.0, -0.5]),
                              lambda s: s),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("shape", [(0, 9), (0, 3, 9), (3, 0, 9)])
def test_empty_batch_gives_an_empty_output(entry, shape):
    function, out_shape = ENTRY_POINTS[entry]
    y = function(torch.randn(shape, dtype=F64))
    assert tuple(y.shape) == tuple(out_shape(shape))
    assert y.numel() == 0


def test_empty_batch_of_coefficients_in_fftconvolve():
    y = fftconvolve(torch.randn(9, dtype=F64), torch.ones(0, 3, dtype=F64))
    assert y.shape == (0, 11)
    assert y.dtype == F64


@pytest.mark.parametrize("n_in", [1, 2, 3, 7])
def test_fftresample_to_zero_samples_is_an_empty_time_axis(n_in):
    x = torch.randn(2, n_in, dtype=F64, requires_grad=True)
    y = fftresample(x, 0)
    assert y.shape == (2, 0)
    assert y.dtype == F64
    # the recursive filters downstream take the empty time axis
    assert lfilter(y, [1.0], [1.0, -0.5]).shape == (2, 0)


@pytest.mark.parametrize("n_in", [1, 2, 3])
def test_fftresample_of_very_short_signals(n_in):
    """1-3 samples at 44.1 kHz to 16 kHz (what King2019 asks for): 0 or 1 samples, the
    mean of the signal when one sample is kept (the DC bin, rescaled)."""
    x = torch.randn(2, n_in, dtype=F64)
    length = round(n_in * 16000 / 44100)
    y = fftresample(x, length)
    assert y.shape == (2, length)
    if length:
        torch.testing.assert_close(y[:, 0], x.mean(-1))
    else:
        assert n_in == 1


def test_fftresample_refuses_negative_lengths_and_empty_signals():
    with pytest.raises(ValueError, match="length must be a non-negative integer"):
        fftresample(torch.ones(4), -1)
    with pytest.raises(ValueError, match="x must have a non-empty last"):
        fftresample(torch.ones(2, 0), 3)
    assert fftresample(torch.ones(2, 0), 0).shape == (2, 0)
