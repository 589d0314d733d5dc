"""optimal_detector / unit_template / OptimalDetector (AMT 1.4.0 optimaldetector)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_amt.decision import OptimalDetector, optimal_detector, unit_template


def test_matches_amt_formula():
    rng = np.random.default_rng(0)
    ir, template = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    expected = np.mean(ir.ravel() * template.ravel()) * np.sqrt(ir.size)  # AMT's statement
    got = optimal_detector(torch.from_numpy(ir), torch.from_numpy(template))
    assert got.shape == () and abs(float(got) - expected) < 1e-12


def test_batch_dimensions_and_template_self_correlation():
    template = unit_template(torch.rand(4, 20, dtype=torch.float64) + 1,
                             torch.zeros(4, 20, dtype=torch.float64))
    assert abs(float(template.square().sum()) - 1) < 1e-12
    ir = torch.randn(2, 5, 4, 20, dtype=torch.float64)
    out = optimal_detector(ir, template)
    assert out.shape == (2, 5)
    assert torch.allclose(out[1, 3], optimal_detector(ir[1, 3], template))
    # a unit-energy template against itself: 1 / sqrt(N)
    assert abs(float(optimal_detector(template, template)) - 1 / np.sqrt(80)) < 1e-12


def test_errors():
    t = torch.ones(3, 4)
    with pytest.raises(ValueError, match="trailing dimensions"):
        optimal_detector(torch.ones(3, 5), t)
    with pytest.raises(TypeError, match="ir must be a torch.Tensor"):
        optimal_detector(np.ones((3, 4)), t)
    with pytest.raises(TypeError, match="real floating-point"):
        optimal_detector(torch.ones(3, 4, dtype=torch.int64), t)
    with pytest.raises(ValueError, match="0/0"):
        unit_template(t, t.clone())
    with pytest.raises(ValueError, match="same shape"):
        unit_template(t, torch.ones(4, 3))
    with pytest.raises(ValueError, match="noise_std"):
        OptimalDetector(t, t, noise_std=-1.0)


def test_gradcheck():
    ir = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    t = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(optimal_detector, (ir, t))
    a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(unit_template, (a, b))


def test_listener_picks_the_signal_and_is_reproducible():
    ref = torch.zeros(2, 30, dtype=torch.float64)
    sig = torch.zeros(2, 30, dtype=torch.float64)
    sig[0, 10:20] = 1.0
    listener = OptimalDetector(unit_template(sig, ref), ref, noise_std=0.01)
    trials = torch.stack([ref + 0.001 * torch.randn(2, 30, dtype=torch.float64)
                          for _ in range(3)])
    trials[2] += sig  # the signal in interval 2
    batch = trials.expand(8, 3, 2, 30)
    assert listener(batch, noise=torch.zeros(8, 3, dtype=torch.float64)).tolist() == [2] * 8
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    noisy = OptimalDetector(unit_template(sig, ref), ref, noise_std=10.0)
    assert torch.equal(noisy(batch, generator=g1), noisy(batch, generator=g2))
    # injected noise decides when it dominates: the largest draw wins
    noise = torch.zeros(8, 3, dtype=torch.float64)
    noise[:, 0] = 100.0
    assert noisy(batch, noise=noise).tolist() == [0] * 8
    with pytest.raises(ValueError, match="noise must have shape"):
        noisy(batch, noise=torch.zeros(3))
