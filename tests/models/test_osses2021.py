"""Osses2021: chain and AMT flags, batching, float32, gradients, training, sampling rates.

Agreement with AMT 1.4.0 in float64 (every stored output of the ``osses2021__*`` family
reference files) is checked by the validation harness (tests/validation/test_family.py).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck

from torch_amt import MODELS, Osses2021

FS = 16000


def _flat(out) -> torch.Tensor:
    parts = out if isinstance(out, list) else [out]
    return torch.cat([p.reshape(-1) for p in parts])


def _tone(n: int, fs: float = FS, level_db: float = 60.0) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / fs
    x = torch.sin(2 * torch.pi * 1000 * t) * (1 + 0.5 * torch.sin(2 * torch.pi * 16 * t))
    return x / x.pow(2).mean().sqrt() * 10 ** ((level_db - 100) / 20)


def _small(dtype: torch.dtype = torch.float64, **kwargs) -> Osses2021:
    return Osses2021(FS, 900, 1100, dtype=dtype, **kwargs)


def test_registered_and_default_chain():
    assert MODELS["osses2021"] is Osses2021
    model = _small()
    assert model.chain == ("inputgain", "outerear", "middleear", "afb", "ihc", "adt", "mfb")
    assert model.ihc.preset == "ihc_breebaart2001" and model.adt.preset == "adt_osses2021"
    assert model.middleear.preset == "lopezpoveda2001" and model.mfb.preset == "mfb_jepsen2008"
    assert "AMT osses2021" in repr(model)


def test_return_stages_keys_and_batching():
    model = _small()
    x = torch.stack([_tone(1600), 0.5 * _tone(1600)])
    batched = model(x, return_stages=True)
    single = model(x[1], return_stages=True)
    assert list(batched) == [*model.chain, "out"] == list(single)
    for key, value in batched.items():
        if isinstance(value, list):
            assert len(value) == model.fc.numel()
            for b, s in zip(value, single[key], strict=True):
                assert torch.equal(b[1], s)
        else:
            assert torch.equal(value[1], single[key])


def test_amt_flags_and_quirk_12():
    opts = Osses2021.amt_options(
        ["no_outerear", "jepsen2008", "no_ihc", "mfb_osses2021_att_gain"],
        {"flow": 870.0, "fhigh": 1150.0, "subfs": 8000.0})
    assert opts == {"flow": 870.0, "fhigh": 1150.0, "subfs": 8000.0, "outerear": False,
                    "middleear": True, "middleear_preset": "jepsen2008", "ihc": False,
                    "mfb_preset": "mfb_osses2021_att_gain"}
    model = Osses2021(FS, **opts)
    # AMT runs the IHC stage when ihc or adt is on: 'no_ihc' alone changes nothing
    assert model.chain == ("inputgain", "middleear", "afb", "ihc", "adt", "resample", "mfb")
    assert model.output_fs == 8000.0
    out = model(_tone(1600).float())
    assert all(ch.shape[-1] == 800 for ch in out)
    assert "ihc" not in Osses2021(FS, ihc=False, adt=False).chain
    no_afb = Osses2021(FS, afb=False, adt=False, mfb=False)
    assert no_afb.chain[-1] == "ihc" and no_afb(_tone(1600)).shape == (1600,)
    with pytest.raises(ValueError, match="not implemented"):
        Osses2021.amt_options(["no_such_flag"], {})
    with pytest.raises(ValueError, match="afb"):
        Osses2021(FS, afb=False)


def test_float32_within_1e4_of_float64():
    x = _tone(3200)
    y64 = _flat(_small(torch.float64)(x))
    y32 = _flat(_small(torch.float32)(x.float()))
    assert y32.dtype == torch.float32
    assert (y32.double() - y64).abs().max() / y64.abs().max() <= 1e-4


def test_gradcheck_learnable_short_input():
    model = _small(learnable=True)
    assert {n.split(".")[0] for n, _ in model.named_parameters()} == {"afb", "adt", "mfb"}
    x = _tone(48) + 1e-3 * torch.randn(48, dtype=torch.float64,
                                       generator=torch.Generator().manual_seed(0))
    # adaptation Jacobians reach ~1e5: normalise so central differences stay accurate
    scale = _flat(model(x)).abs().max().detach()
    x = x.requires_grad_()
    assert gradcheck(lambda v: _flat(model(v)) / scale, (x,), eps=1e-7, atol=1e-5,
                     rtol=1e-3, fast_mode=True)


def test_training_loop_learnable():
    torch.manual_seed(0)
    model = Osses2021(FS, 900, 1100, learnable=True)
    x = _tone(1600).float()
    target = [0.8 * ch.detach() for ch in Osses2021(FS, 900, 1100)(x)]
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        optimiser.zero_grad()
        loss = sum((y - t).square().mean() for y, t in zip(model(x), target, strict=True))
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("fs", [16000, 22050, 44100, 48000])
def test_defaults_run_at_common_sampling_rates(fs):
    model = Osses2021(fs)
    out = model(_tone(fs // 20, fs).float())
    assert len(out) == model.fc.numel() == 31
    assert all(torch.isfinite(ch).all() and ch.shape[-1] == fs // 20 for ch in out)


def test_bad_arguments():
    with pytest.raises(ValueError, match="middleear_preset"):
        Osses2021(FS, middleear_preset="zilany2009")
    with pytest.raises(TypeError, match="outerear"):
        Osses2021(FS, outerear="yes")
    with pytest.raises(ValueError, match="subfs"):
        Osses2021(FS, subfs=-1.0)
