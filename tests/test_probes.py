"""Probes: every public class, function and CLI command called the way a demanding user
would call it (issue #18).

The public surface is discovered, not listed by hand: every class of
``torch_amt.stages``, every model of ``torch_amt.MODELS`` and every public function of
``torch_amt.functional``, ``torch_amt.dsp``, ``torch_amt.levels`` and
``torch_amt.scales`` must have an entry in the tables below (``test_*_are_all_probed``
fails for a new public name without one). Each entry is then probed with:

============================  ==========================================================
probe                         expected
============================  ==========================================================
wrong rank, empty, NaN/Inf,   ``TypeError`` / ``ValueError`` whose message names the
integer/bool/complex/half,    argument (``x``); never a traceback from a kernel
lists, strings, 0-d
NumPy arrays                  the same output as the tensor
non-contiguous views          bit-identical to the contiguous input
1-10 samples, 96 kHz          finite outputs
``fs`` <= 0, NaN, Inf, str,   ``TypeError`` / ``ValueError`` naming ``fs``
bool, complex, None
fc/fhigh/basef at Nyquist,    ``ValueError`` naming that argument
flow > fhigh, unknown presets
``state_dict`` (torch.save),  bit-identical outputs from the copy
``deepcopy``, ``pickle``
``torch.compile``             same outputs (and input gradients) as eager
two threads, one module       each thread's output bit-identical to a serial call
functions: every argument     an error naming the argument, or a finite result; the
given NaN/Inf/None/str/       documented exception: ``dsp`` kernels and ``levels``
negative/huge/empty values    propagate NaN/Inf *samples* (like SciPy), so there the
                              output must be non-finite too, never silently finite
CLI commands                  exit status 2 and a one-line ``torch-amt: error: ...``
                              naming the option, no traceback
============================  ==========================================================

Signals are short (400 samples) and filterbanks narrow, so the module runs in CI time.
"""

from __future__ import annotations

import copy
import inspect
import io
import math
import pickle
import re
import threading
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import soundfile
import torch

import torch_amt
from torch_amt import MODELS, cli, dsp, levels, scales, stages
from torch_amt import functional as F

FS = 16000.0
FC = [500.0, 1000.0]
T = 400

# ---------------------------------------------------------------------------- modules
# name -> (factory(fs, **extra), signal kind); signal kinds: 'audio' (T,)/(B, T),
# 'envelope' (..., T) (any number of leading axes), 'channels' (F, T)/(B, F, T),
# 'channels-any' (..., F, T), 'binaural' (2, T)/(B, 2, T), 'binaural-channels' (..., 2, F, T)

def _factory(cls: type, **defaults) -> Callable[..., torch.nn.Module]:
    """``factory(fs, **overrides)`` building ``cls(fs, **defaults)`` with overrides."""
    return lambda fs, **k: cls(fs, **{**defaults, **k})


MODULES: dict[str, tuple[Callable[..., torch.nn.Module], str]] = {
    "AdaptLoop": (_factory(stages.AdaptLoop), "envelope"),
    "ButterworthFilter": (_factory(stages.ButterworthFilter, cutoff=3.0), "envelope"),
    "DRNLFilterbank": (_factory(stages.DRNLFilterbank, flow=500, fhigh=1500), "audio"),
    "FastKing2019ModulationFilterbank": (_factory(stages.FastKing2019ModulationFilterbank),
                                         "channels"),
    "FastModulationFilterbank": (_factory(stages.FastModulationFilterbank, fc=FC), "channels"),
    "GammatoneFilterbank": (_factory(stages.GammatoneFilterbank, flow=500, fhigh=1500),
                            "audio"),
    "HeadphoneFilter": (_factory(stages.HeadphoneFilter), "audio"),
    "IHCEnvelope": (_factory(stages.IHCEnvelope), "envelope"),
    "King2019Compression": (lambda fs, **k: stages.King2019Compression(**k), "envelope"),
    "King2019ModulationFilterbank": (_factory(stages.King2019ModulationFilterbank), "channels"),
    "MiddleEarFilter": (_factory(stages.MiddleEarFilter), "audio"),
    "ModulationFilterbank": (_factory(stages.ModulationFilterbank, fc=FC), "channels"),
    "ModulationLowpass": (_factory(stages.ModulationLowpass), "envelope"),
    "OuterMiddleEarFilter": (_factory(stages.OuterMiddleEarFilter), "envelope"),
    "EICell": (_factory(stages.EICell, tau=0.0004, ild=2.0), "binaural-channels"),
    # the internal noise is random by design: the probes that compare outputs run it off
    # (its seeded draws are tested in tests/stages/test_relanoiborra2019_stages.py)
    "InternalNoise": (lambda fs, **k: stages.InternalNoise(len(FC), **{"enabled": False, **k}),
                      "channels-any"),
    "RelanoIborra2019DRNL": (_factory(stages.RelanoIborra2019DRNL, flow=500, fhigh=1500,
                                      fcnt=3), "envelope"),
    "RelanoIborra2019ModulationFilterbank": (
        _factory(stages.RelanoIborra2019ModulationFilterbank, fc=FC), "channels"),
    "Glasberg2002OuterMiddleEarFilter": (
        _factory(stages.Glasberg2002OuterMiddleEarFilter, fhigh=5000.0, order=256), "envelope"),
    "MultiResolutionSpectrum": (_factory(stages.MultiResolutionSpectrum), "envelope"),
    "OctaveResample": (_factory(stages.OctaveResample, up=1, down=4), "envelope"),
}

