"""Speed of the models against straightforward SciPy/numba pipelines of their chains.

Forward and forward+backward at 44.1 kHz, float32, batch 1/8 and 1 s for every model of
:data:`MODELS`; batch 32 at 1 s, 10 s (60 s for a few configurations) and the CUDA
comparison for those of :data:`LONG_MODELS` only (RelanoIborra2019, Paulick2024 and
Breebaart2001 are left out there to keep the full run short and its memory moderate:
RelanoIborra2019's 720 modulation rows at the audio rate make a B=32 or 10-s input cost
minutes and gigabytes, Breebaart2001's two ears double every peripheral stage, a B=32
10-s input to either gives several GB per stage). Backends: numba on the CPU,
the pure-torch backend (the GPU path, forced on CPU) and CUDA when a GPU is present,
with real-time factors (processing time per second of audio per signal; lower is
faster), the distance to the arithmetic floor (the compiled recursions and FFTs alone,
see :func:`benchmarks.common.kernel_clock`) and the peak memory of a 10-minute input.
The baselines are what a researcher would write by hand: per-channel
``scipy.signal.lfilter`` with the model's coefficients, a numba port of AMT's
adaptation loop (``benchmarks.bench_adaptation.baseline_adaptloop``) and of
``paulick2024_ihc``'s membrane loop, ``scipy.signal.hilbert``, ``scipy.fft`` and
``scipy.signal.resample_poly`` resampling, ``scipy.signal.filtfilt`` — forward only,
signal by signal. Each baseline's ``run(x)`` returns the last signal's output
(``tests/test_benchmarks.py`` compares those of RelanoIborra2019, Paulick2024,
Breebaart2001 and Jepsen2008 with the models in float64). Binaural models
(Breebaart2001) read ``(B, 2, T)``: the tone in both ears with independent noise.

Run: ``python -m benchmarks.bench_models [--quick]``
"""

from __future__ import annotations

import argparse

import numba
import numpy as np
import scipy.fft
import scipy.signal
import torch

from benchmarks.bench_adaptation import baseline_adaptloop
from benchmarks.common import (
    best_time,
    forward_backward,
    kernel_clock,
    machine_load,
    peak_memory,
    setup_threads,
    write_results,
)
from torch_amt.dsp import use_backend
from torch_amt.functional import paulick2024 as paulick_ihc
from torch_amt.functional.eicell import eicell_smoothing_coefficients
from torch_amt.models import (
    Breebaart2001,
    Dau1996,
    Dau1997,
    Jepsen2008,
    King2019,
    Osses2021,
    Paulick2024,
    RelanoIborra2019,
)

FS = 44100
MODELS = {
    "dau1997": lambda dt: Dau1997(FS, dtype=dt),
    "king2019": lambda dt: King2019(FS, 1000, dtype=dt),
    "jepsen2008": lambda dt: Jepsen2008(FS, dtype=dt),
    "dau1996": lambda dt: Dau1996(FS, dtype=dt),
    "osses2021": lambda dt: Osses2021(FS, dtype=dt),
    # deterministic: the internal noise (random draws in every call) off
    "relanoiborra2019": lambda dt: RelanoIborra2019(FS, internal_noise=False, dtype=dt),
    "paulick2024": lambda dt: Paulick2024(FS, dtype=dt),
    "breebaart2001": lambda dt: Breebaart2001(FS, dtype=dt),
}
LONG_MODELS = ("dau1997", "king2019", "jepsen2008", "dau1996", "osses2021")
"""The models also timed at B=32 and 10 s (numba and CUDA); see the module docstring."""


def _signal(batch: int, n: int, binaural: bool = False) -> np.ndarray:
    """``(batch, n)`` test signals at 65 dB (100-dB convention): a 1-kHz tone, 8-Hz AM,
    plus noise; ``binaural``: ``(batch, 2, n)``, independent noise in each ear."""
    if binaural:
        return _signal(2 * batch, n).reshape(batch, 2, n)
    rng = np.random.default_rng(0)
    t = np.arange(n) / FS
    x = np.sin(2 * np.pi * 1000 * t) * (1 + 0.8 * np.sin(2 * np.pi * 8 * t))
    x = x + 0.3 * rng.standard_normal((batch, n))
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True)) * 10 ** ((65 - 100) / 20)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy() if not t.is_complex() else t.detach().cdouble().numpy()


