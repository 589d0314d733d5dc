"""HeadphoneFilter / MiddleEarFilter against AMT 1.4.0 (filters__fs*.mat)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import scipy.io as sio
import scipy.signal as ss
import torch

from tests.conftest import REFERENCE_DIR, missing_reference
from torch_amt.dsp.iir import use_backend
from torch_amt.functional.ears import ear_filter, headphonefilter, max_gain_db, middleearfilter
from torch_amt.stages.ears import HeadphoneFilter, MiddleEarFilter

REF = str(REFERENCE_DIR)
IIR = ("verhulst2012", "verhulst2015", "verhulst2018", "zilany2009", "zilany2009cat")


def _load(fs):
    path = os.path.join(REF, f"filters__fs{fs}.mat")
    if not os.path.exists(path):
        missing_reference(f"AMT reference file {path} not found")
    return sio.loadmat(path)


def _rel(a, b):
    return np.abs(np.asarray(a) - b).max() / np.abs(b).max()


@pytest.mark.parametrize("fs", [16000, 22050, 44100, 48000])
def test_filters_match_amt(fs):
    d = _load(fs)
    # FIRs: fir2's inverse FFT and the cepstral minimum-phase FFTs round differently from
    # Octave's FFTW: measured <= 1.1e-15 relative; 1e-13 leaves margin for other FFT builds.
    assert _rel(headphonefilter(fs).numpy(), d["hp_b"][0]) < 1e-13
    assert _rel(middleearfilter(fs).numpy(), d["me_lopezpoveda2001_b"][0]) < 1e-13
    zero = middleearfilter(fs, phase="zero").numpy()
    assert _rel(zero, d["me_lopezpoveda2001_zero_b"][0]) < 1e-13
    assert _rel(middleearfilter(fs, "jepsen2008").numpy(), d["me_jepsen2008_b"][0]) < 1e-13
    np.testing.assert_array_equal(headphonefilter().numpy(), d["hp_data_pralong1996"])
    np.testing.assert_array_equal(middleearfilter().numpy(), d["me_data_lopezpoveda2001"])
    for preset in ("lopezpoveda2001", "jepsen2008"):
        gain = max_gain_db(middleearfilter(fs, preset))
        assert abs(gain - d[f"me_{preset}_maxgain_db"][0, 0]) < 1e-12
    for preset in IIR:  # closed forms / Butterworth: within a few ulp
        b, a = middleearfilter(fs, preset)
        assert _rel(b.numpy().reshape(d[f"me_{preset}_b"].shape), d[f"me_{preset}_b"]) < 1e-14
        assert _rel(a.numpy().reshape(d[f"me_{preset}_a"].shape), d[f"me_{preset}_a"]) < 1e-14


def test_module_filtering_and_dau1997_options():
    fs = 16000
    x = torch.randn(2, 700, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    b = middleearfilter(fs).numpy()
    plain = MiddleEarFilter(fs, dtype=torch.float64)(x)
    np.testing.assert_allclose(plain.numpy(), ss.lfilter(b, 1, x.numpy()), rtol=0, atol=1e-12)
    comp = MiddleEarFilter(fs, compensate_delay=True, normalize_gain=True, dtype=torch.float64)
    n = math.ceil(513 / 2)
    padded = np.pad(x.numpy(), ((0, 0), (0, n)))
    expected = ss.lfilter(b, 1, padded)[:, n:] * 10 ** (-max_gain_db(middleearfilter(fs)) / 20)
    np.testing.assert_allclose(comp(x).numpy(), expected, rtol=0,
                               atol=1e-12 * np.abs(expected).max())
    hp = HeadphoneFilter(fs, compensate_delay=True)
    assert hp(x[0].float()).shape == (700,)
    with use_backend("torch"):  # FFT convolution path
        torch.testing.assert_close(HeadphoneFilter(fs, dtype=torch.float64)(x),
                                   torch.from_numpy(ss.lfilter(headphonefilter(fs).numpy(), 1,
                                                               x.numpy())))
    bz, az = middleearfilter(fs, "zilany2009")
    y = MiddleEarFilter(fs, "zilany2009", dtype=torch.float64)(x).numpy()
    ref = x.numpy()
    for k in range(3):
        ref = ss.lfilter(bz[k].numpy(), az[k].numpy(), ref)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-15)


def test_float32_fir_keeps_quiet_samples_relative():
    """float32 FIRs are convolved in float64 and rounded once: a quiet passage after a
    loud one keeps single-precision *relative* accuracy (a float32 FFT would leave an
    error floor of ~1e-7 of the loud part's level there, ~1e-1 relative at -120 dB)."""
    fs = 44100
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4000, dtype=torch.float64, generator=g)
    x[:, 2000:] *= 1e-6  # 120 dB quieter
    b = headphonefilter(fs).numpy()
    ref = ss.lfilter(b, 1, x.numpy())
    y = HeadphoneFilter(fs, dtype=torch.float32)(x.float()).double().numpy()
    tail = slice(2600, None)  # past the loud part's 513-tap reach
    rel = np.abs(y[:, tail] - ref[:, tail]).max() / np.abs(ref[:, tail]).max()
    assert rel < 1e-5, rel


