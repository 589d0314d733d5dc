"""RelanoIborra2019 (sCASP): chain, flags, internal noise, errors (AMT exactness: the
relanoiborra2019 family validation)."""

from __future__ import annotations

import math

import pytest
import torch

from torch_amt import RelanoIborra2019
from torch_amt.functional.relanoiborra2019 import BROADBAND_COMPENSATION, INTERNAL_NOISE_LEVELS
from torch_amt.levels import DBSPL_AMT

FS = 12000.0


def _signal(n: int = 600) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / FS
    return 0.05 * torch.sin(2 * math.pi * 700 * t) * (1 + torch.sin(2 * math.pi * 10 * t))


def test_chain_shapes_and_stages():
    model = RelanoIborra2019(FS, fcnt=4, fhigh=5000.0, noise_seed=1, dtype=torch.float64)
    assert model.chain == ("inputgain", "outerear", "middleear", "drnl", "gain",
                           "internalnoise", "ihc", "expansion", "adt", "mfb")
    x = _signal()
    stages = model(x, return_stages=True)
    assert stages["drnl"].shape == (4, 600) and stages["out"].shape == (4, 12, 600)
    assert model.mfc.shape == (12,) and model.fc.shape == (4,)
    torch.testing.assert_close(stages["gain"], stages["drnl"] * 10 ** (50 / 20))
    torch.testing.assert_close(stages["expansion"], stages["ihc"] ** 2)
    assert model(torch.stack([x, x])).shape == (2, 4, 12, 600)
    assert model.dboffset == DBSPL_AMT and "relanoiborra2019_drnl" in repr(model)


def test_flags_switch_stages_like_amt():
    opts = RelanoIborra2019.amt_options(["no_internalnoise", "no_an"],
                                        {"fcnt": 6.0, "subject": "HIx", "N_org": 10.0})
    assert opts == {"internal_noise": False, "an": False, "fcnt": 6, "subject": "HIx"}
    model = RelanoIborra2019(FS, fcnt=3, fhigh=5000.0, dtype=torch.float64, **{
        k: v for k, v in RelanoIborra2019.amt_options(["no_internalnoise", "no_ihc"],
                                                      {}).items()})
    assert "ihc" not in model.chain and "internalnoise" not in model.chain
    with pytest.raises(ValueError, match="erbspacebw|not implemented"):
        RelanoIborra2019.amt_options(["erbspacebw"], {})


def test_dboffset_is_a_level_convention():
    x = _signal()
    pascal = RelanoIborra2019(FS, fcnt=3, fhigh=5000.0, internal_noise=False,
                              dtype=torch.float64)
    hundred = RelanoIborra2019(FS, fcnt=3, fhigh=5000.0, internal_noise=False, dboffset=100.0,
                               dtype=torch.float64)
    same = hundred(x * 10 ** ((DBSPL_AMT - 100) / 20))
    torch.testing.assert_close(same, pascal(x), rtol=1e-9, atol=1e-9)


def test_internal_noise_seeded_reproducible_and_switchable():
    x = _signal()
    a = RelanoIborra2019(FS, fcnt=3, fhigh=5000.0, noise_seed=5, dtype=torch.float64)
    b = RelanoIborra2019(FS, fcnt=3, fhigh=5000.0, noise_seed=5, dtype=torch.float64)
    off = RelanoIborra2019(FS, fcnt=3, fhigh=5000.0, internal_noise=False,
                           dtype=torch.float64)
    ya = a(x, return_stages=True)
    torch.testing.assert_close(b(x), ya["out"], rtol=0, atol=0)
    assert not torch.equal(a(x), ya["out"])  # the generator moves on
    yo = off(x, return_stages=True)
    torch.testing.assert_close(yo["gain"], ya["gain"], rtol=0, atol=0)
    added = ya["internalnoise"] - ya["gain"]
    rms_db = 20 * torch.log10(added.pow(2).mean(-1).sqrt()) + 100
    expected = [lvl + BROADBAND_COMPENSATION for lvl in INTERNAL_NOISE_LEVELS[:3]]
    torch.testing.assert_close(rms_db, torch.tensor(expected, dtype=torch.float64),
                               rtol=0, atol=1e-6)
    draws = torch.randn(3, 600, dtype=torch.float64)
    g1, g2 = (a(x, noise_draws=draws) for _ in range(2))
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    gen = a(x, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(gen, a(x, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError, match="internal noise is off"):
        off(x, noise_draws=draws)
    with pytest.raises(ValueError, match="draws"):
        a(x, noise_draws=draws[:, :10])


def test_bad_arguments():
    with pytest.raises(ValueError, match="at most 60"):
        RelanoIborra2019(FS, fcnt=61, fhigh=5000.0)
    RelanoIborra2019(FS, fcnt=61, fhigh=5000.0, internal_noise=False)  # fine without noise
    with pytest.raises(ValueError, match="subject"):
        RelanoIborra2019(FS, subject="hearing-impaired")
    with pytest.raises(TypeError, match="internal_noise"):
        RelanoIborra2019(FS, internal_noise="no")
    with pytest.raises(ValueError, match="too high"):
        RelanoIborra2019(FS, fhigh=8000.0)
    with pytest.raises(ValueError, match="too low"):
        RelanoIborra2019(1500.0, fhigh=600.0)
    with pytest.raises(ValueError, match="x"):
        RelanoIborra2019(FS, fcnt=2, fhigh=5000.0)(torch.zeros(2, 2, 10))