def dau1997_baseline(model: Dau1997):
    """Dau1997's chain written with SciPy/numba, coefficients taken from ``model``."""
    gb, ga = _np(model.afb.b), _np(model.afb.a)
    ib, ia = _np(model.ihc.b), _np(model.ihc.a)
    adaptation = _adaptation_baseline(model.adt)
    modulation = _modulation_baseline(model.mfb)

    def run(x: np.ndarray) -> list[np.ndarray]:
        for sig in x:
            bm = np.stack([2 * np.real(scipy.signal.lfilter(gb[c], ga[c], sig))
                           for c in range(len(gb))])
            env = scipy.signal.lfilter(ib, ia, np.maximum(bm, 0), axis=-1)
            out = modulation(adaptation(env))
        return out

    return run


def _drnl_baseline(drnl):
    """``sig (T,) -> (F, T)``: a DRNLFilterbank (level scaling, middle ear when it has
    one, both paths) with per-channel SciPy ``lfilter``, coefficients from ``drnl``."""
    d = drnl.design()
    p = drnl.params.resolved()
    if p.nlin_d != 1 or drnl.path != "bothparts":
        raise ValueError("the DRNL baseline covers nlin_d = 1 and path='bothparts'")
    middle = None if drnl.middle_ear is None else _np(drnl.middle_ear)
    scale = 10 ** ((drnl.dboffset - 100) / 20)
    gains = _np(d.lin_gain)
    gt = {k: (_np(getattr(d, k).b), _np(getattr(d, k).a)) for k in ("gt_lin", "gt_before",
                                                                     "gt_after")}
    lp = {k: (_np(getattr(d, k)[0]), _np(getattr(d, k)[1])) for k in ("lp_lin", "lp_nlin")}
    na, nb, nc = (_np(getattr(d, k)) for k in ("nlin_a", "nlin_b", "nlin_c"))

    def filt(key, c, y):
        return scipy.signal.lfilter(gt[key][0][c], gt[key][1][c], y)

    def run(sig: np.ndarray) -> np.ndarray:
        sig = sig * scale
        if middle is not None:
            sig = scipy.signal.fftconvolve(sig, middle)[: len(sig)]
        bm = np.empty((len(gains), len(sig)))
        for c in range(len(gains)):
            lin = filt("gt_lin", c, sig * gains[c])
            for _ in range(p.lin_nlp):
                lin = scipy.signal.lfilter(lp["lp_lin"][0][c], lp["lp_lin"][1][c], lin)
            y = filt("gt_before", c, sig)
            y = np.sign(y) * np.minimum(na[c] * np.abs(y), nb[c] * np.abs(y) ** nc[c])
            y = filt("gt_after", c, y)
            for _ in range(p.nlin_nlp):
                y = scipy.signal.lfilter(lp["lp_nlin"][0][c], lp["lp_nlin"][1][c], y)
            bm[c] = lin + y
        return bm

    return run


def jepsen2008_baseline(model: Jepsen2008):
    """Jepsen2008's chain written with SciPy/numba, coefficients taken from ``model``."""
    ear = _np(model.outerear.b)
    drnl = _drnl_baseline(model.drnl)
    ib, ia = _np(model.ihc.b), _np(model.ihc.a)
    adaptation = _adaptation_baseline(model.adt)
    modulation = _modulation_baseline(model.mfb)
    gain = 10 ** (model.gain.gain_db / 20)
    exponent = model.expansion.exponent

    def run(x: np.ndarray) -> list[np.ndarray]:
        for sig in x:
            bm = drnl(scipy.signal.fftconvolve(sig, ear)[: len(sig)]) * gain
            env = scipy.signal.lfilter(ib, ia, np.maximum(bm, 0), axis=-1) ** exponent
            out = modulation(adaptation(env))
        return out

    return run


