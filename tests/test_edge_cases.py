"""Edge cases: silence, DC, a click, full-scale noise, 0-120 dB SPL tones, very short and
very long inputs, sampling rates from 8 to 96 kHz, float32 stability of low channels.

Every output must be finite; where AMT defines the answer it is checked (adaptloop on
silence, ``ihc_bernstein1999`` on silence); where a model cannot run at a rate the
constructor raises a ValueError naming the parameter.
"""

from __future__ import annotations

import math

import pytest
import torch

from torch_amt.dsp import lfilter
from torch_amt.levels import setdbspl
from torch_amt.models import Dau1996, Dau1997, Jepsen2008, King2019, Osses2021
from torch_amt.stages.adaptation import AdaptLoop
from torch_amt.stages.drnl import DRNLFilterbank
from torch_amt.stages.gammatone import GammatoneFilterbank
from torch_amt.stages.ihc import IHCEnvelope

FS = 16000.0

MODELS = {
    "Dau1997": lambda fs=FS, d=torch.float32: Dau1997(fs, fhigh=min(8000.0, 0.45 * fs),
                                                       dtype=d),
    "Jepsen2008": lambda fs=FS, d=torch.float32: Jepsen2008(fs, fhigh=min(8000.0, 0.4 * fs),
                                                             dtype=d),
    "King2019": lambda fs=FS, d=torch.float32: King2019(fs, 1000.0, dtype=d),
    "Dau1996": lambda fs=FS, d=torch.float32: Dau1996(fs, fhigh=min(8000.0, 0.45 * fs),
                                                       dtype=d),
    "Osses2021": lambda fs=FS, d=torch.float32: Osses2021(fs, fhigh=min(8000.0, 0.45 * fs),
                                                           dtype=d),
}


def _finite(y) -> bool:
    if isinstance(y, dict):
        return all(_finite(v) for v in y.values())
    if isinstance(y, list):
        return all(_finite(v) for v in y)
    return bool(torch.isfinite(y).all())


def _tone(level_db: float, fs: float = FS, n: int = 3200, f: float = 1000.0,
          dboffset: float = 93.98) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / fs
    x = torch.sin(2 * math.pi * f * t)
    return setdbspl(x, level_db, dboffset).float()


SIGNALS = {
    "silence": lambda: torch.zeros(3200),
    "dc": lambda: torch.full((3200,), 0.1),
    "click": lambda: torch.zeros(3200).index_fill_(0, torch.tensor([100]), 1.0),
    "full-scale noise": lambda: (torch.rand(3200, generator=torch.Generator().manual_seed(0))
                                 * 2 - 1),
}


@pytest.mark.parametrize("signal", list(SIGNALS))
@pytest.mark.parametrize("model", list(MODELS))
def test_models_finite_on_special_signals(model, signal):
    y = MODELS[model]()(SIGNALS[signal](), return_stages=True)
    assert _finite(y), (model, signal)


@pytest.mark.parametrize("level", [0.0, 60.0, 120.0])
@pytest.mark.parametrize("model", list(MODELS))
def test_models_finite_from_0_to_120_db_spl(model, level):
    module = MODELS[model]()
    y = module(_tone(level, dboffset=module.dboffset))
    assert _finite(y)


def test_adaptloop_on_silence_is_amts_constant():
    """AMT adaptloop maps digital silence (floored at minspl) to -3.674e-14 model units."""
    y = AdaptLoop(FS, dtype=torch.float64)(torch.zeros(2, 800, dtype=torch.float64))
    assert torch.allclose(y, torch.full_like(y, -3.674e-14), rtol=1e-3, atol=0)


def test_ihc_bernstein_on_silence_is_zero():
    """AMT gives NaN (0/0 of the Hilbert envelope); torch_amt returns the limit 0."""
    y = IHCEnvelope(FS, "ihc_bernstein1999")(torch.zeros(3, 400))
    assert torch.equal(y, torch.zeros_like(y))


