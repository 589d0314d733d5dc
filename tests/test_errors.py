"""Bad input to every public entry point gets a clear TypeError / ValueError naming the
argument (never a silent wrong answer, never an error from deep inside a kernel).

The entry points and bad inputs are tables; each case asserts the exception type and that
the message names the offending argument. The accepted/rejected rules are listed in
``docs/input_handling.rst``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from torch_amt import dsp, levels, scales
from torch_amt import functional as F
from torch_amt.models import Dau1996, Dau1997, Jepsen2008, King2019, Osses2021
from torch_amt.stages.adaptation import AdaptLoop
from torch_amt.stages.butterworth import ButterworthFilter
from torch_amt.stages.compression import King2019Compression
from torch_amt.stages.drnl import DRNLFilterbank
from torch_amt.stages.ears import HeadphoneFilter, MiddleEarFilter
from torch_amt.stages.gammatone import GammatoneFilterbank
from torch_amt.stages.ihc import IHCEnvelope
from torch_amt.stages.king2019_modfilterbank import (
    FastKing2019ModulationFilterbank,
    King2019ModulationFilterbank,
)
from torch_amt.stages.modfilterbank import (
    FastModulationFilterbank,
    ModulationFilterbank,
    pad_modulation_outputs,
)
from torch_amt.stages.modulation_lowpass import ModulationLowpass

FS = 16000.0
FC3 = [500.0, 1000.0, 2000.0]

# name -> (factory of a callable taking the signal, number of signal axes without batch)
SIGNAL_ENTRY_POINTS = {
    "GammatoneFilterbank": (lambda: GammatoneFilterbank(FS, fhigh=4000), 1),
    "DRNLFilterbank": (lambda: DRNLFilterbank(FS, fhigh=4000), 1),
    "IHCEnvelope": (lambda: IHCEnvelope(FS), 1),
    "AdaptLoop": (lambda: AdaptLoop(FS), 1),
    "ButterworthFilter": (lambda: ButterworthFilter(FS, 100.0), 1),
    "King2019Compression": (lambda: King2019Compression(), 1),
    "HeadphoneFilter": (lambda: HeadphoneFilter(FS), 1),
    "MiddleEarFilter": (lambda: MiddleEarFilter(FS), 1),
    "ModulationFilterbank": (lambda: ModulationFilterbank(FS, FC3), 2),
    "FastModulationFilterbank": (lambda: FastModulationFilterbank(FS, FC3), 2),
    "King2019ModulationFilterbank": (lambda: King2019ModulationFilterbank(FS), 2),
    "FastKing2019ModulationFilterbank": (lambda: FastKing2019ModulationFilterbank(FS), 2),
    "Dau1997": (lambda: Dau1997(FS, fhigh=4000), 1),
    "Jepsen2008": (lambda: Jepsen2008(FS, fhigh=4000), 1),
    "King2019": (lambda: King2019(FS, 1000.0), 1),
    "Dau1996": (lambda: Dau1996(FS, fhigh=4000), 1),
    "Osses2021": (lambda: Osses2021(FS, fhigh=4000), 1),
    "ModulationLowpass": (lambda: ModulationLowpass(FS), 1),
    "F.adaptloop": (lambda: lambda x: F.adaptloop(x, FS), 1),
    "F.auditoryfilterbank": (lambda: lambda x: F.auditoryfilterbank(x, FS, fhigh=4000), 1),
    "F.ihc_envelope": (lambda: lambda x: F.ihc_envelope(x, FS), 1),
    "F.king2019_compression": (lambda: lambda x: F.king2019_compression(x), 1),
    "F.power_compression": (lambda: lambda x: F.power_compression(x, 1e-3, 0.3), 1),
    "F.king2019_modfilterbank": (lambda: lambda x: F.king2019_modfilterbank(x, FS), 2),
    "F.lopezpoveda2001": (lambda: lambda x: F.lopezpoveda2001(x, FS, fhigh=4000), 1),
    "F.modfilterbank": (lambda: lambda x: F.modfilterbank(x, FS, FC3), 2),
    "F.modulation_lowpass": (lambda: lambda x: F.modulation_lowpass(x, FS), 1),
}
MODULES = [k for k in SIGNAL_ENTRY_POINTS if not k.startswith("F.")]


def _signal(signal_ndim: int, dtype=torch.float32) -> torch.Tensor:
    x = 0.01 * torch.randn(2, 400, generator=torch.Generator().manual_seed(1), dtype=dtype)
    return x if signal_ndim == 1 else x[:, None, :].expand(2, 3, 400).contiguous()


def _with_nonfinite(x: torch.Tensor, value: float) -> torch.Tensor:
    x = x.clone()
    x[..., 7] = value
    return x


# bad signal -> (exception type, words the message must contain)
BAD_SIGNALS = {
    "int16": (lambda x: (x * 3000).to(torch.int16), TypeError, ["x", "int16", "32768"]),
    "int64": (lambda x: (x * 3000).to(torch.int64), TypeError, ["x", "int64"]),
    "bool": (lambda x: x > 0, TypeError, ["x", "bool"]),
    "complex": (lambda x: x.to(torch.complex64), TypeError, ["x", "real"]),
    "float16": (lambda x: x.half(), TypeError, ["x", "float16", "float()"]),
    "nan": (lambda x: _with_nonfinite(x, math.nan), ValueError, ["x", "NaN"]),
    "inf": (lambda x: _with_nonfinite(x, math.inf), ValueError, ["x", "Inf"]),
    "-inf": (lambda x: _with_nonfinite(x, -math.inf), ValueError, ["x", "Inf"]),
    "empty": (lambda x: x[..., :0], ValueError, ["x", "empty"]),
    "0-d": (lambda x: torch.tensor(0.5), ValueError, ["x", "shape ()"]),
    "list": (lambda x: x.tolist(), TypeError, ["x", "list"]),
    "numpy-int16": (lambda x: (x.numpy() * 3000).astype(np.int16), TypeError, ["x", "int16"]),
    "string": (lambda x: "audio.wav", TypeError, ["x", "str"]),
}


@pytest.mark.parametrize("bad", list(BAD_SIGNALS))
@pytest.mark.parametrize("entry", list(SIGNAL_ENTRY_POINTS))
def test_bad_signal(entry, bad):
    make, ndim = SIGNAL_ENTRY_POINTS[entry]
    transform, exc, words = BAD_SIGNALS[bad]
    fn = make()
    with pytest.raises(exc) as info:
        fn(transform(_signal(ndim)))
    for word in words:
        assert word in str(info.value), (entry, bad, str(info.value))


@pytest.mark.parametrize("entry", [k for k in SIGNAL_ENTRY_POINTS
                                   if SIGNAL_ENTRY_POINTS[k][1] == 1
                                   and k not in ("IHCEnvelope", "AdaptLoop", "ButterworthFilter",
                                                 "King2019Compression", "F.adaptloop",
                                                 "F.ihc_envelope", "F.king2019_compression",
                                                 "F.power_compression", "ModulationLowpass",
                                                 "F.modulation_lowpass")])
def test_audio_with_too_many_axes(entry):
    """Audio entry points take (T,) or (B, T): a stereo (B, 2, T) batch is rejected."""
    make, _ = SIGNAL_ENTRY_POINTS[entry]
    with pytest.raises(ValueError, match=r"x must have shape \(T,\) or \(B, T\)"):
        make()(torch.zeros(2, 2, 100))


@pytest.mark.parametrize("cls", [ModulationFilterbank, FastModulationFilterbank])
def test_modulation_channel_count_mismatch(cls):
    with pytest.raises(ValueError, match="channels"):
        cls(FS, FC3)(torch.zeros(2, 5, 100))


# ------------------------------------------------------------------ sampling rates
FS_CONSTRUCTORS = {
    "GammatoneFilterbank": lambda fs: GammatoneFilterbank(fs),
    "DRNLFilterbank": lambda fs: DRNLFilterbank(fs),
    "IHCEnvelope": lambda fs: IHCEnvelope(fs),
    "AdaptLoop": lambda fs: AdaptLoop(fs),
    "ButterworthFilter": lambda fs: ButterworthFilter(fs, 100.0),
    "HeadphoneFilter": lambda fs: HeadphoneFilter(fs),
    "MiddleEarFilter": lambda fs: MiddleEarFilter(fs),
    "ModulationFilterbank": lambda fs: ModulationFilterbank(fs, FC3),
    "King2019ModulationFilterbank": lambda fs: King2019ModulationFilterbank(fs),
    "Dau1997": lambda fs: Dau1997(fs),
    "Jepsen2008": lambda fs: Jepsen2008(fs),
    "King2019": lambda fs: King2019(fs, 1000.0),
    "Dau1996": lambda fs: Dau1996(fs),
    "Osses2021": lambda fs: Osses2021(fs),
    "ModulationLowpass": lambda fs: ModulationLowpass(fs),
    "F.adaptloop": lambda fs: F.adaptloop(torch.ones(10), fs),
    "F.ihc_envelope": lambda fs: F.ihc_envelope(torch.ones(10), fs),
    "F.modfilterbank": lambda fs: F.modfilterbank(torch.ones(3, 10), fs, FC3),
    "F.gammatone_coefficients": lambda fs: F.gammatone_coefficients([1000.0], fs),
    "F.headphonefilter": lambda fs: F.headphonefilter(fs),
    "dsp.butter": lambda fs: dsp.butter(2, 100.0, fs),
    "dsp.freqz": lambda fs: dsp.freqz(torch.ones(2), 1.0, 16, fs=fs),
}
BAD_FS = [(0, ValueError), (-16000.0, ValueError), (math.nan, ValueError),
          (math.inf, ValueError), ("16000", TypeError), (True, TypeError),
          ([16000], TypeError), (1j, TypeError)]


@pytest.mark.parametrize(("fs", "exc"), BAD_FS, ids=[repr(v) for v, _ in BAD_FS])
@pytest.mark.parametrize("entry", list(FS_CONSTRUCTORS))
def test_bad_fs(entry, fs, exc):
    with pytest.raises(exc, match="fs"):
        FS_CONSTRUCTORS[entry](fs)


@pytest.mark.parametrize("entry", ["HeadphoneFilter", "MiddleEarFilter", "GammatoneFilterbank",
                                   "dsp.butter"])
def test_fs_none_is_a_type_error(entry):
    with pytest.raises(TypeError, match="fs"):
        FS_CONSTRUCTORS[entry](None)


# ------------------------------------------------------------------ parameters
def _nyq(fs=FS):
    return fs / 2


# (callable, exception, argument name the message must contain)
BAD_PARAMETERS = {
    "gammatone fc at Nyquist": (lambda: GammatoneFilterbank(FS, fc=[_nyq()]), ValueError, "fc"),
    "gammatone fc negative": (lambda: GammatoneFilterbank(FS, fc=[-100.0]), ValueError, "fc"),
    "gammatone fc NaN": (lambda: GammatoneFilterbank(FS, fc=[math.nan]), ValueError, "fc"),
    "gammatone fc string": (lambda: GammatoneFilterbank(FS, fc="1000"), TypeError, "fc"),
    "gammatone fc empty": (lambda: GammatoneFilterbank(FS, fc=[]), ValueError, "fc"),
    "gammatone fhigh above Nyquist": (lambda: GammatoneFilterbank(FS, fhigh=9000.0),
                                      ValueError, "fhigh"),
    "gammatone flow > fhigh": (lambda: GammatoneFilterbank(FS, flow=4000.0, fhigh=1000.0),
                               ValueError, "flow"),
    "gammatone flow string": (lambda: GammatoneFilterbank(FS, flow="low"), TypeError, "flow"),
    "gammatone order 0": (lambda: GammatoneFilterbank(FS, n=0), ValueError, "n must"),
    "gammatone order 2.5": (lambda: GammatoneFilterbank(FS, n=2.5), ValueError, "n must"),
    "gammatone betamul 0": (lambda: GammatoneFilterbank(FS, betamul=0), ValueError, "betamul"),
    "gammatone bwmul -1": (lambda: GammatoneFilterbank(FS, bwmul=-1), ValueError, "bwmul"),
    "gammatone kind": (lambda: GammatoneFilterbank(FS, kind="sharp"), ValueError, "kind"),
    "gammatone dtype int": (lambda: GammatoneFilterbank(FS, dtype=torch.int32), TypeError,
                            "dtype"),
    "gammatone dtype half": (lambda: GammatoneFilterbank(FS, dtype=torch.float16), TypeError,
                             "dtype"),
    "gammatone dtype string": (lambda: GammatoneFilterbank(FS, dtype="float32"), TypeError,
                               "dtype"),
    "drnl fhigh above Nyquist": (lambda: DRNLFilterbank(FS, fhigh=9000.0), ValueError, "fhigh"),
    "drnl nonlinear fc above Nyquist": (lambda: DRNLFilterbank(FS), ValueError, "fhigh"),
    "drnl preset": (lambda: DRNLFilterbank(FS, "meddis"), ValueError, "preset"),
    "drnl path": (lambda: DRNLFilterbank(FS, fhigh=4000, path="both"), ValueError, "path"),
    "drnl dboffset NaN": (lambda: DRNLFilterbank(FS, fhigh=4000, dboffset=math.nan),
                          ValueError, "dboffset"),
    "drnl dboffset string": (lambda: DRNLFilterbank(FS, fhigh=4000, dboffset="100"),
                             TypeError, "dboffset"),
    "drnl dtype": (lambda: DRNLFilterbank(FS, fhigh=4000, dtype=torch.int64), TypeError,
                   "dtype"),
    "ihc preset": (lambda: IHCEnvelope(FS, "ihc_foo"), ValueError, "preset"),
    "ihc filter order 0": (lambda: IHCEnvelope(FS, filter_order=0), ValueError,
                           "filter_order"),
    "ihc minlvl NaN": (lambda: IHCEnvelope(FS, minlvl=math.nan), ValueError, "minlvl"),
    "ihc minlvl string": (lambda: IHCEnvelope(FS, minlvl="low"), TypeError, "minlvl"),
    "ihc cutoff above Nyquist": (lambda: IHCEnvelope(1000.0), ValueError, "fs = 1000.0 Hz"),
    "adaptloop preset": (lambda: AdaptLoop(FS, preset="adt_foo"), ValueError, "preset"),
    "adaptloop tau negative": (lambda: AdaptLoop(FS, tau=[0.005, -0.05]), ValueError, "tau"),
    "adaptloop tau empty": (lambda: AdaptLoop(FS, tau=[]), ValueError, "tau"),
    "adaptloop tau NaN": (lambda: AdaptLoop(FS, tau=[math.nan]), ValueError, "tau"),
    "adaptloop tau string": (lambda: AdaptLoop(FS, tau="fast"), TypeError, "tau"),
    "adaptloop limit NaN": (lambda: AdaptLoop(FS, limit=math.nan), ValueError, "limit"),
    "adaptloop limit inf": (lambda: AdaptLoop(FS, limit=math.inf), ValueError, "limit"),
    "adaptloop limit string": (lambda: AdaptLoop(FS, limit="10"), TypeError, "limit"),
    "adaptloop minspl NaN": (lambda: AdaptLoop(FS, minspl=math.nan), ValueError, "minspl"),
    "adaptloop minspl string": (lambda: AdaptLoop(FS, minspl="0"), TypeError, "minspl"),
    "adaptloop dtype": (lambda: AdaptLoop(FS, dtype=torch.bfloat16), TypeError, "dtype"),
    "butterworth cutoff at Nyquist": (lambda: ButterworthFilter(FS, _nyq()), ValueError,
                                      "cutoff"),
    "butterworth cutoff 0": (lambda: ButterworthFilter(FS, 0.0), ValueError, "cutoff"),
    "butterworth order 0": (lambda: ButterworthFilter(FS, 100.0, order=0), ValueError, "order"),
    "butterworth order 1.5": (lambda: ButterworthFilter(FS, 100.0, order=1.5), ValueError,
                              "order"),
    "butterworth btype": (lambda: ButterworthFilter(FS, 100.0, btype="notch"), ValueError,
                          "btype"),
    "butterworth band not a pair": (lambda: ButterworthFilter(FS, 100.0, btype="bandpass"),
                                    ValueError, "cutoff"),
    "butterworth band reversed": (lambda: ButterworthFilter(FS, [1000.0, 100.0], 2,
                                                            "bandpass"), ValueError, "cutoff"),
    "compression preset": (lambda: King2019Compression("log"), ValueError, "preset"),
    "compression exponent 0": (lambda: King2019Compression(exponent=0), ValueError, "exponent"),
    "compression exponent NaN": (lambda: King2019Compression(exponent=math.nan), ValueError,
                                 "exponent"),
    "compression exponent string": (lambda: King2019Compression(exponent="0.3"), TypeError,
                                    "exponent"),
    "compression knee NaN": (lambda: King2019Compression(knee_db=math.nan), ValueError,
                             "knee_db"),
    "compression dboffset string": (lambda: King2019Compression(dboffset="100"), TypeError,
                                    "dboffset"),
    "headphone order 0": (lambda: HeadphoneFilter(FS, order=0), ValueError, "order"),
    "middle ear preset": (lambda: MiddleEarFilter(FS, "human"), ValueError, "preset"),
    "middle ear phase": (lambda: MiddleEarFilter(FS, phase="linear"), ValueError, "phase"),
    "middle ear compensate_delay string": (lambda: MiddleEarFilter(FS, compensate_delay="no"),
                                           TypeError, "compensate_delay"),
    "middle ear normalize_gain int": (lambda: MiddleEarFilter(FS, normalize_gain=1), TypeError,
                                      "normalize_gain"),
    "headphone compensate_delay string": (lambda: HeadphoneFilter(FS, compensate_delay="yes"),
                                          TypeError, "compensate_delay"),
    "gammatone learnable string": (lambda: GammatoneFilterbank(FS, learnable="no"), TypeError,
                                   "learnable"),
    "drnl learnable string": (lambda: DRNLFilterbank(FS, fhigh=4000, learnable="no"),
                              TypeError, "learnable"),
    "adaptloop learnable int": (lambda: AdaptLoop(FS, learnable=0), TypeError, "learnable"),
    "butterworth learnable string": (lambda: ButterworthFilter(FS, 3.0, learnable="no"),
                                     TypeError, "learnable"),
    "compression learnable string": (lambda: King2019Compression(learnable="no"), TypeError,
                                     "learnable"),
    "modfb Q 0": (lambda: ModulationFilterbank(FS, FC3, Q=0), ValueError, "Q"),
    "modfb Q 0.5": (lambda: ModulationFilterbank(FS, FC3, Q=0.5), ValueError, "Q"),
    "modfb Q string": (lambda: ModulationFilterbank(FS, FC3, Q="2"), TypeError, "Q"),
    "modfb fc negative": (lambda: ModulationFilterbank(FS, [-1.0]), ValueError, "fc"),
    "modfb fc string": (lambda: ModulationFilterbank(FS, "1000"), TypeError, "fc"),
    "modfb fc empty": (lambda: ModulationFilterbank(FS, []), ValueError, "fc"),
    "modfb preset": (lambda: ModulationFilterbank(FS, FC3, preset="mfb_foo"), ValueError,
                     "preset"),
    "modfb att_factor NaN": (lambda: ModulationFilterbank(FS, FC3, att_factor=math.nan),
                             ValueError, "att_factor"),
    "modfb lp150": (lambda: ModulationFilterbank(FS, FC3, lp150="on"), ValueError, "lp150"),
    "modfb fs too low": (lambda: ModulationFilterbank(100.0, [10.0]), ValueError, "fs"),
    "fast modfb tolerance": (lambda: FastModulationFilterbank(FS, FC3, tolerance=-1),
                             ValueError, "tolerance"),
    "king mod mflow > mfhigh": (lambda: King2019ModulationFilterbank(FS, 100.0, 10.0),
                                ValueError, "mfhigh"),
    "king mod qfactor 0": (lambda: King2019ModulationFilterbank(FS, qfactor=0), ValueError,
                           "qfactor"),
    "king mod nmod 0": (lambda: King2019ModulationFilterbank(FS, nmod=0), ValueError, "nmod"),
    "king mod band above Nyquist": (lambda: King2019ModulationFilterbank(200.0), ValueError,
                                    "mfhigh"),
    "king mod phase_insens_cut NaN": (lambda: King2019ModulationFilterbank(
        FS, phase_insens_cut=math.nan), ValueError, "phase_insens_cut"),
    "king mod ir_length_ratio 0": (lambda: FastKing2019ModulationFilterbank(
        FS, ir_length_ratio=0), ValueError, "ir_length_ratio"),
    "dau fhigh above Nyquist at 8 kHz": (lambda: Dau1997(8000.0), ValueError, "fhigh"),
    "dau1996 fhigh above Nyquist at 8 kHz": (lambda: Dau1996(8000.0), ValueError, "fhigh"),
    "dau1996 tau 0": (lambda: Dau1996(FS, tau=0.0), ValueError, "tau"),
    "dau1996 adaptation preset": (lambda: Dau1996(FS, adt_preset="adt_foo"), ValueError,
                                  "preset"),
    "osses fhigh above Nyquist at 8 kHz": (lambda: Osses2021(8000.0), ValueError, "fhigh"),
    "osses middle ear": (lambda: Osses2021(FS, middleear_preset="zilany2009"), ValueError,
                         "middleear_preset"),
    "osses mfb without afb": (lambda: Osses2021(FS, afb=False), ValueError, "afb"),
    "osses subfs 0": (lambda: Osses2021(FS, subfs=0), ValueError, "subfs"),
    "modulation lowpass tau": (lambda: ModulationLowpass(FS, tau=-0.02), ValueError, "tau"),
    "dau flow > fhigh": (lambda: Dau1997(FS, flow=4000.0, fhigh=1000.0), ValueError, "flow"),
    "dau subfs 0": (lambda: Dau1997(FS, subfs=0), ValueError, "subfs"),
    "dau modulation preset": (lambda: Dau1997(FS, mfb_preset="mfb_foo"), ValueError,
                              "preset"),
    "dau adaptation preset": (lambda: Dau1997(FS, adt_preset="adt_foo"), ValueError, "preset"),
    "dau ihc preset": (lambda: Dau1997(FS, ihc_preset="ihc_foo"), ValueError, "preset"),
    "dau middle ear": (lambda: Dau1997(FS, middleear=True, middleear_preset="cat"),
                       ValueError, "preset"),
    "dau middle ear flag": (lambda: Dau1997(FS, middleear="jepsen2008"), TypeError,
                            "middleear"),
    "dau dboffset NaN": (lambda: Dau1997(FS, dboffset=math.nan), ValueError, "dboffset"),
    "dau dboffset string": (lambda: Dau1997(FS, dboffset="100"), TypeError, "dboffset"),
    "dau learnable": (lambda: Dau1997(FS, learnable=["gammatone"]), ValueError, "learnable"),
    "dau dtype": (lambda: Dau1997(FS, dtype=torch.int16), TypeError, "dtype"),
    "jepsen gain NaN": (lambda: Jepsen2008(FS, fhigh=4000, gain_db=math.nan), ValueError,
                        "gain_db"),
    "jepsen expansion 0": (lambda: Jepsen2008(FS, fhigh=4000, expansion_exponent=0),
                           ValueError, "expansion_exponent"),
    "jepsen expansion string": (lambda: Jepsen2008(FS, fhigh=4000, expansion_exponent="2"),
                                TypeError, "expansion_exponent"),
    "king no basef": (lambda: King2019(FS), ValueError, "basef"),
    "king basef above Nyquist": (lambda: King2019(FS, 9000.0), ValueError, "basef"),
    "king compression": (lambda: King2019(FS, 1000.0, compression_preset="log"), ValueError,
                         "preset"),
    "king compression flag": (lambda: King2019(FS, 1000.0, compression="no"), TypeError,
                              "compression"),
    "king compression_n 0": (lambda: King2019(FS, 1000.0, compression_n=0), ValueError,
                             "compression_n"),
    "king adt_hp_fc 0": (lambda: King2019(FS, 1000.0, adt_hp_fc=0), ValueError, "adt_hp_fc"),
    "king adt_hp_order 0": (lambda: King2019(FS, 1000.0, adt_hp_order=0), ValueError,
                            "adt_hp_order"),
    "king flow string": (lambda: King2019(FS, flow="80", fhigh=4000.0), TypeError, "flow"),
    "king subfs string": (lambda: King2019(FS, 1000.0, subfs="16k"), TypeError, "subfs"),
    "F.adaptloop preset": (lambda: F.adaptloop(torch.ones(10), FS, preset="foo"), ValueError,
                           "preset"),
    "F.king2019_compression exponent NaN": (lambda: F.king2019_compression(
        torch.ones(10), exponent=math.nan), ValueError, "exponent"),
    "F.king2019_compression exponent -1": (lambda: F.king2019_compression(
        torch.ones(10), exponent=-1), ValueError, "exponent"),
    "F.king2019_compression knee string": (lambda: F.king2019_compression(
        torch.ones(10), knee_db="30"), TypeError, "knee_db"),
    "F.power_compression knee -1": (lambda: F.power_compression(torch.ones(10), -1.0, 0.3),
                                    ValueError, "knee"),
    "F.power_compression exponent NaN": (lambda: F.power_compression(
        torch.ones(10), 1e-3, math.nan), ValueError, "exponent"),
    "F.modfilterbank Q 0": (lambda: F.modfilterbank(torch.ones(3, 10), FS, FC3, Q=0),
                            ValueError, "Q"),
    "F.modfilterbank lp150": (lambda: F.modfilterbank(torch.ones(3, 10), FS, FC3, lp150="on"),
                              ValueError, "lp150"),
    "F.modfilterbank fc count": (lambda: F.modfilterbank(torch.ones(3, 10), FS, FC3[:2]),
                                 ValueError, "fc"),
    "F.king2019_modfilterbank nmod 0": (lambda: F.king2019_modfilterbank(
        torch.ones(3, 10), FS, nmod=0), ValueError, "nmod"),
    "F.gammatone_coefficients fc above Nyquist": (lambda: F.gammatone_coefficients(
        [9000.0], FS), ValueError, "fc"),
    "F.lopezpoveda2001 fhigh": (lambda: F.lopezpoveda2001(torch.ones(10), FS, fhigh=9000.0),
                                ValueError, "fhigh"),
    "F.minspl_to_minlvl NaN": (lambda: F.minspl_to_minlvl(math.nan), ValueError, "minspl"),
    "dsp.butter order 0": (lambda: dsp.butter(0, 100.0, FS), ValueError, "order"),
    "dsp.butter cutoff NaN": (lambda: dsp.butter(2, math.nan, FS), ValueError, "cutoff"),
    "dsp.butter cutoff string": (lambda: dsp.butter(2, "100", FS), TypeError, "cutoff"),
    "dsp.butter band reversed": (lambda: dsp.butter(2, [1000.0, 100.0], FS, "bandpass"),
                                 ValueError, "cutoff"),
    "dsp.butter btype": (lambda: dsp.butter(2, 100.0, FS, "notch"), ValueError, "btype"),
    "dsp.freqz n 0": (lambda: dsp.freqz(torch.ones(2), 1.0, 0), ValueError, "n must"),
    "dsp.lfilter a0 = 0": (lambda: dsp.lfilter(torch.ones(10), [1.0], [0.0, 1.0]), ValueError,
                           "a["),
    "dsp.lfilter b NaN": (lambda: dsp.lfilter(torch.ones(10), [math.nan], [1.0]), ValueError,
                          "b"),
    "dsp.lfilter b string": (lambda: dsp.lfilter(torch.ones(10), "b", [1.0]), TypeError, "b"),
    "dsp.lfilter x list": (lambda: dsp.lfilter([1.0, 2.0], [1.0], [1.0]), TypeError, "x"),
    "dsp.lfilter x int": (lambda: dsp.lfilter(torch.ones(10, dtype=torch.int32), [1.0], [1.0]),
                          TypeError, "x"),
    "dsp.sosfilt sos shape": (lambda: dsp.sosfilt(torch.ones(10), torch.ones(2, 5)),
                              ValueError, "sos"),
    "dsp.fftconvolve h list": (lambda: dsp.fftconvolve(torch.ones(10), [1.0]), TypeError, "h"),
    "dsp.fftconvolve empty": (lambda: dsp.fftconvolve(torch.ones(0), torch.ones(2)),
                              ValueError, "x"),
    "dsp.fftresample length -1": (lambda: dsp.fftresample(torch.ones(10), -1), ValueError,
                                 "length"),
    "dsp.fftresample length string": (lambda: dsp.fftresample(torch.ones(10), "5"), TypeError,
                                      "length"),
    "dsp.fftresample int x": (lambda: dsp.fftresample(torch.ones(10, dtype=torch.int64), 5),
                              TypeError, "x"),
    "dsp.hilbert empty": (lambda: dsp.hilbert(torch.ones(0)), ValueError, "x"),
    "dsp.hilbert complex": (lambda: dsp.hilbert(torch.ones(4, dtype=torch.complex64)),
                            TypeError, "x"),
    "dsp.poly list": (lambda: dsp.poly([1.0, 2.0]), TypeError, "roots"),
    "dsp.minimum_phase empty": (lambda: dsp.minimum_phase([]), ValueError, "b"),
    "dsp.minimum_phase NaN": (lambda: dsp.minimum_phase([math.nan, 1.0]), ValueError, "b"),
    "dsp.fir2 n -1": (lambda: dsp.fir2(-1, [0, 1], [1, 1]), ValueError, "n must"),
    "dsp.use_backend": (lambda: dsp.use_backend("cuda").__enter__(), ValueError, "backend"),
    "scales.freqtoerb string": (lambda: scales.freqtoerb("1000"), TypeError, "freq"),
    "scales.freqtoerb NaN": (lambda: scales.freqtoerb(math.nan), ValueError, "freq"),
    "scales.audfiltbw negative": (lambda: scales.audfiltbw(-1.0), ValueError, "fc"),
    "scales.erbspace n 0": (lambda: scales.erbspace(100, 1000, 0), ValueError, "n must"),
    "scales.erbspace flow > fhigh": (lambda: scales.erbspace(1000, 100, 5), ValueError, "flow"),
    "scales.erbspacebw bwmul 0": (lambda: scales.erbspacebw(100, 1000, 0), ValueError,
                                  "bwmul"),
    "scales.freqtoaud scale": (lambda: scales.freqtoaud(100.0, "bark"), ValueError, "scale"),
    "levels.dbspl int": (lambda: levels.dbspl(torch.ones(4, dtype=torch.int16)), TypeError,
                         "x"),
    "levels.dbspl empty": (lambda: levels.dbspl(torch.ones(0)), ValueError, "x"),
    "levels.dbspl dboffset NaN": (lambda: levels.dbspl(torch.ones(4), math.nan), ValueError,
                                  "dboffset"),
    "levels.dbspl dboffset string": (lambda: levels.dbspl(torch.ones(4), "100"), TypeError,
                                     "dboffset"),
    "levels.setdbspl level NaN": (lambda: levels.setdbspl(torch.ones(4), math.nan), ValueError,
                                  "level"),
    "levels.setdbspl level string": (lambda: levels.setdbspl(torch.ones(4), "60"), TypeError,
                                     "level"),
    "levels.setdbspl silence": (lambda: levels.setdbspl(torch.zeros(2, 4), 60.0), ValueError,
                                "silent"),
    "levels.gaindb NaN": (lambda: levels.gaindb(torch.ones(4), math.nan), ValueError,
                          "gain_db"),
    "levels.gaindb string": (lambda: levels.gaindb(torch.ones(4), "6"), TypeError, "gain_db"),
    "pad_modulation_outputs empty": (lambda: pad_modulation_outputs([]), ValueError,
                                     "outputs"),
    "pad_modulation_outputs string": (lambda: pad_modulation_outputs("abc"), TypeError,
                                      "outputs"),
}


@pytest.mark.parametrize("case", list(BAD_PARAMETERS))
def test_bad_parameter(case):
    fn, exc, name = BAD_PARAMETERS[case]
    with pytest.raises(exc) as info:
        fn()
    assert type(info.value) is exc, (case, repr(info.value))
    assert name in str(info.value), (case, str(info.value))


def test_nyquist_message_names_the_value_and_the_limit():
    with pytest.raises(ValueError) as info:
        GammatoneFilterbank(8000.0, fhigh=5000.0)
    message = str(info.value)
    assert "4000.0 Hz" in message and "fhigh = 5000.0 Hz" in message


def test_learnable_accepts_a_single_stage_name():
    model = Dau1997(FS, fhigh=4000, learnable="adt")
    learned = {name.split(".")[0] for name, _ in model.named_parameters()}
    assert learned == {"adt"}


def test_meddis_is_not_implemented():
    with pytest.raises(NotImplementedError, match="ihc_meddis1990"):
        IHCEnvelope(FS, "ihc_meddis1990")


# ------------------------------------------------------------------ dtype and device policy
@pytest.mark.parametrize("entry", MODULES)
@pytest.mark.parametrize(("module_dtype", "input_dtype"),
                         [(torch.float32, torch.float64), (torch.float64, torch.float32)])
def test_output_has_the_input_dtype(entry, module_dtype, input_dtype):
    """Policy: a module accepts float32 and float64 input whatever its own dtype and
    computes/returns in the input's precision (with its coefficients as stored)."""
    make, ndim = SIGNAL_ENTRY_POINTS[entry]
    module = make().to(module_dtype)
    y = module(_signal(ndim, input_dtype))
    y = y[0] if isinstance(y, list) else y
    assert y.dtype == input_dtype, (entry, y.dtype)


