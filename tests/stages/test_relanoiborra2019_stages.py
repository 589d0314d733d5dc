"""The sCASP stages: RelanoIborra2019DRNL, InternalNoise, RelanoIborra2019ModulationFilterbank
(exactness against AMT is checked by the relanoiborra2019 family validation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

from torch_amt.functional.relanoiborra2019 import (
    BROADBAND_COMPENSATION,
    INTERNAL_NOISE_LEVELS,
    relanoiborra2019_drnl_channel,
    relanoiborra2019_mfbtd,
)
from torch_amt.stages import (
    InternalNoise,
    RelanoIborra2019DRNL,
    RelanoIborra2019ModulationFilterbank,
)
from torch_amt.stages.relanoiborra2019_drnl import relanoiborra2019_highest_fc

FS = 16000.0


def _drnl_scipy(x: np.ndarray, cf: float, fs: float, subject: str) -> np.ndarray:
    """An independent transcription of AMT's relanoiborra2019_drnl (scipy.signal.lfilter)."""
    p = relanoiborra2019_drnl_channel(cf, subject)

    def gt(fc, bw):
        theta, phi = 2 * np.pi * fc / fs, 2 * np.pi * bw / fs
        alpha = -np.exp(-phi) * np.cos(theta)
        b1, b2 = 2 * alpha, np.exp(-2 * phi)
        z = np.exp(-1j * theta)  # unit gain of the 2-pole/1-zero section at fc
        a0 = abs((1 + b1 * z + b2 * z * z) / (1 + alpha * z))
        return [a0, alpha * a0], [1, b1, b2]

    def lp(fc):
        return scipy.signal.butter(2, fc / (fs / 2))

    lin = x * p["lin_gain"]
    for _ in range(3):
        lin = scipy.signal.lfilter(*gt(p["lin_fc"], p["lin_bw"]), lin)
    for _ in range(4):
        lin = scipy.signal.lfilter(*lp(p["lin_lp_cutoff"]), lin)
    nl = x
    for _ in range(3):
        nl = scipy.signal.lfilter(*gt(p["nlin_fc"], p["nlin_bw"]), nl)
    nl = np.sign(nl) * np.minimum(p["a"] * np.abs(nl), p["b"] * np.abs(nl) ** p["c"])
    for _ in range(3):
        nl = scipy.signal.lfilter(*gt(p["nlin_fc"], p["nlin_bw"]), nl)
    for _ in range(3):
        nl = scipy.signal.lfilter(*lp(p["nlin_lp_cutoff"]), nl)
    return lin + nl


@pytest.mark.parametrize("subject", ["NH", "HIx"])
def test_drnl_matches_an_independent_transcription(subject):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(800) * 0.02  # Pa
    stage = RelanoIborra2019DRNL(FS, fc=[250.0, 1200.0, 4000.0], subject=subject,
                                 dtype=torch.float64)
    y = stage(torch.from_numpy(x)).numpy()
    for k, cf in enumerate([250.0, 1200.0, 4000.0]):
        ref = _drnl_scipy(x, cf, FS, subject)
        assert np.max(np.abs(y[k] - ref)) <= 1e-9 * np.max(np.abs(ref))


def test_drnl_parameters_and_profiles():
    nh_800, nh_1200 = (relanoiborra2019_drnl_channel(f, "NH") for f in (800.0, 1200.0))
    assert nh_1200["a"] == pytest.approx(10 ** (1.40298 + 0.81916 * math.log10(1500)))
    assert nh_800["a"] == pytest.approx(10 ** 1.40298 * 800 ** 0.81916)
    assert nh_800["c"] == pytest.approx(0.25, rel=1e-5)
    assert relanoiborra2019_drnl_channel(1200.0, "HIx")["a"] == 0.0
    x = torch.randn(2, 400, dtype=torch.float64) * 0.05
    hi = RelanoIborra2019DRNL(FS, fc=[1000.0], subject="HIx", dtype=torch.float64)
    nh = RelanoIborra2019DRNL(FS, fc=[1000.0], subject="NH", dtype=torch.float64)
    # HIx has no compressive path: the bank is linear; NH is not
    scale = float(hi(x).abs().max())
    torch.testing.assert_close(hi(10 * x), 10 * hi(x), rtol=0, atol=1e-12 * scale)
    assert not torch.allclose(nh(10 * x), 10 * nh(x), rtol=1e-3)


def test_drnl_channels_and_errors():
    stage = RelanoIborra2019DRNL(22050.0, fcnt=6)
    assert stage.fc.shape == (6,) and float(stage.fc[0]) == 100.0
    assert float(stage.fc[-1]) == 8000.0
    assert stage(torch.zeros(3, 50)).shape == (3, 6, 50)
    assert stage(torch.zeros(50)).shape == (6, 50)
    top = relanoiborra2019_highest_fc(16000.0)
    assert 7000 < top < 8000 and float(RelanoIborra2019DRNL(16000.0, fhigh=None).fc[-1]) <= top
    with pytest.raises(ValueError, match="too high"):
        RelanoIborra2019DRNL(16000.0, fhigh=8000.0)
    aliased = RelanoIborra2019DRNL(16000.0, fhigh=8000.0, fcnt=3, above_nyquist=True)
    assert bool(torch.isfinite(aliased(torch.randn(200) * 0.05)).all())  # as AMT computes
    with pytest.raises(ValueError, match="subject"):
        RelanoIborra2019DRNL(FS, subject="HI")
    with pytest.raises(ValueError, match="fcnt"):
        RelanoIborra2019DRNL(FS, fcnt=0)
    with pytest.raises(ValueError, match="fhigh"):
        RelanoIborra2019DRNL(FS, flow=2000.0, fhigh=1000.0)
    with pytest.raises(ValueError, match="x"):
        stage(torch.zeros(2, 3, 4, 0))


