"""Glasberg & Moore (2002) loudness model (AMT glasberg2002): kernels, stages, model.

Exactness against AMT is checked by the validation harness
(tests/validation/test_family.py, prefix ``glasberg2002``); these tests check the pieces
against independent computations (SciPy, closed forms, values quoted in the reference
README), the shapes, the errors and the gradients.
"""

from __future__ import annotations

import importlib
import math
import warnings
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
import scipy.signal
import soundfile
import torch
from matplotlib.figure import Figure

from torch_amt import Glasberg2002, cli
from torch_amt.dsp.filtfilt import octave_filtfilt
from torch_amt.dsp.fir import hann, kaiser, pchip
from torch_amt.dsp.resample import resample, resample_filter, upfirdn
from torch_amt.plot import plot_model

G = importlib.import_module("torch_amt.functional.glasberg2002")

matplotlib.use("Agg")
FS = 32000


def _tone(level_db: float, seconds: float = 0.4, f: float = 1000.0, fs: int = FS):
    """A sine in pascal with the given rms level in dB SPL."""
    t = torch.arange(round(seconds * fs), dtype=torch.float64) / fs
    return math.sqrt(2) * 20e-6 * 10 ** (level_db / 20) * torch.sin(2 * math.pi * f * t)


@pytest.fixture(scope="module")
def tone_run():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Glasberg2002(FS, dtype=torch.float64)
    x = torch.stack([_tone(70.0), _tone(40.0)])
    with torch.no_grad():
        return model, x, model(x, return_stages=True)


# --------------------------------------------------------------------------- kernels


def test_windows_match_scipy():
    for n in (1, 2, 64, 2048):
        assert torch.allclose(hann(n), torch.from_numpy(scipy.signal.windows.hann(n)),
                              rtol=0, atol=1e-15)
    k = kaiser(219, 5.6533)
    assert torch.allclose(k, torch.from_numpy(scipy.signal.windows.kaiser(219, 5.6533)),
                          rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="n must be"):
        hann(0)


def test_pchip_is_nan_outside_like_octave():
    y = pchip([1.0, 2.0, 4.0], [0.0, 1.0, 0.0], [0.5, 1.0, 3.0, 4.0, 4.5])
    assert np.isnan(y[[0, 4]]).all() and y[1] == 0.0 and y[3] == 0.0 and 0 < y[2] < 1.5
    with pytest.raises(ValueError, match="strictly increasing"):
        pchip([1.0, 1.0], [0.0, 1.0], [1.0])


def test_upfirdn_matches_scipy_and_resample_filter_design():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 101, generator=gen, dtype=torch.float64)
    h = torch.randn(17, generator=gen, dtype=torch.float64)
    for p, q in ((1, 1), (2, 3), (3, 2), (1, 4)):
        ref = scipy.signal.upfirdn(h.numpy(), x.numpy(), p, q)
        assert torch.allclose(upfirdn(x, h, p, q), torch.from_numpy(ref.copy()), atol=1e-13)
    h23 = resample_filter(32000, 48000)  # p/q = 2/3: cut-off 1/6, half-length ceil(52/(28.714/60))
    assert h23.numel() == 2 * math.ceil(52 / (28.714 * (1 / 6) / 10)) + 1 == 219
    assert torch.allclose(h23, h23.flip(0))  # linear phase
    assert abs(float(h23.sum()) - 2.0) < 1e-3  # DC gain p


def test_resample_reproduces_a_low_tone_and_its_length():
    fs_in, fs_out = 48000, 32000
    t_in = torch.arange(4800, dtype=torch.float64) / fs_in
    y = resample(torch.sin(2 * math.pi * 440 * t_in), fs_out, fs_in)
    assert y.shape == (3200,)
    t_out = torch.arange(3200, dtype=torch.float64) / fs_out
    mid = slice(400, 2800)  # away from the edges (the signal stops there)
    assert torch.allclose(y[mid], torch.sin(2 * math.pi * 440 * t_out)[mid], atol=2e-3)
    with pytest.raises(ValueError, match="p must be a positive integer"):
        resample(y, 0, 3)


def test_fir_filtfilt_matches_scipy_odd_padding():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 200, generator=gen, dtype=torch.float64)
    b = torch.randn(9, generator=gen, dtype=torch.float64)
    ref = scipy.signal.filtfilt(b.numpy(), [1.0], x.numpy(), padtype="odd", padlen=24)
    assert torch.allclose(octave_filtfilt(x, b, 1.0), torch.from_numpy(ref.copy()), rtol=0,
                          atol=1e-12)
    bb, aa = scipy.signal.butter(2, 0.2)
    ref = scipy.signal.filtfilt(bb, aa, x.numpy(), padtype="odd", padlen=6)
    assert torch.allclose(octave_filtfilt(x, bb, aa), torch.from_numpy(ref.copy()), atol=1e-12)
    with pytest.raises(ValueError, match="longer than"):
        octave_filtfilt(x[:, :24], b, 1.0)