def dau1996_baseline(model: Dau1996):
    """Dau1996's chain written with SciPy/numba, coefficients taken from ``model``."""
    gb, ga = _np(model.afb.b), _np(model.afb.a)
    ib, ia = _np(model.ihc.b), _np(model.ihc.a)
    adaptation = _adaptation_baseline(model.adt)
    lb, la = (_np(c) for c in model.mfb.coefficients())

    def run(x: np.ndarray) -> np.ndarray:
        for sig in x:
            bm = np.stack([2 * np.real(scipy.signal.lfilter(gb[c], ga[c], sig))
                           for c in range(len(gb))])
            env = scipy.signal.lfilter(ib, ia, np.maximum(bm, 0), axis=-1)
            adt = adaptation(env)
            out = scipy.signal.lfilter(lb, la, adt, axis=-1)
        return out

    return run


def osses2021_baseline(model: Osses2021):
    """Osses2021's chain written with SciPy/numba, coefficients taken from ``model``."""
    ears = [(_np(s.b), s.delay, s.gain) for s in (model.outerear, model.middleear)]
    gb, ga = _np(model.afb.b), _np(model.afb.a)
    ib, ia, passes = _np(model.ihc.b), _np(model.ihc.a), model.ihc.passes
    adaptation = _adaptation_baseline(model.adt)
    modulation = _modulation_baseline(model.mfb)

    def run(x: np.ndarray) -> list[np.ndarray]:
        for sig in x:
            for taps, delay, gain in ears:  # delay-compensated FIR, normalised gain
                sig = scipy.signal.fftconvolve(sig, taps)[delay:delay + len(sig)] * gain
            bm = np.stack([2 * np.real(scipy.signal.lfilter(gb[c], ga[c], sig))
                           for c in range(len(gb))])
            env = np.maximum(bm, 0)
            for _ in range(passes):
                env = scipy.signal.lfilter(ib, ia, env, axis=-1)
            out = modulation(adaptation(env))
        return out

    return run


def relanoiborra2019_baseline(model: RelanoIborra2019):
    """RelanoIborra2019's chain (internal noise off) written with SciPy/numba,
    coefficients taken from ``model``: input gain, outer- and middle-ear FIRs (not
    delay-compensated), the per-channel DRNL cascades, +50 dB, IHC envelope, squaring,
    adaptation loops, modulation filterbank (150-Hz low-pass, mfbtd's 12 filters at the
    audio rate). Returns the last signal's modulation rows (:func:`_modulation_baseline`)."""
    if "internalnoise" in model.chain:
        raise ValueError("the baseline is deterministic: build the model with "
                         "internal_noise=False")
    input_gain = 10 ** (model.inputgain.gain_db / 20)
    ears = [_np(model.outerear.b), _np(model.middleear.b)]
    d = model.drnl.design()
    gains, na, nb, nc = (_np(getattr(d, k)) for k in ("lin_gain", "a", "b", "c"))
    sections = {k: (_np(getattr(d, k)[0]), _np(getattr(d, k)[1]))
                for k in ("gt_lin", "lp_lin", "gt_nlin", "lp_nlin")}
    gain = 10 ** (model.gain.gain_db / 20)
    ib, ia, passes = _np(model.ihc.b), _np(model.ihc.a), model.ihc.passes
    exponent = model.expansion.exponent
    adaptation = _adaptation_baseline(model.adt)
    modulation = _modulation_baseline(model.mfb)

    def cascade(key: str, c: int, y: np.ndarray, n: int) -> np.ndarray:
        for _ in range(n):
            y = scipy.signal.lfilter(sections[key][0][c], sections[key][1][c], y)
        return y

    def run(x: np.ndarray) -> list[np.ndarray]:
        for sig in x:
            sig = sig * input_gain
            for taps in ears:
                sig = scipy.signal.fftconvolve(sig, taps)[: len(sig)]
            bm = np.empty((len(gains), len(sig)))
            for c in range(len(gains)):
                lin = cascade("gt_lin", c, sig * gains[c], d.lin_ngt)
                lin = cascade("lp_lin", c, lin, d.lin_nlp)
                y = cascade("gt_nlin", c, sig, d.nlin_ngt)
                y = np.sign(y) * np.minimum(na[c] * np.abs(y), nb[c] * np.abs(y) ** nc[c])
                y = cascade("gt_nlin", c, y, d.nlin_ngt)
                bm[c] = lin + cascade("lp_nlin", c, y, d.nlin_nlp)
            env = np.maximum(bm * gain, 0)
            for _ in range(passes):
                env = scipy.signal.lfilter(ib, ia, env, axis=-1)
            out = modulation(adaptation(env**exponent))
        return out

    return run


