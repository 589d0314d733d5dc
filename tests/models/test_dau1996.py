"""Dau1996: chain and AMT flags, batching, float32, gradients, training, sampling rates.

Agreement with AMT 1.4.0 in float64 (every stored output of the ``dau1996__*`` family
reference files) is checked by the validation harness (tests/validation/test_family.py).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck

from torch_amt import MODELS, Dau1996, ModulationLowpass
from torch_amt.functional.adaptation import adaptloop
from torch_amt.functional.gammatone import auditoryfilterbank
from torch_amt.functional.ihc import ihc_envelope
from torch_amt.functional.modulation_lowpass import modulation_lowpass

FS = 16000


def _tone(n: int, fs: float = FS, level_db: float = 60.0) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / fs
    x = torch.sin(2 * torch.pi * 1000 * t) * (1 + 0.5 * torch.sin(2 * torch.pi * 16 * t))
    return x / x.pow(2).mean().sqrt() * 10 ** ((level_db - 100) / 20)


def _small(dtype: torch.dtype = torch.float64, **kwargs) -> Dau1996:
    return Dau1996(FS, 900, 1100, dtype=dtype, **kwargs)


def test_registered_chain_and_output_layout():
    assert MODELS["dau1996"] is Dau1996 and Dau1996.output_kind == "fct"
    model = _small()
    assert model.chain == ("afb", "ihc", "adt", "mfb")
    assert isinstance(model.mfb, ModulationLowpass) and model.mfc == []
    assert model.adt.preset == "adt_dau1996" and float(model.adt.limit) == 0.0
    assert model.dboffset == 100.0 and model.output_fs == FS
    out = model(torch.zeros(2, 800, dtype=torch.float64))
    assert out.shape == (2, model.fc.numel(), 800)


def test_is_amts_chain_of_functions():
    x = _tone(1600)
    afb, fc = auditoryfilterbank(x, FS, 900, 1100)
    expected = modulation_lowpass(adaptloop(ihc_envelope(afb, FS, "ihc_dau1996"), FS, 0.0),
                                  FS, 0.02)
    model = _small()
    assert torch.equal(model.fc, fc)
    torch.testing.assert_close(model(x), expected, rtol=1e-13, atol=0)


def test_return_stages_keys_and_batching():
    model = _small()
    x = torch.stack([_tone(1600), 0.5 * _tone(1600)])
    batched = model(x, return_stages=True)
    single = model(x[1], return_stages=True)
    assert list(batched) == [*model.chain, "out"] == list(single)
    for key, value in batched.items():
        assert torch.equal(value[1], single[key])


def test_amt_flags_and_quirk_13():
    opts = Dau1996.amt_options(["no_ihc", "no_adt", "outerear", "adt_dau1997"],
                               {"flow": 870.0, "fhigh": 1150.0, "dboffset": 93.98})
    assert opts == {"flow": 870.0, "fhigh": 1150.0, "adt_preset": "adt_dau1997"}
    assert Dau1996.amt_options(["ihc_breebaart2001"], {"basef": torch.zeros(0).numpy()}) == {
        "ihc_preset": "ihc_breebaart2001", "basef": None}
    with pytest.raises(ValueError, match="subfs"):
        Dau1996.amt_options([], {"subfs": 8000.0})
    with pytest.raises(ValueError, match="not implemented"):
        Dau1996.amt_options(["lavandier2022"], {})


def test_float32_within_1e4_of_float64():
    x = _tone(3200)
    y64 = _small(torch.float64)(x)
    y32 = _small(torch.float32)(x.float())
    assert y32.dtype == torch.float32
    assert (y32.double() - y64).abs().max() / y64.abs().max() <= 1e-4


def test_gradcheck_learnable_short_input():
    model = _small(learnable=True)
    assert {n.split(".")[0] for n, _ in model.named_parameters()} == {"afb", "adt", "mfb"}
    x = _tone(48) + 1e-3 * torch.randn(48, dtype=torch.float64,
                                       generator=torch.Generator().manual_seed(0))
    scale = model(x).abs().max().detach()
    x = x.requires_grad_()
    assert gradcheck(lambda v: model(v).reshape(-1) / scale, (x,), eps=1e-7, atol=1e-5,
                     rtol=1e-3, fast_mode=True)


def test_training_loop_learnable():
    torch.manual_seed(0)
    model = Dau1996(FS, 900, 1100, learnable=True)
    x = _tone(1600).float()
    target = 0.8 * Dau1996(FS, 900, 1100)(x).detach()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        optimiser.zero_grad()
        loss = (model(x) - target).square().mean()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("fs", [16000, 22050, 44100, 48000])
def test_defaults_run_at_common_sampling_rates(fs):
    model = Dau1996(fs)
    out = model(_tone(fs // 20, fs).float())
    assert out.shape == (31, fs // 20) and torch.isfinite(out).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="tau"):
        Dau1996(FS, tau=0.0)
    with pytest.raises(ValueError, match="learnable names unknown stages"):
        Dau1996(FS, learnable=("outerear",))
