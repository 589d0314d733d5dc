"""Breebaart2001: binaural chain and layout, AMT's chain of functions, monaural outputs,
(tau, ild) pairs, batching, float32, gradients, bad input, the command line on a mono file.

Agreement with AMT 1.4.0 in float64 (every stored output of the ``breebaart2001__*``
family reference files) is checked by the validation harness
(tests/validation/test_family.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import soundfile
import torch
from torch.autograd import gradcheck

from torch_amt import MODELS, Breebaart2001, cli
from torch_amt.functional.adaptation import adaptloop
from torch_amt.functional.eicell import eicell
from torch_amt.functional.gammatone import auditoryfilterbank
from torch_amt.functional.ihc import ihc_envelope
from torch_amt.functional.outmiddle import breebaart2001_outmiddlefilter

FS = 16000


def _n0spi(n: int, level_tone: float = 60.0, seed: int = 0) -> torch.Tensor:
    """N0Spi: the same noise at both ears, a 500-Hz tone in antiphase, (2, n)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n) * 10 ** ((65 - 100) / 20)
    tone = np.sin(2 * np.pi * 500 * np.arange(n) / FS) * np.sqrt(2) * 10 ** (
        (level_tone - 100) / 20)
    ramp = np.minimum(1, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.005 * FS))
    return torch.from_numpy(np.stack([noise + tone, noise - tone]) * ramp)


def _small(dtype: torch.dtype = torch.float64, **kwargs) -> Breebaart2001:
    return Breebaart2001(FS, flow=400, fhigh=600, dtype=dtype, **kwargs)


def test_registered_binaural_chain_and_layout():
    assert MODELS["breebaart2001"] is Breebaart2001 and Breebaart2001.binaural
    model = _small()
    assert model.chain == ("outermiddle", "afb", "ihc", "adt", "eicell")
    assert model.ihc.preset == "ihc_breebaart2001" and model.adt.preset == "adt_breebaart2001"
    assert model.dboffset == 100.0 and model.mfc == [] and model.output_kind == "fct"
    x = _n0spi(1600)
    n_f = model.fc.numel()
    assert model(x).shape == (n_f, 1600)
    stages = model(torch.stack([x, x]), return_stages=True)
    assert list(stages) == [*model.chain, "out"]
    assert stages["outermiddle"].shape == (2, 2, 1600)
    assert stages["adt"].shape == (2, 2, n_f, 1600) and stages["out"].shape == (2, n_f, 1600)


def test_is_amts_chain_of_functions():
    x = _n0spi(1600)
    ears = breebaart2001_outmiddlefilter(x, FS)
    afb, fc = auditoryfilterbank(ears, FS, 400, 600)  # (2, F, T)
    adt = adaptloop(ihc_envelope(afb, FS, "ihc_breebaart2001"), FS, 0.0, tau=np.linspace(
        0.005, 0.5, 5).tolist())
    expected = eicell(adt.movedim(0, 1), FS, 4e-4, 2.0)  # (F, T)
    model = _small(tau=4e-4, ild=2.0)
    assert torch.equal(model.fc, fc)
    torch.testing.assert_close(model(x), expected, rtol=1e-13, atol=1e-15)
    _, left, right = model(x, monaural=True)
    p = np.exp(-(1 / 0.01) / FS)  # AMT's 10-ms low-pass of the monaural outputs
    mono = scipy.signal.lfilter([1 - p], [1, -p], adt.numpy(), axis=-1)
    np.testing.assert_allclose(left.numpy(), mono[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(right.numpy(), mono[1], rtol=1e-12, atol=1e-12)


def test_diotic_input_gives_a_silent_ei_map_at_zero_delay_and_level():
    noise = _n0spi(1200, level_tone=-np.inf)
    model = _small()
    assert float(model(noise).abs().max()) == 0.0
    assert float(model(_n0spi(1200)).abs().max()) > 0.05  # the antiphasic tone excites it


def test_pairs_of_tau_and_ild_in_one_call():
    x = _n0spi(1200)
    taus, ilds = [0.0, 3e-4, -3e-4], [0.0, 2.0, -2.0]
    model = _small(tau=taus, ild=ilds)
    y = model(torch.stack([x, 0.5 * x]))
    assert y.shape == (2, 3, model.fc.numel(), 1200)
    for k, (tau, ild) in enumerate(zip(taus, ilds, strict=True)):
        single = _small(tau=tau, ild=ild)
        torch.testing.assert_close(y[1, k], single(0.5 * x), rtol=0, atol=0)


def test_float32_close_to_float64():
    x = _n0spi(1600)
    y64 = _small()(x)
    y32 = _small(torch.float32)(x.float())
    assert y32.dtype == torch.float32
    assert float((y32.double() - y64).abs().max() / y64.abs().max()) < 1e-3


def test_gradcheck_float64_through_the_model():
    model = Breebaart2001(FS, 3e-4, 2.0, flow=1000, fhigh=1000, dtype=torch.float64)
    x = (_n0spi(12) * 1e3).requires_grad_(True)
    assert gradcheck(model, (x,), eps=1e-6, atol=1e-6, fast_mode=True)


def test_bad_input_names_the_binaural_layout():
    model = _small()
    with pytest.raises(ValueError, match="binaural"):
        model(torch.zeros(800, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(B, 2, T\)"):
        model(torch.zeros(3, 800, dtype=torch.float64))
    with pytest.raises(ValueError, match="longer than 3 samples"):
        model(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="do not broadcast"):
        _small(tau=[0.0, 1e-4], ild=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="tc"):
        _small(tc=-1.0)


def test_amt_options():
    opts = Breebaart2001.amt_options(["adt_breebaart2001"], {"flow": 400.0, "rc_a": 0.2})
    assert opts == {"flow": 400.0, "rc_a": 0.2, "adt_preset": "adt_breebaart2001"}
    with pytest.raises(ValueError, match="not implemented"):
        Breebaart2001.amt_options([], {"subfs": 8000.0})


def test_command_line_presents_a_mono_file_diotically(tmp_path, capsys):
    data = 0.05 * np.random.default_rng(1).standard_normal(round(0.1 * FS))
    path, out = tmp_path / "mono.wav", tmp_path / "m.npz"
    soundfile.write(path, data, FS, subtype="DOUBLE")
    argv = ["run", "breebaart2001", str(path), "--dtype", "float64", "-p", "flow=400",
            "-p", "fhigh=600", "--out", str(out)]
    assert cli.main(argv) == 0
    assert "presented diotically" in capsys.readouterr().err
    res = np.load(out)
    assert res["input"].shape == (2, data.size) and np.array_equal(res["input"][1], data)
    assert np.abs(res["out"]).max() == 0.0  # the same signal at both ears
    assert cli.main([*argv, "--channel", "0"]) == 2
    assert "binaural" in capsys.readouterr().err


def test_standard_figure_shows_both_ears_and_the_ei_map():
    from matplotlib.figure import Figure

    from torch_amt.plot import plot_model

    model = _small()
    x = _n0spi(1600)
    for signal in (x, torch.stack([x, x])):
        fig = plot_model(model(signal, return_stages=True), model, x=signal, fig=Figure())
        titles = [ax.get_title() for ax in fig.axes]
        assert "Output ('out', EI map)" in titles
        assert "Auditory filterbank ('afb', left ear)" in titles
        waveform = next(ax for ax in fig.axes if ax.get_title().startswith("Input"))
        assert [line.get_label() for line in waveform.lines] == ["left", "right"]