@numba.njit(cache=True)
def baseline_paulick2024_ihc(vel, fs, v0, disp_gain, ep, cm, gkf, gks, ekf, eks, gmax, x0,
                             s0, s1):  # pragma: no cover - compiled
    """AMT 1.6 paulick2024_ihc.m's loop, transcribed literally (rows = channels):
    Boltzmann MET conductance, forward-Euler RC membrane from the pre-charged ``v0``,
    output relative to ``v0``."""
    nch, n = vel.shape
    ts = 1.0 / fs
    out = np.empty_like(vel)
    for c in range(nch):
        v_now = v0
        for i in range(n):
            disp = disp_gain * vel[c, i]
            factor1 = np.exp((x0 - disp) / s0)
            factor0 = np.exp((x0 - disp) / s1)
            g = gmax / (1.0 + factor0 * (1.0 + factor1))
            imet = -g * (v_now - ep)
            ik = -gkf * (v_now - ekf)
            i_s = -gks * (v_now - eks)
            v_now = v_now + (imet + ik + i_s) * ts / cm
            out[c, i] = v_now - v0
    return out


def paulick2024_baseline(model: Paulick2024):
    """Paulick2024's chain (``model='paulick2024'``) written with SciPy/numba,
    coefficients taken from ``model``: outer- and middle-ear FIRs (not delay-compensated),
    the per-channel DRNL, the numba port of ``paulick2024_ihc``'s loop (pre-charged
    potential from ``model.ihc``), one numba ``adaptloop`` per channel with its minimum
    level, ``scipy.signal.resample_poly`` with the model's own resampling filter (first
    ``floor(T/4)`` samples), modulation filterbank at fs/4. Returns the last signal's
    modulation rows (:func:`_modulation_baseline`)."""
    if model.model != "paulick2024":
        raise ValueError("the baseline covers model='paulick2024'")
    input_gain = 10 ** (model.inputgain.gain_db / 20)
    ears = [_np(model.outerear.b), _np(model.middleear.b)]
    drnl = _drnl_baseline(model.drnl)
    fs, v0 = model.ihc.fs, model.ihc.v_precharge
    f = paulick_ihc  # AMT's constants, where the stage's function reads them
    constants = (10 ** (f._DISPLACEMENT_DB / 20), f._EP, f._CM, *f._GK, *f._EK, f._GMET_MAX,
                 f._X0, f._S0, f._S1)
    adaptation = _adaptation_baseline(model.adt)
    up, down, h = model.resample.up, model.resample.down, _np(model.resample.h)
    modulation = _modulation_baseline(model.mfb)

    def run(x: np.ndarray) -> list[np.ndarray]:
        for sig in x:
            sig = sig * input_gain
            for taps in ears:
                sig = scipy.signal.fftconvolve(sig, taps)[: len(sig)]
            ihc = baseline_paulick2024_ihc(drnl(sig), fs, v0, *constants)
            adt = scipy.signal.resample_poly(adaptation(ihc), up, down, axis=-1, window=h)
            out = modulation(adt[:, : model.output_length(len(sig))])
        return out

    return run


