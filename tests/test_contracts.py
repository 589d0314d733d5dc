"""Contracts of every stage and model (issue #19): empty batches, very short signals,
errors that name the caller's own argument, constructor contracts, state dicts across
presets, and the refusal of half-precision casts.
"""

from __future__ import annotations

import inspect

import pytest
import torch

from torch_amt import MODELS, stages
from torch_amt.models import Dau1997, Jepsen2008, King2019

FS = 16000.0
FC = [500.0, 1000.0]

# public stage class -> (factory, signal axes: 1 audio, 2 channels x time, 3 ears x channels
# x time, or a tuple: the shape before time)
STAGES = {
    "AdaptLoop": (lambda: stages.AdaptLoop(FS), 1),
    "ButterworthFilter": (lambda: stages.ButterworthFilter(FS, 3.0), 1),
    "DRNLFilterbank": (lambda: stages.DRNLFilterbank(FS, flow=500, fhigh=1500), 1),
    "EICell": (lambda: stages.EICell(FS, [0.0, 3e-4]), 3),
    "ExcitationPattern": (lambda: stages.ExcitationPattern(32000.0), (1025,)),  # FFT bins
    "FastKing2019ModulationFilterbank": (lambda: stages.FastKing2019ModulationFilterbank(FS),
                                         2),
    "FastModulationFilterbank": (lambda: stages.FastModulationFilterbank(FS, FC), 2),
    "GammatoneFilterbank": (lambda: stages.GammatoneFilterbank(FS, flow=500, fhigh=1500), 1),
    "Glasberg2002OuterMiddleEarFilter": (
        lambda: stages.Glasberg2002OuterMiddleEarFilter(FS, order=16), 1),
    "HeadphoneFilter": (lambda: stages.HeadphoneFilter(FS), 1),
    "IHCEnvelope": (lambda: stages.IHCEnvelope(FS), 1),
    "King2019Compression": (lambda: stages.King2019Compression(), 1),
    "King2019ModulationFilterbank": (lambda: stages.King2019ModulationFilterbank(FS), 2),
    "LoudnessIntegration": (lambda: stages.LoudnessIntegration(), 2),
    "MiddleEarFilter": (lambda: stages.MiddleEarFilter(FS), 1),
    "ModulationFilterbank": (lambda: stages.ModulationFilterbank(FS, FC), 2),
    "ModulationLowpass": (lambda: stages.ModulationLowpass(FS), 1),
    "MultiResolutionSpectrum": (lambda: stages.MultiResolutionSpectrum(32000.0), 1),
    "OctaveResample": (lambda: stages.OctaveResample(FS, 2, 3), 1),
    "OuterMiddleEarFilter": (lambda: stages.OuterMiddleEarFilter(FS), 1),
    "InternalNoise": (lambda: stages.InternalNoise(2, seed=0), 2),
    "RelanoIborra2019DRNL": (lambda: stages.RelanoIborra2019DRNL(FS, fc=FC), 1),
    "RelanoIborra2019ModulationFilterbank": (
        lambda: stages.RelanoIborra2019ModulationFilterbank(FS, FC), 2),
    "SpecificLoudness": (lambda: stages.SpecificLoudness(FC), 2),
}
VARIANTS = {  # options with a code path of their own for an empty batch
    "IHCEnvelope[hilbert]": (lambda: stages.IHCEnvelope(FS, "hilbert"), 1),
    "IHCEnvelope[ihc_bernstein1999]": (lambda: stages.IHCEnvelope(FS, "ihc_bernstein1999"), 1),
    "King2019ModulationFilterbank[learnable, lp150]": (
        lambda: stages.King2019ModulationFilterbank(FS, lp150=True, learnable=True), 2),
}


MIN_SAMPLES = {"breebaart2001": 4}
"""Models that need a minimum length: Breebaart2001's EI cells smooth with Octave's
``filtfilt``, which needs more than 3 samples (AMT stops with an error)."""


MODEL_KWARGS = {"king2019": {"basef": 1000.0}, "glasberg2002": {"order": 16}}
"""Keyword arguments of each model (default: two channels, ``flow=900, fhigh=1100``)."""


