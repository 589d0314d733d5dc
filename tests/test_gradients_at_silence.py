"""Gradients are finite at digital silence, for every public stage and every model.

A silent item of a batch (a zero-padded signal, a silent channel) must not poison the
gradients of the other items or of the shared parameters: every input and parameter
gradient is finite with one silent item and with an all-silent batch (issue #19: the
King2019 Hilbert-envelope readout gave NaN through its 0/0 rms ratio). Stage options
with their own silent-input branch (Hilbert and Bernstein IHC envelopes, the power-law
compressions, the King2019 readout) are covered as variants.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import torch_amt
from torch_amt import MODELS, stages
from torch_amt.functional.ihc import IHC_METHODS

FS = 16000.0
T = 640
FC = [500.0, 1000.0]

# public stage class -> (factory(learnable) -> stage, signal axes: 1 audio, 2 channels x time)
STAGES = {
    "AdaptLoop": (lambda L: stages.AdaptLoop(FS, learnable=L), 1),
    "ButterworthFilter": (lambda L: stages.ButterworthFilter(FS, 3.0, learnable=L), 1),
    "DRNLFilterbank": (lambda L: stages.DRNLFilterbank(FS, flow=500, fhigh=1500,
                                                       learnable=L), 1),
    "FastKing2019ModulationFilterbank": (
        lambda L: stages.FastKing2019ModulationFilterbank(FS, learnable=L), 2),
    "FastModulationFilterbank": (lambda L: stages.FastModulationFilterbank(FS, FC,
                                                                           learnable=L), 2),
    "GammatoneFilterbank": (lambda L: stages.GammatoneFilterbank(FS, flow=500, fhigh=1500,
                                                                 learnable=L), 1),
    "HeadphoneFilter": (lambda L: stages.HeadphoneFilter(FS, learnable=L), 1),
    "IHCEnvelope": (lambda L: stages.IHCEnvelope(FS), 1),
    "King2019Compression": (lambda L: stages.King2019Compression(learnable=L), 1),
    "King2019ModulationFilterbank": (lambda L: stages.King2019ModulationFilterbank(
        FS, learnable=L), 2),
    "MiddleEarFilter": (lambda L: stages.MiddleEarFilter(FS, learnable=L), 1),
    "ModulationFilterbank": (lambda L: stages.ModulationFilterbank(FS, FC, learnable=L), 2),
    "ModulationLowpass": (lambda L: stages.ModulationLowpass(FS, learnable=L), 1),
    "InternalNoise": (lambda L: stages.InternalNoise(2, seed=0), 2),
    "RelanoIborra2019DRNL": (lambda L: stages.RelanoIborra2019DRNL(FS, fc=FC), 1),
    "RelanoIborra2019ModulationFilterbank": (
        lambda L: stages.RelanoIborra2019ModulationFilterbank(FS, FC, learnable=L), 2),
}
VARIANTS = {  # options with a branch of their own at silence
    **{f"IHCEnvelope[{p}]": (lambda L, p=p: stages.IHCEnvelope(FS, p), 1)
       for p in IHC_METHODS},
    "King2019Compression[power]": (lambda L: stages.King2019Compression(
        "compression_power", [0.3, 0.5], learnable=L), 2),
    "King2019Compression[per-channel]": (lambda L: stages.King2019Compression(
        exponent=[0.3, 0.5], learnable=L), 2),
    "King2019ModulationFilterbank[lp150]": (lambda L: stages.King2019ModulationFilterbank(
        FS, lp150=True, learnable=L), 2),
    "DRNLFilterbank[jepsen2008]": (lambda L: stages.DRNLFilterbank(
        FS, "jepsen2008", flow=500, fhigh=1500, learnable=L), 1),
}
MODEL_CONFIGS = {"king2019": {"basef": 1000.0},
                 "relanoiborra2019": {"flow": 900.0, "fhigh": 1100.0, "fcnt": 2}}
"""Keyword arguments of each model (default: two channels, ``flow=900, fhigh=1100``)."""


def _public_stage_classes() -> list[str]:
    return [name for name in stages.__all__
            if inspect.isclass(getattr(stages, name))
            and issubclass(getattr(stages, name), torch.nn.Module)]


def test_every_public_stage_is_covered():
    assert sorted(_public_stage_classes()) == sorted(STAGES)


def _input(axes: int, silent: str, dtype: torch.dtype) -> torch.Tensor:
    x = torch.randn(2, T, generator=torch.Generator().manual_seed(0), dtype=dtype) * 0.05
    if axes == 2:  # envelopes of two channels
        x = x.abs()[:, None, :].repeat(1, 2, 1)
    if silent == "one item":
        x[1] = 0
    else:
        x.zero_()
    return x.requires_grad_(True)


def _outputs(y) -> list[torch.Tensor]:
    return [y] if isinstance(y, torch.Tensor) else [t for v in y for t in _outputs(v)]


def _assert_finite_gradients(module: torch.nn.Module, x: torch.Tensor) -> None:
    loss = sum((t * t).sum() + t.sum() for t in _outputs(module(x)))
    loss.backward()
    bad = [] if bool(torch.isfinite(x.grad).all()) else ["input"]
    bad += [name for name, p in module.named_parameters()
            if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
    assert not bad, f"non-finite gradients of {bad}"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("silent", ["one item", "all"])
@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("name", [*STAGES, *VARIANTS])
def test_stage_gradients_finite_at_silence(name, learnable, silent, dtype):
    make, axes = {**STAGES, **VARIANTS}[name]
    _assert_finite_gradients(make(learnable).to(dtype), _input(axes, silent, dtype))


def _model(name: str) -> torch.nn.Module:
    cls = MODELS[name]
    kwargs = MODEL_CONFIGS.get(name, {"flow": 900.0, "fhigh": 1100.0})
    if "learnable" in inspect.signature(cls).parameters:
        kwargs["learnable"] = True
    return cls(FS, **kwargs)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("silent", ["one item", "all"])
@pytest.mark.parametrize("name", list(MODELS))
def test_model_gradients_finite_at_silence(name, silent, dtype):
    _assert_finite_gradients(_model(name).to(dtype), _input(1, silent, dtype))


@pytest.mark.parametrize("silent", ["one item", "all"])
def test_king2019_family_shared_gradients_not_poisoned(silent):
    """The issue's case: ``King2019(16000, basef=1000, learnable=True)`` with ``x[1] = 0``;
    the parameter gradients of a batch with a silent item are those of the other item."""
    model = torch_amt.King2019(16000, basef=1000, learnable=True, dtype=torch.float64)
    x = _input(1, silent, torch.float64)
    _assert_finite_gradients(model, x)
    if silent == "one item":
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        alone = x.detach()[:1].requires_grad_(True)
        sum((t * t).sum() + t.sum() for t in _outputs(model(alone))).backward()
        for g, p in zip(grads, model.parameters(), strict=True):
            torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=0)