def test_learnable_taps_gradcheck_and_train():
    fs = 8000
    b = middleearfilter(fs, order=16).clone().requires_grad_(True)
    x = torch.randn(1, 40, dtype=torch.float64, requires_grad=True)
    for backend in ("numba", "torch"):  # lfilter (numba, float64) and FFT convolution
        with use_backend(backend):
            assert torch.autograd.gradcheck(lambda x, b: ear_filter(x, b, None, 5, 0.5), (x, b))
    target = torch.randn(1, 200)
    model = HeadphoneFilter(fs, order=8, learnable=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    inp = torch.randn(1, 200)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = (model(inp) - target).pow(2).mean()
        loss.backward()
        assert model.b_delta.grad is not None and bool(model.b_delta.grad.abs().sum() > 0)
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_amt_identity_and_float64_coefficients():
    me = MiddleEarFilter(16000, preset="zilany2009")
    assert me.preset == "zilany2009"
    assert me.amt_equivalent() == "middleearfilter 'zilany2009'"
    assert HeadphoneFilter(16000).amt_equivalent() == "headphonefilter"
    assert me.b.dtype == me.a.dtype == torch.float64  # designed in float64, cast when used
    x = torch.randn(2, 700, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y64 = MiddleEarFilter(16000, "zilany2009", dtype=torch.float64)(x)
    y32 = me(x.float())
    assert y32.dtype == torch.float32
    assert float((y32.double() - y64).abs().max() / y64.abs().max()) <= 1e-6


@pytest.mark.parametrize("make,exc,match", [
    (lambda: MiddleEarFilter(0), ValueError, "fs"),
    (lambda: MiddleEarFilter(16000, "goode"), ValueError, "preset"),
    (lambda: MiddleEarFilter(16000, phase="linear"), ValueError, "phase"),
    (lambda: MiddleEarFilter(16000, "zilany2009", compensate_delay=True), ValueError,
     "compensate_delay"),
    (lambda: MiddleEarFilter(16000, compensate_delay="no"), TypeError, "compensate_delay"),
    (lambda: MiddleEarFilter(16000, normalize_gain=1), TypeError, "normalize_gain"),
    (lambda: HeadphoneFilter(16000, learnable="yes"), TypeError, "learnable"),
    (lambda: HeadphoneFilter(-5), ValueError, "fs"),
    (lambda: middleearfilter(None, "verhulst2012"), ValueError, "fs"),
    (lambda: HeadphoneFilter(16000)(torch.zeros(3, dtype=torch.int32)), TypeError, "floating"),
    (lambda: HeadphoneFilter(16000)(torch.zeros(1, 2, 3)), ValueError, "shape"),
    (lambda: HeadphoneFilter(16000)(torch.tensor([float("nan")])), ValueError, "NaN"),
])
def test_bad_input(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