def _has_learnable(name: str) -> bool:
    return "learnable" in inspect.signature(MODELS[name]).parameters


def _model(name: str, fs: float = FS, **kwargs) -> torch.nn.Module:
    cls = MODELS[name]
    if "learnable" in kwargs and not _has_learnable(name):
        assert not kwargs.pop("learnable"), f"{name} has no learnable stages"
    return cls(fs, **MODEL_KWARGS.get(name, {"flow": 900.0, "fhigh": 1100.0}), **kwargs)


def _shapes(y):
    return tuple(y.shape) if isinstance(y, torch.Tensor) else [_shapes(v) for v in y]


def test_every_public_stage_is_covered():
    public = [n for n in stages.__all__ if inspect.isclass(getattr(stages, n))]
    assert sorted(public) == sorted(STAGES)


# ------------------------------------------------------------------------ empty batches


def _signal(axes: int | tuple, batch: int, n: int = 400) -> torch.Tensor:
    shape = axes if isinstance(axes, tuple) else [2] * (axes - 1)
    return torch.rand(batch, *shape, n,
                      generator=torch.Generator().manual_seed(0)) * 0.1


def _with_batch(shapes, batch: int):
    if isinstance(shapes, list):
        return [_with_batch(s, batch) for s in shapes]
    return (batch, *shapes[1:])


@pytest.mark.parametrize("name", [*STAGES, *VARIANTS])
def test_stage_empty_batch_gives_an_empty_output(name):
    make, axes = {**STAGES, **VARIANTS}[name]
    module = make()
    y = module(_signal(axes, 0))
    assert _shapes(y) == _with_batch(_shapes(module(_signal(axes, 1))), 0)


@pytest.mark.parametrize(("name", "learnable"), [(n, learn) for n in MODELS
                                                 for learn in (False, True)
                                                 if not learn or _has_learnable(n)])
def test_model_empty_batch_gives_an_empty_output(name, learnable, model_input):
    model = _model(name, learnable=learnable)
    stages_out = model(model_input(model, _signal(1, 0)), return_stages=True)
    reference = model(model_input(model, _signal(1, 1)), return_stages=True)
    for key, value in reference.items():
        assert _shapes(stages_out[key]) == _with_batch(_shapes(value), 0), key


# ------------------------------------------------------------------------ short signals


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("fs", [16000.0, 44100.0])
@pytest.mark.parametrize("name", list(MODELS))
def test_models_on_one_to_three_samples(name, fs, n, model_input):
    """``King2019(44100, basef=1000)`` on 1-3 samples raised about an internal
    ``length``; every model returns its output, resampled to ``round(T·output_fs/fs)``,
    except where AMT itself needs a longer signal: then the error says how long."""
    model = _model(name, fs)
    if n < MIN_SAMPLES.get(name, 1):
        with pytest.raises(ValueError, match=f"longer than {MIN_SAMPLES[name] - 1} samples"):
            model(model_input(model, _signal(1, 2, n)))
        return
    long = model(model_input(model, _signal(1, 2, 64)))
    y = model(model_input(model, _signal(1, 2, n)))
    n_out = (model.output_length(n) if hasattr(model, "output_length")  # Paulick2024: floor,
             else round(n * model.output_fs / fs))  # Glasberg2002: ceil of its blocks
    assert _shapes(y) == _shapes([t[..., :n_out] for t in long] if isinstance(long, list)
                                 else long[..., :n_out])
    assert all(bool(torch.isfinite(t).all()) for t in (y if isinstance(y, list) else [y]))


def test_king2019_unbatched_single_sample():
    model = King2019(44100, basef=1000)
    assert model(torch.zeros(1)).shape == (5, 5, 0)
    assert model(torch.zeros(3)).shape == (5, 5, 1)


# ------------------------------------------------------------------------ error messages

