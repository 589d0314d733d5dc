"""The sCASP correlation back end (torch_amt.decision.correlation); AMT's own values are
checked by the relanoiborra2019 family validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from torch_amt.decision.correlation import (
    EmptyCorrelationError,
    corr2,
    relanoiborra2019,
    relanoiborra2019_decision,
    relanoiborra2019_logistic,
    window_lengths,
)

FS = 1000.0
FC = [100.0, 400.0, 2000.0]
FMOD = [0.0, 5.0, 50.0]


def _reference(clean: np.ndarray, noisy: np.ndarray) -> tuple[np.ndarray, list]:
    """A loop transcription of relanoiborra2019_decision with np.corrcoef (F, M, T)."""
    n = clean.shape[-1]
    dint, columns = [], []
    for m, f in enumerate(FMOD):
        w = math.floor((1 / 2.5 if m == 0 else 1 / f) * FS)
        keep = [k for k, c in enumerate(FC) if c > 4 * f]
        count = n // w + 1 - (w == n)
        d = []
        for i in range(count):
            seg = slice(i * w, n if i == count - 1 else (i + 1) * w)
            a, b = clean[keep, m, seg].ravel(), noisy[keep, m, seg].ravel()
            d.append(max(np.corrcoef(a, b)[0, 1], 0.0))
        dint.append(np.nansum(d) / count)
        columns.append(d)
    return np.array(dint), columns


def test_decision_matches_a_loop_with_corrcoef():
    rng = np.random.default_rng(3)
    clean = rng.standard_normal((3, 3, 1030))
    noisy = clean + 2 * rng.standard_normal((3, 3, 1030))
    noisy[:, :, 500:520] *= -1  # some negative correlations
    out = relanoiborra2019_decision(torch.from_numpy(clean), torch.from_numpy(noisy), FS, FC,
                                    FMOD)
    dint, columns = _reference(clean, noisy)
    np.testing.assert_allclose(out["dint"].numpy(), dint, rtol=1e-12)
    assert out["dfinal"].item() == pytest.approx(dint.mean(), rel=1e-12)
    assert out["dsegments"].shape == (max(len(c) for c in columns), 3)
    for m, c in enumerate(columns):
        np.testing.assert_allclose(out["dsegments"][:len(c), m].numpy(), c, rtol=1e-12)
        assert not out["dsegments"][len(c):, m].any()  # zero padding
    assert (out["dsegments"] >= 0).all()
    batched = relanoiborra2019_decision(torch.from_numpy(np.stack([clean, clean])),
                                        torch.from_numpy(np.stack([noisy, clean])), FS, FC,
                                        FMOD)
    torch.testing.assert_close(batched["dint"][0], out["dint"])
    torch.testing.assert_close(batched["dint"][1], torch.ones(3, dtype=torch.float64))


def test_constant_windows_are_nan_and_left_out_of_the_sum():
    clean = torch.ones(3, 3, 450, dtype=torch.float64)
    clean[..., :400] = torch.randn(3, 3, 400, dtype=torch.float64)
    out = relanoiborra2019_decision(clean, clean.clone(), FS, FC, FMOD)
    assert torch.isnan(out["dsegments"][1, 0])  # the constant 50-sample leftover window
    assert out["dint"][0].item() == pytest.approx(1 / 2)  # 1 + NaN over 2 windows


def test_corr2_and_windows():
    a, b = torch.randn(5, 7, dtype=torch.float64), torch.randn(5, 7, dtype=torch.float64)
    assert corr2(a, b).item() == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    assert corr2(torch.ones(1, 1), torch.ones(1, 1)).item() == 1.0  # Octave: scalars
    with pytest.raises(EmptyCorrelationError):
        corr2(torch.ones(0, 3), torch.ones(0, 3))
    with pytest.raises(ValueError, match="same shape"):
        corr2(a, b[:4])
    assert window_lengths([0.0, 5.0, 992.29], 22050.0) == [8820, 4410, 22]
    x = torch.randn(2, 3, 3, 47, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 3, 3, 47, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda t: relanoiborra2019_decision(t, y, 100.0, FC, [0.0, 10.0, 20.0])["dint"], (x,))


def test_decision_errors():
    x = torch.randn(3, 3, 400, dtype=torch.float64)
    with pytest.raises(ValueError, match="same size"):
        relanoiborra2019_decision(x, x[..., :300], FS, FC, FMOD)
    with pytest.raises(ValueError, match="fc"):
        relanoiborra2019_decision(x, x, FS, FC[:2], FMOD)
    with pytest.raises(EmptyCorrelationError, match="leftover"):  # 400 = 2 x 200 (5 Hz)
        relanoiborra2019_decision(x, x, FS, FC, FMOD)
    with pytest.raises(EmptyCorrelationError, match="no channel"):
        relanoiborra2019_decision(x[..., :390], x[..., :390], FS, FC, [0.0, 5.0, 600.0])
    with pytest.raises(EmptyCorrelationError):
        relanoiborra2019_decision(x[..., :0], x[..., :0], FS, FC, FMOD)
    with pytest.raises(TypeError):
        relanoiborra2019_decision(x.numpy(), x, FS, FC, FMOD)


def test_model_comparison_and_logistic():
    fs = 12000.0
    t = torch.arange(1213, dtype=torch.float64) / fs
    token = 0.02 * torch.sin(2 * math.pi * 500 * t) * (1 + torch.sin(2 * math.pi * 8 * t))
    clean = torch.cat([token, token])
    noisy = clean + 0.02 * torch.randn(2426, dtype=torch.float64,
                                       generator=torch.Generator().manual_seed(0))
    out, c, n = relanoiborra2019(clean, noisy, fs, 1213, fcnt=4, fhigh=5000.0,
                                 internal_noise=False, dtype=torch.float64)
    same, _, _ = relanoiborra2019(clean, clean, fs, 1213, fcnt=4, fhigh=5000.0,
                                  internal_noise=False, dtype=torch.float64)
    assert c["mfb"].shape == (4, 12, 2426) and c["afb"].shape == (4, 2426)
    assert 0 < out["dfinal"].item() < same["dfinal"].item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_org"):
        relanoiborra2019(clean, noisy, fs, fcnt=4, fhigh=5000.0)
    with pytest.raises(ValueError, match="n_org"):
        relanoiborra2019(clean, noisy, fs, 2426, fcnt=4, fhigh=5000.0)
    assert relanoiborra2019_logistic(0.0, 1.0, 0.0).item() == 50.0
    assert relanoiborra2019_logistic(torch.tensor([0.9]), -20.0, 10.0).item() > 99
