"""Chunk-by-chunk processing (``stream``) equals whole-signal processing.

For every causal stage and for the Dau1997, Jepsen2008 and Dau1996 models, a signal is
cut into chunks of random sizes (one sample included); the concatenated outputs of
``stream`` must equal ``forward`` on the whole signal to 1e-12 relative in float64.
Stages that are not causal must refuse with NotStreamableError.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_amt import Dau1996, Dau1997, Jepsen2008, King2019, Osses2021
from torch_amt.dsp.streaming import NotStreamableError, concat_time, stream_call
from torch_amt.stages import (
    AdaptLoop,
    ButterworthFilter,
    DRNLFilterbank,
    FastKing2019ModulationFilterbank,
    FastModulationFilterbank,
    GammatoneFilterbank,
    HeadphoneFilter,
    IHCEnvelope,
    King2019Compression,
    King2019ModulationFilterbank,
    MiddleEarFilter,
    ModulationFilterbank,
    ModulationLowpass,
)
from torch_amt.stages.expansion import Expansion
from torch_amt.stages.gain import Gain
from torch_amt.stages.resample import Resample

FS = 16000.0
TOL = 1e-12


def _chunk_sizes(n: int, seed: int) -> list[int]:
    """Random chunk sizes covering ``n`` samples: ones, a few short and a few long ones."""
    rng = np.random.default_rng(seed)
    sizes: list[int] = [1, 1]
    while sum(sizes) < n:
        sizes.append(int(rng.choice([1, 3, 17, 64, 131, 257])))
    sizes[-1] -= sum(sizes) - n
    return [s for s in sizes if s > 0]


def _streamed(stream, x: torch.Tensor, seed: int = 0):
    outs, state, pos = [], None, 0
    for size in _chunk_sizes(x.shape[-1], seed):
        out, state = stream(x[..., pos:pos + size], state)
        outs.append(out)
        pos += size
    return concat_time(outs)


def _relative_error(a, b) -> float:
    if isinstance(b, list):
        return max(_relative_error(u, v) for u, v in zip(a, b, strict=True))
    assert a.shape == b.shape and a.dtype == b.dtype
    return float((a - b).abs().max() / b.abs().max())


def _signal(*shape: int, seed: int = 0, scale: float = 0.05) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


def _envelope(*shape: int, seed: int = 0) -> torch.Tensor:
    """A positive envelope-like signal (input of the adaptation / modulation stages)."""
    return _signal(*shape, seed=seed, scale=1.0).abs() * 1e-2 + 1e-5


CAUSAL_STAGES = {
    "gain": (lambda: Gain(-6.0), lambda: _signal(2, 500)),
    "expansion": (lambda: Expansion(2.0), lambda: _signal(2, 3, 500)),
    "compression": (lambda: King2019Compression(dtype=torch.float64),
                    lambda: _signal(2, 3, 500)),
    "gammatone": (lambda: GammatoneFilterbank(FS, flow=100, fhigh=4000, dtype=torch.float64),
                  lambda: _signal(2, 500)),
    "gammatone_real": (lambda: GammatoneFilterbank(FS, flow=100, fhigh=4000, kind="real",
                                                   dtype=torch.float64),
                       lambda: _signal(500)),
    "drnl": (lambda: DRNLFilterbank(FS, "jepsen2008", flow=100, fhigh=4000,
                                    dtype=torch.float64), lambda: _signal(2, 500, scale=0.5)),
    "headphone": (lambda: HeadphoneFilter(FS, dtype=torch.float64), lambda: _signal(2, 700)),
    "middleear": (lambda: MiddleEarFilter(FS, "lopezpoveda2001", dtype=torch.float64),
                  lambda: _signal(2, 700)),
    "ihc_dau1996": (lambda: IHCEnvelope(FS, "ihc_dau1996", dtype=torch.float64),
                    lambda: _signal(2, 3, 500)),
    "ihc_breebaart2001": (lambda: IHCEnvelope(FS, "ihc_breebaart2001", dtype=torch.float64),
                          lambda: _signal(2, 3, 500)),
    "adaptloop_dau1997": (lambda: AdaptLoop(FS, preset="adt_dau1997", dtype=torch.float64),
                          lambda: _envelope(2, 3, 500)),
    "adaptloop_dau1996": (lambda: AdaptLoop(FS, preset="adt_dau1996", dtype=torch.float64),
                          lambda: _envelope(2, 3, 500)),
    "butterworth": (lambda: ButterworthFilter(FS, 3.0, 1, "high", dtype=torch.float64),
                    lambda: _signal(2, 3, 500)),
    "modulation_lowpass": (lambda: ModulationLowpass(FS, dtype=torch.float64),
                           lambda: _signal(2, 3, 500)),
    "modfilterbank": (lambda: ModulationFilterbank(FS, [500.0, 2000.0], preset="mfb_jepsen2008",
                                                   dtype=torch.float64),
                      lambda: _envelope(2, 2, 500)),
    "fast_modfilterbank": (lambda: FastModulationFilterbank(FS, [500.0, 2000.0],
                                                            preset="mfb_jepsen2008",
                                                            dtype=torch.float64),
                           lambda: _envelope(2, 2, 500)),
    "modfilterbank_complex": (lambda: FastModulationFilterbank(FS, [1000.0], phase_insens=False,
                                                               dtype=torch.float64),
                              lambda: _envelope(1, 500)),
}


@pytest.mark.parametrize("name", list(CAUSAL_STAGES))
def test_stage_stream_equals_forward(name: str) -> None:
    make, signal = CAUSAL_STAGES[name]
    stage, x = make(), signal()
    with torch.no_grad():
        whole = stage(x)
        chunked = _streamed(stage.stream, x, seed=len(name))
    assert _relative_error(chunked, whole) <= TOL


@pytest.mark.parametrize("cls", [Dau1997, Jepsen2008, Dau1996])
def test_model_stream_equals_forward(cls) -> None:
    model = cls(FS, fhigh=2500.0, dtype=torch.float64)
    x = _signal(2, 700, seed=3, scale=0.1)
    with torch.no_grad():
        whole = model(x)
        chunked = _streamed(model.stream, x, seed=7)
    assert _relative_error(chunked, whole) <= TOL


def test_model_stream_unbatched_and_float32() -> None:
    model = Dau1997(FS, fhigh=1000)
    x = _signal(400, seed=4, scale=0.1).float()
    with torch.no_grad():
        whole = model(x)
        chunked = _streamed(model.stream, x, seed=1)
    assert [c.shape for c in chunked] == [w.shape for w in whole]
    assert _relative_error(chunked, whole) <= 1e-5


def test_chunks_of_one_sample_are_the_same_as_one_block() -> None:
    stage = GammatoneFilterbank(FS, flow=200, fhigh=1000, dtype=torch.float64)
    x = _signal(1, 40, seed=5)
    outs, state = [], None
    for t in range(x.shape[-1]):
        out, state = stage.stream(x[..., t:t + 1], state)
        outs.append(out)
    assert state.samples == 40
    assert torch.equal(torch.cat(outs, -1), stage(x))


NOT_CAUSAL = {
    "resample": lambda: Resample(FS, 8000.0),
    "king2019_mfb": lambda: King2019ModulationFilterbank(FS),
    "fast_king2019_mfb": lambda: FastKing2019ModulationFilterbank(FS),
    "delay_compensated_ear": lambda: HeadphoneFilter(FS, compensate_delay=True),
    "hilbert_ihc": lambda: IHCEnvelope(FS, "hilbert"),
}


@pytest.mark.parametrize("name", list(NOT_CAUSAL))
def test_non_causal_stage_refuses(name: str) -> None:
    stage = NOT_CAUSAL[name]()
    assert stage.stream_refusal()
    with pytest.raises(NotStreamableError, match="cannot process a signal chunk by chunk"):
        stage.stream(_signal(1, 2, 100))


def test_identity_resample_streams() -> None:
    stage = Resample(FS, FS)
    x = _signal(2, 50)
    out, _ = stage.stream(x)
    assert torch.equal(out, x)


@pytest.mark.parametrize("model", [lambda: Osses2021(FS), lambda: King2019(FS, basef=1000),
                                   lambda: Dau1997(FS, subfs=2000.0)])
def test_non_causal_model_refuses_naming_the_stage(model) -> None:
    m = model()
    with pytest.raises(NotStreamableError, match="stage '"):
        m.stream(_signal(100))


def test_state_of_another_signal_shape_is_refused() -> None:
    stage = GammatoneFilterbank(FS, flow=200, fhigh=1000, dtype=torch.float64)
    _, state = stage.stream(_signal(2, 10))
    with pytest.raises(ValueError, match="leading shape"):
        stage.stream(_signal(3, 10), state)
    with pytest.raises(TypeError, match="StreamState"):
        stage.stream(_signal(2, 10), {"not": "a state"})


def test_stream_call_without_kernels_counts_samples() -> None:
    out, state = stream_call(lambda v: 2 * v, _signal(5))
    out, state = stream_call(lambda v: 2 * v, _signal(3), state)
    assert state.samples == 8 and state.slots == ()
