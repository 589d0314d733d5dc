"""Interval generators: levels, interaural configuration, band limits, seeding."""

from __future__ import annotations

import math

import pytest
import torch

from torch_amt.experiments import AMNoise, Breebaart2001Signal, bandpass_noise
from torch_amt.experiments.signals import hann_ramps


def db(x: torch.Tensor) -> torch.Tensor:
    return 20 * torch.log10(x.square().mean(-1).sqrt()) + 100


def test_breebaart2001_n0spi_intervals():
    fs, fc = 32000.0, 500.0
    sig = Breebaart2001Signal(fs, fc, 100.0, noise_level=65.0)
    x = sig(torch.tensor([60.0, 50.0], dtype=torch.float64), 3,
            torch.Generator().manual_seed(0))
    assert x.shape == (2, 3, 2, 12800)
    assert torch.allclose(db(x[:, 1:]), torch.tensor(65.0, dtype=torch.float64))
    assert torch.equal(x[:, 1:, 0], x[:, 1:, 1])  # N0 references
    tone = (x[:, 0, 0] - x[:, 0, 1]) / 2  # the diotic noise cancels, Spi tone remains
    on = tone[:, 1600:1600 + 9600]
    assert torch.allclose(db(on), torch.tensor([60.0, 50.0], dtype=torch.float64))
    assert tone[:, :1600].abs().max() == 0 and tone[:, -1600:].abs().max() == 0


def test_bandpass_noise_band_and_seed():
    g = torch.Generator().manual_seed(3)
    x = bandpass_noise((4,), 16000.0, 8000, 1000.0, 200.0, g)
    spectrum = torch.fft.rfft(x).abs().square().mean(0)
    f = torch.arange(spectrum.numel()) * 2.0
    assert spectrum[(f < 890) | (f > 1110)].max() < 1e-20
    assert torch.allclose(x.square().mean(-1), torch.ones(4, dtype=torch.float64))
    again = bandpass_noise((4,), 16000.0, 8000, 1000.0, 200.0, torch.Generator().manual_seed(3))
    assert torch.equal(x, again)
    with pytest.raises(ValueError, match="no FFT bin"):
        bandpass_noise((1,), 16000.0, 100, 9000.0, 100.0, g)  # above fs/2


def test_am_noise_and_ramps():
    sig = AMNoise(16000.0, fm=16.0, duration=0.25, level=60.0)
    x = sig(torch.tensor([0.0]), 3, torch.Generator().manual_seed(1))
    assert x.shape == (1, 3, 4000)
    assert torch.allclose(db(x), torch.tensor(60.0, dtype=torch.float64))
    env = hann_ramps(10, 3)
    assert env[0] == 0 and env[3] == 1 and abs(float(env[1]) - 0.25) < 1e-12
    assert math.isclose(float(env[-1]), 0.25, abs_tol=1e-12)  # falling: 0.5 + 0.5 cos(2 pi / 3)
    with pytest.raises(ValueError, match="do not fit"):
        hann_ramps(4, 3)
