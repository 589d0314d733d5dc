"""torch_amt.scales against LTFAT/AMT reference values and hand-derivable properties."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.io
import torch

from tests.conftest import missing_reference
from torch_amt import scales

FS = (16000, 22050, 44100, 48000)


@pytest.fixture(scope="module", params=FS)
def gammatone_file(request, amt_reference_dir):
    return scipy.io.loadmat(amt_reference_dir / f"gammatone__fs{request.param}.mat")


def _exact(actual: torch.Tensor, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual.numpy(), np.asarray(expected).reshape(-1), rtol=1e-15,
                               atol=0)


# --------------------------------------------------------------------------- reference values


def test_erbspacebw_matches_ltfat(gammatone_file):
    _exact(scales.erbspacebw(80, 8000), gammatone_file["fc"])


def test_erbspacebw_with_basef_matches_ltfat(gammatone_file):
    _exact(scales.erbspacebw(80, 8000, 1, 1000), gammatone_file["fc_basef1000"])


def test_audfiltbw_matches_ltfat(gammatone_file):
    _exact(scales.audfiltbw(gammatone_file["fc"]).reshape(-1), gammatone_file["erb_bw"])


def test_freqtoaud_and_back_match_ltfat(gammatone_file):
    _exact(scales.freqtoaud(gammatone_file["fc"]).reshape(-1), gammatone_file["aud"])
    _exact(scales.audtofreq(gammatone_file["aud"]).reshape(-1), gammatone_file["fc_back"])


def _model_files(reference, pattern):
    files = sorted(reference.glob(pattern))
    if not files:
        missing_reference(f"no {pattern} files in {reference}")
    return [(f.name, scipy.io.loadmat(f, variable_names=["call", "fc"])) for f in files]


def test_dau1997_centre_frequencies(amt_reference_dir):
    """dau1997(x, fs[, flow, fhigh]) uses erbspacebw(flow, fhigh, 1, basef=1000), also
    when basef lies outside [flow, fhigh] (3500-4600 Hz)."""
    for _, data in _model_files(amt_reference_dir, "dau1997__*.mat"):
        call = str(data["call"][0])
        limits = re.search(r"dau1997\(stimulus, fs, (\d+), (\d+)", call)
        flow, fhigh = map(float, limits.groups()) if limits else (80.0, 8000.0)
        _exact(scales.erbspacebw(flow, fhigh, 1.0, 1000.0), data["fc"])


def test_king2019_centre_frequencies(amt_reference_dir):
    """king2019: basef +- 2 ERB, flow/fhigh rounded down/up to whole Hz, 1-ERB spacing
    through basef (README quirk 6)."""
    for _, data in _model_files(amt_reference_dir, "king2019__*basef*.mat"):
        basef = float(re.search(r"king2019\(stimulus, fs, (\d+)", str(data["call"][0]))[1])
        erb = scales.freqtoerb(basef)
        flow = math.floor(scales.erbtofreq(erb - 2).item())
        fhigh = math.ceil(scales.erbtofreq(erb + 2).item())
        _exact(scales.erbspacebw(flow, fhigh, 1.0, basef), data["fc"])


# --------------------------------------------------------------------------- properties


def test_erb_scale_values():
    assert scales.freqtoerb(0.0).item() == 0.0
    expected = 9.2645 * math.log(1 + 1000 * 0.00437)
    assert scales.freqtoerb(1000.0).item() == pytest.approx(expected, rel=1e-15)
    f = torch.tensor([-300.0, 0.0, 50.0, 1000.0, 15000.0], dtype=torch.float64)
    torch.testing.assert_close(scales.freqtoerb(-f), -scales.freqtoerb(f), rtol=0, atol=0)
    torch.testing.assert_close(scales.erbtofreq(scales.freqtoerb(f)), f, rtol=1e-14, atol=1e-12)
    assert bool((scales.freqtoerb(f).diff() > 0).all())


def test_audfiltbw_values():
    assert scales.audfiltbw(0.0).item() == 24.7
    assert scales.audfiltbw(1000.0).item() == pytest.approx(24.7 + 1000 / 9.265, rel=1e-15)


@pytest.mark.parametrize("bwmul", [1.0, 0.5, 2.0, 0.37])
def test_erbspacebw_spacing_is_centred(bwmul):
    fc = scales.erbspacebw(100.0, 6000.0, bwmul)
    erb = scales.freqtoerb(fc)
    np.testing.assert_allclose(erb.diff().numpy(), bwmul, rtol=1e-12)
    low_gap = (erb[0] - scales.freqtoerb(100.0)).item()
    high_gap = (scales.freqtoerb(6000.0) - erb[-1]).item()
    assert low_gap == pytest.approx(high_gap, abs=1e-12)
    assert 0 <= low_gap < bwmul / 2 + 1e-12


def test_erbspacebw_with_basef_hits_basef():
    fc = scales.erbspacebw(80.0, 8000.0, 0.5, 1234.0)
    assert torch.isclose(fc, torch.tensor(1234.0, dtype=torch.float64), rtol=1e-14).any()
    assert fc[0] >= 80.0 and fc[-1] <= 8000.0
    np.testing.assert_allclose(scales.freqtoerb(fc).diff().numpy(), 0.5, rtol=1e-12)


def test_erbspacebw_grid_outside_basef_and_empty_range():
    fc = scales.erbspacebw(3500.0, 4600.0, 1.0, 1000.0)
    assert fc.numel() == 2 and fc[0] >= 3500.0 and fc[-1] <= 4600.0
    assert scales.erbspacebw(1000.0, 1000.0).tolist() == pytest.approx([1000.0])


def test_erbspace_endpoints_and_spacing():
    fc = scales.erbspace(80.0, 8000.0, 10)
    assert fc.shape == (10,) and fc[0].item() == 80.0 and fc[-1].item() == 8000.0
    np.testing.assert_allclose(scales.freqtoerb(fc).diff().numpy(),
                               scales.freqtoerb(fc).diff()[0].item(), rtol=1e-12)


def test_dtype_and_input_types():
    assert scales.freqtoerb([100, 200]).dtype == torch.float64
    assert scales.freqtoerb(np.array([100.0])).dtype == torch.float64
    assert scales.freqtoerb(torch.tensor([100.0])).dtype == torch.float32
    assert scales.erbspacebw(80, 8000, dtype=torch.float32).dtype == torch.float32
    assert scales.erbspacebw(torch.tensor(80.0), 8000.0).dtype == torch.float32


def test_gradients():
    f = torch.tensor([50.0, 500.0, 5000.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(scales.freqtoerb, (f,))
    assert torch.autograd.gradcheck(scales.erbtofreq, (f / 1000,))
    flow = torch.tensor(80.0, dtype=torch.float64, requires_grad=True)
    scales.erbspacebw(flow, 8000.0).sum().backward()
    assert flow.grad is not None and flow.grad.item() > 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: scales.erbspacebw(8000, 80), "flow must be less than or equal to fhigh"),
        (lambda: scales.erbspacebw(-1, 80), "flow must be non-negative"),
        (lambda: scales.erbspacebw(80, 8000, 0), "bwmul must be positive"),
        (lambda: scales.erbspacebw(80, 8000, -1.0), "bwmul must be positive"),
        (lambda: scales.erbspacebw(math.nan, 8000), "flow contains NaN"),
        (lambda: scales.erbspacebw(80, math.inf), "fhigh must be finite"),
        (lambda: scales.erbspacebw(80, 8000, 1, math.nan), "basef contains NaN"),
        (lambda: scales.erbspacebw(80, 8000, 1, -5), "basef must be non-negative"),
        (lambda: scales.erbspacebw([80, 90], 8000), "flow must be a scalar"),
        (lambda: scales.erbspace(80, 8000, 0), "n must be a positive integer"),
        (lambda: scales.erbspace(80, 8000, 2.5), "n must be a positive integer"),
        (lambda: scales.freqtoerb([1.0, math.nan]), "freq contains NaN"),
        (lambda: scales.audfiltbw(-3.0), "fc must be non-negative"),
        (lambda: scales.freqtoaud(100.0, scale="mel"), "scale must be 'erb'"),
    ],
)
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
