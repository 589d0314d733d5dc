"""Consistency properties of every stage and model (fast, parametrised, CPU).

- batched == looped per item, bit-identical on CPU;
- float32 ≈ float64 (stated tolerances);
- the linear stages are linear and time-invariant;
- causality of the causal stages/models (and the documented non-causality of the Hilbert
  envelope / FFT resampling in King2019, ``ihc_bernstein1999`` and the delay-compensated
  ear filters of Osses2021);
- nn.Sequential of the stages equals the model's own stage outputs;
- state_dict round trip, ``.to(dtype)`` / ``.to(device)`` round trip, determinism.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from torch_amt.models import Dau1996, Dau1997, Jepsen2008, King2019, Osses2021
from torch_amt.stages.adaptation import AdaptLoop
from torch_amt.stages.butterworth import ButterworthFilter
from torch_amt.stages.compression import King2019Compression
from torch_amt.stages.drnl import DRNLFilterbank
from torch_amt.stages.ears import HeadphoneFilter, MiddleEarFilter
from torch_amt.stages.gammatone import GammatoneFilterbank
from torch_amt.stages.ihc import IHCEnvelope
from torch_amt.stages.king2019_modfilterbank import (
    FastKing2019ModulationFilterbank,
    King2019ModulationFilterbank,
)
from torch_amt.stages.modfilterbank import (
    FastModulationFilterbank,
    ModulationFilterbank,
)
from torch_amt.stages.modulation_lowpass import ModulationLowpass

FS = 16000.0
T = 1200
FC3 = [500.0, 1000.0, 2000.0]

# name -> (factory(dtype, learnable) -> module, signal axes, can be learnable)
MODULES = {
    "GammatoneFilterbank": (lambda d, L: GammatoneFilterbank(FS, fhigh=4000, learnable=L,
                                                             dtype=d), 1),
    "DRNLFilterbank": (lambda d, L: DRNLFilterbank(FS, fhigh=4000, learnable=L, dtype=d), 1),
    "IHCEnvelope": (lambda d, L: IHCEnvelope(FS, dtype=d), 1),
    "AdaptLoop": (lambda d, L: AdaptLoop(FS, learnable=L, dtype=d), 1),
    "ButterworthFilter": (lambda d, L: ButterworthFilter(FS, 3.0, learnable=L, dtype=d), 1),
    "King2019Compression": (lambda d, L: King2019Compression(learnable=L, dtype=d), 1),
    "HeadphoneFilter": (lambda d, L: HeadphoneFilter(FS, learnable=L, dtype=d), 1),
    "MiddleEarFilter": (lambda d, L: MiddleEarFilter(FS, learnable=L, dtype=d), 1),
    "ModulationFilterbank": (lambda d, L: ModulationFilterbank(FS, FC3, learnable=L,
                                                               dtype=d), 2),
    "FastModulationFilterbank": (lambda d, L: FastModulationFilterbank(FS, FC3, learnable=L,
                                                                       dtype=d), 2),
    "King2019ModulationFilterbank": (lambda d, L: King2019ModulationFilterbank(
        FS, learnable=L, dtype=d), 2),
    "FastKing2019ModulationFilterbank": (lambda d, L: FastKing2019ModulationFilterbank(
        FS, learnable=L, dtype=d), 2),
    "Dau1997": (lambda d, L: Dau1997(FS, fhigh=4000, learnable=L, dtype=d), 1),
    "Jepsen2008": (lambda d, L: Jepsen2008(FS, fhigh=4000, learnable=L, dtype=d), 1),
    "King2019": (lambda d, L: King2019(FS, 1000.0, learnable=L, dtype=d), 1),
    "ModulationLowpass": (lambda d, L: ModulationLowpass(FS, learnable=L, dtype=d), 1),
    "Dau1996": (lambda d, L: Dau1996(FS, fhigh=4000, learnable=L, dtype=d), 1),
    "Osses2021": (lambda d, L: Osses2021(FS, fhigh=4000, learnable=L, dtype=d), 1),
}
POSITIVE_INPUT = {"AdaptLoop"}  # an envelope, not audio


def _input(name: str, batch: int = 3, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, T, generator=g, dtype=dtype) * 0.05
    x[:, :50] = 0.5 * x[:, :50]  # (no onset discontinuity of note)
    if name in POSITIVE_INPUT:
        x = x.abs() * 0.1 + 1e-5
    if MODULES[name][1] == 2:
        x = x.abs()[:, None, :].repeat(1, 3, 1) * torch.tensor([[1.0], [0.5], [0.25]],
                                                                dtype=dtype)
    return x


def _flat(y) -> list[torch.Tensor]:
    if isinstance(y, dict):
        return [t for v in y.values() for t in _flat(v)]
    if isinstance(y, (list, tuple)):
        return [t for v in y for t in _flat(v)]
    return [y]


def _rel(a, b) -> float:
    errs = []
    for u, v in zip(_flat(a), _flat(b), strict=True):
        u, v = u.detach().to(torch.complex128 if u.is_complex() else torch.float64), \
            v.detach().to(torch.complex128 if v.is_complex() else torch.float64)
        errs.append(float((u - v).abs().max() / v.abs().max().clamp_min(1e-300)))
    return max(errs)


def _identical(a, b) -> bool:
    return all(torch.equal(u, v) for u, v in zip(_flat(a), _flat(b), strict=True))


def _item(y, i):
    """Item ``i`` of a batched output (tensor or list of tensors)."""
    return [t[i] for t in y] if isinstance(y, list) else y[i]


@pytest.mark.parametrize("name", list(MODULES))
def test_batched_equals_looped(name):
    module = MODULES[name][0](torch.float64, False)
    x = _input(name)
    y = module(x)
    for i in range(x.shape[0]):
        assert _identical(_item(y, i), module(x[i])), name


# float32 vs float64 relative error (max-abs / max-abs), measured then given ~10x margin:
# stages ~1e-7..2e-5 (DRNL 3e-7: its design stays float64), Dau ~1e-7..2e-6, King ~2e-5,
# Jepsen ~2e-4 (the broken stick and the expansion amplify the float32 rounding).
F32_TOL = {"Jepsen2008": 2e-3, "King2019": 2e-4}


@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("name", list(MODULES))
def test_float32_close_to_float64(name, learnable):
    make = MODULES[name][0]
    x = _input(name)
    torch.manual_seed(0)
    y64 = make(torch.float64, learnable)(x)
    y32 = make(torch.float32, learnable)(x.float())
    assert all(t.dtype in (torch.float32, torch.complex64) for t in _flat(y32))
    assert _rel(y32, y64) <= F32_TOL.get(name, 1e-4), name


LINEAR = {
    "GammatoneFilterbank": lambda: GammatoneFilterbank(FS, fhigh=4000, dtype=torch.float64),
    "GammatoneFilterbank-learnable": lambda: GammatoneFilterbank(
        FS, fhigh=4000, learnable=True, dtype=torch.float64),
    "HeadphoneFilter": lambda: HeadphoneFilter(FS, dtype=torch.float64),
    "MiddleEarFilter": lambda: MiddleEarFilter(FS, dtype=torch.float64),
    "MiddleEarFilter-zilany": lambda: MiddleEarFilter(FS, "zilany2009", dtype=torch.float64),
    "ModulationLowpass": lambda: ModulationLowpass(FS, dtype=torch.float64),
    "ButterworthFilter": lambda: ButterworthFilter(FS, [300.0, 3000.0], 2, "bandpass",
                                                   dtype=torch.float64),
    "ModulationFilterbank-no_phase_insens": lambda: ModulationFilterbank(
        FS, FC3, phase_insens=False, dtype=torch.float64),
    "King2019ModulationFilterbank-no_phase_insens": lambda: King2019ModulationFilterbank(
        FS, phase_insens=False, dtype=torch.float64),
}


# rounding of ill-conditioned filters, not nonlinearity (a nonlinear stage fails by > 0.5):
# the 80-Hz gammatone channel as one 4th-order direct-form polynomial (AMT's float64 path)
# and the King2019 2-5 Hz band-passes (see King2019ModulationFilterbank).
LTI_TOL = {"GammatoneFilterbank": 1e-8, "GammatoneFilterbank-learnable": 1e-8,
           "King2019ModulationFilterbank-no_phase_insens": 1e-6}


def _linear_input(name: str, seed: int) -> torch.Tensor:
    x = torch.randn(2, T, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x[:, None, :].repeat(1, 3, 1) if "Modulation" in name else x


@pytest.mark.parametrize("name", list(LINEAR))
def test_linear_stages_are_linear_and_time_invariant(name):
    module = LINEAR[name]()
    x, v = _linear_input(name, 1), _linear_input(name, 2)
    lhs = module(2.5 * x - 0.75 * v)
    rhs = [2.5 * a - 0.75 * b for a, b in zip(_flat(module(x)), _flat(module(v)), strict=True)]
    assert _rel(lhs, rhs) <= LTI_TOL.get(name, 1e-10), name
    # time invariance: delaying the (zero-padded) input delays the output
    d = 37
    delayed = torch.nn.functional.pad(x, (d, 0))[..., :T]
    y, yd = _flat(module(x)), _flat(module(delayed))
    assert _rel([t[..., d:] for t in yd], [t[..., :T - d] for t in y]) <= LTI_TOL.get(
        name, 1e-10), name
    assert max(float(t[..., :d].detach().abs().max()) for t in yd) <= 1e-12 * max(
        float(t.detach().abs().max()) for t in y)


def test_nonlinear_stage_is_not_linear():
    """The linearity check can fail: the IHC envelope (a rectifier) is not linear."""
    module = IHCEnvelope(FS, dtype=torch.float64)
    x = _linear_input("IHCEnvelope", 1)
    assert _rel(module(-x), -module(x)) > 0.5


CAUSAL = {
    "GammatoneFilterbank": lambda: GammatoneFilterbank(FS, fhigh=4000, dtype=torch.float64),
    "DRNLFilterbank": lambda: DRNLFilterbank(FS, fhigh=4000, dtype=torch.float64),
    "IHCEnvelope": lambda: IHCEnvelope(FS, dtype=torch.float64),
    "AdaptLoop": lambda: AdaptLoop(FS, dtype=torch.float64),
    "ButterworthFilter": lambda: ButterworthFilter(FS, 3.0, dtype=torch.float64),
    "King2019Compression": lambda: King2019Compression(dtype=torch.float64),
    "HeadphoneFilter": lambda: HeadphoneFilter(FS, dtype=torch.float64),
    "MiddleEarFilter": lambda: MiddleEarFilter(FS, dtype=torch.float64),
    "ModulationFilterbank": lambda: ModulationFilterbank(FS, FC3, dtype=torch.float64),
    "FastModulationFilterbank": lambda: FastModulationFilterbank(FS, FC3, dtype=torch.float64),
    "Dau1997": lambda: Dau1997(FS, fhigh=4000, dtype=torch.float64),
    "Jepsen2008": lambda: Jepsen2008(FS, fhigh=4000, dtype=torch.float64),
    "ModulationLowpass": lambda: ModulationLowpass(FS, dtype=torch.float64),
    "Dau1996": lambda: Dau1996(FS, fhigh=4000, dtype=torch.float64),
    "King2019-no_phase_insens-no_resampling": lambda: King2019(
        FS, 1000.0, phase_insens=False, subfs=None, dtype=torch.float64),
}
NOT_CAUSAL = {
    # Hilbert envelope above 10 Hz (phase_insens) and the FFT resampling to subfs
    "King2019": lambda: King2019(FS, 1000.0, dtype=torch.float64),
    "King2019ModulationFilterbank": lambda: King2019ModulationFilterbank(
        FS, dtype=torch.float64),
    "IHCEnvelope-bernstein1999": lambda: IHCEnvelope(FS, "ihc_bernstein1999",
                                                     dtype=torch.float64),
    # its ear FIRs are delay-compensated (AMT osses2021): output advanced by 257 samples
    "Osses2021": lambda: Osses2021(FS, fhigh=4000, dtype=torch.float64),
}


def _causality_input(name: str) -> torch.Tensor:
    x = torch.randn(1, T, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    x = x * 0.05
    if name == "AdaptLoop":
        x = x.abs() * 0.1 + 1e-5
    if "Modulation" in name:
        x = x.abs()[:, None, :].repeat(1, 3, 1)
    return x


def _change_before(module, name: str, k: int) -> tuple[float, float]:
    """(largest output change before sample k, largest change at/after k) when the
    input changes at sample k, relative to the output's size."""
    x = _causality_input(name)
    x2 = x.clone()
    x2[..., k] += 0.3 if name != "AdaptLoop" else 0.03
    y, y2 = _flat(module(x)), _flat(module(x2))
    scale = max(float(t.abs().max()) for t in y)
    before = max(float((a[..., :k] - b[..., :k]).abs().max()) for a, b in zip(y, y2,
                                                                               strict=True))
    after = max(float((a[..., k:] - b[..., k:]).abs().max()) for a, b in zip(y, y2,
                                                                             strict=True))
    return before / scale, after / scale