PROBED_ELSEWHERE = {
    "ExcitationPattern": "takes a power spectrum (..., K, N), not a signal",
    "SpecificLoudness": "takes an excitation pattern (..., 149, N), not a signal",
    "LoudnessIntegration": "takes specific loudness (..., J, N), not a signal",
}
"""Public stages whose input is an intermediate representation of the Glasberg2002 chain:
the signal probes do not apply; tests/models/test_glasberg2002.py checks them (shapes,
closed forms, gradcheck, errors) and they are probed here through the model."""

MODEL_OPTIONS: dict[str, dict] = {
    "king2019": {"basef": 1000.0},
    "relanoiborra2019": {"flow": 900.0, "fhigh": 1100.0, "fcnt": 3, "internal_noise": False},
}
"""Narrow-band options per model (default: ``flow=900, fhigh=1100``), for speed."""

MODEL_SIGNAL: dict[str, str] = {"breebaart2001": "binaural"}
"""Signal kind of a model other than 'audio' (e.g. binaural models)."""

for _name, _cls in MODELS.items():
    MODULES[_name] = (_factory(_cls, **MODEL_OPTIONS.get(_name, {"flow": 900.0, "fhigh": 1100.0})),
                      MODEL_SIGNAL.get(_name, "audio"))

NO_FS = {"King2019Compression", "InternalNoise"}
"""Modules whose constructor takes no sampling rate."""

MIN_SAMPLES = {"EICell": 6, "breebaart2001": 4}
"""Shortest signal a module computes; shorter ones are a ValueError naming ``x`` (the EI
cell's zero-phase smoothing reflects 3 samples at each end, as Octave's filtfilt, and
the probed EICell's 0.4-ms delay is 6 samples; AMT itself stops with an error there)."""


def _signal(kind: str, n: int = T, dtype=torch.float64, batch: int = 2) -> torch.Tensor:
    x = 0.01 * torch.randn(batch, n, generator=torch.Generator().manual_seed(1), dtype=dtype)
    x[:, : min(n, 40)] *= torch.linspace(0, 1, min(n, 40), dtype=dtype)  # an onset
    if kind in ("channels", "channels-any"):
        return x[:, None, :].expand(batch, len(FC), n).contiguous()
    if kind == "binaural":
        return torch.stack([x, 0.5 * x], dim=1)
    if kind == "binaural-channels":  # (B, 2, F, T): left and right ear of F channels
        return torch.stack([x, 0.5 * x], dim=1)[:, :, None].expand(batch, 2, len(FC), n) \
            .contiguous()
    return x


def _make(name: str, fs: float = FS, **kwargs) -> torch.nn.Module:
    factory, _ = MODULES[name]
    return factory(fs, **kwargs).double()


def _flat(y) -> list[torch.Tensor]:
    if isinstance(y, torch.Tensor):
        return [y]
    if isinstance(y, dict):
        return [t for v in y.values() for t in _flat(v)]
    return [t for v in y for t in _flat(v)]


def _assert_identical(a, b) -> None:
    fa, fb = _flat(a), _flat(b)
    assert len(fa) == len(fb)
    for u, v in zip(fa, fb, strict=True):
        assert u.shape == v.shape and u.dtype == v.dtype
        assert torch.equal(u, v), f"max difference {(u - v).abs().max().item()}"