MODEL_ARGUMENT_ERRORS = {
    # the cases: each error names the model's own keyword
    "King2019 compression_n": (lambda: King2019(FS, 1000, compression_n=0), ValueError,
                               "compression_n"),
    "Dau1997 learnable=1": (lambda: Dau1997(FS, learnable=1), TypeError, "learnable"),
    "Dau1997 subfs": (lambda: Dau1997(FS, subfs=1000), ValueError, "subfs"),
    # and their relatives
    "King2019 compression_n per channel": (lambda: King2019(FS, 1000, compression_n=[0.3, 0.2]),
                                           ValueError, "compression_n"),
    "King2019 learnable compression_n": (
        lambda: King2019(FS, 1000, compression_n=1.5, learnable=True), ValueError,
        "compression_n"),
    "King2019 compression_preset": (lambda: King2019(FS, 1000, compression_preset="x"),
                                    ValueError, "compression_preset"),
    "King2019 compression_knee_db": (lambda: King2019(FS, 1000, compression_knee_db="x"),
                                     TypeError, "compression_knee_db"),
    "King2019 ihc_preset": (lambda: King2019(FS, 1000, ihc_preset="x"), ValueError,
                            "ihc_preset"),
    "King2019 adt_hp_fc": (lambda: King2019(FS, 1000, adt_hp_fc=9000), ValueError,
                           "adt_hp_fc"),
    "King2019 adt_hp_order": (lambda: King2019(FS, 1000, adt_hp_order=0), ValueError,
                              "adt_hp_order"),
    "King2019 basef too high": (lambda: King2019(300, 100), ValueError, "basef"),
    "Dau1997 subfs low-pass": (lambda: Dau1997(FS, fhigh=1000, subfs=200), ValueError,
                               "subfs"),
    "Dau1997 ihc_preset": (lambda: Dau1997(FS, ihc_preset="x"), ValueError, "ihc_preset"),
    "Dau1997 adt_preset": (lambda: Dau1997(FS, adt_preset="x"), ValueError, "adt_preset"),
    "Dau1997 mfb_preset": (lambda: Dau1997(FS, mfb_preset="x"), ValueError, "mfb_preset"),
    "Dau1997 middleear_preset": (lambda: Dau1997(FS, middleear_preset="x"), ValueError,
                                 "middleear_preset"),
    "Jepsen2008 drnl_preset": (lambda: Jepsen2008(FS, fhigh=4000, drnl_preset="x"), ValueError,
                               "drnl_preset"),
    "Jepsen2008 ihc_preset": (lambda: Jepsen2008(FS, fhigh=4000, ihc_preset="x"), ValueError,
                              "ihc_preset"),
    "Jepsen2008 adt_preset": (lambda: Jepsen2008(FS, fhigh=4000, adt_preset="x"), ValueError,
                              "adt_preset"),
    "Jepsen2008 mfb_preset": (lambda: Jepsen2008(FS, fhigh=4000, mfb_preset="x"), ValueError,
                              "mfb_preset"),
}
"""name -> (call, exception, the model keyword the message must start with / contain)."""

FOREIGN_WORDS = ("exponent", "max_mfc", "use_upper_limit", "not iterable", "cutoff ",
                 "order must", "preset must", "knee_db must")


@pytest.mark.parametrize("case", list(MODEL_ARGUMENT_ERRORS))
def test_model_errors_name_the_models_own_argument(case):
    call, exc, keyword = MODEL_ARGUMENT_ERRORS[case]
    with pytest.raises(exc, match=keyword) as info:
        call()
    message = str(info.value)
    assert not any(word in message.replace(keyword, "") for word in FOREIGN_WORDS), message


def test_low_rate_errors_name_fs_and_its_minimum():
    with pytest.raises(ValueError, match=r"fs = 100.0 Hz .*above 200 Hz"):
        stages.MiddleEarFilter(100.0)
    with pytest.raises(ValueError, match=r"fs = 100.0 Hz .*above 200 Hz"):
        stages.DRNLFilterbank(100.0, fc=[40.0])
    with pytest.raises(ValueError, match=r"fs = 100.0 Hz .*above 100 Hz"):
        stages.MiddleEarFilter(100.0, "jepsen2008")
    with pytest.raises(ValueError, match=r"fs = 200.0 Hz .*above 250 Hz"):
        stages.HeadphoneFilter(200.0)
    with pytest.raises(ValueError, match=r"fs = 2000.0 Hz .*above 2000 Hz"):
        stages.MiddleEarFilter(2000.0, "zilany2009")
    with pytest.raises(ValueError, match=r"fs = 1000.0 Hz .*above 2000 Hz"):
        stages.IHCEnvelope(1000.0)
    with pytest.raises(ValueError, match=r"fs = 1000.0 Hz .*above 2000 Hz"):
        Jepsen2008(1000.0, fhigh=300.0)
    stages.MiddleEarFilter(201.0)  # just above the minimum
    stages.HeadphoneFilter(251.0)


