"""Paulick et al. (2024) revised CASP (AMT 1.6 ``paulick2024``): model, new dsp kernels,
stages and back-end.

Reference-file tests read ``$AMT_REFERENCE_FAMILY_DIR`` (default
``../shared/amt_reference_family``) and are skipped without it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.signal
import torch

import torch_amt
from torch_amt.decision.paulick2024 import (
    paulick2024_corr,
    paulick2024_decision,
    paulick2024_roi,
)
from torch_amt.dsp.membrane import membrane_potential
from torch_amt.dsp.movmean import movmean, movmean_window
from torch_amt.dsp.resample import resample, resample_filter
from torch_amt.functional.paulick2024 import (
    PAULICK2024_MINLVLS,
    paulick2024_drnl_values,
    paulick2024_ihc,
    paulick2024_minlvl,
)
from torch_amt.stages.octave_resample import OctaveResample
from torch_amt.stages.paulick2024_drnl import Paulick2024DRNL

REFERENCE = Path(os.environ.get("AMT_REFERENCE_FAMILY_DIR",
                                Path(__file__).parents[2] / ".." / "shared"
                                / "amt_reference_family"))
F64 = torch.float64


def _reference(name: str) -> dict:
    path = REFERENCE / f"paulick2024__{name}.mat"
    if not path.exists():
        pytest.skip(f"reference file {path} not available")
    return scipy.io.loadmat(path)


# --------------------------------------------------------------------------- dsp.resample


def _octave_resample_by_upfirdn(x: np.ndarray, p: int, q: int, h: np.ndarray) -> np.ndarray:
    """Octave's resample.m written out with scipy's upfirdn (independent of the kernel)."""
    p, q = p // math.gcd(p, q), q // math.gcd(p, q)
    half = (len(h) - 1) / 2
    nz_pre = int(math.floor(q - math.fmod(half, q)))
    offset = int(math.floor((half + nz_pre) / q))
    n_y = math.ceil(x.shape[-1] * p / q)
    hpad = np.concatenate([np.zeros(nz_pre), h, np.zeros(q * n_y + len(h))])
    return scipy.signal.upfirdn(hpad, x, p, q, axis=-1)[..., offset:offset + n_y]


@pytest.mark.parametrize(("p", "q"), [(1, 4), (3, 5), (2, 7), (5, 3), (4, 8)])
def test_resample_matches_octave_algorithm(p, q):
    x = np.random.default_rng(0).standard_normal((2, 97))
    h = resample_filter(p, q).numpy()
    expected = _octave_resample_by_upfirdn(x, p, q, h)
    got = resample(torch.from_numpy(x), p, q).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-14)


def test_resample_filter_is_octaves_stored_filter():
    d = _reference("tone1k_60dB_fs44k__band870-1400_N5")
    h = resample_filter(1, 4).numpy()
    np.testing.assert_allclose(h, d["resample_h"][:, 0], rtol=0, atol=1e-15)
    y = resample(torch.from_numpy(d["Y_adaptation"].T.copy()), 1, 4)[:, :4410 // 4]
    ref = d["step_resampled"].T
    assert np.abs(y.numpy() - ref).max() <= 1e-13 * np.abs(ref).max()


def test_resample_identity_gradient_and_errors():
    x = torch.randn(3, 40, dtype=F64, requires_grad=True)
    assert resample(x, 2, 2) is x
    assert torch.autograd.gradcheck(lambda v: resample(v, 1, 4), (x[:1, :21],))
    with pytest.raises(ValueError, match="p must be"):
        resample(x, 0, 4)
    with pytest.raises(TypeError, match="x must be"):
        resample(torch.ones(4, dtype=torch.int64), 1, 2)
    with pytest.raises(ValueError, match="h must be"):
        resample(x, 1, 2, torch.zeros(0))


def test_octave_resample_stage_lengths():
    stage = OctaveResample(44100, 1, 4, floor_length=True)
    assert stage.output_fs == 11025
    assert stage(torch.zeros(2, 7)).shape == (2, 1)
    assert OctaveResample(44100, 1, 4)(torch.zeros(2, 7)).shape == (2, 2)
    assert stage(torch.zeros(0, 5)).shape == (0, 1)


# --------------------------------------------------------------------------- dsp.membrane


def _membrane_by_loop(g, v0, e_g, gl, el, dt, c):
    out = np.empty_like(g)
    for r in range(g.shape[0]):
        v = v0
        for t in range(g.shape[1]):
            i = -g[r, t] * (v - e_g) + sum(-gk * (v - ek) for gk, ek in zip(gl, el, strict=True))
            v = v + i * dt / c
            out[r, t] = v
    return out


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_membrane_forward_and_gradcheck(backend):
    rng = np.random.default_rng(1)
    g = torch.from_numpy(rng.uniform(1e-9, 3e-8, (2, 30)))
    args = (-0.05, 0.09, (19.8e-9, 19.8e-9), (-0.071, -0.078), 1 / 44100, 12.5e-12)
    with torch_amt.dsp.use_backend(backend):
        v = membrane_potential(g, *args)
        np.testing.assert_allclose(v.numpy(), _membrane_by_loop(g.numpy(), *args),
                                   rtol=1e-13, atol=0)
        gs = (g * 1e8).requires_grad_(True)  # O(1) values for gradcheck's finite steps
        assert torch.autograd.gradcheck(lambda u: membrane_potential(u * 1e-8, *args), (gs,))


def test_membrane_errors():
    g = torch.zeros(2, 5)
    with pytest.raises(ValueError, match="g must have shape"):
        membrane_potential(torch.zeros(5), 0.0, 0.0, (), (), 1.0, 1.0)
    with pytest.raises(ValueError, match="same length"):
        membrane_potential(g, 0.0, 0.0, (1.0,), (), 1.0, 1.0)
    with pytest.raises(ValueError, match="v0 must have shape"):
        membrane_potential(g, torch.zeros(3), 0.0, (), (), 1.0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        membrane_potential(g, 0.0, 0.0, (), (), 0.0, 1.0)


# --------------------------------------------------------------------------- dsp.movmean


def test_movmean_integer_and_fractional_windows():
    x = torch.randn(2, 23, dtype=F64)
    for w in (1, 4, 5, 6.5, 7.25, 30.0):
        back, forward = movmean_window(w)
        expected = torch.stack([x[:, max(0, i - back):i + forward + 1].mean(-1)
                                for i in range(23)], -1)
        torch.testing.assert_close(movmean(x, w), expected, rtol=1e-14, atol=1e-15)
    assert movmean_window(5) == (2, 2) and movmean_window(4) == (2, 1)
    assert movmean_window(3150.3) == (1575, 1575)
    with pytest.raises(ValueError, match="length"):
        movmean(x, 0)


# --------------------------------------------------------------------------- stages


def test_drnl_values_rule_and_subjects():
    fc = torch.tensor([500.0, 1000.0, 1001.0, 1500.0, 4000.0], dtype=F64)
    nh = paulick2024_drnl_values(fc, "NH")
    a = nh["nlin_a"]
    assert a[0] == 10 ** (1.40298 + 0.81916 * math.log10(500.0))
    assert a[2] == a[3] == a[4] == 10 ** (1.40298 + 0.81916 * math.log10(1500.0))
    assert a[1] < a[2]  # the step at 1 kHz
    assert torch.all(nh["nlin_c"] == 10 ** -0.60206)
    hix = paulick2024_drnl_values(fc, "HIx")
    assert torch.all(hix["nlin_a"] == 0) and torch.all(hix["nlin_c"] == 0.25)
    with pytest.raises(ValueError, match="subject"):
        paulick2024_drnl_values(fc, "XX")


def test_drnl_and_ihc_reproduce_reference_stages():
    for name, subject in (("tone1k_60dB_fs44k__band870-1400_N5", "NH"),
                          ("tone1k_60dB_fs44k__HIx_band870-1400_N5", "HIx")):
        d = _reference(name)
        stage = Paulick2024DRNL(44100, fc=d["fc_aud"][0], subject=subject, dtype=F64)
        bm = stage(torch.from_numpy(d["Y_OM"][:, 0].copy())).numpy().T
        assert np.abs(bm - d["Y_BM"]).max() <= 1e-9 * np.abs(d["Y_BM"]).max()
        ihc = paulick2024_ihc(torch.from_numpy(d["Y_BM"].T.copy()), 44100).numpy().T
        assert np.abs(ihc - d["Y_IHC"]).max() <= 1e-13 * np.abs(d["Y_IHC"]).max()


def test_minimum_levels_are_the_stored_table():
    d = _reference("tone1k_60dB_fs44k__band870-1400_N5")
    np.testing.assert_array_equal(np.array(PAULICK2024_MINLVLS), d["minlvls_table"][0])
    np.testing.assert_array_equal(paulick2024_minlvl(torch.from_numpy(d["fc_aud"][0])).numpy(),
                                  d["minlvl"][0])


def test_ihc_gradcheck_and_silence():
    x = (torch.randn(2, 25, dtype=F64) * 1e-3).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: paulick2024_ihc(v, 16000) * 1e3, (x,))
    assert torch.equal(paulick2024_ihc(torch.zeros(3, 10, dtype=F64), 44100).abs().max() < 1e-8,
                       torch.tensor(True))


# --------------------------------------------------------------------------- model


def test_model_chain_shapes_and_defaults():
    model = torch_amt.Paulick2024(44100, 900, 1100, naud=3, dtype=F64)
    assert model.chain == ("inputgain", "outerear", "middleear", "drnl", "ihc", "adt",
                           "resample", "mfb")
    assert model.output_fs == 44100 / 4
    out = model(torch.randn(2, 441, dtype=F64) * 0.01)
    assert len(out) == 3 and all(o.shape[0] == 2 and o.shape[-1] == 110 for o in out)
    torch.testing.assert_close(model.fc, torch_amt.scales.erbspace(900.0, 1100.0, 3,
                                                                   dtype=F64))
    jepsen = torch_amt.Paulick2024(44100, 900, 1100, naud=3, model="jepsen2008")
    assert jepsen.chain == ("inputgain", "outerear", "middleear", "drnl", "ihc", "gain",
                            "expansion", "adt", "resample", "mfb")
    assert "paulick2024_drnl" in repr(model)
    assert float(torch_amt.Paulick2024(16000).fc.max()) < 8000  # fhigh=None at 16 kHz


def test_model_errors_name_the_argument():
    with pytest.raises(ValueError, match="model"):
        torch_amt.Paulick2024(44100, model="casp")
    with pytest.raises(ValueError, match="subject"):
        torch_amt.Paulick2024(44100, subject="HI")
    with pytest.raises(ValueError, match="naud"):
        torch_amt.Paulick2024(44100, naud=0)
    with pytest.raises(ValueError, match="fhigh is too high"):
        torch_amt.Paulick2024(16000, fhigh=8000.0)


def test_jepsen2008_mode_against_jepsen2008_model():
    """Cross-check of ``model='jepsen2008'`` with :class:`torch_amt.Jepsen2008`: the
    adaptation (limit 10, floor 1e-5, Dau's time constants) and the modulation filterbank
    are the same computations; the DRNLs differ as AMT's two functions do (AMT 1.6
    ``paulick2024_drnl``: gammatone orders 3/3, one low-pass cascade of 3, no middle ear
    inside, a/b frozen above 1 kHz at 1500 Hz; AMT 1.4.0 ``lopezpoveda2001`` 'jepsen2008':
    orders 2/2, its own middle ear and level scaling, a/b frozen above 1500 Hz)."""
    fs = 44100.0
    p = torch_amt.Paulick2024(fs, 900, 1100, naud=2, model="jepsen2008", dtype=F64)
    j = torch_amt.Jepsen2008(fs, 900, 1100, dtype=F64)
    x = torch.rand(1, 2, 2000, dtype=F64) * 1e-2
    torch.testing.assert_close(p.adt(x), j.adt(x[:, :j.fc.numel()].expand(-1, 2, -1)),
                               rtol=0, atol=0)
    assert p.drnl.params.lin_ngt == 3 and j.drnl.params.lin_ngt == 2
    ref = torch_amt.FastModulationFilterbank(fs / 4, p.fc, preset="mfb_jepsen2008",
                                             dtype=F64)
    y = torch.rand(1, 2, 500, dtype=F64)
    for a, b in zip(p.mfb(y), ref(y), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_model_reproduces_reference_end_to_end():
    d = _reference("tone1k_60dB_fs44k__band870-1400_N5")
    model = torch_amt.Paulick2024(44100, 870, 1400, naud=5, dtype=F64)
    out = model(torch.from_numpy(2 * d["stimulus"][:, 0].copy()))
    for ch, y in enumerate(out):
        ref = d["int_rep"][:, ch, :y.shape[0]]
        assert np.abs(y.numpy().T - ref).max() <= 1e-9 * np.abs(ref).max()


# --------------------------------------------------------------------------- back-end


def test_backend_reproduces_reference():
    d = _reference("tone1k_40dB_100ms_fs44k__backend_intensity_41_45dB_band870-1400_N6")
    roi = paulick2024_roi(torch.from_numpy(d["adap_diff"].T.copy()), 44100, d["fc_aud"][0])
    np.testing.assert_array_equal(roi.idx.numpy() + 1, d["roi_idx"][0])
    x = torch.from_numpy(d["corr_in_tar"].transpose(1, 2, 0).copy())
    t = torch.from_numpy(d["corr_in_template"].transpose(1, 2, 0).copy())
    corr = paulick2024_corr(x, t, d["roi_freq"][0], d["fc_mod"][0])
    np.testing.assert_allclose(corr.int.numpy(), d["corr_tar_int"][:, 0], rtol=1e-12)
    for n_afc, rule, key in ((2, (1, 2), "2afc"), (3, (1, 3), "3afc_1up3down"),
                             (4, (1, 2), "4afc")):
        decision, prob = paulick2024_decision(float(d["corr_fin"][0, 0]), n_afc, rule)
        assert float(decision) == d[f"decision_{key}"][0, 0]
        assert abs(float(prob) - d[f"prob_{key}"][0, 0]) < 1e-12


def test_decision_values_gradient_and_errors():
    _, prob = paulick2024_decision(0.0, 2)
    assert float(prob) == pytest.approx(0.5, abs=1e-12)
    mue = torch.tensor(5.0, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m: paulick2024_decision(m, 3, (1, 3))[1], (mue,))
    assert float(paulick2024_decision(40.0, 2, model="jepsen2008")[1]) < float(
        paulick2024_decision(40.0, 2)[1])  # more internal noise
    with pytest.raises(ValueError, match="n_afc"):
        paulick2024_decision(1.0, 5)
    with pytest.raises(ValueError, match="rule"):
        paulick2024_decision(1.0, 2, (2, 1))


def test_corr_mean_removal_and_channel_rule():
    fc, fmod = [100.0, 1000.0], [0.0, 100.0]
    x = torch.ones(2, 2, 8, dtype=F64)
    t = torch.ones(2, 2, 8, dtype=F64) * 2
    revised = paulick2024_corr(x, t, fc, fmod)
    assert torch.all(revised.int == 0)  # constant arrays: nothing left after the means
    original = paulick2024_corr(x, t, fc, fmod, model="jepsen2008")
    # mfc 0 Hz: both channels (fc > 0); mfc 100 Hz: only the 1-kHz channel (fc > 400 Hz)
    assert original.int.tolist() == [32.0, 16.0] and float(original.fin) == 48.0
