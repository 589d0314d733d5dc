"""AdaptLoop / functional.adaptation against AMT 1.4.0 ``adaptloop`` (m-file fallback)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from torch_amt.dsp.iir import use_backend
from torch_amt.functional.adaptation import ADAPTLOOP_PRESETS, adaptloop, minspl_to_minlvl
from torch_amt.stages.adaptation import AdaptLoop

# parametrisation needs the file names at collection time (same location rule as the
# amt_reference_dir fixture, which the tests use to load them, skip or fail in CI)
REF = Path(os.environ.get("AMT_REFERENCE_DIR")
           or Path(__file__).resolve().parents[2].parent / "shared" / "amt_reference")
PATTERN = "adaptloop__*.mat"
FILES = sorted(p.name for p in REF.glob(PATTERN))

#: how each stored output was called in AMT (see the file's ``call``)
CALLS = {
    "default": {},
    "limit2": {"limit": 2.0},
    "adt_puschel1988_limit10": {"preset": "adt_puschel1988", "limit": 10.0},
    **{name: {"preset": name} for name in ADAPTLOOP_PRESETS},
}


def _cases():
    for name in FILES:
        data = scipy.io.loadmat(REF / name)
        for key in sorted(k for k in data if k.startswith("out_")):
            yield pytest.param(name, key[4:], id=f"{name[11:-4]}-{key[4:]}")


@pytest.fixture(scope="module")
def ref_data(amt_reference_dir):
    return {name: scipy.io.loadmat(amt_reference_dir / name) for name in FILES}


def test_reference_files_present(amt_reference_dir):
    assert sorted(amt_reference_dir.glob(PATTERN))


def _rel(y: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(y - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize(("name", "variant"), list(_cases()))
def test_matches_amt(ref_data, name, variant):
    # Same operations in the same order as comp_adaptloop.m, libm exp/pow: float64 is
    # required to 1e-9 (measured: bit-identical, including silence's -3.674e-14);
    # float32 input/parameters to 1e-4 (measured 1.3e-7; the loops run in float64).
    data = ref_data[name]
    fs = float(data["fs"].squeeze())
    ref = data[f"out_{variant}"].T
    x = torch.from_numpy(data["insig"].T.copy())
    y64 = AdaptLoop(fs, **CALLS[variant], dtype=torch.float64)(x)
    assert _rel(y64.numpy(), ref) <= 1e-9
    y32 = adaptloop(x.float(), fs, **CALLS[variant])
    assert y32.dtype == torch.float32
    assert _rel(y32.double().numpy(), ref) <= 1e-4


def test_torch_backend_matches_amt(ref_data):
    # the pure-torch path (GPUs) uses torch.exp in the limiter: 1e-12 instead of bit-exact
    name = next(n for n in FILES if "tone1k_60dB_fs44k" in n)
    data = ref_data[name]
    x = torch.from_numpy(data["insig"].T[:, :300].copy())
    for variant in ("adt_dau1997", "adt_dau1996", "limit2"):
        with use_backend("torch"):
            y = AdaptLoop(44100.0, **CALLS[variant], dtype=torch.float64)(x)
        assert _rel(y.numpy(), data[f"out_{variant}"].T[:, :300]) <= 1e-12


def test_silence_constant_and_extreme_inputs_are_finite():
    # AMT's rounding of (x - corr) * mult gives -3.674e-14 for digital silence
    y = adaptloop(torch.zeros(3, 500, dtype=torch.float64), 44100.0)
    assert torch.all(y == y[0, 0]) and abs(y[0, 0].item() + 3.674174052692531e-14) < 1e-26
    fs = 44100.0
    t = torch.arange(4410, dtype=torch.float64) / fs
    for preset in ADAPTLOOP_PRESETS:
        stage = AdaptLoop(fs, preset=preset, dtype=torch.float64)
        for level in (0.0, 40.0, 80.0, 120.0):
            tone = np.sqrt(2) * 10 ** ((level - 100) / 20) * torch.sin(2 * np.pi * 1000 * t)
            assert torch.isfinite(stage(tone.clamp_min(0))).all()
        click = torch.zeros(2000, dtype=torch.float64)
        click[100] = 1e3
        assert torch.isfinite(stage(click)).all()


def test_minspl_rules_and_per_channel_floor():
    # minspl in (0, 1) is a linear floor; other values are dB re 100 dB
    assert minspl_to_minlvl(0.0).item() == 1e-5
    assert minspl_to_minlvl(0.5).item() == 0.5
    assert minspl_to_minlvl(20.0).item() == pytest.approx(1e-4, rel=1e-15)
    torch.manual_seed(0)
    x = torch.rand(2, 3, 300, dtype=torch.float64) * 1e-3
    torch.testing.assert_close(adaptloop(x, 16000.0, minspl=1e-5), adaptloop(x, 16000.0),
                               rtol=0, atol=0)
    levels = [0.0, 20.0, 1e-3]
    per_channel = adaptloop(x, 16000.0, minspl=levels)
    for c, level in enumerate(levels):
        torch.testing.assert_close(per_channel[:, c], adaptloop(x[:, c], 16000.0, minspl=level),
                                   rtol=0, atol=0)


def test_positional_semantics():
    torch.manual_seed(1)
    x = torch.rand(2, 400, dtype=torch.float64) * 0.1
    tau = (0.01, 0.1)
    a = AdaptLoop(16000.0, 3.0, 10.0, tau, dtype=torch.float64)(x)
    b = adaptloop(x, 16000.0, 3.0, 10.0, tau)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    # limit <= 1 switches the limitation off: the same as adt_dau1996
    torch.testing.assert_close(adaptloop(x, 16000.0, 1.0),
                               adaptloop(x, 16000.0, preset="adt_dau1996"), rtol=0, atol=0)
    assert not torch.equal(adaptloop(x, 16000.0, 1.5), adaptloop(x, 16000.0, 1.0))


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("preset", ["adt_dau1997", "adt_dau1996"])
def test_gradcheck_learnable(preset, backend):
    torch.manual_seed(2)
    stage = AdaptLoop(2000.0, preset=preset, learnable=True, dtype=torch.float64)
    names = [n for n, _ in stage.named_parameters()]
    assert names == (["log_tau", "limit_raw"] if preset == "adt_dau1997" else ["log_tau"])
    x = (torch.rand(2, 30, dtype=torch.float64) * 0.05 + 1e-3)
    x[:, 5:9] *= 30  # a step, so that the limiter is active
    x.requires_grad_()
    params = list(stage.parameters())
    # outputs scaled to O(1) model units so finite differences resolve them
    with use_backend(backend):
        assert torch.autograd.gradcheck(
            lambda inp, *p: torch.func.functional_call(
                stage, dict(zip(names, p, strict=True)), (inp,)) / 100,
            (x, *[p.detach().clone().requires_grad_() for p in params]), atol=1e-6)


def test_training_steps_update_every_parameter():
    torch.manual_seed(3)
    stage = AdaptLoop(4000.0, learnable=True)
    x = torch.rand(2, 3, 400) * 0.05
    x[..., 100:200] *= 20
    target = AdaptLoop(4000.0, tau=(0.004, 0.04, 0.1, 0.2, 0.4), limit=6.0)(x)
    before = {n: p.detach().clone() for n, p in stage.named_parameters()}
    opt = torch.optim.Adam(stage.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = torch.mean((stage(x) - target) ** 2)
        loss.backward()
        for p in stage.parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    for n, p in stage.named_parameters():
        assert not torch.equal(p, before[n])
    assert bool((stage.tau > 0).all()) and float(stage.limit.detach()) > 1


def test_amt_identity_and_float64_design():
    stage = AdaptLoop(16000.0, preset="adt_osses2021")
    assert stage.amt_equivalent() == "adaptloop 'adt_osses2021'"
    assert {b.dtype for b in stage.buffers()} == {torch.float64}
    x = torch.rand(2, 3, 400, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    # float32 differs from float64 by the rounding of the signal only (the time constants
    # and the floor are not rounded to float32)
    y64 = AdaptLoop(16000.0, preset="adt_osses2021", dtype=torch.float64)(x)
    assert torch.equal(stage(x), y64)


def test_errors():
    with pytest.raises(TypeError, match="learnable"):
        AdaptLoop(16000.0, learnable="no")
    with pytest.raises(ValueError, match="preset"):
        AdaptLoop(16000.0, preset="adt_foo")
    with pytest.raises(ValueError, match="tau"):
        AdaptLoop(16000.0, tau=(0.01, -0.1))
    with pytest.raises(ValueError, match="limit"):
        AdaptLoop(16000.0, limit=float("inf"))
    with pytest.raises(ValueError, match="minspl"):
        AdaptLoop(16000.0, minspl=float("nan"))
    with pytest.raises(ValueError, match="per-channel minspl"):
        AdaptLoop(16000.0, minspl=[0.0, 10.0])(torch.rand(3, 50))
    with pytest.raises(TypeError, match="x"):
        AdaptLoop(16000.0)(torch.ones(10, dtype=torch.int32))
    with pytest.raises(ValueError, match="fs"):
        AdaptLoop(0.0)
