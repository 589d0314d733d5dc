"""Tests of the King et al. (2019) modulation filterbank (AMT ``king2019_modfilterbank``)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import scipy.io as sio
import torch
from torch.func import functional_call

from torch_amt.dsp.iir import use_backend
from torch_amt.functional import king2019_modfilterbank
from torch_amt.functional.king2019_modfilterbank import king2019_mfc
from torch_amt.stages import FastKing2019ModulationFilterbank, King2019ModulationFilterbank
from torch_amt.stages.base import Stage
from torch_amt.validation.tolerances import conditioning_tolerance

KING_FILES = ["tone1k_60dB_fs44k", "sam2k_fm32_m0.8_65dB_fs16k", "sam4k_fm16_m0.5_70dB_fs44k"]
# AMT variant in the file -> module arguments
KING_VARIANTS = {
    "default": {}, "no_phase_insens": dict(phase_insens=False), "LP_150_Hz": dict(lp150=True),
    "Q2_mflow4_mfhigh256": dict(qfactor=2.0, mflow=4.0, mfhigh=256.0),
}
CLASSES = [King2019ModulationFilterbank, FastKing2019ModulationFilterbank]


def _rel(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def _load(ref_dir, stim):
    return sio.loadmat(ref_dir / f"king2019_modfilterbank__{stim}.mat")


def _king_tol(mfc: float) -> float:
    """10x AMT's own float64 conditioning floor at this mfc (reference README: a one-ulp
    input change moves AMT's output by 2.9e-5 at 2 Hz, 1.8e-5 at 5.2 Hz, 1.9e-6 at 13.7 Hz;
    log-log interpolated), at least 1e-9."""
    return float(conditioning_tolerance("king2019_mfc", [mfc])[0][0])


def _signal(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


# --------------------------------------------------------------------------- AMT references


@pytest.mark.parametrize("stim", KING_FILES)
@pytest.mark.parametrize("cls", CLASSES)
def test_king2019_matches_amt(amt_reference_dir, stim, cls):
    d = _load(amt_reference_dir, stim)
    fs = float(d["fs"][0, 0])
    x = torch.from_numpy(d["insig"].T.copy())
    for variant, kw in KING_VARIANTS.items():
        bank = cls(fs, dtype=torch.float64, **kw)
        np.testing.assert_array_equal(bank.mfc.numpy(), d[f"mfc_{variant}"][0])
        y = bank(x).numpy()  # (C, M, T)
        ref = d[f"out_{variant}"].transpose(1, 2, 0)
        for k, m in enumerate(bank.mfc.tolist()):
            # the FFT class computes the filters' exact response: it differs from AMT by
            # the rounding noise of AMT's direct form, i.e. AMT's own conditioning floor
            assert _rel(y[:, k], ref[:, k]) < _king_tol(m), (variant, m)
    bank = King2019ModulationFilterbank(fs, dtype=torch.float64)
    np.testing.assert_array_equal(bank.b.numpy(), d["step_default_b"])
    np.testing.assert_array_equal(bank.a.numpy(), d["step_default_a"])


def test_king2019_float32(amt_reference_dir):
    d = _load(amt_reference_dir, "tone1k_60dB_fs44k")
    y = King2019ModulationFilterbank(44100)(torch.from_numpy(d["insig"].T.copy()).float())
    assert y.dtype == torch.float32
    assert _rel(y.numpy(), d["out_default"].transpose(1, 2, 0)) < 1e-4


@pytest.mark.parametrize("stim", KING_FILES)
def test_fast_king2019_equals_exact_arithmetic(amt_reference_dir, stim):
    # both compute the filters' exact response (double-double recursion vs FFT convolution
    # with double-double impulse responses): they differ by FFT rounding only (measured
    # <= 1.8e-15 per filter); 1e-12 bounds it. The float64 direct form (AMT arithmetic)
    # is 3e-5 away at 2 Hz and would fail.
    d = _load(amt_reference_dir, stim)
    fs = float(d["fs"][0, 0])
    x = torch.from_numpy(d["insig"].T.copy())
    for variant, kw in KING_VARIANTS.items():
        exact = King2019ModulationFilterbank(fs, dtype=torch.float64, arithmetic="exact", **kw)
        fast = FastKing2019ModulationFilterbank(fs, dtype=torch.float64, **kw)
        for y_fast, y_exact in zip(fast(x, return_filtered=True), exact(x, return_filtered=True),
                                   strict=True):
            for k, m in enumerate(exact.mfc.tolist()):
                assert _rel(y_fast[:, k].numpy(), y_exact[:, k].numpy()) <= 1e-12, (variant, m)


@pytest.mark.parametrize("stim", KING_FILES)
def test_king2019_exact_arithmetic_matches_amt(amt_reference_dir, stim):
    # exact response vs AMT's float64 direct form: AMT's own rounding noise, so 10x AMT's
    # measured floor per mfc (measured: at most 2.8x the floor, 5.1e-5 at 5.2 Hz, 44.1 kHz)
    d = _load(amt_reference_dir, stim)
    fs = float(d["fs"][0, 0])
    x = torch.from_numpy(d["insig"].T.copy())
    for variant, kw in KING_VARIANTS.items():
        bank = King2019ModulationFilterbank(fs, dtype=torch.float64, arithmetic="exact", **kw)
        out, e_mod = bank(x, return_filtered=True)
        pairs = [(out, d[f"out_{variant}"])]
        if f"step_{variant}_E_mod" in d:
            pairs.append((e_mod, d[f"step_{variant}_E_mod"]))
        for y, ref in pairs:
            ref = ref.transpose(1, 2, 0)
            for k, m in enumerate(bank.mfc.tolist()):
                err = _rel(y[:, k].numpy(), ref[:, k])
                assert err < _king_tol(m), (variant, m)
                if m < 6:  # ill-conditioned: the exact response is NOT AMT's bits
                    assert err > 1e-9, (variant, m)


# --------------------------------------------------------------------------- one path


@pytest.mark.parametrize("arithmetic", ["amt", "exact"])
def test_functional_twin_equals_module(arithmetic):
    x = _signal(2, 3000)
    bank = King2019ModulationFilterbank(44100, dtype=torch.float64, lp150=True,
                                        arithmetic=arithmetic)
    y, mfc = king2019_modfilterbank(x, 44100, lp150=True, arithmetic=arithmetic)
    assert torch.equal(y, bank(x)) and torch.equal(mfc, bank.mfc)
    assert f"arithmetic={arithmetic!r}" in repr(bank)
    y1, _ = king2019_modfilterbank(x[0], 44100, lp150=True, arithmetic=arithmetic)
    assert y1.shape == (len(mfc), 3000) and torch.equal(y1, y[0])
    with pytest.raises(ValueError, match="arithmetic"):
        king2019_modfilterbank(x, 44100, arithmetic="double")


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("kw", [{}, dict(lp150=True), dict(phase_insens=False)])
def test_batch_equals_signal_by_signal(cls, kw):
    x = _signal(3, 2, 800)
    bank = cls(4000, dtype=torch.float64, **kw)
    out, filtered = bank(x, return_filtered=True)
    assert out.shape == filtered.shape == (3, 2, bank.num_filters, 800)
    assert torch.equal(bank(x), out)
    for i in range(3):
        out_i, filtered_i = bank(x[i], return_filtered=True)
        assert torch.equal(out[i], out_i) and torch.equal(filtered[i], filtered_i)
    with pytest.raises(TypeError, match="return_filtered"):
        bank(x, return_filtered="yes")


def test_fast_king_caches_detached_impulse_responses():
    bank = FastKing2019ModulationFilterbank(4000, dtype=torch.float64)
    h = bank.impulse_responses(300)
    assert bank.impulse_responses(300) is h and not h.requires_grad
    assert bank.impulse_responses(200).shape == (bank.num_filters, 200)
    with torch.no_grad():  # an in-place change of the coefficients invalidates the entry
        bank.b.mul_(2)
    torch.testing.assert_close(bank.impulse_responses(300), 2 * h, rtol=1e-14, atol=0)
    learnable = FastKing2019ModulationFilterbank(4000, learnable=True, dtype=torch.float64)
    h1 = learnable.impulse_responses(300)
    assert h1.requires_grad and learnable.impulse_responses(300) is not h1
    assert not learnable._ir_cache
    assert not copy.deepcopy(bank)._ir_cache


def test_fast_king_ir_ratio_truncates():
    x = _signal(1, 2, 2000)
    ref = King2019ModulationFilterbank(4000, dtype=torch.float64)(x)
    approx = FastKing2019ModulationFilterbank(4000, dtype=torch.float64, ir_length_ratio=0.1)(x)
    assert _rel(approx.numpy(), ref.numpy()) > 1e-6  # a short IR is an approximation, and it shows


# --------------------------------------------------------------------------- Stage policy


@pytest.mark.parametrize("cls", CLASSES)
def test_stage_identity_and_float64_buffers(cls):
    bank = cls(16000, learnable=True)
    assert isinstance(bank, Stage) and bank.amt_equivalent() == "king2019_modfilterbank"
    for cast in (bank.float, bank.double, lambda: bank.to(torch.float32)):
        cast()
        assert all(b.dtype == torch.float64 for b in bank.buffers())
    assert all(p.dtype == torch.float32 for p in bank.parameters())
    fixed = cls(16000).float()
    assert fixed.b.dtype == fixed.a.dtype == torch.float64


@pytest.mark.parametrize("cls", CLASSES)
def test_edited_buffer_changes_the_output(cls):
    x = _signal(2, 600)
    bank = cls(4000, dtype=torch.float64)
    before = bank(x)
    with torch.no_grad():
        bank.b.mul_(2)  # in place: the version counter moves
    edited = bank(x)
    assert not torch.equal(edited, before)
    torch.testing.assert_close(edited[:, :1], 2 * before[:, :1], rtol=1e-12, atol=0)
    bank.load_state_dict(cls(4000, dtype=torch.float64).state_dict())
    assert torch.equal(bank(x), before)


# --------------------------------------------------------------------------- AMT semantics


def test_mfc_rules():
    assert king2019_mfc() == pytest.approx([2.0, 5.2360680, 13.708204, 35.888544, 93.957428])
    assert len(king2019_mfc(2, 150, 1, nmod=7)) == 7
    king = King2019ModulationFilterbank(16000)
    assert king(torch.rand(3, 2, 500)).shape == (3, 2, 5, 500)


def test_bad_input():
    with pytest.raises(ValueError, match="fs/2"):
        King2019ModulationFilterbank(200, mfhigh=150)
    with pytest.raises(ValueError, match="mfhigh"):
        King2019ModulationFilterbank(16000, mflow=10, mfhigh=5)
    with pytest.raises(ValueError, match=r"arithmetic must be one of \['amt', 'exact'\]"):
        King2019ModulationFilterbank(16000, arithmetic="double")
    with pytest.raises(ValueError, match="arithmetic must be 'exact'"):
        FastKing2019ModulationFilterbank(16000, arithmetic="amt")
    for name in ("lp150", "phase_insens", "learnable"):
        with pytest.raises(TypeError, match=name):
            King2019ModulationFilterbank(16000, **{name: "no"})


# --------------------------------------------------------------------------- gradients


def _gradcheck_module(module, x, atol=1e-4, rtol=1e-3):
    params = {n: p.detach().clone().requires_grad_(True) for n, p in module.named_parameters()}
    names = list(params)

    def fn(x_, *ps):
        return functional_call(module, dict(zip(names, ps, strict=True)), (x_,))

    assert torch.autograd.gradcheck(fn, (x, *params.values()), eps=1e-6, atol=atol, rtol=rtol,
                                    fast_mode=True)


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("cls", CLASSES)
def test_gradcheck_king2019(backend, cls):
    x = torch.rand(2, 2, 32, dtype=torch.float64, requires_grad=True)
    bank = cls(400, mflow=4, mfhigh=60, learnable=True, dtype=torch.float64)
    # forward values are Octave's butter (AMT bit for bit), gradients the smooth design of
    # the same function: their last-ulp difference, divided by eps = 1e-6, adds ~1e-5
    # noise to the finite differences (analytic vs central differences agree to 2e-6)
    with use_backend(backend):
        _gradcheck_module(bank, x)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_gradcheck_king2019_exact_arithmetic(backend):
    # double-double forward values, float64-recursion gradients (straight-through); at
    # 2 kHz the filters are well conditioned, so both describe the same smooth function
    x = torch.rand(1, 2, 32, dtype=torch.float64, requires_grad=True)
    bank = King2019ModulationFilterbank(2000, mflow=4, mfhigh=100, learnable=True, lp150=True,
                                        dtype=torch.float64, arithmetic="exact")
    with use_backend(backend):
        _gradcheck_module(bank, x)


@pytest.mark.parametrize("cls", CLASSES)
def test_training_loop(cls):
    torch.manual_seed(0)
    bank = cls(2000, mflow=4, mfhigh=100, learnable=True)
    target_bank = cls(2000, mflow=4, mfhigh=100, learnable=True)
    with torch.no_grad():  # the target: every frequency / Q parameter 15 % higher
        for p in target_bank.parameters():
            p += math.log(1.15)
    initial = [p.detach().clone() for p in bank.parameters()]
    x = torch.rand(4, 2, 400)
    with torch.no_grad():
        target = target_bank(x)
    opt = torch.optim.Adam(bank.parameters(), lr=0.01)
    losses = []
    for _ in range(50):
        opt.zero_grad()
        loss = torch.mean((bank(x) - target) ** 2)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in bank.parameters())
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses) and losses[-1] < 0.7 * losses[0]
    assert all(not torch.equal(a, p) for a, p in zip(initial, bank.parameters(), strict=True))