def breebaart2001_baseline(model: Breebaart2001):
    """Breebaart2001's chain for EI cells at tau = 0, ild = 0, written with SciPy/numba,
    coefficients taken from ``model``: per ear the outer/middle-ear recursion, the
    gammatone channels (``2·Re(lfilter)``), IHC (half-wave rectification, 5 low-pass
    passes) and adaptation loops; then ``rc_a·log|rc_b·y + 1|`` of ``y`` the squared
    interaural difference smoothed by ``scipy.signal.filtfilt`` with Octave's padding (odd
    reflection of 3 samples, steady-state initial conditions). Input ``(B, 2, T)``;
    returns the last signal's EI map ``(F, T)``."""
    cells = model.eicell
    if cells.tau.numel() != 1 or float(cells.tau) != 0 or cells.ild.numel() != 1 \
            or float(cells.ild) != 0:
        raise ValueError("the baseline covers one EI cell at tau = 0, ild = 0")
    ob, oa = _np(model.outermiddle.b), _np(model.outermiddle.a)
    gb, ga = _np(model.afb.b), _np(model.afb.a)
    ib, ia, passes = _np(model.ihc.b), _np(model.ihc.a), model.ihc.passes
    adaptation = _adaptation_baseline(model.adt)
    sb, sa = (_np(c) for c in eicell_smoothing_coefficients(cells.fs, cells.tc))
    padlen = 3 * (max(len(sb), len(sa)) - 1)
    rc_a, rc_b = cells.rc_a, cells.rc_b  # exp(-|tau|/ptau) = 1 at tau = 0

    def ear(sig: np.ndarray) -> np.ndarray:
        sig = scipy.signal.lfilter(ob, oa, sig)
        bm = np.stack([2 * np.real(scipy.signal.lfilter(gb[c], ga[c], sig))
                       for c in range(len(gb))])
        env = np.maximum(bm, 0)
        for _ in range(passes):
            env = scipy.signal.lfilter(ib, ia, env, axis=-1)
        return adaptation(env)

    def run(x: np.ndarray) -> np.ndarray:
        for left, right in x:
            difference = (ear(left) - ear(right)) ** 2
            smooth = scipy.signal.filtfilt(sb, sa, difference, axis=-1, padtype="odd",
                                           padlen=padlen)
            out = rc_a * np.log(np.abs(rc_b * smooth + 1))
        return out

    return run


def _adaptation_baseline(adt):
    """``env (F, T) -> (F, T)``: the numba port of comp_adaptloop.m with ``adt``'s
    settings; one call per channel where ``adt`` has a minimum level per channel."""
    tau = np.array(adt.config.tau, dtype=float)
    limit, minlvl = float(adt.config.limit), _np(adt.minlvl).reshape(-1)
    if minlvl.size == 1:
        return lambda env: baseline_adaptloop(np.ascontiguousarray(env.T), FS, limit,
                                              float(minlvl[0]), tau).T

    def per_channel(env: np.ndarray) -> np.ndarray:
        return np.stack([baseline_adaptloop(np.ascontiguousarray(row[:, None]), FS, limit,
                                            float(lvl), tau)[:, 0]
                         for row, lvl in zip(env, minlvl, strict=True)])

    return per_channel


def _modulation_baseline(mfb):
    """``adt (F, T) -> list``: a FastModulationFilterbank's rows with per-row SciPy
    ``lfilter`` (after its 150-Hz low-pass when the preset has one) and its readout;
    returns the rows' outputs ``(T,)`` in the design's order (channel by channel, the
    low-pass first; ``design().counts`` rows per channel)."""
    design = mfb.design()
    rows_b, rows_a = _np(design.b), _np(design.a)
    row_channel, keep_real = design.channel.numpy(), design.keep_real.numpy()
    att = design.att_factor
    lp150 = (_np(mfb.b_lp150), _np(mfb.a_lp150)) if mfb.use_lp150_prefilter else None

    def run(adt: np.ndarray) -> list[np.ndarray]:
        if lp150 is not None:
            adt = scipy.signal.lfilter(*lp150, adt, axis=-1)
        out = []
        for r in range(len(rows_b)):
            y = scipy.signal.lfilter(rows_b[r], rows_a[r], adt[row_channel[r]])
            out.append(y.real if keep_real[r] else att * np.abs(y))
        return out

    return run


