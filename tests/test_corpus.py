"""Corpus processing on Dask into Zarr (torch_amt.corpus), labelled outputs (torch_amt.xr)
and the ``run ... --out STORE.zarr`` command.

One LocalCluster of two worker processes serves the whole module (starting it dominates).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile
import torch

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
pytest.importorskip("zarr")
xr = pytest.importorskip("xarray")

from torch_amt import corpus  # noqa: E402
from torch_amt.cli import main  # noqa: E402
from torch_amt.dsp.streaming import NotStreamableError  # noqa: E402
from torch_amt.io import apply_level, read_input  # noqa: E402
from torch_amt.models import MODELS, Dau1997  # noqa: E402

OPTIONS = {"fhigh": 3000.0}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _write(path, seconds: float, fs: int, channels: int, subtype: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = 0.1 * rng.standard_normal((round(seconds * fs), channels))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    soundfile.write(path, data, fs, subtype=subtype)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    _write(root / "mono16k.wav", 0.12, 16000, 1, "PCM_16", 1)
    _write(root / "sub" / "stereo22k.wav", 0.1, 22050, 2, "FLOAT", 2)
    _write(root / "sub" / "mono32k.wav", 0.08, 32000, 1, "PCM_24", 3)
    (root / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    return root


def _direct(path, dtype=torch.float64, **level):
    """What a direct model call gives for a file (the CLI's reading and level)."""
    x, fs, _, _ = read_input(path)
    model = Dau1997(fs, dtype=dtype, **OPTIONS)
    x = apply_level(x, model.dboffset, **level)
    with torch.no_grad():
        return model.to_xarray(model(x.to(dtype)))


def test_directory_to_zarr_equals_direct_calls_and_rerun_skips(client, corpus_dir, tmp_path):
    store = tmp_path / "out.zarr"
    result = corpus.process([corpus_dir], "dau1997", store=store, client=client,
                            dtype="float64", progress=False, **OPTIONS)
    assert len(result.done) == 3 and not result.skipped
    corrupt = str(corpus_dir / "corrupt.wav")
    assert list(result.failed) == [corrupt]
    assert "cannot read audio" in result.failed[corrupt]
    assert result.groups[str(corpus_dir / "sub" / "stereo22k.wav")] == "sub%2Fstereo22k.wav"
    for path in result.done:
        ds = corpus.open_result(store, result.groups[path])
        direct = _direct(path)
        assert ds.attrs[corpus.COMPLETE] is True
        assert ds.attrs["input_fs"] == soundfile.info(path).samplerate
        np.testing.assert_array_equal(ds["out"].values, direct["out"].values)
        for name in ("fc", "time", "mfc", "mask"):
            np.testing.assert_array_equal(ds[name].values, direct[name].values)
        assert json.loads(ds.attrs["model_options"]) == OPTIONS

    again = corpus.process([corpus_dir], "dau1997", store=store, client=client,
                           dtype="float64", progress=False, **OPTIONS)
    assert again.done == [] and sorted(again.skipped) == sorted(result.done)
    assert list(again.failed) == [corrupt]


def test_other_settings_recompute_a_complete_group(client, corpus_dir, tmp_path):
    store = tmp_path / "out.zarr"
    path = str(corpus_dir / "mono16k.wav")
    first = corpus.process(path, "dau1997", store=store, client=client, progress=False,
                           **OPTIONS)
    assert first.done == [path]
    other = corpus.process(path, "dau1997", store=store, client=client, progress=False,
                           level_db=70.0, **OPTIONS)
    assert other.done == [path]
    ds = corpus.open_result(store, other.groups[path])
    assert ds.attrs["level_db"] == pytest.approx(70.0)


def test_long_file_is_streamed_and_equals_the_whole_call(client, tmp_path):
    path = str(tmp_path / "long.wav")
    _write(path, 0.25, 16000, 2, "PCM_16", 4)
    store = tmp_path / "out.zarr"
    result = corpus.process([path], "dau1997", store=store, client=client, dtype="float64",
                            chunk_seconds=0.04, level_db=65.0, progress=False, **OPTIONS)
    assert result.done == [path]
    assert any("streamed" in n for n in result.notes[path])
    ds = corpus.open_result(store, result.groups[path])
    direct = _direct(path, level_db=65.0)
    assert ds.attrs["streamed"] is True
    np.testing.assert_array_equal(ds["time"].values, direct["time"].values)
    got, want = ds["out"].values, direct["out"].values
    scale = np.nanmax(np.abs(want))
    # the only difference: the rms of level_db summed block by block
    assert np.nanmax(np.abs(got - want)) <= 1e-12 * scale
    assert ds.attrs["level_db"] == pytest.approx(65.0, abs=1e-9)


def test_cli_runs_a_glob_on_a_scheduler(client, corpus_dir, tmp_path, capsys):
    store = tmp_path / "cli.zarr"
    code = main(["run", "dau1997", str(corpus_dir / "sub" / "*.wav"), "--out", str(store),
                 "--scheduler", client.scheduler.address, "-p", "fhigh=3000"])
    assert code == 0
    assert "2 file(s) done" in capsys.readouterr().out
    code = main(["run", "dau1997", str(corpus_dir / "sub" / "*.wav"), "--out", str(store),
                 "--scheduler", client.scheduler.address, "-p", "fhigh=3000"])
    assert code == 0 and "0 file(s) done, 2 already complete" in capsys.readouterr().out
    code = main(["run", "dau1997", str(corpus_dir / "corrupt.wav"), "--out",
                 str(tmp_path / "bad.zarr"), "--scheduler", client.scheduler.address])
    assert code == 1 and "corrupt.wav" in capsys.readouterr().err


def test_cli_corpus_usage_errors(tmp_path, capsys):
    wav = tmp_path / "a.wav"
    _write(str(wav), 0.01, 16000, 1, "PCM_16", 5)
    assert main(["run", "dau1997", str(wav), "--workers", "2"]) == 2
    assert "--out STORE.zarr" in capsys.readouterr().err
    assert main(["run", "dau1997", str(wav), "--out", str(tmp_path / "o.zarr"), "--plot",
                 str(tmp_path / "p.png")]) == 2
    assert main(["run", "dau1997", str(tmp_path / "missing*.wav"), "--out",
                 str(tmp_path / "o.zarr")]) == 2
    assert "no file matches" in capsys.readouterr().err


def test_find_audio_and_group_names(corpus_dir):
    files = corpus.find_audio([corpus_dir])
    assert [os.path.relpath(f, corpus_dir) for f in files] == [
        "corrupt.wav", "mono16k.wav", os.path.join("sub", "mono32k.wav"),
        os.path.join("sub", "stereo22k.wav")]
    assert corpus.find_audio(str(corpus_dir / "**" / "mono*.wav")) == [files[1], files[2]]
    with pytest.raises(FileNotFoundError, match="not found"):
        corpus.find_audio(corpus_dir / "nothing.wav")
    with pytest.raises(ValueError, match="unknown model"):
        corpus.process(files, "nomodel")


# --------------------------------------------------------------------------- to_xarray


@pytest.mark.parametrize("name", list(MODELS))
def test_to_xarray_labels_every_model_output(name: str, model_input) -> None:
    options = {"basef": 1000.0} if name == "king2019" else {}
    model = MODELS[name](16000.0, **options)
    x = model_input(model, 0.05 * torch.randn(2, 300, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        out = model(x)
    ds = model.to_xarray(out, batch=["a", "b"])
    var = ds["out"]
    assert var.dims[0] == "batch" and var.dims[-1] == "time"
    assert list(ds["batch"].values) == ["a", "b"]
    if model.output_kind == "loudness":  # (batch, loudness, time), rows labelled
        assert var.dims == ("batch", "loudness", "time") and var.attrs["units"] == "sone"
        assert list(ds["loudness"].values) == ["instantaneous", "short_term", "long_term"]
    else:
        assert "fc" in var.dims
        np.testing.assert_allclose(ds["fc"].values, model.fc.numpy())
    assert ds["time"].values[1] == pytest.approx(1 / model.output_fs)
    assert ds["time"].attrs["units"] == "s"
    assert "fc" not in var.dims or ds["fc"].attrs["units"] == "Hz"
    assert ds.attrs["model"] == name and ds.attrs["torch_amt_version"]
    if isinstance(out, list):  # ragged: padded with NaN where the mask is False
        assert var.dims == ("batch", "fc", "modulation", "time")
        for f, channel in enumerate(out):
            m = channel.shape[1]
            np.testing.assert_array_equal(var.values[:, f, :m], channel.numpy())
            assert ds["mask"].values[f].sum() == m
            assert np.isnan(var.values[:, f, m:]).all()
            np.testing.assert_allclose(ds["mfc"].values[f, :m], model.mfc[f].numpy())
    else:
        np.testing.assert_array_equal(var.values, out.numpy())
    unbatched = model.to_xarray([o[0] for o in out] if isinstance(out, list) else out[0])
    assert "batch" not in unbatched["out"].dims


def test_to_xarray_rejects_a_foreign_output() -> None:
    model = Dau1997(16000.0, fhigh=2000.0)
    with pytest.raises(ValueError, match="auditory channels"):
        model.to_xarray(torch.zeros(1, 3, 2, 10))


def test_corpus_refuses_streaming_for_non_causal_models() -> None:
    model = MODELS["osses2021"](16000.0)
    assert "outerear" in model.stream_refusal()
    with pytest.raises(NotStreamableError):
        model.stream(torch.zeros(10))


def test_audio_blocks_equal_load_audio(tmp_path):
    from torch_amt.io import MixdownWarning, audio_blocks, load_audio

    path = str(tmp_path / "s.wav")
    _write(path, 0.01, 16000, 2, "PCM_24", 6)
    for channel in ("mix", 1):
        whole, _ = load_audio(path, channel=channel)
        blocks = list(audio_blocks(path, 37, channel=channel))
        assert max(b.numel() for b in blocks) == 37
        assert torch.equal(torch.cat(blocks), whole)
    anti = str(tmp_path / "anti.wav")
    tone = np.sin(np.arange(800) * 0.1)[:, None] * [0.5, -0.5]
    soundfile.write(anti, tone, 16000, subtype="FLOAT")
    with pytest.warns(MixdownWarning, match="cancel"):
        list(audio_blocks(anti, 100))
    with pytest.raises(ValueError, match="channel 2 does not exist"):
        list(audio_blocks(path, 100, channel=2))
