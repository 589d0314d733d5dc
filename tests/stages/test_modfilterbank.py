"""Tests of the Dau / Jepsen modulation filterbank (AMT ``modfilterbank``)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import scipy.io as sio
import torch
from torch.func import functional_call

from torch_amt.dsp.iir import use_backend
from torch_amt.functional import modfilterbank
from torch_amt.functional.modfilterbank import (
    MODFILTERBANK_PRESETS,
    modfilterbank_apply,
    modfilterbank_design,
    modfilterbank_mfc,
)
from torch_amt.stages import FastModulationFilterbank, ModulationFilterbank, pad_modulation_outputs
from torch_amt.stages.base import Stage

MFB_FILES = ["noise_65dB_seed1_fs44k", "sam2k_fm32_m0.8_65dB_fs16k", "tone1k_60dB_fs48k"]
# AMT variant in the file -> module arguments
MFB_VARIANTS = {
    "default": dict(preset="jepsen2008"),
    "mfb_dau1997": dict(preset="dau1997"),
    "mfb_osses2021_att_gain": dict(preset="mfb_osses2021_att_gain"),
    "mfb_dau1997_no_phase_insens": dict(preset="dau1997", phase_insens=False),
}
CLASSES = [ModulationFilterbank, FastModulationFilterbank]
FC = torch.tensor([80.0, 500.0, 3000.0])
# module arguments -> the same settings for the functional twin
VARIANTS = {
    "jepsen2008": (dict(preset="jepsen2008"), dict()),
    "dau1997": (dict(preset="dau1997"),
                dict(use_upper_limit=False, lp150="off", att_factor=1.0)),
    "osses2021_att_gain": (dict(preset="osses2021_att_gain"), dict(lp150="att_gain")),
    "no_phase_insens": (dict(preset="jepsen2008", phase_insens=False),
                        dict(phase_insens=False)),
}


def _rel(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def _signal(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


def _same(out_a, out_b) -> bool:
    return all(torch.equal(a, b) for a, b in zip(out_a, out_b, strict=True))


# --------------------------------------------------------------------------- AMT references


@pytest.mark.parametrize("stim", MFB_FILES)
@pytest.mark.parametrize("cls", CLASSES)
def test_modfilterbank_matches_amt(amt_reference_dir, stim, cls):
    d = sio.loadmat(amt_reference_dir / f"modfilterbank__{stim}.mat")
    fs = float(d["fs"][0, 0])
    x = torch.from_numpy(d["insig"].T.copy())
    for variant, kw in MFB_VARIANTS.items():
        if f"out_{variant}" not in d:
            continue
        bank = cls(fs, d["insig_fc"][0], dtype=torch.float64, **kw)
        out = bank(x)
        for ch in range(x.shape[0]):
            ref = d[f"out_{variant}"][ch, 0].T
            assert out[ch].dtype == (torch.complex128 if np.iscomplexobj(ref) else torch.float64)
            assert _rel(out[ch].numpy(), ref) < 1e-9, (variant, ch)
            np.testing.assert_array_equal(bank.mfc[ch].numpy(),
                                          d[f"mfc_per_channel_{variant}"][ch, 0][0])


def test_modfilterbank_float32(amt_reference_dir):
    d = sio.loadmat(amt_reference_dir / "modfilterbank__tone1k_60dB_fs44k.mat")
    x = torch.from_numpy(d["insig"].T.copy()).float()
    bank = FastModulationFilterbank(44100, d["insig_fc"][0], preset="jepsen2008")
    for ch, y in enumerate(bank(x)):
        assert y.dtype == torch.float32
        assert _rel(y.numpy(), d["out_default"][ch, 0].T) < 1e-4


# --------------------------------------------------------------------------- one path


@pytest.mark.parametrize("kw", [dict(), dict(preset="jepsen2008"), dict(filter_type="butterworth"),
                                dict(preset="osses2021_att_gain", phase_insens=False)])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_fast_equals_reference_class(kw, backend):
    x = _signal(2, 3, 300)
    with use_backend(backend):
        slow = ModulationFilterbank(8000, FC, dtype=torch.float64, **kw)(x)
        fast_bank = FastModulationFilterbank(8000, FC, dtype=torch.float64, **kw)
        fast = fast_bank(x)
    assert fast_bank.total_filters == sum(len(m) for m in fast_bank.mfc)
    for s, f in zip(slow, fast, strict=True):
        assert (s - f).abs().max() <= 1e-12 * max(1.0, s.abs().max())


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("cls", CLASSES)
def test_functional_twin_equals_module(cls, variant):
    module_kw, functional_kw = VARIANTS[variant]
    x = _signal(2, 3, 400)
    bank = cls(8000, FC, dtype=torch.float64, **module_kw)
    outputs, mfc = modfilterbank(x, 8000, FC, **functional_kw)
    module_out = bank(x)
    for m, f in zip(module_out, outputs, strict=True):
        assert (m - f).abs().max() <= 1e-12 * max(1.0, m.abs().max())
    assert all(torch.equal(a, b) for a, b in zip(mfc, bank.mfc, strict=True))
    # the same design and apply function, so the rows of one call are the same numbers
    design = modfilterbank_design(8000, FC, **functional_kw)
    assert _same(modfilterbank_apply(x, design, rows_per_call="channel"),
                 ModulationFilterbank(8000, FC, dtype=torch.float64, **module_kw)(x))


def test_design_row_table():
    design = modfilterbank_design(8000, FC, lp150="att_gain")
    assert design.b.shape == design.a.shape == (sum(design.counts), 3)
    assert design.counts == tuple(len(m) for m in design.mfc)
    assert torch.equal(design.channel, torch.repeat_interleave(torch.arange(3),
                                                               torch.tensor(design.counts)))
    assert torch.equal(design.keep_real, torch.cat(design.mfc) <= 10)
    assert design.prefilter is None and design.gain is not None
    low = design.b[0], design.a[0]
    assert torch.equal(low[0][:3].real, design.lowpass[0])  # the low-pass row: real, ×1
    assert torch.equal(design.b[1, :1], 2 * design.bandpass[0][0][0].to(torch.complex128))


# --------------------------------------------------------------------------- Stage policy


@pytest.mark.parametrize("cls", CLASSES)
def test_stage_identity(cls):
    bank = cls(16000, [1000.0], preset="jepsen2008")
    assert isinstance(bank, Stage) and bank.preset == "mfb_jepsen2008"
    assert bank.amt_equivalent() == "modfilterbank 'mfb_jepsen2008'"
    assert cls(16000, [1000.0], preset="dau1997").amt_equivalent() == "modfilterbank 'mfb_dau1997'"
    assert cls(16000, [1000.0]).amt_equivalent() == (
        "modfilterbank 'no_mfc_upper_limit', 'no_LP_150_Hz', 'no_att_factor'")
    assert cls(16000, [1000.0], preset="jepsen2008", att_factor=1.0, Q=1.0,
               filter_type="butterworth").amt_equivalent() == (
        "modfilterbank 'mfb_jepsen2008', 'no_att_factor', 'Q_mfb', 1 "
        "(not in AMT: filter_type='butterworth')")


@pytest.mark.parametrize("cls", CLASSES)
def test_cast_keeps_float64_design_buffers(cls):
    bank = cls(16000, [500.0, 4000.0], preset="jepsen2008", learnable=True)
    for cast in (bank.float, bank.double, lambda: bank.to(torch.float32)):
        cast()
        assert all(b.dtype in (torch.float64, torch.complex128) for b in bank.buffers())
    assert all(p.dtype == torch.float32 for p in bank.parameters())
    assert bank.filter_coeffs[0].mfc_init.dtype == torch.float64


@pytest.mark.parametrize("cls", CLASSES)
def test_edited_buffer_changes_the_output(cls):
    x = _signal(3, 300)
    bank = cls(8000, FC, preset="jepsen2008", dtype=torch.float64)
    before = bank(x)
    assert bank.design() is bank.design()  # cached while nothing changes
    with torch.no_grad():
        bank.filter_coeffs[1].b.mul_(2)  # in place: the version counter moves
    edited = bank(x)
    assert torch.equal(edited[0], before[0]) and not torch.equal(edited[1], before[1])
    # load_state_dict replaces the edited coefficients by the original ones
    bank.load_state_dict(cls(8000, FC, preset="jepsen2008", dtype=torch.float64).state_dict())
    assert _same(bank(x), before)
    copied = copy.deepcopy(bank)
    with torch.no_grad():
        copied.b_lowpass.mul_(0.5)
    assert not torch.equal(copied(x)[0], before[0]) and _same(bank(x), before)


# --------------------------------------------------------------------------- AMT semantics


def test_mfc_rules():
    # no upper limit: every channel gets 0 ... 992.3 Hz (12 filters), README quirk 4
    m = modfilterbank_mfc(100.0, use_upper_limit=False)
    assert len(m) == 12 and m[:3] == [0.0, 5.0, 10.0] and abs(m[-1] - 992.290301) < 1e-5
    # upper limit 0.25 fc: an 8-Hz channel still gets 0 and 5 Hz (AMT's fix() rounding)
    assert modfilterbank_mfc(8.0) == [0.0, 5.0]
    assert max(modfilterbank_mfc(1000.0)) <= 250.0


def test_presets_are_amt_groups():
    assert MODFILTERBANK_PRESETS["mfb_jepsen2008"].lp150 == "filter"
    jep = ModulationFilterbank(16000, [1000.0], preset="jepsen2008")
    assert jep.use_lp150_prefilter and jep.use_upper_limit
    assert jep.att_factor == pytest.approx(1 / math.sqrt(2))
    pau = ModulationFilterbank(16000, [1000.0], preset="paulick2024")
    assert [m.tolist() for m in pau.mfc] == [m.tolist() for m in jep.mfc]
    dau = ModulationFilterbank(16000, [100.0], preset="dau1997")
    assert not dau.use_upper_limit and len(dau.mfc[0]) == 12
    explicit = ModulationFilterbank(16000, [1000.0], preset="jepsen2008", att_factor=1.0)
    assert explicit.att_factor == 1.0


def test_butterworth_has_unit_gain_at_mfc():
    fs, f0 = 8000.0, 27.777777777777775
    bank = ModulationFilterbank(fs, [4000.0], filter_type="butterworth", phase_insens=False,
                                dtype=torch.float64)
    t = torch.arange(16000, dtype=torch.float64) / fs
    y = bank(torch.cos(2 * math.pi * f0 * t)[None])[0]
    k = int(np.argmin(np.abs(bank.mfc[0].numpy() - f0)))
    # unit gain at +mfc (0.5 of the cosine) plus the tail of the response at -mfc
    assert y[k, -4000:].abs().max() == pytest.approx(0.5, rel=2e-2)


def test_shapes_and_padding():
    bank = ModulationFilterbank(16000, [100.0, 4000.0], preset="jepsen2008")
    out = bank(torch.rand(2, 4000))
    assert [o.shape for o in out] == [(len(m), 4000) for m in bank.mfc]
    padded, mask, mfc = pad_modulation_outputs([o[None] for o in out], bank.mfc)
    assert padded.shape == (1, 2, max(len(m) for m in bank.mfc), 4000)
    assert mask.sum() == sum(len(m) for m in bank.mfc)
    assert torch.isnan(mfc[~mask]).all() and (padded[0][~mask] == 0).all()


# --------------------------------------------------------------------------- errors


def test_bad_input():
    bank = ModulationFilterbank(16000, [500.0, 1000.0])
    with pytest.raises(ValueError, match="channels"):
        bank(torch.rand(1, 3, 100))
    with pytest.raises(ValueError, match="shape"):
        bank(torch.rand(100))
    with pytest.raises(ValueError, match="NaN"):
        bank(torch.full((2, 100), float("nan")))
    with pytest.raises(TypeError, match="floating"):
        bank(torch.ones(2, 100, dtype=torch.int64))
    with pytest.raises(ValueError, match="too low"):
        ModulationFilterbank(1000, [4000.0], preset="dau1997")
    with pytest.raises(ValueError, match="preset"):
        ModulationFilterbank(16000, [1000.0], preset="nope")
    for name in ("use_upper_limit", "learnable", "phase_insens"):
        with pytest.raises(TypeError, match=name):
            ModulationFilterbank(16000, [1000.0], **{name: "no"})
    with pytest.raises(ValueError, match="rows_per_call"):
        modfilterbank_apply(torch.rand(1, 10), modfilterbank_design(16000, [1000.0]),
                            rows_per_call="pairs")


# --------------------------------------------------------------------------- gradients


def _gradcheck_module(module, x, reduce, atol=1e-6, rtol=1e-4):
    params = {n: p.detach().clone().requires_grad_(True) for n, p in module.named_parameters()}
    names = list(params)

    def fn(x_, *ps):
        return reduce(functional_call(module, dict(zip(names, ps, strict=True)), (x_,)))

    assert torch.autograd.gradcheck(fn, (x, *params.values()), eps=1e-6, atol=atol, rtol=rtol,
                                    fast_mode=True)


def _cat(out):
    return torch.cat([o.reshape(-1) for o in out])


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("cls", CLASSES)
def test_gradcheck_modfilterbank(backend, cls):
    x = torch.rand(1, 2, 24, dtype=torch.float64, requires_grad=True)
    bank = cls(1000, [60.0, 400.0], preset="jepsen2008", learnable=True, dtype=torch.float64)
    assert len(list(bank.parameters())) == 1 + 2 * 2
    with use_backend(backend):
        _gradcheck_module(bank, x, _cat)


@pytest.mark.parametrize("cls", CLASSES)
def test_training_loop(cls):
    torch.manual_seed(0)
    bank = cls(2000, [300.0, 800.0], preset="jepsen2008", learnable=True)
    target_bank = cls(2000, [300.0, 800.0], preset="jepsen2008", learnable=True)
    with torch.no_grad():  # the target: every frequency / bandwidth parameter 15 % higher
        for p in target_bank.parameters():
            p += math.log(1.15)
    initial = [p.detach().clone() for p in bank.parameters()]
    x = torch.rand(4, 2, 400)
    with torch.no_grad():
        target = _cat(target_bank(x))
    opt = torch.optim.Adam(bank.parameters(), lr=0.01)
    losses = []
    for _ in range(50):
        opt.zero_grad()
        loss = torch.mean((_cat(bank(x)) - target) ** 2)
        loss.backward()
        if isinstance(bank, FastModulationFilterbank):
            grads = [p.grad.clone() for p in bank.parameters()]
            bank.distribute_gradients()  # documented to change nothing
            assert all(torch.equal(g, p.grad) for g, p in zip(grads, bank.parameters(),
                                                               strict=True))
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in bank.parameters())
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses) and losses[-1] < 0.7 * losses[0]
    assert all(not torch.equal(a, p) for a, p in zip(initial, bank.parameters(), strict=True))
