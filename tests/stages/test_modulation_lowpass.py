"""ModulationLowpass (AMT dau1996's final 20-ms low-pass) and its functional twin."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import scipy.signal
import torch
from torch.autograd import gradcheck

from torch_amt import ModulationLowpass
from torch_amt.functional.modulation_lowpass import (
    modulation_lowpass,
    modulation_lowpass_coefficients,
)

FS = 44100.0


def _signal(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64)


def test_coefficients_are_amts_expression():
    b, a = modulation_lowpass_coefficients(FS)
    pole = math.exp(-(1 / 0.02) / FS)  # AMT: mlp_a = exp(-(1/0.02)/fs)
    assert b.dtype == a.dtype == torch.float64
    assert b.tolist() == [1 - pole] and a.tolist() == [1.0, -pole]


def test_matches_scipy_lfilter_and_batches():
    x = _signal((2, 3, 500))
    stage = ModulationLowpass(FS, dtype=torch.float64)
    b, a = modulation_lowpass_coefficients(FS)
    ref = scipy.signal.lfilter(b.numpy(), a.numpy(), x.numpy(), axis=-1)
    y = stage(x)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-13, atol=1e-16)
    assert torch.equal(y[1, 2], stage(x[1, 2]))
    assert torch.equal(modulation_lowpass(x, FS), y)


def test_dc_gain_one_and_time_constant():
    stage = ModulationLowpass(FS, dtype=torch.float64)
    step = stage(torch.ones(int(FS), dtype=torch.float64))
    assert step[-1].item() == pytest.approx(1.0, abs=1e-12)
    # 1 - 1/e of the step reached after tau = 20 ms (882 samples at 44.1 kHz)
    assert step[881].item() == pytest.approx(1 - math.exp(-1), abs=1e-3)
    assert stage.cutoff == pytest.approx(1 / (2 * math.pi * 0.02))


def test_float32_signal_and_cast_keep_float64_design():
    stage = ModulationLowpass(FS).float()
    assert stage.b.dtype == stage.a.dtype == torch.float64
    x = _signal((4, 800))
    y32 = stage(x.float())
    y64 = ModulationLowpass(FS, dtype=torch.float64)(x)
    assert y32.dtype == torch.float32
    assert (y32.double() - y64).abs().max() / y64.abs().max() < 1e-6


def test_gradcheck_input_and_learnable_time_constant():
    stage = ModulationLowpass(8000.0, learnable=True, dtype=torch.float64)
    x = _signal((2, 40)).requires_grad_()
    assert gradcheck(stage, (x,), fast_mode=True)

    def by_log_tau(log_tau: torch.Tensor) -> torch.Tensor:
        s = copy.deepcopy(stage)
        del s.log_tau
        s.log_tau = log_tau
        return s(x.detach())

    log_tau = stage.log_tau.detach().clone().requires_grad_()
    assert gradcheck(by_log_tau, (log_tau,), fast_mode=True)


def test_learnable_time_constant_trains():
    target = ModulationLowpass(8000.0, tau=0.01, dtype=torch.float64)
    stage = ModulationLowpass(8000.0, learnable=True, dtype=torch.float64)
    x = _signal((2, 400))
    optimiser = torch.optim.Adam(stage.parameters(), lr=0.05)
    losses = []
    for _ in range(20):
        optimiser.zero_grad()
        loss = (stage(x) - target(x)).square().mean()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses) and losses[-1] < 0.5 * losses[0]
    assert float(stage.tau.detach()) < 0.02


def test_state_dict_and_repr():
    stage = ModulationLowpass(FS, tau=0.05)
    clone = ModulationLowpass(FS)
    clone.load_state_dict(stage.state_dict())
    x = _signal((300,)).float()
    assert torch.equal(clone(x), stage(x))
    assert "tau=0.05" in repr(stage) and "exp(-(1/0.05)/fs)" in stage.amt_equivalent()


@pytest.mark.parametrize(("kwargs", "match"), [({"tau": 0.0}, "tau"), ({"tau": -1.0}, "tau"),
                                                ({"learnable": 1}, "learnable")])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ModulationLowpass(FS, **kwargs)
    with pytest.raises(ValueError, match="fs"):
        ModulationLowpass(0.0)
