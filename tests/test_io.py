"""Tests of torch_amt.io: reading sound files, resampling, levels, the demo sound."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import soundfile
import torch

from torch_amt.io import (
    MixdownWarning,
    ResampleWarning,
    demo_sound,
    load_audio,
    resample,
    set_level,
)
from torch_amt.levels import dbspl, setdbspl


@pytest.fixture
def pcm16_stereo(tmp_path):
    data = np.array([[-32768, 100], [32767, -200], [0, 300], [16384, -400]], dtype=np.int16)
    path = tmp_path / "stereo16.wav"
    soundfile.write(path, data, 16000, subtype="PCM_16")
    return path, data


def test_int16_conversion_is_exact(pcm16_stereo):
    path, data = pcm16_stereo
    x, fs = load_audio(path, channel=0)
    assert fs == 16000.0
    assert x.dtype == torch.float64 and x.shape == (4,)
    assert x[0].item() == -1.0
    assert x[1].item() == 1 - 2.0**-15
    assert x[3].item() == 0.5
    assert torch.equal(x, torch.from_numpy(data[:, 0] / 32768.0))


def test_channel_selection_and_mix(pcm16_stereo):
    path, data = pcm16_stereo
    right, _ = load_audio(path, channel=1)
    last, _ = load_audio(path, channel=-1)
    mix, _ = load_audio(path)
    expected_right = torch.tensor([100.0, -200.0, 300.0, -400.0], dtype=torch.float64) / 32768
    assert torch.equal(right, expected_right)
    assert torch.equal(last, right)
    assert torch.allclose(mix, torch.from_numpy(data.astype(np.float64).mean(1) / 32768),
                          rtol=0, atol=1e-15)


def test_float_and_24bit_files(tmp_path):
    values = np.array([0.25, -0.5, 0.125, 0.0, 0.75])
    path = tmp_path / "float.wav"
    soundfile.write(path, values, 22050, subtype="FLOAT")
    x, fs = load_audio(path)
    assert fs == 22050.0 and torch.equal(x, torch.from_numpy(values))
    path24 = tmp_path / "pcm24.flac"
    soundfile.write(path24, values, 8000, subtype="PCM_24")
    x24, _ = load_audio(path24)
    assert torch.equal(x24, torch.from_numpy(values))  # exact multiples of 2**-23


def test_bad_channel_names_the_file(pcm16_stereo):
    path, _ = pcm16_stereo
    with pytest.raises(ValueError, match=r"channel 2 does not exist in .*stereo16\.wav.*2 channel"):
        load_audio(path, channel=2)
    with pytest.raises(ValueError, match="'mix' or a channel index"):
        load_audio(path, channel="left")


def test_missing_and_unreadable_files(tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        load_audio(missing)
    junk = tmp_path / "junk.wav"
    junk.write_text("this is not audio")
    with pytest.raises(ValueError, match=r"cannot read audio from .*junk\.wav"):
        load_audio(junk)
    with pytest.raises(ValueError, match="directory"):
        load_audio(tmp_path)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0), 8000)
    with pytest.raises(ValueError, match="no samples"):
        load_audio(empty)


def test_resample_length_and_tone():
    fs_in, fs_out = 44100, 16000
    t = torch.arange(4410, dtype=torch.float64) / fs_in
    x = torch.sin(2 * math.pi * 440 * t)
    y = resample(x, fs_in, fs_out)
    assert y.shape == (1600,) and y.dtype == torch.float64
    t_out = torch.arange(1600, dtype=torch.float64) / fs_out
    inner = slice(100, 1500)  # away from the filter's edge transients
    assert torch.allclose(y[inner], torch.sin(2 * math.pi * 440 * t_out)[inner], atol=1e-3)
    batch = resample(torch.randn(3, 1000, dtype=torch.float32), 48000, 44100)
    assert batch.shape == (3, 919) and batch.dtype == torch.float32
    assert resample(x, 8000, 8000) is x


def test_resample_rejects_bad_rates():
    with pytest.raises(ValueError, match="fs_out"):
        resample(torch.zeros(10), 8000, -1)
    with pytest.raises(ValueError, match="ratio"):
        resample(torch.zeros(10), 8000, 8000 * math.pi)


def test_load_audio_resamples_and_says_so(pcm16_stereo):
    path, _ = pcm16_stereo
    with pytest.warns(ResampleWarning, match="16000 Hz to 8000 Hz"):
        x, fs = load_audio(path, fs=8000)
    assert fs == 8000.0 and x.shape == (2,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_audio(path, fs=16000)


def test_set_level():
    x = torch.randn(2, 500, dtype=torch.float64)
    y = set_level(x, 70.0, dboffset=100.0)
    assert torch.allclose(dbspl(y, 100.0), torch.tensor([70.0, 70.0], dtype=torch.float64),
                          rtol=0, atol=1e-12)
    assert torch.allclose(y[0] / x[0], (y[0] / x[0])[0].expand(500))
    torch.testing.assert_close(y, setdbspl(x, 70.0, dboffset=100.0), rtol=0, atol=0)
    assert torch.equal(set_level(x, -math.inf), torch.zeros_like(x))
    with pytest.raises(ValueError, match="silent"):
        set_level(torch.zeros(10), 60.0)
    with pytest.raises(ValueError, match="level"):
        set_level(x, float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        set_level(torch.tensor([1.0, math.nan]), 60.0)


def test_demo_sound():
    fs = 16000
    x = demo_sound(fs, 1.0, level_db=65.0, dboffset=100.0)
    assert x.shape == (16000,) and x.dtype == torch.float64
    tone, gap, noise = x[:9600], x[9600:11200], x[11200:14400]
    assert torch.all(gap == 0) and torch.all(x[14400:] == 0)
    ramp = round(0.01 * fs)
    # the level is set before the ramps: the steady part is at 65 dB SPL within the ramp loss
    assert abs(dbspl(tone[ramp:-ramp], 100.0).item() - 65.0) < 0.3
    assert abs(dbspl(noise[ramp:-ramp], 100.0).item() - 65.0) < 0.3
    assert tone[0] == 0 and abs(tone[1].item()) < 1e-3
    spectrum = torch.fft.rfft(tone).abs()
    freqs = torch.fft.rfftfreq(tone.numel(), 1 / fs)
    peaks = freqs[torch.topk(spectrum, 3).indices].sort().values
    assert torch.allclose(peaks, torch.tensor([992.0, 1000.0, 1008.0]), atol=2)  # SAM at 8 Hz
    assert torch.equal(demo_sound(fs, 1.0), demo_sound(fs, 1.0))
    with pytest.raises(ValueError, match="too short"):
        demo_sound(fs, 1e-4)
    with pytest.raises(ValueError, match="carrier_hz"):
        demo_sound(1500)


def test_cancelling_mixdown_warns_once_and_only_then(tmp_path):
    tone = 0.3 * np.sin(2 * np.pi * 500 * np.arange(1600) / 16000)
    path = tmp_path / "antiphase.wav"
    soundfile.write(path, np.stack([tone, -0.99 * tone], 1), 16000, subtype="FLOAT")
    with pytest.warns(MixdownWarning, match="46 dB below its loudest channel") as record:
        load_audio(path)
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_audio(path, channel=0)  # one channel: nothing mixed
        soundfile.write(path, np.stack([tone, tone], 1), 16000, subtype="FLOAT")
        load_audio(path)  # channels in phase


def test_all_channels_for_a_binaural_model(pcm16_stereo):
    path, data = pcm16_stereo
    x, fs = load_audio(path, channel="all")
    assert x.shape == (2, 4) and fs == 16000.0
    assert torch.equal(x, torch.from_numpy(data.T / 32768.0))