def king2019_baseline(model: King2019):
    """King2019's chain written with SciPy, coefficients taken from ``model``."""
    gb, ga = _np(model.afb.b), _np(model.afb.a)
    ib, ia = _np(model.ihc.b), _np(model.ihc.a)
    hb, ha = (_np(c) for c in model.adt.coefficients())
    mb, ma = _np(model.mfb.b), _np(model.mfb.a)
    knee = 10 ** ((30 - model.dboffset) / 20)
    high = model.mfb.mfc.numpy() > 10

    def run(x: np.ndarray) -> np.ndarray:
        for sig in x:
            bm = np.stack([2 * np.real(scipy.signal.lfilter(gb[c], ga[c], sig))
                           for c in range(len(gb))])
            big = np.abs(bm) > knee
            bm[big] = np.sign(bm[big]) * np.abs(bm[big]) ** 0.3 / knee**0.3 * knee
            env = scipy.signal.lfilter(ib, ia, np.maximum(bm, 0), axis=-1)
            adapted = scipy.signal.lfilter(hb, ha, env, axis=-1)
            mod = np.stack([scipy.signal.lfilter(mb[k], ma[k], adapted, axis=-1)
                            for k in range(len(mb))], axis=1)
            envelope = np.abs(scipy.signal.hilbert(mod[:, high], axis=-1))
            mod[:, high] = envelope * (np.sqrt(np.mean(mod[:, high] ** 2, -1, keepdims=True))
                                       / np.sqrt(np.mean(envelope**2, -1, keepdims=True)))
            n_out = round(mod.shape[-1] / FS * 16000)
            spec = scipy.fft.rfft(mod, axis=-1)[..., : n_out // 2 + 1]
            out = scipy.fft.irfft(spec, n_out, axis=-1)
        return out

    return run


BASELINES = {"dau1997": dau1997_baseline, "king2019": king2019_baseline,
             "jepsen2008": jepsen2008_baseline, "dau1996": dau1996_baseline,
             "osses2021": osses2021_baseline, "relanoiborra2019": relanoiborra2019_baseline,
             "paulick2024": paulick2024_baseline, "breebaart2001": breebaart2001_baseline}


def _cases(quick: bool, smoke: bool) -> list[tuple[str, int, float, str, bool]]:
    """(model, batch, seconds, backend, with_backward) of one run."""
    if smoke:
        return [("king2019", 1, 0.05, "numba", True)]
    if quick:
        return [(m, 1, 0.25, "numba", True) for m in MODELS]
    cases = [(m, b, 1.0, "numba", True) for m in MODELS for b in (1, 8)]
    cases += [(m, 32, 1.0, "numba", False) for m in LONG_MODELS]
    cases += [(m, 1, 10.0, "numba", True) for m in LONG_MODELS]
    cases += [("king2019", 1, 60.0, "numba", False), ("dau1997", 1, 60.0, "numba", False)]
    # the pure-torch path (GPU code without Triton) on CPU: short inputs, its recursions
    # are block/scan formulations (adaptation loop: Newton over time), made for GPUs
    cases += [("king2019", 1, 1.0, "torch", True), ("dau1997", 1, 0.05, "torch", False),
              ("jepsen2008", 1, 0.05, "torch", False)]
    if torch.cuda.is_available():
        cases += [(m, 32, 10.0, b, False) for m in LONG_MODELS for b in ("numba", "cuda")]
    return cases


def _time_case(name: str, batch: int, seconds: float, backend: str, backward: bool,
               repeats: int) -> dict:
    n = round(FS * seconds)
    device = "cuda" if backend == "cuda" else "cpu"
    model = MODELS[name](torch.float32).to(device)
    x_np = _signal(batch, n, binaural=getattr(model, "binaural", False))
    x = torch.from_numpy(x_np).to(device=device, dtype=torch.float32)

    def forward() -> None:
        with torch.no_grad():
            model(x)
        if device == "cuda":
            torch.cuda.synchronize()

    if seconds * batch > 20:  # long inputs: one timed run (the kernels are compiled)
        repeats, warmup = 1, 0
    else:
        # steady state: the first calls run on freshly mapped (page-faulting) memory
        # until the C allocator adapts to the model's buffer sizes (measured: ~2x slower
        # for the first ~5 calls of a 1-s Dau1997); the baselines are warmed up alike
        # (the CI smoke run, repeats = 1, only checks that everything runs)
        warmup = 5 if repeats > 1 else 1
    with use_backend("torch" if backend == "torch" else "auto"):
        t_fwd = best_time(forward, repeats=repeats, warmup=warmup)
        t_fb = (best_time(forward_backward(model, x), repeats=repeats, warmup=warmup)
                if backward else float("nan"))
    row = {"model": name, "batch": batch, "seconds_audio": seconds, "backend": backend,
           "forward_s": t_fwd, "fwd_bwd_s": t_fb, "fwd_bwd_over_fwd": t_fb / t_fwd,
           "rtf_forward": t_fwd / (seconds * batch)}
    if backend == "numba":
        floors = []
        for _ in range(repeats):  # the best run, like the forward time
            with kernel_clock() as clock:
                forward()
            floors.append(clock["seconds"])
        row["floor_s"] = min(floors)
        row["over_floor"] = t_fwd / row["floor_s"]
    if backend == "numba" and seconds <= 1.0:
        run_baseline = BASELINES[name](MODELS[name](torch.float64))
        row["baseline_s"] = best_time(lambda: run_baseline(x_np), repeats=max(1, repeats - 1),
                                      warmup=warmup)
        row["speedup_vs_baseline"] = row["baseline_s"] / t_fwd
    return row


def _memory_rows(quick: bool) -> list[dict]:
    """Peak memory of a no-grad forward (fresh subprocess) against the output size."""
    # Dau1997 with one auditory channel (fc = 1 kHz, 10 modulation filters): the full
    # model's output alone is 39 GB for 10 minutes (372 float32 rows at 44.1 kHz)
    one_channel = ("dau1997 (1 channel)", "torch_amt.models:Dau1997",
                   {"fs": FS, "flow": 1000.0, "fhigh": 1000.0})
    king = ("king2019", "torch_amt.models:King2019", {"fs": FS, "basef": 1000.0})
    runs = ([(one_channel, 10.0)] if quick else
            [(one_channel, 60.0), (one_channel, 600.0), (king, 1.0), (king, 10.0)])
    rows = []
    for (name, factory, kwargs), seconds in runs:
        info = peak_memory(factory, kwargs, seconds)
        rows.append({"model": name, "batch": 1, "seconds_audio": seconds, **info,
                     "rtf_forward": info["forward_s"] / seconds})
    return rows


def main(quick: bool = False, smoke: bool = False) -> str:
    """Time every case; write ``models[_quick].csv/.md``, ``models_memory`` and a plot."""
    setup_threads(2)
    load_before = machine_load()
    repeats = 1 if smoke else (2 if quick else 3)
    rows = [_time_case(*case, repeats=repeats) for case in _cases(quick, smoke)]
    if not torch.cuda.is_available() and not smoke:
        rows += [{"model": m, "batch": 32, "seconds_audio": 10.0,
                  "backend": "cuda: not measured (no GPU)"} for m in LONG_MODELS]
    note = f"{load_before} before, {machine_load()} after"
    table = write_results("models", rows, "Models, float32, 44.1 kHz, 2 threads "
                          f"(RTF = time per second of audio per signal; {note})", quick or smoke)
    if not smoke:
        memory = _memory_rows(quick)
        table += "\n" + write_results("models_memory", memory,
                                      "Peak memory of one forward (no grad, B=1, fresh "
                                      "process, max-RSS growth)", quick)
        table = write_results("models_targets", _targets(rows, memory),
                              f"Targets ({note})", quick) + "\n" + table
    _plot(rows, quick or smoke)
    return table


def _targets(rows: list[dict], memory: list[dict]) -> list[dict]:
    """The performance targets of the project, each with its measured value."""
    out = []

    def add(target: str, model: str, value: float | None, ok: bool | None) -> None:
        out.append({"target": target, "model": model,
                    "measured": "not measured" if value is None else f"{value:.3g}",
                    "status": "-" if ok is None else ("met" if ok else "GAP")})

    def pick(model, batch, backend="numba", seconds=None):
        """The row of a configuration (by default the shortest timed duration)."""
        return next((r for r in rows if r["model"] == model and r["batch"] == batch
                     and r["backend"] == backend and "forward_s" in r
                     and (seconds is None or r["seconds_audio"] == seconds)), None)

    for model in MODELS:
        for batch, need in ((1, 4.0), (8, 5.0)):
            r = pick(model, batch)
            value = r.get("speedup_vs_baseline") if r else None
            add(f"forward >= {need:g}x faster than SciPy/numba (B={batch})", model, value,
                None if value is None else value >= need)
        ratios = [r["fwd_bwd_over_fwd"] for r in rows if r["model"] == model
                  and r["backend"] == "numba" and r["fwd_bwd_over_fwd"] == r["fwd_bwd_over_fwd"]]
        add("forward+backward <= 3x forward (worst case)", model, max(ratios, default=None),
            None if not ratios else max(ratios) <= 3)
        floors = [r["over_floor"] for r in rows if r["model"] == model and "over_floor" in r]
        add("forward within 3x of the arithmetic floor (worst case)", model,
            max(floors, default=None), None if not floors else max(floors) <= 3)
    for model in dict.fromkeys(r["model"] for r in memory):
        runs = sorted((r for r in memory if r["model"] == model),
                      key=lambda r: r["seconds_audio"])
        for r in runs:
            add(f"peak memory / output size, {r['seconds_audio']:g} s, B=1", model,
                r["peak_over_output"], None)
        if len(runs) > 1:  # linear: the ratio does not grow with the duration
            growth = runs[-1]["peak_over_output"] / max(runs[0]["peak_over_output"], 1e-9)
            add(f"memory linear in the output: ratio {runs[-1]['seconds_audio']:g} s / "
                f"{runs[0]['seconds_audio']:g} s", model, growth, growth <= 1.25)
    cuda = [r for r in rows if r["backend"] == "cuda"]
    if not cuda:
        add("CUDA >= 10x faster than the CPU path (B=32, 10 s)", "all", None, None)
        out[-1]["measured"] = "not measured (no GPU)"
    for r in cuda:
        cpu = pick(r["model"], 32, "numba", 10.0)
        value = cpu["forward_s"] / r["forward_s"] if cpu else None
        add("CUDA >= 10x faster than the CPU path (B=32, 10 s)", r["model"], value,
            None if value is None else value >= 10)
    return out


def _plot(rows: list[dict], quick: bool) -> None:
    """Real-time factor per model, backend and batch as a bar chart (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks.common import RESULTS, result_name

    timed = [r for r in rows if isinstance(r.get("forward_s"), float)]
    labels = [f"{r['model']}\n{r['backend']} B={r['batch']} {r['seconds_audio']:g}s"
              for r in timed]
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(timed)), 4.5))
    pos = np.arange(len(timed))
    ax.bar(pos - 0.2, [r["rtf_forward"] for r in timed], 0.4, label="forward")
    ax.bar(pos + 0.2, [r["fwd_bwd_s"] / (r["seconds_audio"] * r["batch"]) for r in timed],
           0.4, label="forward+backward")
    base = [(i, r["baseline_s"] / (r["seconds_audio"] * r["batch"]))
            for i, r in enumerate(timed) if "baseline_s" in r]
    if base:
        ax.scatter([i for i, _ in base], [v for _, v in base], color="k", marker="_", s=300,
                   label="SciPy/numba baseline (forward)", zorder=3)
    ax.set_yscale("log")
    ax.set_xticks(pos, labels, fontsize=6, rotation=90)
    ax.set_ylabel("seconds per second of audio per signal")
    ax.legend(fontsize=7)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / f"{result_name('models', quick)}.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.25 s, B=1 only")
    print(main(parser.parse_args().quick))
