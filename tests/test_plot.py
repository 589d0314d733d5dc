"""Tests of torch_amt.plot on synthetic data (independent of the models' internals)."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from torch_amt.plot import (
    modulation_array,
    plot_adaptation,
    plot_auditory_spectrogram,
    plot_model,
    plot_modulation_channel,
    plot_modulation_spectrum,
    plot_waveform,
)
from torch_amt.scales import freqtoerb

matplotlib.use("Agg")

FS = 8000.0
FC = torch.tensor([200.0, 400.0, 800.0, 1600.0, 3200.0], dtype=torch.float64)
N_MOD = (1, 2, 3, 3, 4)


def _axes() -> matplotlib.axes.Axes:
    return Figure().add_subplot()


def _mesh_extent(ax) -> tuple[float, float, float, float]:
    coords = ax.collections[0].get_coordinates()
    return coords[..., 0].min(), coords[..., 0].max(), coords[..., 1].min(), coords[..., 1].max()


def _modulation_output(n_t: int, batch: int = 2):
    gen = torch.Generator().manual_seed(1)
    out = [torch.rand(batch, m, n_t, generator=gen) for m in N_MOD]
    mfc = [torch.tensor([0.0, 5.0, 10.0, 16.7][:m]) for m in N_MOD]
    return out, mfc


def test_waveform_axes():
    ax = plot_waveform(torch.ones(2, 800), FS, ax=_axes(), dboffset=100.0)
    assert ax.get_xlabel() == "Time (s)" and ax.get_ylabel() == "Amplitude"
    assert ax.get_xlim() == (0.0, 0.1)
    assert "100.0 dB SPL" in ax.get_title()


def test_auditory_spectrogram_extent_and_levels():
    n_t = 801  # not a multiple of the frame: the last frame is shorter
    y = torch.randn(5, n_t, dtype=torch.float64) * torch.tensor([1, 10, 100, 1, 1.0])[:, None]
    ax = plot_auditory_spectrogram(y, FS, FC, ax=_axes(), dynamic_range_db=50)
    x0, x1, y0, y1 = _mesh_extent(ax)
    erb = freqtoerb(FC).numpy()
    assert (x0, x1) == (0.0, pytest.approx(n_t / FS))
    assert y0 < erb[0] < erb[-1] < y1
    assert y1 - erb[-1] == pytest.approx((erb[-1] - erb[-2]) / 2)
    assert ax.get_xlabel() == "Time (s)" and ax.get_ylabel() == "Centre frequency (Hz)"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "1000" in labels and "500" in labels
    tick = ax.get_yticks()[labels.index("1000")]
    assert tick == pytest.approx(freqtoerb(torch.tensor(1000.0)).item())
    values = np.asarray(ax.collections[0].get_array()).reshape(5, -1)
    assert values.max() == 0.0
    assert np.median(values[2]) > np.median(values[0]) + 30  # 40 dB louder channel
    assert ax.collections[0].get_clim() == (-50.0, 0.0)
    colorbar_axes = [a for a in ax.figure.axes if a is not ax]
    assert colorbar_axes and colorbar_axes[0].get_ylabel() == "Level (dB re max)"


def test_batch_selection_and_shape_errors():
    y = torch.zeros(3, 5, 400)
    y[1] = 1.0
    ax = plot_adaptation(y, FS, FC, ax=_axes(), batch=1)
    assert np.all(ax.collections[0].get_array() == 1.0)
    with pytest.raises(ValueError, match="batch 3 is out of range"):
        plot_adaptation(y, FS, FC, ax=_axes(), batch=3)
    with pytest.raises(ValueError, match="4 frequencies"):
        plot_auditory_spectrogram(torch.zeros(5, 100), FS, FC[:4], ax=_axes())
    with pytest.raises(ValueError, match="shape"):
        plot_waveform(torch.zeros(2, 2, 10), FS, ax=_axes())


def test_adaptation_signed_values_use_symmetric_colours():
    y = torch.linspace(-1, 3, 6400, dtype=torch.float64).expand(5, 6400).clone()
    y[0, :32] = 100.0  # an onset overshoot of two frames, clipped by the colour limits
    ax = plot_adaptation(y, FS, FC, ax=_axes())
    frames = y.reshape(5, 400, 16).mean(-1)  # 2-ms frames of 16 samples
    low, high = ax.collections[0].get_clim()
    assert low == -high
    assert high == pytest.approx(np.percentile(frames.numpy(), 99.5), rel=1e-9)
    assert 2.9 < high < 3
    assert ax.get_xlim() == (0.0, 0.8)


def test_modulation_channel():
    out, mfc = _modulation_output(200)
    ax = plot_modulation_channel(out[4], FS / 2, mfc[4], ax=_axes(), fc=3200.0)
    x0, x1, y0, y1 = _mesh_extent(ax)
    assert (x0, x1, y0, y1) == (0.0, pytest.approx(0.05), -0.5, 3.5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "5", "10", "16.7"]
    assert ax.get_ylabel() == "Modulation frequency (Hz)" and ax.get_xlabel() == "Time (s)"
    assert "3200 Hz" in ax.get_title()
    with pytest.raises(ValueError, match="modulation filters"):
        plot_modulation_channel(out[4], FS, mfc[3], ax=_axes())


def test_modulation_array_pads_with_mask():
    out, mfc = _modulation_output(10)
    values, table, mask = modulation_array(out, mfc)
    assert values.shape == (2, 5, 4, 10) and table.shape == (5, 4)
    assert mask.sum(1).tolist() == list(N_MOD)
    assert np.array_equal(values[1, 2, :3], out[2][1].numpy())
    assert np.all(values[:, 0, 1:] == 0) and np.isnan(table[0, 1:]).all()
    single, _, _ = modulation_array(out, mfc, batch=1)
    assert np.array_equal(single, values[1])
    king = torch.randn(1, 5, 3, 10)
    values_k, table_k, mask_k = modulation_array(king, torch.tensor([2.0, 4.0, 8.0]), batch=0)
    assert np.array_equal(values_k, king[0].numpy()) and mask_k.all()
    assert np.array_equal(table_k, np.tile([2.0, 4.0, 8.0], (5, 1)))


def test_modulation_spectrum_masks_missing_filters():
    out, mfc = _modulation_output(300)
    ax = plot_modulation_spectrum(out, mfc, FC, ax=_axes(), batch=1)
    spectrum = ax.collections[0].get_array()
    assert spectrum.shape == (5, 4)
    assert spectrum.mask.sum(1).tolist() == [4 - m for m in N_MOD]
    expected = out[3][1, 2].pow(2).mean().sqrt().item()
    assert spectrum[3, 2] == pytest.approx(expected, rel=1e-6)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "5", "10", "16.7"]
    assert ax.get_xlabel() == "Modulation frequency (Hz)"
    assert ax.get_ylabel() == "Centre frequency (Hz)"


def test_plot_model_standard_figure():
    n_t = 800
    out, mfc = _modulation_output(n_t // 2, batch=1)
    model = SimpleNamespace(fc=FC, mfc=mfc, fs=FS, output_fs=FS / 2, dboffset=100.0)
    stages = {"afb": torch.randn(1, 5, n_t), "ihc": torch.rand(1, 5, n_t),
              "adt": torch.rand(1, 5, n_t), "out": out}
    fig = plot_model(stages, model, x=torch.randn(1, n_t), fig=Figure(), title="toy")
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert len(axes) == 5  # waveform + 4 images
    titles = [a.get_title() for a in axes]
    assert titles[1] == "Auditory filterbank ('afb')" and titles[2] == "Adaptation ('adt')"
    assert "800 Hz" in titles[4]  # default channel: the one closest to 1 kHz
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel()
    assert sum(a.get_label() == "<colorbar>" for a in fig.axes) == 4
    assert _mesh_extent(axes[4])[:2] == (0.0, pytest.approx(n_t / FS))
    fig = plot_model(stages, model, channel=0, fig=fig)
    assert len(fig.axes) == 8 and "200 Hz" in fig.axes[-2].get_title()  # no waveform panel
    with pytest.raises(ValueError, match="return_stages"):
        plot_model({"out": out}, model, fig=Figure())


def test_plot_model_fcmt_output_and_unbatched(tmp_path):
    n_t = 400
    mfc = torch.tensor([2.0, 4.0, 8.0])
    model = SimpleNamespace(fc=FC, mfc=mfc, fs=FS, output_fs=FS, dboffset=93.98)
    stages = {"afb": torch.randn(5, n_t), "adt": torch.randn(5, n_t),
              "out": torch.rand(5, 3, n_t)}
    fig = plot_model(stages, model, x=torch.randn(n_t), fig=Figure())
    path = tmp_path / "king.png"
    fig.savefig(path)
    assert path.stat().st_size > 1000
    assert [t.get_text() for t in fig.axes[-2].get_yticklabels()] == ["2", "4", "8"]


@pytest.mark.parametrize("batched", [True, False])
def test_plot_model_fct_output_without_modulation_axis(batched):
    n_t = 400
    model = SimpleNamespace(fc=FC, mfc=[], fs=FS, output_fs=FS, dboffset=100.0,
                            output_kind="fct")
    stages = {"afb": torch.randn(5, n_t), "adt": torch.rand(5, n_t),
              "out": torch.rand(5, n_t)}
    if batched:
        stages = {k: v.unsqueeze(0) for k, v in stages.items()}
    fig = plot_model(stages, model, x=torch.randn(n_t), fig=Figure(), title="dau")
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert [a.get_title() for a in axes[1:]] == ["Auditory filterbank ('afb')",
                                                 "Adaptation ('adt')", "Output ('out')"]
    assert axes[-1].get_ylabel() == "Centre frequency (Hz)"
    assert _mesh_extent(axes[-1])[:2] == (0.0, pytest.approx(n_t / FS))


def test_functions_make_their_own_figure():
    ax = plot_waveform(torch.zeros(10), FS)
    assert ax.figure is not None
    import matplotlib.pyplot as plt

    plt.close("all")
