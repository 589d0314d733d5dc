"""The AuditoryModel base: chain, stage vocabulary, repr, and a new model as a short subclass."""

from __future__ import annotations

import pytest
import torch

from torch_amt import MODELS
from torch_amt.models.base import STAGE_VOCABULARY, AuditoryModel, resolve_learnable
from torch_amt.stages import AdaptLoop, GammatoneFilterbank, IHCEnvelope
from torch_amt.stages.base import Stage
from torch_amt.stages.expansion import Expansion
from torch_amt.stages.gain import Gain
from torch_amt.stages.resample import Resample

FS = 16000.0
SMALL = {"dau1997": {"flow": 900, "fhigh": 1100, "subfs": 8000.0},
         "jepsen2008": {"flow": 900, "fhigh": 1100},
         "king2019": {"basef": 1000.0},
         "dau1996": {"flow": 900, "fhigh": 1100},
         "osses2021": {"flow": 900, "fhigh": 1100, "subfs": 8000.0},
         "relanoiborra2019": {"flow": 900, "fhigh": 1100, "fcnt": 2}}


class Toy2020(AuditoryModel):
    """A made-up model: gammatone, IHC, adaptation — three lines of chain."""

    amt_function = "toy2020"
    description = "test model"
    output_kind = "fct"

    def __init__(self, fs: float, *, dboffset: float = 100.0,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(fs, dboffset)
        self.set_chain([("afb", GammatoneFilterbank(fs, flow=500, fhigh=2000, dtype=dtype)),
                        ("ihc", IHCEnvelope(fs, "ihc_dau1996", dtype=dtype)),
                        ("adt", AdaptLoop(fs, dtype=dtype))])


def _tone(n: int) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / FS
    return 0.05 * torch.sin(2 * torch.pi * 1000 * t)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_is_an_auditory_model_with_vocabulary_keys(name):
    cls = MODELS[name]
    assert issubclass(cls, AuditoryModel) and cls.amt_function == name and cls.description
    model = cls(FS, dtype=torch.float64, **SMALL[name])
    stages = model(_tone(800), return_stages=True)
    assert list(stages) == [*model.chain, "out"]
    assert set(model.chain) <= set(STAGE_VOCABULARY)
    order = list(STAGE_VOCABULARY)
    if name != "king2019":  # king2019 resamples after its modulation filterbank, as AMT
        assert [order.index(n) for n in model.chain] == sorted(order.index(n)
                                                               for n in model.chain)
    for stage_name, stage in model.stages():
        assert isinstance(stage, Stage), stage_name
        assert getattr(model, stage_name) is stage


def test_chain_follows_the_flags():
    from torch_amt import Dau1997

    assert Dau1997(FS, 900, 1100).chain == ("inputgain", "afb", "ihc", "adt", "mfb")
    assert Dau1997(FS, 900, 1100, mfb=False, adt=False, ihc=False).chain == ("inputgain",
                                                                            "afb")
    full = Dau1997(FS, 900, 1100, outerear=True, middleear=True, subfs=4000.0)
    assert full.chain == ("inputgain", "outerear", "middleear", "afb", "ihc", "adt",
                          "resample", "mfb")
    assert full.output_fs == 4000.0 and full.middleear is not None
    assert Dau1997(FS, 900, 1100).middleear is None


def test_repr_prints_the_chain_with_amt_equivalents():
    from torch_amt import Jepsen2008

    text = repr(Jepsen2008(FS, 900, 1100))
    lines = text.splitlines()
    assert lines[0].startswith("Jepsen2008(fs=16000") and "[AMT jepsen2008]" in lines[0]
    assert [line.split(")")[0].strip(" (") for line in lines if line.startswith("  (")] == [
        "outerear", "drnl", "gain", "ihc", "expansion", "adt", "mfb"]
    assert "AMT adaptloop 'adt_dau1997'" in text and "gaindb(insig, 50)" in text
    assert "AMT modfilterbank 'mfb_jepsen2008'" in text


def test_a_new_model_is_a_short_subclass():
    model = Toy2020(FS)
    x = _tone(1600)
    stages = model(x, return_stages=True)
    assert model.chain == ("afb", "ihc", "adt") and model.mfc == []
    assert model.output_fs == FS and torch.equal(model.fc, model.afb.fc)
    expected = model.adt(model.ihc(model.afb(x.unsqueeze(0))))[0]
    assert torch.equal(stages["out"], expected) and torch.equal(stages["adt"], expected)
    assert torch.equal(model(x), expected)
    assert model(x.expand(3, -1)).shape == (3, model.fc.numel(), x.numel())


def test_set_chain_rejects_unknown_and_repeated_names():
    model = AuditoryModel(FS, 100.0)
    with pytest.raises(ValueError, match="vocabulary"):
        model.set_chain([("gammatone", Gain(0.0))])
    with pytest.raises(ValueError, match="twice"):
        model.set_chain([("gain", Gain(0.0)), ("gain", Gain(1.0))])


def test_return_stages_must_be_a_bool():
    model = Toy2020(FS)
    with pytest.raises(TypeError, match="return_stages"):
        model(_tone(100), return_stages="yes")


def test_resolve_learnable():
    assert resolve_learnable(True, ("afb", "adt")) == {"afb", "adt"}
    assert resolve_learnable("adt", ("afb", "adt")) == {"adt"}
    with pytest.raises(ValueError, match="unknown stages"):
        resolve_learnable({"mfb"}, ("afb",))
    with pytest.raises(TypeError, match="learnable"):
        resolve_learnable(1, ("afb",))


def test_small_stages():
    x = torch.randn(2, 3, 100, dtype=torch.float64)
    assert torch.equal(Gain(20.0)(x), x * 10.0)
    assert torch.equal(Expansion(2.0)(x), x ** 2)
    r = Resample(100.0, 50.0)
    assert r(x).shape == (2, 3, 50) and r.output_fs == 50.0
    assert Resample(100.0, 100.0)(x) is x
    with pytest.raises(ValueError, match="gain_db"):
        Gain(float("nan"))
    with pytest.raises(ValueError, match="exponent"):
        Expansion(0.0)


def test_amt_options_translate_flags_next_to_the_model():
    from torch_amt import Dau1997, King2019

    opts = Dau1997.amt_options(["no_mfb", "jepsen2008", "adt_dau1997"], {"flow": 100})
    assert opts == {"flow": 100.0, "mfb": False, "middleear": True,
                    "middleear_preset": "jepsen2008", "adt_preset": "adt_dau1997"}
    with pytest.raises(ValueError, match="not implemented"):
        Dau1997.amt_options(["frobnicate"], {})
    opts = King2019.amt_options(["no_compression", "LP_150_Hz"], {"modbank_Nmod": 3.0})
    assert opts == {"compression": False, "lp150": True, "nmod": 3}
    assert King2019(FS, 1000.0, **opts).chain == ("afb", "ihc", "adt", "mfb")  # fs = subfs