@pytest.mark.parametrize("name", list(CAUSAL))
def test_causal(name):
    # FFT-based FIR filtering (ear filters) changes earlier samples by rounding only
    before, after = _change_before(CAUSAL[name](), name, 700)
    assert before <= 1e-12, (name, before)
    assert after > 1e-6, (name, after)


@pytest.mark.parametrize("name", list(NOT_CAUSAL))
def test_documented_non_causal(name):
    before, _ = _change_before(NOT_CAUSAL[name](), name, 700)
    assert before > 1e-6, (name, before)


def test_sequential_of_stages_equals_dau1997():
    x = _input("Dau1997")
    model = Dau1997(FS, fhigh=4000, dtype=torch.float64)
    stages = model(x, return_stages=True)
    # Dau1997's default dboffset is 100 dB: gaindb(x, dboffset - 100) is the identity
    chain = nn.Sequential(GammatoneFilterbank(FS, flow=80.0, fhigh=4000, basef=1000.0,
                                              dtype=torch.float64),
                          IHCEnvelope(FS, "ihc_dau1996", dtype=torch.float64),
                          AdaptLoop(FS, preset="adt_dau1997", dtype=torch.float64))
    assert torch.equal(chain(x), stages["adt"])
    assert torch.equal(chain[:2](x), stages["ihc"])
    mfb = FastModulationFilterbank(FS, model.fc.double(), preset="mfb_jepsen2008",
                                   dtype=torch.float64)
    assert _identical(mfb(chain(x)), stages["out"])