def _assert_finite(y) -> None:
    for t in _flat(y):
        assert torch.isfinite(t).all(), "non-finite output"


@pytest.fixture(scope="module")
def reference_outputs() -> dict[str, tuple[torch.nn.Module, torch.Tensor, object]]:
    """One module per entry, its test signal and its output (computed once)."""
    out = {}
    for name, (_, kind) in MODULES.items():
        module = _make(name)
        x = _signal(kind)
        with torch.no_grad():
            out[name] = (module, x, module(x))
    return out


def test_stages_and_models_are_all_probed():
    public = {n for n in stages.__all__ if inspect.isclass(getattr(stages, n))}
    top = {n for n in torch_amt.__all__ if inspect.isclass(getattr(torch_amt, n))
           and issubclass(getattr(torch_amt, n), torch.nn.Module)}
    model_classes = {cls.__name__ for cls in MODELS.values()}
    probed = set(MODULES) | set(PROBED_ELSEWHERE)
    assert public <= probed, sorted(public - probed)
    assert top - model_classes <= probed, sorted(top - model_classes - probed)
    assert set(MODELS) <= set(MODULES)


# --------------------------------------------------------------- bad signals (modules)


def _nonfinite(x: torch.Tensor, value: float) -> torch.Tensor:
    x = x.clone()
    x[..., 7] = value
    return x


BAD_SIGNALS: dict[str, tuple[Callable[[torch.Tensor], object], type, str]] = {
    "int16": (lambda x: (x * 3000).to(torch.int16), TypeError, "int16"),
    "int32-numpy": (lambda x: (x.numpy() * 3000).astype(np.int32), TypeError, "int32"),
    "bool": (lambda x: x > 0, TypeError, "bool"),
    "complex": (lambda x: x.to(torch.complex128), TypeError, "real"),
    "float16": (lambda x: x.half(), TypeError, "float16"),
    "bfloat16": (lambda x: x.to(torch.bfloat16), TypeError, "bfloat16"),
    "nan": (lambda x: _nonfinite(x, math.nan), ValueError, "NaN"),
    "inf": (lambda x: _nonfinite(x, math.inf), ValueError, "Inf"),
    "empty": (lambda x: x[..., :0], ValueError, "empty"),
    "list": (lambda x: x.tolist(), TypeError, "list"),
    "string": (lambda x: "sound.wav", TypeError, "str"),
    "none": (lambda x: None, TypeError, "None"),
}


ACCEPTED_ON_PURPOSE = {"OctaveResample": {"empty", "list"}}
"""Documented exceptions: Paulick2024's ``resample(x, 1, 4)`` stage passes on an empty
signal (AMT's ``floor(T/4) = 0`` samples of a 1-3-sample input) and resamples a list of
signals element by element."""


@pytest.mark.parametrize(("name", "bad"), [(n, b) for n in MODULES for b in BAD_SIGNALS
                                           if b not in ACCEPTED_ON_PURPOSE.get(n, ())])
def test_bad_signal_is_a_clear_error(reference_outputs, name, bad):
    module, x, _ = reference_outputs[name]
    make_bad, exc, word = BAD_SIGNALS[bad]
    with pytest.raises(exc) as info:
        module(make_bad(x))
    message = str(info.value)
    assert re.search(r"\bx\b", message), message
    assert word.lower() in message.lower(), message


ANY_LEADING_AXES = ("envelope", "channels-any", "binaural-channels")
"""Signal kinds that take any number of leading axes (docs/input_handling.rst)."""


@pytest.mark.parametrize("name", [n for n, (_, kind) in MODULES.items()
                                  if kind not in ANY_LEADING_AXES])
def test_wrong_rank_is_a_clear_error(reference_outputs, name):
    module, x, _ = reference_outputs[name]
    for wrong in (torch.tensor(0.5, dtype=torch.float64), x[None, None]):
        with pytest.raises(ValueError, match=r"x must have shape"):
            module(wrong)


@pytest.mark.parametrize("name", [n for n, (_, kind) in MODULES.items()
                                  if kind in ANY_LEADING_AXES])
def test_stages_take_any_leading_axes(reference_outputs, name):
    module, x, y = reference_outputs[name]
    with torch.no_grad():
        _assert_identical(module(x[None, :, None])[0, :, 0], y)