def test_drnl_nyquist_error_names_the_argument_given():
    with pytest.raises(ValueError, match="fhigh is too high"):
        stages.DRNLFilterbank(FS)
    with pytest.raises(ValueError, match="fc is too high") as info:
        stages.DRNLFilterbank(FS, fc=[1000.0, 7950.0])
    assert "fhigh" not in str(info.value)


# ------------------------------------------------------------------------ constructor contracts


def test_basef_must_be_below_nyquist():
    with pytest.raises(ValueError, match="basef"):
        stages.GammatoneFilterbank(16000, basef=9000)
    with pytest.raises(ValueError, match="basef"):
        stages.DRNLFilterbank(16000, fhigh=4000, basef=9000)
    with pytest.raises(ValueError, match="basef"):
        Dau1997(16000, basef=9000)


@pytest.mark.parametrize("btype", ["low", "high", "lowpass", "highpass"])
def test_butterworth_two_cutoffs_need_a_band_type(btype):
    with pytest.raises(ValueError, match=r"one frequency for btype.*'bandpass' or 'bandstop'"):
        stages.ButterworthFilter(16000, [100.0, 2000.0], btype=btype)


@pytest.mark.parametrize("btype", ["bandpass", "bandstop"])
def test_butterworth_band_types_need_two_cutoffs(btype):
    with pytest.raises(ValueError, match="pair of band edges"):
        stages.ButterworthFilter(16000, 100.0, btype=btype)
    band = stages.ButterworthFilter(16000, [100.0, 2000.0], btype=btype)
    x = torch.randn(3, 400, generator=torch.Generator().manual_seed(0))
    assert band(x).shape == x.shape


def test_butterworth_rejects_unknown_btype():
    with pytest.raises(ValueError, match="btype"):
        stages.ButterworthFilter(16000, 100.0, btype="notch")


# ------------------------------------------------------------------------ state dicts


@pytest.mark.parametrize(("source", "target"), [("adt_dau1997", "adt_dau1996"),
                                                ("adt_dau1996", "adt_dau1997"),
                                                ("adt_relanoiborra2019", "adt_dau1996")])
def test_adaptloop_state_dict_of_another_preset_is_that_preset(source, target):
    """All of a preset's settings travel in its state dict (the limitation included):
    loading one into a module built from another preset gives the first, not a hybrid."""
    donor = stages.AdaptLoop(FS, preset=source, dtype=torch.float64)
    module = stages.AdaptLoop(FS, preset=target, dtype=torch.float64)
    module.load_state_dict(donor.state_dict())
    x = torch.rand(2, 3000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x[:, :500] = 0  # an onset: the overshoot limitation matters
    assert module.limited == donor.limited
    assert torch.equal(module(x), donor(x))


# ------------------------------------------------------------------------ half precision


def _all_modules():
    for name, (make, _) in STAGES.items():
        yield name, make
    for name in MODELS:
        yield name, lambda name=name: _model(name)


@pytest.mark.parametrize("cast", ["half", "bfloat16"])
@pytest.mark.parametrize("name", [name for name, _ in _all_modules()])
def test_half_precision_casts_are_refused(name, cast):
    module = dict(_all_modules())[name]()
    before = {k: v.dtype for k, v in module.state_dict().items()}
    with pytest.raises(TypeError, match="float32 or float64"):
        module.half() if cast == "half" else module.to(torch.bfloat16)
    assert {k: v.dtype for k, v in module.state_dict().items()} == before  # nothing cast