@pytest.mark.parametrize("entry", MODULES)
def test_device_mismatch_is_a_clear_error(entry):
    """A module on another device (here ``meta``, which needs no GPU) rejects CPU input
    with a ValueError naming both devices, before any kernel runs."""
    make, ndim = SIGNAL_ENTRY_POINTS[entry]
    module = make()
    if not list(module.buffers()) and not list(module.parameters()):
        pytest.skip("stateless module: nothing to mismatch")
    module = module.to("meta")
    with pytest.raises(ValueError, match="meta") as info:
        module(_signal(ndim))
    assert "cpu" in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("entry", ["GammatoneFilterbank", "Dau1997", "King2019"])
def test_cuda_module_rejects_cpu_input(entry):
    make, ndim = SIGNAL_ENTRY_POINTS[entry]
    with pytest.raises(ValueError, match="cuda"):
        make().cuda()(_signal(ndim))


def test_numpy_float_audio_is_accepted_by_modules():
    x = _signal(1, torch.float64)
    y_np = GammatoneFilterbank(FS, fhigh=4000, dtype=torch.float64)(x.numpy())
    y_t = GammatoneFilterbank(FS, fhigh=4000, dtype=torch.float64)(x)
    assert torch.equal(y_np, y_t)


def test_meta_tensor_input_gets_the_device_error():
    from torch_amt import Dau1997, GammatoneFilterbank

    for module in (Dau1997(FS, 900.0, 1100.0), GammatoneFilterbank(FS, flow=900, fhigh=1100)):
        with pytest.raises(ValueError, match="meta tensor"):
            module(torch.zeros(100, device="meta"))