# --------------------------------------------------------- equivalent forms of a signal


@pytest.mark.parametrize("name", list(MODULES))
def test_numpy_input_equals_tensor_input(reference_outputs, name):
    module, x, y = reference_outputs[name]
    with torch.no_grad():
        _assert_identical(module(x.numpy()), y)


@pytest.mark.parametrize("name", list(MODULES))
def test_non_contiguous_views_equal_contiguous_input(reference_outputs, name):
    module, x, y = reference_outputs[name]
    strided = torch.zeros(*x.shape[:-1], 2 * x.shape[-1], dtype=x.dtype)
    strided[..., ::2] = x
    transposed = x.transpose(0, -1).contiguous().transpose(0, -1)
    with torch.no_grad():
        for view in (strided[..., ::2], transposed):
            assert not view.is_contiguous()
            _assert_identical(module(view), y)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10])
@pytest.mark.parametrize("name", list(MODULES))
def test_one_to_ten_samples_give_finite_outputs(reference_outputs, name, n):
    module, x, _ = reference_outputs[name]
    short = x[..., :n].contiguous()
    if n < MIN_SAMPLES.get(name, 1):
        with pytest.raises(ValueError, match=r"sample"):
            module(short)
        return
    with torch.no_grad():
        _assert_finite(module(short))


@pytest.mark.parametrize("name", list(MODULES))
def test_96_khz(name):
    kind = MODULES[name][1]
    module = _make(name, 96000.0)
    with torch.no_grad():
        _assert_finite(module(_signal(kind, 2400)))


# -------------------------------------------------------------------- constructor probes

BAD_FS = [(0, ValueError), (-16000.0, ValueError), (math.nan, ValueError),
          (math.inf, ValueError), ("16000", TypeError), (True, TypeError),
          (16000 + 1j, TypeError), (None, TypeError), ([16000.0], TypeError)]


@pytest.mark.parametrize(("fs", "exc"), BAD_FS, ids=[repr(v) for v, _ in BAD_FS])
@pytest.mark.parametrize("name", [n for n in MODULES if n not in NO_FS])
def test_bad_fs_names_fs(name, fs, exc):
    with pytest.raises(exc, match=r"\bfs\b"):
        MODULES[name][0](fs)


def _parameters(name: str) -> dict[str, inspect.Parameter]:
    module = _make(name)
    return dict(inspect.signature(type(module).__init__).parameters)


FREQUENCY_KEYWORDS = ("fhigh", "basef", "cutoff", "fc")


AUDIO_FC_OF_ENVELOPES = {"ModulationFilterbank", "FastModulationFilterbank",
                         "RelanoIborra2019ModulationFilterbank"}
"""Their ``fc`` are the auditory channels' audio frequencies, not bounded by the envelope
rate ``fs`` (docs/input_handling.rst)."""


TABLE_RANGES = {("Glasberg2002OuterMiddleEarFilter", "fhigh"), ("glasberg2002", "fhigh")}
"""``fhigh`` of Glasberg2002's ear filter is the top of the transfer-function table that
AMT maps onto ``0 ... fs/2`` (the model runs at 32 kHz), not a frequency at ``fs``."""


@pytest.mark.parametrize(("name", "key"), [
    (n, k) for n in MODULES if n not in NO_FS for k in FREQUENCY_KEYWORDS
    if k in _parameters(n) and not (k == "fc" and n in AUDIO_FC_OF_ENVELOPES)
    and (n, k) not in TABLE_RANGES])
def test_frequencies_at_nyquist_are_refused_by_name(name, key):
    with pytest.raises(ValueError, match=rf"\b{key}\b") as info:
        # fc, basef, cutoff exactly at Nyquist; fhigh above it (a grid up to fhigh = fs/2
        # can legitimately stay below fs/2)
        MODULES[name][0](FS, **{key: {"fc": [FS / 2], "fhigh": FS}.get(key, FS / 2)})
    assert "Nyquist" in str(info.value) or "fs/2" in str(info.value), str(info.value)


@pytest.mark.parametrize("name", [n for n in MODULES if "flow" in _parameters(n)])
def test_flow_above_fhigh_is_refused(name):
    with pytest.raises(ValueError, match=r"flow|fhigh"):
        MODULES[name][0](FS, flow=3000.0, fhigh=1000.0)


