"""Every model runs with its default arguments at the common sample rates."""

from __future__ import annotations

import pytest
import torch

from torch_amt import MODELS
from torch_amt.functional.drnl import drnl_highest_fc

RATES = (16000.0, 22050.0, 32000.0, 44100.0, 48000.0)
REQUIRED = {"king2019": {"basef": 1000.0}}  # king2019 has no default analysis centre


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("name", list(MODELS))
def test_defaults_run_at_common_rates(name, fs, model_input):
    model = MODELS[name](fs, **REQUIRED.get(name, {}))
    out = model(model_input(model, torch.zeros(2, round(0.02 * fs))))
    parts = out if isinstance(out, list) else [out]
    assert parts and all(bool(torch.isfinite(p).all()) for p in parts)
    # channels below the Nyquist frequency of the rate the model analyses at (the input
    # rate, or the internal rate of a model that resamples first, e.g. glasberg2002)
    assert float(model.fc.max()) < getattr(model, "model_fs", fs) / 2


def test_jepsen2008_default_fhigh_is_amts_where_computable():
    from torch_amt import Jepsen2008

    for fs in RATES[1:]:  # AMT's 8000 Hz: the same channels as the explicit value
        assert torch.equal(Jepsen2008(fs).fc, Jepsen2008(fs, fhigh=8000.0).fc)
    with pytest.raises(ValueError, match="fhigh=None"):  # AMT's value fails at 16 kHz
        Jepsen2008(16000.0, fhigh=8000.0)
    top = drnl_highest_fc(16000.0, "jepsen2008")
    assert 7000.0 < top < 8000.0
    assert float(Jepsen2008(16000.0).fc.max()) <= top