def test_drnl_gradcheck():
    stage = RelanoIborra2019DRNL(FS, fc=[2000.0], dtype=torch.float64)
    x = (torch.randn(24, dtype=torch.float64) * 0.05).requires_grad_()
    assert torch.autograd.gradcheck(stage, (x,), eps=1e-7, atol=1e-6, fast_mode=True)


def test_internal_noise_levels_seed_and_off_switch():
    x = torch.zeros(2, 3, 2000, dtype=torch.float64)
    stage = InternalNoise(3, seed=7)
    y = stage(x)
    levels = [lvl + BROADBAND_COMPENSATION for lvl in INTERNAL_NOISE_LEVELS[:3]]
    rms_db = 20 * torch.log10(torch.sqrt(torch.mean(y * y, dim=-1))) + 100
    torch.testing.assert_close(rms_db, torch.tensor([levels, levels], dtype=torch.float64))
    assert not torch.equal(y[0], y[1])  # every row draws its own noise
    stage.manual_seed(7)
    torch.testing.assert_close(stage(x), y, rtol=0, atol=0)  # reproducible
    assert not torch.equal(InternalNoise(3, seed=8)(x), y)
    g = torch.Generator().manual_seed(7)
    torch.testing.assert_close(InternalNoise(3)(x, generator=g), y, rtol=0, atol=0)
    off = InternalNoise(3, enabled=False)
    assert off(x) is x
    draws = torch.randn(3, 2000, dtype=torch.float64)
    added = stage(x, draws)[1] - x[1]
    expected = draws / draws.pow(2).mean(-1, keepdim=True).sqrt() * torch.tensor(
        [10 ** ((lvl - 100) / 20) for lvl in levels], dtype=torch.float64)[:, None]
    torch.testing.assert_close(added, expected, rtol=1e-12, atol=0)


def test_internal_noise_errors_and_gradcheck():
    with pytest.raises(ValueError, match="at most 60"):
        InternalNoise(61)
    assert InternalNoise(61, enabled=False)(torch.zeros(61, 4)).shape == (61, 4)
    with pytest.raises(ValueError, match="seed"):
        InternalNoise(2, seed=-1)
    stage = InternalNoise(2)
    with pytest.raises(ValueError, match="channels"):
        stage(torch.zeros(3, 10))
    with pytest.raises(ValueError, match="draws"):
        stage(torch.zeros(2, 10), torch.ones(2, 11))
    with pytest.raises(ValueError, match="zeros"):
        stage(torch.zeros(2, 10), torch.zeros(2, 10))
    draws = torch.randn(2, 12, dtype=torch.float64)
    x = torch.randn(2, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: stage(t, draws), (x,))


def test_mfbtd_filters_and_readout():
    fs = 8000.0
    bank = RelanoIborra2019ModulationFilterbank(fs, [500.0, 3000.0], dtype=torch.float64)
    mfc = bank.mfc
    assert mfc.shape == (12,) and mfc[:3].tolist() == [0.0, 5.0, 10.0]
    assert 990 < float(mfc[-1]) < 1000  # 1500 Hz is the limit, the last filter is 992 Hz
    x = torch.rand(2, 2, 1600, dtype=torch.float64)
    y = bank(x)
    assert y.shape == (2, 2, 12, 1600)
    # independent: scipy 150-Hz prefilter, Butterworth 2.5-Hz low-pass, complex one-poles
    pre = scipy.signal.lfilter(*scipy.signal.butter(1, 150 / (fs / 2)), x[1, 0].numpy())
    lp = scipy.signal.lfilter(*scipy.signal.butter(2, 2.5 / (fs / 2)), pre)
    np.testing.assert_allclose(y[1, 0, 0].numpy(), lp, rtol=1e-9, atol=1e-12)
    for m in (1, 5, 11):
        f = float(mfc[m])
        bw = 5.0 if f < 10 else f / 2
        e0 = np.exp(-np.pi * bw / fs)
        z = 2 * scipy.signal.lfilter([1 - e0], [1, -e0 * np.exp(2j * np.pi * f / fs)], pre)
        ref = z.real if f <= 10 else np.abs(z) / np.sqrt(2)
        np.testing.assert_allclose(y[1, 0, m].numpy(), ref, rtol=1e-9, atol=1e-12)
    raw, fmod = relanoiborra2019_mfbtd(x, fs, postprocess=False)
    assert raw.is_complex() and torch.equal(fmod, mfc)
    torch.testing.assert_close(raw[..., 6, :].abs() / math.sqrt(2), y[..., 6, :])
    assert bank(x[0]).shape == (2, 12, 1600)
    with pytest.raises(ValueError, match="channels"):
        bank(torch.zeros(3, 100))
    with pytest.raises(ValueError, match="too low"):
        RelanoIborra2019ModulationFilterbank(1500.0, [100.0])


def test_mfbtd_gradcheck():
    bank = RelanoIborra2019ModulationFilterbank(4000.0, [1000.0], dtype=torch.float64)
    x = (torch.rand(1, 24, dtype=torch.float64) + 0.5).requires_grad_()
    assert torch.autograd.gradcheck(bank, (x,), eps=1e-7, atol=1e-6, fast_mode=True)