def _preset_keywords(name: str) -> list[str]:
    return [k for k in _parameters(name) if k == "preset" or k.endswith("_preset")]


@pytest.mark.parametrize("name", [n for n in MODULES if _preset_keywords(n)])
def test_unknown_presets_list_the_accepted_names(name):
    for key in _preset_keywords(name):
        with pytest.raises(ValueError, match=rf"\b{key}\b.*must be one of|{key}") as info:
            MODULES[name][0](FS, **{key: "no_such_preset"})
        assert "no_such_preset" in str(info.value), str(info.value)


# ------------------------------------------------------------- copies and serialisation


@pytest.mark.parametrize("name", list(MODULES))
def test_state_dict_round_trip_through_torch_save(reference_outputs, name):
    module, x, y = reference_outputs[name]
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    buffer.seek(0)
    fresh = _make(name)
    fresh.load_state_dict(torch.load(buffer))
    with torch.no_grad():
        _assert_identical(fresh(x), y)


@pytest.mark.parametrize("name", [n for n in MODULES if "learnable" in _parameters(n)])
def test_learnable_state_dict_round_trip(name):
    kind = MODULES[name][1]
    module = _make(name, learnable=True)
    with torch.no_grad():  # move every parameter off its initial value
        for p in module.parameters():
            p.mul_(1.01)
    x = _signal(kind)
    fresh = _make(name, learnable=True)
    fresh.load_state_dict(copy.deepcopy(module.state_dict()))
    with torch.no_grad():
        _assert_identical(fresh(x), module(x))


@pytest.mark.parametrize("name", list(MODULES))
def test_deepcopy_and_pickle(reference_outputs, name):
    module, x, y = reference_outputs[name]
    with torch.no_grad():
        _assert_identical(copy.deepcopy(module)(x), y)
        _assert_identical(pickle.loads(pickle.dumps(module))(x), y)


# ------------------------------------------------------------------- compile and threads


