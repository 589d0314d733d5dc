"""fir2 / minimum_phase against Octave semantics and AMT's designed filters."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.io as sio
import scipy.signal as ss
import torch

from tests.conftest import REFERENCE_DIR, missing_reference
from torch_amt.dsp.fir import fir2, hamming, interp1, minimum_phase

REF = str(REFERENCE_DIR)


def test_hamming_matches_scipy():
    np.testing.assert_allclose(hamming(513).numpy(), ss.get_window("hamming", 513, fftbins=False),
                               rtol=0, atol=1e-15)


def test_interp1_nodes_and_jump():
    x, y = [0.0, 0.5, 0.5, 1.0], [0.0, 1.0, 3.0, 2.0]
    np.testing.assert_allclose(interp1(x, y, [0.25, 0.5, 0.75, 1.0]), [0.5, 3.0, 2.5, 2.0])


def test_fir2_linear_phase_and_response():
    # an ideal low-pass: symmetric taps, |H| ~ 1 in the pass band, ~ 0 in the stop band
    b = fir2(100, [0, 0.4, 0.4, 1], [1, 1, 0, 0]).numpy()
    np.testing.assert_allclose(b, b[::-1], atol=1e-15)
    w, h = ss.freqz(b, 1, [0.1 * np.pi, 0.8 * np.pi])
    assert abs(abs(h[0]) - 1) < 5e-3 and abs(h[1]) < 5e-3


def test_fir2_odd_order_and_errors():
    assert fir2(31, [0, 1], [1, 1]).shape == (32,)
    with pytest.raises(ValueError, match="f must"):
        fir2(10, [0, 0.5], [1, 1])
    with pytest.raises(ValueError, match="same length"):
        fir2(10, [0, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="n must"):
        fir2(-1, [0, 1], [1, 1])


def test_minimum_phase_keeps_magnitude_and_concentrates_energy():
    b = fir2(64, [0, 0.3, 1], [1, 0.5, 0.1]).numpy()
    m = minimum_phase(b).numpy()
    np.testing.assert_allclose(np.abs(np.fft.fft(m)), np.abs(np.fft.fft(b)), rtol=1e-6)
    assert np.sum(m[:8] ** 2) > np.sum(b[:8] ** 2)


@pytest.mark.parametrize("fs", [16000, 44100])
def test_fir2_reproduces_amt_headphone_filter(fs):
    path = os.path.join(REF, f"filters__fs{fs}.mat")
    if not os.path.exists(path):
        missing_reference(f"AMT reference file {path} not found")
    d = sio.loadmat(path)
    data = d["hp_data_pralong1996"]
    if fs <= 20000:
        data = data[data[:, 0] < fs / 2]
    b = fir2(512, np.r_[0, data[:, 0] * 2 / fs, 1], np.r_[0, data[:, 1], 0]).numpy()
    ref = d["hp_b"][0]
    # ifft rounding (pocketfft vs Octave's FFTW) is the only difference: ~1e-16 relative
    assert np.abs(b - ref).max() / np.abs(ref).max() < 1e-14
    assert torch.is_tensor(fir2(512, [0, 1], [1, 1]))
