"""IHCEnvelope / functional.ihc against AMT 1.4.0 ``ihcenvelope`` and for gradients."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.signal
import torch

from torch_amt.dsp.hilbert import hilbert
from torch_amt.dsp.iir import use_backend
from torch_amt.functional.ihc import IHC_METHODS, ihc_envelope
from torch_amt.stages.ihc import IHCEnvelope

# parametrisation needs the file names at collection time (same location rule as the
# amt_reference_dir fixture, which the tests use to load them, skip or fail in CI)
REF = Path(os.environ.get("AMT_REFERENCE_DIR")
           or Path(__file__).resolve().parents[2].parent / "shared" / "amt_reference")
PATTERN = "ihcenvelope__*.mat"
FILES = sorted(p.name for p in REF.glob(PATTERN))


def _cases():
    for name in FILES:
        data = scipy.io.loadmat(REF / name)
        for key in sorted(k for k in data if k.startswith("out_")):
            yield pytest.param(name, key[4:], id=f"{name[13:-4]}-{key[4:]}")


@pytest.fixture(scope="module")
def ref_data(amt_reference_dir):
    return {name: scipy.io.loadmat(amt_reference_dir / name) for name in FILES}


def test_reference_files_present(amt_reference_dir):
    assert sorted(amt_reference_dir.glob(PATTERN))


def _rel(y: np.ndarray, ref: np.ndarray) -> float:
    scale = np.abs(ref).max()
    return float(np.abs(y - ref).max() / (scale if scale > 0 else 1.0))


@pytest.mark.parametrize(("name", "method"), list(_cases()))
def test_matches_amt(ref_data, name, method):
    # AMT's ihcenvelope is a rectifier plus 1st/2nd-order low-passes (well conditioned):
    # float64 must agree to 1e-9 relative (measured: <= 1.4e-13, ihc_bernstein1999),
    # float32 to 1e-4 (measured: 1e-5, from rounding the input to float32).
    data = ref_data[name]
    fs = float(data["fs"].squeeze())
    ref = data[f"out_{method}"].T
    x = torch.from_numpy(data["insig"].T.copy())
    y64 = IHCEnvelope(fs, method, dtype=torch.float64)(x)
    assert _rel(y64.numpy(), ref) <= 1e-9
    y32 = IHCEnvelope(fs, method)(x.float())
    assert y32.dtype == torch.float32
    assert _rel(y32.double().numpy(), ref) <= 1e-4


@pytest.mark.parametrize("method", list(IHC_METHODS))
def test_silence_click_and_levels_are_finite(method):
    fs = 16000.0
    stage = IHCEnvelope(fs, method, dtype=torch.float64)
    silence = torch.zeros(2, 3, 400, dtype=torch.float64)
    assert torch.equal(stage(silence), torch.zeros_like(silence))  # bernstein: 0, not NaN
    click = torch.zeros(400, dtype=torch.float64)
    click[50] = 1.0
    assert torch.isfinite(stage(click)).all()
    t = torch.arange(400, dtype=torch.float64) / fs
    for level in (0.0, 60.0, 120.0):
        tone = np.sqrt(2) * 10 ** ((level - 100) / 20) * torch.sin(2 * np.pi * 1000 * t)
        assert torch.isfinite(stage(tone)).all()


def test_shapes_and_batching():
    stage = IHCEnvelope(16000.0)
    x = torch.randn(2, 3, 100)
    y = stage(x)
    assert y.shape == x.shape
    torch.testing.assert_close(stage(x[1, 2]), y[1, 2])


def test_filter_order_repeats_the_lowpass():
    x = torch.randn(3, 200, dtype=torch.float64)
    once = ihc_envelope(x, 16000.0, "ihc_dau1996")
    three = ihc_envelope(x, 16000.0, "ihc_dau1996", filter_order=3)
    b, a = scipy.signal.butter(1, 2 * 1000 / 16000)
    manual = scipy.signal.lfilter(b, a, scipy.signal.lfilter(b, a, once.numpy()))
    np.testing.assert_allclose(three.numpy(), manual, rtol=1e-12, atol=1e-15)
    # ihc_breebaart2001 defaults to 5 passes of a 2-kHz low-pass
    b, a = scipy.signal.butter(1, 2 * 2000 / 16000)
    manual = np.maximum(x.numpy(), 0)
    for _ in range(5):
        manual = scipy.signal.lfilter(b, a, manual)
    np.testing.assert_allclose(ihc_envelope(x, 16000.0, "ihc_breebaart2001").numpy(), manual,
                               rtol=1e-12, atol=1e-15)


def test_minlvl_floors_the_output():
    x = torch.randn(100, dtype=torch.float64)
    y = IHCEnvelope(16000.0, "ihc_dau1996", minlvl=0.05, dtype=torch.float64)(x)
    assert float(y.min()) >= 0.05
    plain = IHCEnvelope(16000.0, "ihc_dau1996", dtype=torch.float64)(x)
    torch.testing.assert_close(y, plain.clamp_min(0.05))


@pytest.mark.parametrize("n", [64, 65])
def test_hilbert_matches_scipy(n):
    x = torch.randn(2, n, dtype=torch.float64)
    np.testing.assert_allclose(hilbert(x).numpy(), scipy.signal.hilbert(x.numpy()),
                               rtol=0, atol=1e-13)
    np.testing.assert_allclose(hilbert(x, 80).numpy(), scipy.signal.hilbert(x.numpy(), 80),
                               rtol=0, atol=1e-13)


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("method", list(IHC_METHODS))
def test_gradcheck(method, backend):
    torch.manual_seed(0)
    # away from the rectifier's kink at 0 (finite differences would straddle it)
    x = torch.randn(2, 24, dtype=torch.float64)
    x = (x + 0.2 * torch.sign(x)).requires_grad_()
    with use_backend(backend):
        assert torch.autograd.gradcheck(lambda v: ihc_envelope(v, 8000.0, method), (x,))


def test_amt_identity_and_float64_design():
    stage = IHCEnvelope(16000.0, preset="ihc_breebaart2001")
    assert stage.preset == "ihc_breebaart2001"
    assert stage.amt_equivalent() == "ihcenvelope 'ihc_breebaart2001'"
    assert stage.b.dtype == stage.a.dtype == torch.float64
    assert stage.double().float().b.dtype == torch.float64  # kept when the module is cast


def test_errors():
    with pytest.raises(NotImplementedError, match="comp_meddishaircell"):
        IHCEnvelope(16000.0, "ihc_meddis1990")
    with pytest.raises(ValueError, match="preset"):
        IHCEnvelope(16000.0, "ihc_foo")
    with pytest.raises(ValueError, match="filter_order"):
        IHCEnvelope(16000.0, "ihc_lindemann1986", filter_order=2)
    with pytest.raises(ValueError, match="fs"):
        IHCEnvelope(-1.0)
    with pytest.raises(TypeError, match="x"):
        IHCEnvelope(16000.0)(torch.ones(10, dtype=torch.int64))
    with pytest.raises(ValueError, match="NaN"):
        IHCEnvelope(16000.0)(torch.full((10,), float("nan")))
