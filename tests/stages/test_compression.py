"""King2019Compression / functional.compression against AMT 1.4.0 ``king2019``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from torch_amt.functional.compression import (
    broken_stick,
    king2019_compression,
    power_compression,
)
from torch_amt.stages.compression import King2019Compression

# parametrisation needs the file names at collection time (same location rule as the
# amt_reference_dir fixture, which the tests use to load them, skip or fail in CI)
REF = Path(os.environ.get("AMT_REFERENCE_DIR")
           or Path(__file__).resolve().parents[2].parent / "shared" / "amt_reference")


def _cases():
    """(file, stored key, gtone-response file, AMT flags) for every compressed response."""
    for path in sorted(REF.glob("king2019__*.mat")):
        name = path.name
        stim = name.split("__")[1]
        if "variants" in name:
            source = f"king2019__{stim}__basef1000_dboffset100.mat"
            yield name, "step_compressed_response_compression_power", source, \
                {"preset": "compression_power", "dboffset": 100.0}
            yield name, "step_compressed_response_no_compression", source, \
                {"preset": "no_compression", "dboffset": 100.0}
        elif name.endswith("dboffsetdefault.mat"):  # king2019(x, fs, basef): dboffset 93.98
            yield name, "step_compressed_response", name.replace("dboffsetdefault",
                                                                 "dboffset100"), {}
        else:
            yield name, "step_compressed_response", name, {"dboffset": 100.0}


CASES = [pytest.param(*c, id=f"{c[0][10:-4]}-{c[1][25:] or 'default'}") for c in _cases()]


def test_reference_files_present(amt_reference_dir):
    assert sorted(amt_reference_dir.glob("king2019__*.mat"))


@pytest.mark.parametrize(("name", "key", "source", "flags"), CASES)
def test_matches_amt(amt_reference_dir, name, key, source, flags):
    # input = the file's step_gtone_response (of the dboffset-100 file for the others).
    # An instantaneous map: float64 to 1e-9 (measured 4e-16), float32 to 1e-4.
    ref = scipy.io.loadmat(amt_reference_dir / name)[key].T
    x = torch.from_numpy(scipy.io.loadmat(amt_reference_dir / source)["step_gtone_response"]
                         .T.copy())
    y = King2019Compression(**flags, dtype=torch.float64)(x).numpy()
    scale = max(np.abs(ref).max(), np.finfo(float).tiny)
    assert np.abs(y - ref).max() / scale <= 1e-9
    y32 = King2019Compression(**flags)(x.float()).double().numpy()
    assert np.abs(y32 - ref).max() / scale <= 1e-4


def test_formulas_and_knee():
    knee = 10 ** ((30 - 100) / 20)
    x = torch.tensor([-1e-2, -knee, -1e-5, 0.0, 1e-5, knee, 1e-2], dtype=torch.float64)
    y = broken_stick(x, knee, 0.3)
    v = x.numpy()
    expected = np.where(np.abs(v) > knee, np.sign(v) * np.abs(v) ** 0.3 / knee ** 0.3 * knee, v)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-15)
    np.testing.assert_allclose(power_compression(x, knee, 0.5).numpy(),
                               np.sign(v) * np.abs(v / knee) ** 0.5 * knee, rtol=1e-15)
    # exponent 1 is the identity (AMT skips such channels)
    assert torch.equal(broken_stick(x, knee, 1.0), x)


def test_per_channel_exponent():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 200, dtype=torch.float64) * 0.01
    n = [0.3, 0.6, 1.0]
    for preset in ("compression_brokenstick", "compression_power"):
        y = king2019_compression(x, preset, n, dboffset=100.0)
        for c in range(3):
            torch.testing.assert_close(
                y[:, c], king2019_compression(x[:, c], preset, n[c], dboffset=100.0),
                rtol=1e-15, atol=0)  # vectorised pow may round differently by an ulp


def test_silence_and_extremes_finite_with_finite_gradients():
    for preset in ("compression_brokenstick", "compression_power"):
        stage = King2019Compression(preset, learnable=True, dtype=torch.float64)
        x = torch.zeros(2, 100, dtype=torch.float64, requires_grad=True)
        y = stage(x)
        assert torch.equal(y, torch.zeros_like(y))
        y.sum().backward()
        assert torch.isfinite(x.grad).all()
        loud = torch.tensor([1e-12, 1.0, 1e3], dtype=torch.float64)
        assert torch.isfinite(stage(loud)).all()


@pytest.mark.parametrize("preset", ["compression_brokenstick", "compression_power"])
def test_gradcheck(preset):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 20, dtype=torch.float64) * 0.01
    x = (x + 1e-3 * torch.sign(x)).requires_grad_()
    n = torch.tensor([0.3, 0.5, 0.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda v, e: king2019_compression(v, preset, e, dboffset=100.0), (x, n))


def test_training_steps_update_exponent():
    torch.manual_seed(2)
    x = torch.randn(2, 3, 300) * 0.02
    target = King2019Compression(exponent=0.6, dboffset=100.0)(x)
    stage = King2019Compression(exponent=[0.3, 0.3, 0.3], dboffset=100.0, learnable=True)
    opt = torch.optim.Adam(stage.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = torch.mean((stage(x) - target) ** 2)
        loss.backward()
        assert stage.exponent_logit.grad.abs().min() > 0
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert bool((stage.exponent.detach() > 0.3).all())


def test_amt_identity():
    stage = King2019Compression("compression_power")
    assert stage.preset == "compression_power"
    assert stage.amt_equivalent() == "king2019 'compression_power'"


def test_errors():
    with pytest.raises(ValueError, match="preset"):
        King2019Compression("compression_log")
    with pytest.raises(ValueError, match="preset"):
        King2019Compression("brokenstick")  # AMT's flag names only
    with pytest.raises(TypeError, match="learnable"):
        King2019Compression(learnable="yes")
    with pytest.raises(ValueError, match="exponent"):
        King2019Compression(exponent=-1)
    with pytest.raises(ValueError, match="exponent"):
        King2019Compression(exponent=1.5, learnable=True)
    with pytest.raises(ValueError, match="per channel"):
        King2019Compression(exponent=[0.3, 0.4])(torch.randn(3, 10))
    with pytest.raises(TypeError, match="x"):
        King2019Compression()(torch.ones(3, 10, dtype=torch.int64))