@pytest.fixture(autouse=False)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("name", list(MODULES))
def test_torch_compile_matches_eager(reference_outputs, fresh_dynamo, name):
    module, x, y = reference_outputs[name]
    compiled = torch.compile(module, backend="eager")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = compiled(x)
    # the same operations; FFT-based stages may reassociate sums under Dynamo, so the
    # bound is 1e-12 of the output's scale rather than bit identity
    for a, b in zip(_flat(out), _flat(y), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert (a - b).abs().max() <= 1e-12 * b.abs().max(), (a - b).abs().max().item()


@pytest.mark.parametrize("name", ["GammatoneFilterbank", "AdaptLoop", "dau1997"])
def test_torch_compile_inductor_values_and_gradients(fresh_dynamo, name):
    module = _make(name)
    x = _signal(MODULES[name][1]).requires_grad_(True)
    compiled = torch.compile(module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = compiled(x)
        (gx,) = torch.autograd.grad(sum(t.square().sum() for t in _flat(out)), x)
    ref = module(x)
    (gref,) = torch.autograd.grad(sum(t.square().sum() for t in _flat(ref)), x)
    for a, b in zip(_flat(out), _flat(ref), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(gx, gref, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("name", list(MODULES))
def test_two_threads_calling_one_module(reference_outputs, name):
    module, x, y = reference_outputs[name]
    results: list = [None, None]
    errors: list = []

    def run(i: int) -> None:
        try:
            with torch.no_grad():
                for _ in range(3):
                    results[i] = module(x)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for r in results:
        _assert_identical(r, y)


# -------------------------------------------------------------------------- functions

_X = 0.01 * torch.randn(2, T, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
_XC = _X[:, None, :].expand(2, 3, T).contiguous()
_B = torch.tensor([1.0, 0.5], dtype=torch.float64)
_A = torch.tensor([1.0, -0.9], dtype=torch.float64)

FUNCTIONS: dict[str, tuple[Callable, dict]] = {
    "functional.adaptloop": (F.adaptloop, {"x": _X, "fs": FS}),
    "functional.auditoryfilterbank": (F.auditoryfilterbank,
                                      {"x": _X, "fs": FS, "flow": 500.0, "fhigh": 1500.0}),
    "functional.drnl": (None, {}),  # takes a design and parameters: via lopezpoveda2001
    "functional.relanoiborra2019_drnl": (None, {}),  # takes a design: via its stage
    "functional.relanoiborra2019_mfbtd": (F.relanoiborra2019_mfbtd, {"x": _X, "fs": FS}),
    "functional.breebaart2001_outmiddlefilter": (F.breebaart2001_outmiddlefilter,
                                                 {"x": _X, "fs": FS}),
    "functional.eicell": (F.eicell, {"x": torch.stack([_X, 0.5 * _X], -3), "fs": FS,
                                     "tau": 0.0004, "ild": 2.0}),
    "functional.glasberg2002": (F.glasberg2002, {"x": _X, "fs": 32000.0}),
    "functional.gammatone_coefficients": (F.gammatone_coefficients,
                                          {"fc": [500.0, 1000.0], "fs": FS}),
    "functional.headphonefilter": (F.headphonefilter, {"fs": FS}),
    "functional.ihc_envelope": (F.ihc_envelope, {"x": _X, "fs": FS}),
    "functional.king2019_compression": (F.king2019_compression, {"x": _X}),
    "functional.king2019_modfilterbank": (F.king2019_modfilterbank, {"x": _XC, "fs": FS}),
    "functional.lopezpoveda2001": (F.lopezpoveda2001,
                                   {"x": _X, "fs": FS, "flow": 500.0, "fhigh": 1500.0}),
    "functional.middleearfilter": (F.middleearfilter, {"fs": FS}),
    "functional.minspl_to_minlvl": (F.minspl_to_minlvl, {"minspl": 0.0}),
    "functional.modfilterbank": (F.modfilterbank,
                                 {"x": _XC, "fs": FS, "fc": [500.0, 1000.0, 2000.0]}),
    "functional.modulation_lowpass": (F.modulation_lowpass, {"x": _X, "fs": FS}),
    "functional.power_compression": (F.power_compression,
                                     {"x": _X, "knee": 1e-3, "exponent": 0.3}),
    "dsp.butter": (dsp.butter, {"order": 2, "cutoff": 100.0, "fs": FS}),
    "dsp.fftconvolve": (dsp.fftconvolve, {"x": _X, "h": _B}),
    "dsp.fftresample": (dsp.fftresample, {"x": _X, "length": 200}),
    "dsp.fir2": (dsp.fir2, {"n": 32, "f": [0.0, 0.5, 1.0], "m": [1.0, 1.0, 0.0]}),
    "dsp.freqz": (dsp.freqz, {"b": _B, "a": _A, "n": 64, "fs": FS}),
    "dsp.get_backend": (dsp.get_backend, {}),
    "dsp.hilbert": (dsp.hilbert, {"x": _X}),
    "dsp.lfilter": (dsp.lfilter, {"x": _X, "b": _B, "a": _A}),
    "dsp.lfilter_double_double": (dsp.lfilter_double_double, {"x": _X, "b": _B, "a": _A}),
    "dsp.lfilter_envelope": (None, {}),  # internal fused readout: see tests/dsp
    "dsp.minimum_phase": (dsp.minimum_phase, {"b": [1.0, 0.5, 0.25]}),
    "dsp.octave_filtfilt": (dsp.octave_filtfilt, {"x": _X, "b": _B, "a": _A}),
    "dsp.octave_butter": (dsp.octave_butter, {"order": 2, "wn": 0.1}),
    "dsp.poly": (dsp.poly, {"roots": torch.tensor([0.5, 0.2], dtype=torch.float64)}),
    "dsp.release_freed_memory": (None, {}),  # allocator setting: tests/dsp/test_memory.py
    "dsp.resolve_backend": (dsp.resolve_backend, {"device": torch.device("cpu")}),
    "dsp.retain_freed_memory": (None, {}),  # allocator setting: tests/dsp/test_memory.py
    "dsp.retained_memory": (None, {}),  # allocator setting: tests/dsp/test_memory.py
    "dsp.sosfilt": (dsp.sosfilt, {"x": _X, "sos": torch.tensor([[1.0, 0.5, 0.0, 1.0, -0.9, 0.0]],
                                                               dtype=torch.float64)}),
    "dsp.use_backend": (None, {}),  # a context manager: probed below
    "levels.dbspl": (levels.dbspl, {"x": _X}),
    "levels.dbspl_to_rms": (levels.dbspl_to_rms, {"level": 60.0}),
    "levels.gaindb": (levels.gaindb, {"x": _X, "gain_db": 6.0}),
    "levels.rescale_dboffset": (levels.rescale_dboffset,
                                {"x": _X, "from_dboffset": 100.0, "to_dboffset": 93.98}),
    "levels.rms": (levels.rms, {"x": _X}),
    "levels.rms_to_dbspl": (levels.rms_to_dbspl, {"rms_value": 0.1}),
    "levels.scaletodbspl": (levels.scaletodbspl, {"x": _X, "level": 60.0}),
    "levels.setdbspl": (levels.setdbspl, {"x": _X, "level": 60.0}),
    "scales.centre_frequencies": (scales.centre_frequencies,
                                  {"fs": FS, "flow": 500.0, "fhigh": 1500.0}),
    "scales.audfiltbw": (scales.audfiltbw, {"fc": [500.0, 1000.0]}),
    "scales.audtofreq": (scales.audtofreq, {"aud": [5.0, 10.0]}),
    "scales.erbspace": (scales.erbspace, {"flow": 100.0, "fhigh": 1000.0, "n": 5}),
    "scales.erbspacebw": (scales.erbspacebw, {"flow": 100.0, "fhigh": 1000.0}),
    "scales.erbtofreq": (scales.erbtofreq, {"erb": [5.0, 10.0]}),
    "scales.freqtoaud": (scales.freqtoaud, {"freq": [500.0, 1000.0]}),
    "scales.freqtoerb": (scales.freqtoerb, {"freq": [500.0, 1000.0]}),
}

NAN_SAMPLES_PROPAGATE = {"dsp.fftconvolve", "dsp.fftresample", "dsp.hilbert", "dsp.lfilter",
                         "dsp.octave_filtfilt",
                         "dsp.lfilter_double_double", "dsp.sosfilt", "dsp.freqz", "dsp.poly",
                         "levels.dbspl", "levels.gaindb", "levels.rescale_dboffset",
                         "levels.rms", "levels.setdbspl", "levels.scaletodbspl"}
"""Kernels documented (docs/input_handling.rst) to propagate NaN/Inf samples like SciPy."""

INFINITE_BY_DEFINITION = {("levels.rms_to_dbspl", "rms_value", 0.0),
                          ("levels.rms_to_dbspl", "rms_value", math.inf),
                          ("levels.rms_to_dbspl", "rms_value", -math.inf),
                          ("levels.dbspl_to_rms", "level", math.inf)}
"""log10(0) = -inf and its inverse: the level of silence, documented."""


NAMED_INSTEAD = {("functional.glasberg2002", "fs"): "x"}
"""A huge ``fs`` makes the signal a few samples long once resampled to 32 kHz: the error
names ``x`` and its required length (Octave's filtfilt of the 4097-tap ear filter)."""


def _public_functions() -> list[str]:
    names = []
    for module, prefix in ((F, "functional"), (dsp, "dsp"), (levels, "levels"),
                           (scales, "scales")):
        for n in module.__all__:
            obj = getattr(module, n)
            if callable(obj) and not inspect.isclass(obj):
                names.append(f"{prefix}.{n}")
    return names


def test_functions_are_all_probed():
    assert sorted(set(_public_functions()) - set(FUNCTIONS)) == []


def _bad_values(value) -> list:
    if isinstance(value, torch.Tensor) and value.shape[-1] >= 100:  # a signal
        return [_nonfinite(value, math.nan), _nonfinite(value, math.inf), value[..., :0],
                (value * 3000).to(torch.int16), value.tolist(), "sound.wav", None,
                value > 0]
    if isinstance(value, torch.Tensor):  # coefficients, roots
        return [value[:0], value * math.nan, None, "x", value > 0]
    if isinstance(value, bool):
        return ["yes", None]
    if isinstance(value, int):
        return [-1, 0, 1.5, "x", None, True]
    if isinstance(value, float):
        return [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e9, "x", None, True, 1 + 1j]
    if isinstance(value, str):
        return ["no_such_option", 3, None]
    if isinstance(value, list):
        return [[], [math.nan], [-5.0], [1e9], "x", None, [[1.0], [2.0, 3.0]]]
    if isinstance(value, torch.device):
        return ["gpu0", None]
    return [None]


def _cases() -> list[tuple[str, str, int]]:
    cases = []
    for name, (func, kwargs) in FUNCTIONS.items():
        if func is None:
            continue
        for key, value in kwargs.items():
            cases.extend((name, key, i) for i in range(len(_bad_values(value))))
    return cases


@pytest.mark.parametrize(("name", "key", "index"), _cases())
def test_function_argument_probe(name, key, index):
    func, kwargs = FUNCTIONS[name]
    good = kwargs[key]
    bad = _bad_values(good)[index]
    call = {**kwargs, key: bad}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = func(**call)
    except (TypeError, ValueError) as err:
        names = (key, NAMED_INSTEAD.get((name, key), key))
        assert any(n in str(err) for n in names), \
            f"{name}({key}={bad!r:.40}): message does not name {key}: {err}"
        return
    outputs = [torch.as_tensor(o) for o in (out if isinstance(out, (tuple, list)) else (out,))
               if isinstance(o, (torch.Tensor, np.ndarray, float))]
    finite = all(bool(torch.isfinite(o).all()) for o in outputs
                 if o.is_floating_point() or o.is_complex())
    nonfinite_samples = (isinstance(bad, torch.Tensor) and bad.is_floating_point()
                         and not bool(torch.isfinite(bad).all()))
    if nonfinite_samples and name in NAN_SAMPLES_PROPAGATE:
        assert not finite, f"{name}: NaN/Inf samples gave a finite result"
    elif isinstance(bad, float) and (name, key, bad) in INFINITE_BY_DEFINITION:
        assert not finite
    else:
        assert finite, f"{name}({key}={bad!r:.40}) returned a non-finite result"


def test_use_backend_names_the_backend():
    with pytest.raises(ValueError, match="backend|name"), dsp.use_backend("no_such_backend"):
        pass


# ---------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def sound_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe_audio")
    t = np.arange(4000) / 16000
    soundfile.write(d / "tone.wav", 0.1 * np.sin(2 * np.pi * 1000 * t), 16000)
    soundfile.write(d / "empty.wav", np.zeros(0), 16000)
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage")
    (d / "text.txt").write_text("not audio")
    return d


CLI_PROBES = {
    "unknown model": (["run", "no_such_model"], "unknown model"),
    "missing file": (["run", "dau1997", "{d}/missing.wav"], "not found"),
    "empty file": (["run", "dau1997", "{d}/empty.wav"], "no samples"),
    "corrupt file": (["run", "dau1997", "{d}/corrupt.wav"], "cannot read"),
    "text file": (["run", "dau1997", "{d}/text.txt"], "cannot read"),
    "fs zero": (["run", "dau1997", "{d}/tone.wav", "--fs", "0"], "--fs"),
    "fs word": (["run", "dau1997", "{d}/tone.wav", "--fs", "abc"], "--fs"),
    "channel out of range": (["run", "dau1997", "{d}/tone.wav", "--channel", "3"], "channel"),
    "channel word": (["run", "dau1997", "{d}/tone.wav", "--channel", "left"], "--channel"),
    "level NaN": (["run", "dau1997", "{d}/tone.wav", "--level-db", "nan"], "--level-db"),
    "dboffset Inf": (["run", "dau1997", "{d}/tone.wav", "--dboffset", "inf"], "--dboffset"),
    "param without value": (["run", "dau1997", "{d}/tone.wav", "-p", "fhigh"], "KEY=VALUE"),
    "unknown param": (["run", "dau1997", "{d}/tone.wav", "-p", "bogus=1"], "bogus"),
    "param above Nyquist": (["run", "dau1997", "{d}/tone.wav", "-p", "fhigh=1e9"], "fhigh"),
    "param word": (["run", "dau1997", "{d}/tone.wav", "-p", "fhigh=abc"], "fhigh"),
    "out not npz": (["run", "dau1997", "{d}/tone.wav", "--out", "{d}/x.txt"], "--out"),
    "plot format": (["run", "dau1997", "{d}/tone.wav", "--plot", "{d}/x.xyz"], "--plot"),
    "validate nothing": (["validate", "--reference", "{d}/nothing"], "reference"),
    "unknown option": (["models", "--bogus"], "--bogus"),
}


@pytest.mark.parametrize("probe", list(CLI_PROBES))
def test_cli_bad_invocation_is_one_clear_line(sound_files, capsys, probe):
    argv, word = CLI_PROBES[probe]
    argv = [a.format(d=sound_files) for a in argv]
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2, (status, err)
    assert "Traceback" not in err, err
    assert "torch-amt" in err and "error:" in err, err
    assert word in err, err