def test_gradients_of_the_kernels():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(40, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, generator=gen, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda v: resample(v, 2, 3), (x,))
    assert torch.autograd.gradcheck(lambda v: octave_filtfilt(v, b, 1.0), (x,))


# --------------------------------------------------------------------------- functional


def test_erb_bands_follow_amt():
    bands = G.erb_bands()
    assert bands.fc.size == 149
    assert bands.fc[0] < 50.0 < bands.fc[0] + 1e-12  # erb2fc(fc2erb(50)) rounds below 50
    assert np.allclose(np.diff(bands.erb_n), 0.25)
    top = 21.366 * math.log10(0.004368 * 15000 + 1)  # the range ends at fc2erb(15000)
    assert bands.erb_n[-1] <= top < bands.erb_n[-1] + 0.25
    with pytest.raises(ValueError, match="raise fs"):
        G.erb_bands(16000.0)


def test_outer_middle_ear_tables_and_fir():
    db = G.outer_middle_ear_db([1000.0, 3000.0], "tfOuterMiddle1997")
    assert np.allclose(db, [2.6 - 2.6, 15.3 - 7.3])  # table points: outer + middle
    assert np.isnan(G.outer_middle_ear_db([10.0]))[0]
    b = G.outer_middle_ear_fir()
    assert b.shape == (4097,) and torch.allclose(b, b.flip(0))  # linear phase
    with pytest.raises(ValueError, match="compensation"):
        G.outer_middle_ear_db([1000.0], "specLoud")


def test_spectrum_is_quadratic_and_checks_settings():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 100, generator=gen, dtype=torch.float64)
    s = G.multiresolution_spectrum(x)
    assert s.shape == (2, 1025, 4)
    assert torch.allclose(G.multiresolution_spectrum(3 * x), 9 * s, rtol=1e-12)
    # Parseval for the 64-ms window alone in the lowest bins is not used; instead: a DC
    # block of ones gives 2·(Σw)²/(fs·Σw²) in bin 0 (64-ms window, 2048 samples)
    w = hann(2048)
    dc = G.multiresolution_spectrum(torch.ones(2048, dtype=torch.float64))[0, 0]
    assert math.isclose(float(dc), 2 * float(w.sum()) ** 2 / (FS * float((w * w).sum())),
                        rel_tol=1e-12)
    with pytest.raises(ValueError, match="hann_ms needs 6"):
        G.multiresolution_spectrum(x, hann_ms=(2, 4))
    with pytest.raises(ValueError, match="decreasing"):
        G.multiresolution_spectrum(x, limits_hz=(80, 500, 1250, 2540, 4050))
    gen_x = torch.randn(64, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(G.multiresolution_spectrum, (gen_x,), fast_mode=True)


def test_excitation_shapes_gradient_and_errors():
    gen = torch.Generator().manual_seed(4)
    intensity = torch.rand(1025, 3, generator=gen, dtype=torch.float64) * 1e-8 + 1e-12
    e = G.excitation_pattern(intensity)
    assert e.shape == (149, 3) and bool((e > 0).all())
    chunked = G.excitation_pattern(intensity, chunk=1)
    assert torch.allclose(chunked, e, rtol=1e-14)
    # O(0.1) Pa² per bin: gradcheck's finite-difference step (1e-6) keeps them positive
    one_block = (0.01 + 0.1 * torch.rand(1025, 1, generator=gen, dtype=torch.float64))
    one_block.requires_grad_(True)
    assert torch.autograd.gradcheck(G.excitation_pattern, (one_block,), fast_mode=True)
    with pytest.raises(ValueError, match="1025"):
        G.excitation_pattern(torch.rand(1024, 3))


def test_specific_loudness_branches():
    fc = G.erb_bands().fc
    e = torch.zeros(149, 4, dtype=torch.float64)
    e[:, 1] = 1e-10
    e[:, 2] = 1.0
    e[:, 3] = 4e10
    s = G.specific_loudness(e, fc)
    assert bool((s[:, 0] == 0).all())  # no excitation, no loudness
    high = 0.046871 * math.sqrt(4e10 / 1.04e6)
    assert torch.allclose(s[:, 3], torch.full((149,), high, dtype=torch.float64))
    no_threshold = torch.from_numpy((fc > 1000.0) | (fc < 50.0))
    assert bool((s[no_threshold, 1:3] == 0).all())  # AMT: tQ is NaN outside 50...1000 Hz
    assert bool((s[~no_threshold, 1] > 0).all() and (s[~no_threshold, 2] > s[~no_threshold, 1])
                .all())
    gen = torch.Generator().manual_seed(5)  # 0.01 ... 0.5 (20 µPa)²: below every threshold
    low = (0.01 + 0.49 * torch.rand(149, 2, generator=gen, dtype=torch.float64))
    low.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: G.specific_loudness(v, fc), (low,))