@pytest.mark.parametrize("n", [1, 2, 3, 7])
@pytest.mark.parametrize("model", list(MODELS))
def test_very_short_inputs(model, n):
    """1 sample and fewer samples than the filter orders: finite, right length."""
    module = MODELS[model]()
    x = torch.randn(2, n, generator=torch.Generator().manual_seed(n)) * 0.1
    y = module(x, return_stages=True)
    assert _finite(y)
    out = y["out"][0] if isinstance(y["out"], list) else y["out"]
    expected = n if model != "King2019" else round(n / module.fs * module.output_fs)
    assert out.shape[-1] == max(expected, 1) or out.shape[-1] == expected


def test_ten_minute_input_iir_and_adaptation_loop():
    """10 minutes at 8 kHz (4.8 M samples) through the IIR kernel and the adaptation loop:
    finite, and one autograd node per call (no per-sample graph)."""
    fs = 8000.0
    n = int(600 * fs)
    x = (torch.rand(1, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
         * 1e-2).requires_grad_()
    b = torch.tensor([0.2, 0.2], dtype=torch.float64)
    a = torch.tensor([1.0, -0.6], dtype=torch.float64)
    y = lfilter(x, b, a)
    z = AdaptLoop(fs, dtype=torch.float64)(y.abs())
    assert z.shape == (1, n)
    assert bool(torch.isfinite(z).all())
    nodes, stack = set(), [z.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in nodes:
            continue
        nodes.add(node)
        stack.extend(fn for fn, _ in node.next_functions)
    assert len(nodes) < 20


@pytest.mark.parametrize("fs", [8000.0, 16000.0, 22050.0, 44100.0, 48000.0, 96000.0])
@pytest.mark.parametrize("model", ["Dau1997", "King2019", "Jepsen2008", "Dau1996", "Osses2021"])
def test_models_across_sampling_rates(model, fs):
    module = MODELS[model](fs)
    x = torch.randn(int(0.05 * fs), generator=torch.Generator().manual_seed(1)) * 0.05
    assert _finite(module(x))


def test_drnl_default_fhigh_at_16khz_names_fhigh():
    """The nonlinear path's centre frequency of the 8-kHz channel exceeds fs/2 at 16 kHz."""
    with pytest.raises(ValueError, match="fhigh"):
        DRNLFilterbank(16000.0)


def test_dau1997_default_fhigh_at_8khz_names_fhigh():
    with pytest.raises(ValueError, match="fhigh"):
        Dau1997(8000.0)


# ---------------------------------------------------------------- float32 stability
def _impulse_response(module, fs: float, amplitude: float = 1.0) -> torch.Tensor:
    x = torch.zeros(int(fs))
    x[0] = amplitude
    return module(x).detach()


def _assert_stable(y: torch.Tensor, y64: torch.Tensor, tol: float = 1e-3) -> None:
    assert bool(torch.isfinite(y).all())
    peak = float(y64.abs().max())
    assert float(y[..., -1000:].abs().max()) <= 1e-3 * peak  # decayed after 1 s
    # float32 design rounding (the learnable DRNL designs its coefficients in float32)
    assert float((y.double() - y64).abs().max()) <= tol * peak


@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("fs", [16000.0, 44100.0, 96000.0])
def test_float32_gammatone_low_channels_stable(fs, learnable):
    make = lambda d: GammatoneFilterbank(fs, fc=[30.0, 50.0, 80.0], learnable=learnable,  # noqa: E731
                                         dtype=d)
    _assert_stable(_impulse_response(make(torch.float32), fs),
                   _impulse_response(make(torch.float64), fs))


@pytest.mark.parametrize(("fs", "learnable"), [
    (16000.0, False), (16000.0, True), (44100.0, False), (44100.0, True),
    (96000.0, False), (96000.0, True)])
def test_float32_drnl_low_channels_stable(fs, learnable):
    make = lambda d: DRNLFilterbank(fs, fc=[50.0, 80.0], learnable=learnable, dtype=d)  # noqa: E731
    _assert_stable(_impulse_response(make(torch.float32), fs, 1e-3),
                   _impulse_response(make(torch.float64), fs, 1e-3), tol=2e-2)


def test_float32_real_gammatone_low_channels_stable():
    fs = 16000.0
    make = lambda d: GammatoneFilterbank(fs, fc=[30.0, 50.0, 80.0], kind="real", dtype=d)  # noqa: E731
    _assert_stable(_impulse_response(make(torch.float32), fs),
                   _impulse_response(make(torch.float64), fs))
