"""torch_amt.levels against AMT reference files and hand-derivable properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.io
import torch

from tests.conftest import missing_reference
from torch_amt import levels


def _load(reference, pattern, names):
    files = sorted(reference.glob(pattern))
    if not files:
        missing_reference(f"no {pattern} files in {reference}")
    return [scipy.io.loadmat(f, variable_names=names) for f in files]


# --------------------------------------------------------------------------- reference values


def test_dbspl_constants():
    assert levels.DBSPL_AMT == 93.98
    assert levels.DBSPL_PASCAL == pytest.approx(93.97940008672037, abs=1e-12)
    assert levels.dbspl(1.0).item() == 93.98


def test_insig_convention_matches_amt(amt_reference_dir):
    """insig = stimulus * 10^((100 - dbspl(1))/20) in the DRNL/Jepsen files: same physical
    level in AMT's 93.98-dB convention as the stimulus in the 100-dB convention."""
    for pattern in ("lopezpoveda2001__*.mat", "jepsen2008chain__*.mat"):
        for data in _load(amt_reference_dir, pattern, ["stimulus", "insig"]):
            if "insig" not in data:  # silence: not stored
                continue
            stimulus = torch.from_numpy(data["stimulus"][:, 0])
            insig = levels.rescale_dboffset(stimulus, 100.0, levels.DBSPL_AMT)
            np.testing.assert_allclose(insig.numpy(), data["insig"][:, 0], rtol=1e-15, atol=0)
            assert levels.dbspl(insig).item() == pytest.approx(
                levels.dbspl(stimulus, dboffset=100.0).item(), abs=1e-12)


def test_gaindb_matches_jepsen_chain(amt_reference_dir):
    """step3_gain = gaindb(step2_drnl, 50)."""
    for data in _load(amt_reference_dir, "jepsen2008chain__*.mat", ["step2_drnl", "step3_gain"]):
        out = levels.gaindb(torch.from_numpy(data["step2_drnl"].T.copy()), 50.0)
        np.testing.assert_allclose(out.numpy().T, data["step3_gain"], rtol=1e-15, atol=0)


def test_stimulus_levels(amt_reference_dir):
    """Tones are set to their nominal level (dboffset 100) before 10-ms raised-cosine
    ramps, which keep 1 - 1.25 * 0.01 s / duration of the energy."""
    stimuli = scipy.io.loadmat(amt_reference_dir / "stimuli.mat")
    rows = zip(stimuli["names"].reshape(-1), stimuli["stimuli"].reshape(-1),
               stimuli["fs"].reshape(-1), stimuli["level_db_spl"].reshape(-1), strict=True)
    tones = [(str(n[0]), x[:, 0], float(fs), float(lvl)) for n, x, fs, lvl in rows
             if str(n[0]).startswith("tone")]
    assert tones
    for name, x, fs, level in tones:
        ramp_loss = 10 * math.log10(1 - 1.25 * 0.01 / (len(x) / fs))
        measured = levels.dbspl(torch.from_numpy(x), dboffset=100.0).item()
        assert measured == pytest.approx(level + ramp_loss, abs=0.01), name


def test_adaptloop_floor():
    """AMT's adaptloop floor: scaletodbspl(0, [], 100) = 1e-5."""
    assert levels.dbspl_to_rms(0.0, 100.0).item() == pytest.approx(1e-5, rel=1e-15)
    assert levels.rms_to_dbspl(1e-5, 100.0).item() == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- properties


def test_rms_and_dbspl_along_last_axis():
    t = torch.arange(4800, dtype=torch.float64) / 48000
    sine = torch.stack([torch.sin(2 * math.pi * 1000 * t), 0.1 * torch.sin(2 * math.pi * 500 * t)])
    np.testing.assert_allclose(levels.rms(sine).numpy(), [1 / math.sqrt(2),
                                                          0.1 / math.sqrt(2)], rtol=1e-12)
    lvl = levels.dbspl(sine)
    assert lvl.shape == (2,)
    assert lvl[0].item() == pytest.approx(93.98 - 10 * math.log10(2), abs=1e-10)
    assert (lvl[0] - lvl[1]).item() == pytest.approx(20.0, abs=1e-10)
    assert levels.dbspl(torch.zeros(10)).item() == -math.inf


def test_dbspl_ac_ignores_dc():
    x = torch.ones(100, dtype=torch.float64) * 3 + torch.tensor([1.0, -1.0]).repeat(50)
    assert levels.dbspl(x, dboffset=0.0, ac=True).item() == pytest.approx(0.0, abs=1e-12)
    assert levels.dbspl(x, dboffset=0.0).item() == pytest.approx(10 * math.log10(10), abs=1e-12)


def test_setdbspl_sets_every_row():
    x = torch.randn(3, 1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = levels.setdbspl(x, 65.0)
    np.testing.assert_allclose(levels.dbspl(y).numpy(), 65.0, atol=1e-10)
    np.testing.assert_allclose(levels.dbspl(levels.setdbspl(x, 65.0, dboffset=100.0),
                                            dboffset=100.0).numpy(), 65.0, atol=1e-10)
    assert bool((levels.setdbspl(x, -math.inf) == 0).all())


def test_scaletodbspl_uses_amts_pascal_offset():
    x = torch.randn(500, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    measured = levels.dbspl(levels.scaletodbspl(x, 60.0)).item()
    assert measured == pytest.approx(60.0 + levels.DBSPL_AMT - levels.DBSPL_PASCAL, abs=1e-10)
    assert levels.dbspl(levels.scaletodbspl(x, 60.0, dboffset=93.98)).item() == pytest.approx(
        60.0, abs=1e-10)


def test_gaindb_scalar_and_per_row():
    x = torch.ones(2, 5, dtype=torch.float64)
    assert levels.gaindb(x, 20.0).unique().item() == pytest.approx(10.0, rel=1e-15)
    y = levels.gaindb(x, torch.tensor([0.0, -20.0], dtype=torch.float64))
    np.testing.assert_allclose(y[:, 0].numpy(), [1.0, 0.1], rtol=1e-15)
    gain = torch.tensor(6.0, dtype=torch.float64, requires_grad=True)
    levels.gaindb(x, gain).sum().backward()
    assert gain.grad.item() == pytest.approx(10 * 10 ** (6 / 20) * math.log(10) / 20, rel=1e-12)


def test_rescale_dboffset_keeps_physical_level():
    x = torch.randn(1000, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    y = levels.rescale_dboffset(x, 100.0, 93.98)
    assert levels.dbspl(y, 93.98).item() == pytest.approx(levels.dbspl(x, 100.0).item(),
                                                          abs=1e-10)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: levels.gaindb(torch.ones(3), math.nan), "gain_db"),
        (lambda: levels.gaindb(torch.ones(3), torch.tensor([math.nan])), "gain_db"),
        (lambda: levels.setdbspl(torch.ones(3), math.nan), "level"),
        (lambda: levels.setdbspl(torch.ones(3), math.inf), "level"),
        (lambda: levels.dbspl(torch.ones(3), dboffset=math.nan), "dboffset"),
        (lambda: levels.rms(torch.ones(2, 0)), "at least one sample"),
    ],
)
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="floating-point"):
        levels.dbspl(torch.ones(3, dtype=torch.int64))