def test_loudness_integration_closed_form_and_gradient():
    n = torch.ones(50, dtype=torch.float64)
    stl, ltl = G.loudness_integration(n)
    i = torch.arange(50, dtype=torch.float64)
    assert torch.allclose(stl, 1 - 0.955 ** i, rtol=1e-13)  # attack all along
    n[25:] = 0  # release from there on
    stl, _ = G.loudness_integration(n)
    assert torch.allclose(stl[25:], stl[24] * 0.98 ** (i[25:] - 24), rtol=1e-13)
    x = torch.rand(8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(G.loudness_integration, (x,))


# --------------------------------------------------------------------------- model


def test_model_shapes_and_amt_values(tone_run):
    model, x, stages = tone_run
    n_blocks = 400
    assert stages["out"].shape == (2, 3, n_blocks)
    assert stages["spectrum"].shape == (2, 1025, n_blocks)
    assert stages["excitation"].shape == (2, 149, n_blocks)
    assert stages["specificloudness"].shape == (2, 149, n_blocks)
    assert model.fc.shape == (149,) and model.output_fs == 1000.0
    peak = G.excitation_level_db(stages["excitation"][0]).max()
    assert abs(float(peak) - 56.97) < 0.01  # reference README, quirk 16: AMT's 56.97 dB
    loud, stl, ltl = stages["out"][0]
    assert 1e-13 < float(loud.max()) < 1e-11  # AMT's calibration: ~1e-12 sone at 70 dB
    assert float(stages["out"][0, 0].max()) > float(stages["out"][1, 0].max())  # 70 > 40 dB
    # the integrators are convex combinations: each stays within its input's range
    assert bool((stl <= loud.max()).all()) and bool((ltl <= stl.max()).all())
    assert float(stl[200]) > float(ltl[200]) > 0  # attack: the long-term loudness lags


def test_model_batch_rows_are_independent(tone_run):
    model, x, stages = tone_run
    with torch.no_grad():
        single = model(x[1])
    assert single.shape == (3, 400)
    assert torch.allclose(single, stages["out"][1], rtol=1e-12, atol=0)


def test_model_dtype_resampling_and_short_input_warnings():
    with pytest.warns(UserWarning, match="resampled"):
        model = Glasberg2002(48000)
    x = torch.zeros(480)
    with pytest.warns(UserWarning, match="extended with zeros"):
        out = model(x)
    assert out.dtype == torch.float32 and out.shape == (3, 10)
    assert bool((out == 0).all())  # digital silence: AMT's NaN excitation, loudness 0


def test_model_errors():
    with pytest.raises(ValueError, match="integer"):
        Glasberg2002(44100.5)
    with pytest.raises(ValueError, match="compensation"):
        Glasberg2002(FS, compensation="specLoud")
    with pytest.raises(ValueError, match="hann_ms"):
        Glasberg2002(FS, hann_ms=(2, 4, 8))
    model = Glasberg2002(FS)
    with pytest.raises(ValueError, match="NaN"):
        model(torch.full((100,), float("nan")))
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(1, 1, 100))
    assert Glasberg2002.amt_options(["tfOuterMiddle2007"], {"fftLen": 2048.0}) == {
        "compensation": "tfOuterMiddle2007", "fft_len": 2048}
    with pytest.raises(ValueError, match="not implemented"):
        Glasberg2002.amt_options(["specLoud"], {})


def test_plot_and_cli(tone_run, tmp_path, capsys):
    model, x, stages = tone_run
    fig = plot_model(stages, model, x=x, fig=Figure(), title="glasberg")
    titles = [a.get_title() for a in fig.axes]
    assert "Loudness" in titles and "Excitation pattern ('excitation')" in titles
    loud = fig.axes[titles.index("Loudness")]
    assert len(loud.get_lines()) == 3
    wav = tmp_path / "tone.wav"
    soundfile.write(wav, _tone(60.0, 0.05).numpy() / 2, FS, subtype="FLOAT")
    out, png = tmp_path / "r.npz", tmp_path / "r.png"
    assert cli.main(["run", "glasberg2002", str(wav), "--out", str(out), "--plot",
                     str(png)]) == 0, capsys.readouterr().err
    assert png.stat().st_size > 20_000
    res = np.load(out)
    assert res["out"].shape == (3, 50) and str(res["output_kind"]) == "loudness"
    model_ns = SimpleNamespace(fc=model.fc, mfc=[], fs=FS, output_fs=1000.0,
                               dboffset=93.98, output_kind="loudness")
    with pytest.raises(ValueError, match="excitation"):
        plot_model({"out": stages["out"]}, model_ns, fig=Figure())


def test_whole_model_gradient_with_a_short_ear_filter():
    # every stage chained (order 16: filtfilt needs > 48 samples; 10 blocks of 1 ms)
    model = Glasberg2002(FS, order=16, dtype=torch.float64)
    gen = torch.Generator().manual_seed(6)
    x = (0.02 * torch.randn(320, generator=gen, dtype=torch.float64)).requires_grad_(True)

    def levels_and_loudness(v):
        stages = model(v, return_stages=True)
        return G.excitation_level_db(stages["excitation"]), stages["out"] * 1e12

    level, loud = levels_and_loudness(x)
    assert loud.shape == (3, 10) and bool((loud[0] > 0).all())
    assert torch.autograd.gradcheck(levels_and_loudness, (x,), fast_mode=True)
