"""Learnable models and stages survive aggressive training (issue #19).

Every learnable model trains 200 Adam steps at lr 1e-2 on a loss that pushes every
parameter hard (maximise the output energy and every raw parameter) without an error
and with a finite loss: learnable centre frequencies and cut-offs cannot leave
``(0, fs/2)`` (a bounded map, the identity at initialisation), and the learnable FIR
taps of the ear filters move in units of their rms, not of 1. Signals are short and
channels few, so that the whole module runs in well under a minute on two cores.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from torch_amt import MODELS, stages
from torch_amt.stages._bounded import LOW_RATIO, bounded_frequency, frequency_ceiling

FS = 16000.0
STEPS = 200
LR = 1e-2

# channels high up, so that the frequencies are pushed against fs/2
MODEL_CONFIGS = {"king2019": {"basef": 5000.0}, "jepsen2008": {"flow": 5000.0, "fhigh": 5300.0},
                 "relanoiborra2019": {"flow": 5000.0, "fhigh": 6000.0, "fcnt": 2}}
"""Keyword arguments of each model (default ``flow=5000, fhigh=6000``: two channels)."""

STAGES = {
    "GammatoneFilterbank": lambda: stages.GammatoneFilterbank(FS, fc=[300.0, 6000.0],
                                                              learnable=True),
    "DRNLFilterbank": lambda: stages.DRNLFilterbank(FS, fc=[300.0, 5000.0], learnable=True),
    "ButterworthFilter": lambda: stages.ButterworthFilter(FS, 3000.0, 2, "low",
                                                          learnable=True),
    "HeadphoneFilter": lambda: stages.HeadphoneFilter(FS, order=64, learnable=True),
    "MiddleEarFilter": lambda: stages.MiddleEarFilter(FS, order=64, learnable=True),
}


def _outputs(y) -> list[torch.Tensor]:
    return [y] if isinstance(y, torch.Tensor) else [t for v in y for t in _outputs(v)]


def _train(module: torch.nn.Module, x: torch.Tensor, sign: float = 1.0) -> float:
    """``STEPS`` Adam steps maximising the output energy and ``sign`` x every parameter."""
    opt = torch.optim.Adam(module.parameters(), lr=LR)
    loss = torch.zeros(())
    for _ in range(STEPS):
        opt.zero_grad()
        energy = sum(t.square().mean() for t in _outputs(module(x)))
        loss = -energy - sign * sum(p.sum() for p in module.parameters())
        loss.backward()
        opt.step()
    return float(loss.detach())


def _model(name: str) -> torch.nn.Module:
    kwargs = MODEL_CONFIGS.get(name, {"flow": 5000.0, "fhigh": 6000.0})
    return MODELS[name](FS, learnable=True, **kwargs)


def _in_range(f: torch.Tensor) -> bool:
    return bool(((f > 0) & (f < FS / 2)).all())


@pytest.mark.parametrize("name", list(MODELS))
def test_every_learnable_model_trains_200_adam_steps(name):
    assert "learnable" in inspect.signature(MODELS[name]).parameters
    model = _model(name)
    x = torch.randn(320, generator=torch.Generator().manual_seed(0)) * 0.1
    assert math.isfinite(_train(model, x))
    assert _in_range(model.filterbank.fc if name != "jepsen2008"
                     else model.drnl.channel_values()["nlin_fc_before"])


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("name", list(STAGES))
def test_learnable_stages_train_200_adam_steps(name, sign):
    module = STAGES[name]()
    x = torch.randn(2, 160, generator=torch.Generator().manual_seed(1)) * 0.1
    assert math.isfinite(_train(module, x, sign))
    if name == "GammatoneFilterbank":
        assert _in_range(module.fc)
    elif name == "DRNLFilterbank":
        assert all(_in_range(v) for k, v in module.channel_values().items()
                   if k in stages.drnl.FREQUENCY_QUANTITIES)
    elif name == "ButterworthFilter":
        assert _in_range(module.cutoff)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", list(STAGES))
def test_learnable_equals_fixed_design_at_initialisation(name, dtype):
    learnable = STAGES[name]().to(dtype)
    source = inspect.getsource(STAGES[name]).replace("learnable=True", "learnable=False")
    fixed = eval(source[source.index("lambda"):].rstrip().rstrip(","))().to(dtype)  # noqa: S307
    x = torch.randn(2, 400, generator=torch.Generator().manual_seed(2), dtype=dtype)
    with torch.no_grad():
        assert torch.equal(learnable(x), fixed(x))


@pytest.mark.parametrize("name", ["HeadphoneFilter", "MiddleEarFilter"])
def test_ear_filter_taps_move_in_units_of_their_rms(name):
    """Raw middle-ear taps have an rms of ~1e-5: a step of lr 1e-2 on them replaced the
    filter by noise. In the rms units of ``b_delta`` one Adam step moves a tap by about
    lr·rms."""
    module = getattr(stages, name)(FS, learnable=True)
    rms = float(module.b.square().mean().sqrt())
    before = module.taps().detach().clone()
    opt = torch.optim.Adam(module.parameters(), lr=LR)
    x = torch.randn(1, 400, generator=torch.Generator().manual_seed(3))
    module(x).square().sum().backward()
    opt.step()
    step = (module.taps().detach() - before).abs().max()
    assert 0 < float(step) <= 1.01 * LR * rms


def test_bounded_frequency_map():
    f0 = torch.tensor([20.0, 1000.0, 7000.0, 7999.0], dtype=torch.float64)
    zero = torch.zeros(4, dtype=torch.float32, requires_grad=True)
    assert torch.equal(bounded_frequency(f0, zero, FS), f0)  # the fixed design, bit for bit
    bounded_frequency(f0, zero, FS).sum().backward()
    torch.testing.assert_close(zero.grad, f0.float())  # d f / d theta = f0: like f0·exp(θ)
    for value in (1e6, 40.0, -40.0, -1e6):
        theta = torch.full((4,), value, requires_grad=True)
        f = bounded_frequency(f0, theta, FS)
        assert _in_range(f) and bool((f >= f0 * LOW_RATIO * (1 - 1e-12)).all())
        assert bool((f <= frequency_ceiling(f0, FS) * (1 + 1e-12)).all())
        f.sum().backward()
        assert bool(torch.isfinite(theta.grad).all())