def test_sequential_of_stages_equals_king2019():
    x = _input("King2019")
    model = King2019(FS, 1000.0, subfs=None, dtype=torch.float64)
    stages = model(x, return_stages=True)
    chain = nn.Sequential(GammatoneFilterbank(FS, flow=model.fc.min().item() - 1e-9,
                                              fc=model.fc, dtype=torch.float64),
                          King2019Compression(dtype=torch.float64),
                          IHCEnvelope(FS, "ihc_king2019", dtype=torch.float64),
                          ButterworthFilter(FS, 3.0, 1, "high", dtype=torch.float64))
    assert torch.equal(chain(x), stages["adt"])
    mfb = King2019ModulationFilterbank(FS, dtype=torch.float64)
    assert torch.equal(mfb(chain(x)), stages["out"])


def _perturb(module: nn.Module) -> None:
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.add_(0.01 * (i % 3 + 1))


@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("name", list(MODULES))
def test_state_dict_round_trip(name, learnable):
    make = MODULES[name][0]
    module = make(torch.float32, learnable)
    _perturb(module)
    fresh = make(torch.float32, learnable)
    fresh.load_state_dict(module.state_dict())
    x = _input(name, dtype=torch.float32)
    y = module(x)
    assert _identical(fresh(x), y), name
    if learnable and list(module.parameters()):
        assert not _identical(make(torch.float32, learnable)(x), y)  # the check can fail


@pytest.mark.parametrize("name", list(MODULES))
def test_dtype_and_device_round_trip(name):
    module = MODULES[name][0](torch.float32, False)
    x = _input(name, dtype=torch.float32)
    y = module(x)
    module.to(torch.float64)
    y64 = module(x.double())
    assert _rel(y64, y) <= F32_TOL.get(name, 1e-4)  # complex buffers kept (not cast to real)
    module.to(torch.float32)
    # (the modulation filterbanks' float64 coefficient buffers stay float64 throughout)
    assert _identical(module(x), y), name
    module.to("cpu")
    assert _identical(module(x), y), name
    if torch.cuda.is_available():
        out = module.to("cuda")(x.cuda())
        assert _rel([t.cpu() for t in _flat(out)], y) <= 1e-4
        module.to("cpu")
        assert _identical(module(x), y), name


@pytest.mark.parametrize("name", list(MODULES))
def test_deterministic(name):
    module = MODULES[name][0](torch.float32, True)
    x = _input(name, dtype=torch.float32)
    assert _identical(module(x), module(x)), name
