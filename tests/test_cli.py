"""Tests of the ``torch-amt`` command (torch_amt.cli, python -m torch_amt).

Most tests run a tiny stand-in model registered in ``MODELS`` (so they test the command,
not the models); the end-to-end tests at the end run the real models on 0.2 s of audio.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
from torch import nn

import torch_amt
from torch_amt import cli
from torch_amt.levels import dbspl
from torch_amt.models import MODELS

FS = 16000


class ToyModel(nn.Module):
    """Stand-in following the model contract: 4 channels with 2, 2, 3, 3 modulation
    filters, output at half the input rate, ``fs >= 8000`` Hz."""

    n_mod = (2, 2, 3, 3)
    description = "a stand-in for tests"
    output_kind = "modulation_list"

    def __init__(self, fs: float, dtype: torch.dtype = torch.float32,
                 dboffset: float = 100.0) -> None:
        super().__init__()
        if fs < 8000:
            raise ValueError(f"fs must be at least 8000 Hz, got {fs} Hz")
        self.fs = float(fs)
        self.output_fs = self.fs / 2
        self.dboffset = float(dboffset)
        self.register_buffer("fc", torch.tensor([250.0, 500.0, 1000.0, 2000.0], dtype=dtype))
        self.register_buffer("gain", torch.arange(1.0, 5.0, dtype=dtype))
        self.mfc = [torch.tensor([0.0, 5.0, 10.0][:m], dtype=torch.float64) for m in self.n_mod]

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        afb = x.unsqueeze(-2) * self.gain[:, None]
        adt = afb.abs()
        out = [torch.stack([adt[..., f, ::2] * (k + 1) for k in range(m)], -2)
               for f, m in enumerate(self.n_mod)]
        stages = {"afb": afb, "adt": adt, "out": out}
        return stages if return_stages else out


class BrokenModel(ToyModel):
    def forward(self, x: torch.Tensor, return_stages: bool = False):
        raise RuntimeError("something deep inside broke")


@pytest.fixture(autouse=True)
def toy_models(monkeypatch):
    monkeypatch.setitem(MODELS, "toy", ToyModel)
    monkeypatch.setitem(MODELS, "broken", BrokenModel)


@pytest.fixture
def stereo16(tmp_path):
    rng = np.random.default_rng(0)
    data = (rng.uniform(-0.5, 0.5, (round(0.2 * FS), 2)) * 32768).astype(np.int16)
    data[0] = (-32768, 1000)
    path = tmp_path / "stereo16.wav"
    soundfile.write(path, data, FS, subtype="PCM_16")
    return path, data


@pytest.fixture
def mono_float(tmp_path):
    t = np.arange(round(0.2 * FS)) / FS
    data = 0.1 * np.sin(2 * np.pi * 1000 * t)
    path = tmp_path / "mono_float.wav"
    soundfile.write(path, data, FS, subtype="FLOAT")
    return path, data.astype(np.float32).astype(np.float64)


def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("torch-amt: ")
    return lines[0]


def test_models_lists_every_model(capsys):
    assert cli.main(["models"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "toy: a stand-in for tests" in lines
    assert len(lines) == len(MODELS)


@pytest.mark.parametrize("argv, expected", [
    (["run", "nosuchmodel"], "unknown model 'nosuchmodel'; available: "),
    (["run", "toy", "{missing}"], "audio file not found: "),
    (["run", "toy", "{junk}"], "cannot read audio from "),
    (["run", "toy", "{stereo}", "--channel", "5"], "channel 5 does not exist in "),
    (["run", "toy", "{stereo}", "--channel", "left"], "argument --channel: must be 'mix'"),
    (["run", "toy", "{stereo}", "--fs", "4000"], "toy(fs=4000): fs must be at least 8000 Hz"),
    (["run", "toy", "--fs", "-3"], "argument --fs: must be a positive sampling rate"),
    (["run", "toy", "--dtype", "float16"], "argument --dtype: invalid choice"),
    (["run", "toy", "--level-db", "60", "--dboffset", "90"], "not allowed with argument"),
    (["run", "toy", "--dboffset", "90"], "--dboffset describes the level convention of input"),
    (["run", "toy", "{silent}", "--level-db", "60"], "silent signal"),
    (["run"], "the following arguments are required: MODEL"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run", "toy", "--bogus"], "unrecognized arguments: --bogus"),
    (["bench"], "invalid choice: 'bench'"),
])
def test_usage_errors_are_one_line(argv, expected, capsys, tmp_path, stereo16):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF not really a wave file")
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(100), FS)
    paths = {"missing": tmp_path / "missing.wav", "junk": junk, "stereo": stereo16[0],
             "silent": silent}
    argv = [a.format(**paths) for a in argv]
    assert cli.main(argv) == 2
    line = _error_line(capsys)
    assert line.startswith("torch-amt: error: ")
    assert expected in line
    if "{" in " ".join(argv):
        pytest.fail("unformatted argument")


def test_path_is_named_in_file_errors(capsys, tmp_path):
    missing = tmp_path / "missing.wav"
    assert cli.main(["run", "toy", str(missing)]) == 2
    assert str(missing) in _error_line(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without CUDA")
def test_cuda_unavailable_is_a_usage_error(capsys):
    assert cli.main(["run", "toy", "--device", "cuda"]) == 2
    assert "CUDA is not available" in _error_line(capsys)


def test_unexpected_errors_one_line_with_debug_hint(capsys):
    assert cli.main(["run", "broken", "--fs", "8000"]) == 1
    line = _error_line(capsys)
    assert "RuntimeError: something deep inside broke" in line
    assert "rerun with --debug" in line
    with pytest.raises(RuntimeError, match="deep inside"):
        cli.main(["run", "broken", "--fs", "8000", "--debug"])
    with pytest.raises(RuntimeError, match="deep inside"):
        cli.main(["--debug", "run", "broken", "--fs", "8000"])


def test_run_pcm16_stereo(stereo16, tmp_path, capsys):
    path, data = stereo16
    out, png = tmp_path / "res.npz", tmp_path / "fig.png"
    argv = ["run", "toy", str(path), "--channel", "1", "--out", str(out), "--plot", str(png),
            "--dtype", "float64", "--stages"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "stereo16.wav: toy at 16000 Hz" in captured.out and str(out) in captured.out
    assert captured.err == ""  # no resampling, no progress bar off a terminal
    assert png.stat().st_size > 10_000
    res = np.load(out)
    x = data[:, 1] / 32768.0
    assert np.array_equal(res["input"], x)
    assert res["out"].shape == (4, 3, len(x) // 2) and res["out"].dtype == np.float64
    assert res["out_mask"].tolist() == [[True, True, False]] * 2 + [[True] * 3] * 2
    assert np.array_equal(res["out"][2, 1], 2 * 3 * np.abs(x[::2]))  # gain 3, filter 2
    assert np.all(res["out"][0, 2] == 0)
    assert np.isnan(res["mfc"][0, 2]) and res["mfc"][3].tolist() == [0.0, 5.0, 10.0]
    assert res["fc"].tolist() == [250.0, 500.0, 1000.0, 2000.0]
    assert float(res["fs"]) == FS and float(res["output_fs"]) == FS / 2
    assert float(res["dboffset"]) == 100.0 and str(res["model"]) == "toy"
    assert float(res["level_db"]) == pytest.approx(20 * np.log10(np.sqrt(np.mean(x**2))) + 100)
    assert res["stage_afb"].shape == (4, len(x))
    params = json.loads(str(res["parameters"]))
    assert params["fs"] == FS and params["dboffset"] == 100.0
    prov = json.loads(str(res["provenance"]))
    assert prov["torch_amt_version"] == torch_amt.__version__
    assert prov["input_file"] == str(path.resolve()) and prov["input_fs"] == FS
    assert prov["command"].startswith("torch-amt run toy ") and "--channel 1" in prov["command"]
    assert prov["resampled"] is False and prov["channel"] == 1 and prov["date"]


def test_run_float_mono_with_levels_and_resampling(mono_float, tmp_path, capsys):
    path, x = mono_float
    out = tmp_path / "a.npz"
    assert cli.main(["run", "toy", str(path), "--dboffset", "80", "--out", str(out)]) == 0
    res = np.load(out)
    assert np.allclose(res["input"], x * 10 ** ((80 - 100) / 20), rtol=1e-12, atol=0)
    assert res["out"].dtype == np.float32
    assert json.loads(str(res["provenance"]))["level_option"] == {"dboffset": 80.0}
    capsys.readouterr()

    assert cli.main(["run", "toy", str(path), "--level-db", "55", "--fs", "8000",
                     "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.strip() == f"torch-amt: note: resampled {path} from 16000 Hz to 8000 Hz"
    res = np.load(out)
    assert res["input"].shape == (len(x) // 2,) and float(res["fs"]) == 8000
    assert dbspl(torch.from_numpy(res["input"]), 100.0).item() == pytest.approx(55.0)
    assert json.loads(str(res["provenance"]))["resampled"] is True


def test_run_several_files_names_outputs(stereo16, mono_float, tmp_path, capsys):
    files = [str(stereo16[0]), str(mono_float[0])]
    outdir, plots = tmp_path / "npz", tmp_path / "pics" / "run.png"
    assert cli.main(["run", "toy", *files, "--out", str(outdir), "--plot", str(plots)]) == 0
    assert sorted(p.name for p in outdir.iterdir()) == ["mono_float.npz", "stereo16.npz"]
    assert sorted(p.name for p in plots.parent.iterdir()) == ["run_mono_float.png",
                                                               "run_stereo16.png"]
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    assert cli.main(["run", "toy", files[1], "--out", str(outdir), "--plot",
                     f"{tmp_path / 'single'}/"]) == 0
    assert (tmp_path / "single" / "mono_float.png").stat().st_size > 0
    assert (outdir / "mono_float.npz").stat().st_mtime >= (outdir / "stereo16.npz").stat().st_mtime


def test_run_demo_sound(tmp_path, capsys):
    out = tmp_path / "demo.npz"
    assert cli.main(["run", "toy", "--fs", "8000", "--level-db", "70", "--out", str(out)]) == 0
    res = np.load(out)
    assert res["input"].shape == (8000,)  # 1 s demo
    assert json.loads(str(res["provenance"]))["input_file"] == "demo"
    steady = torch.from_numpy(res["input"][800:3800])  # 3 periods of the 8-Hz modulated tone
    assert dbspl(steady, 100.0).item() == pytest.approx(70.0, abs=0.1)


def test_validate_errors(monkeypatch, capsys, tmp_path):
    (tmp_path / "x.mat").write_bytes(b"")
    assert cli.main(["validate", "--reference", str(tmp_path / "nowhere")]) == 2
    assert "no AMT reference .mat files in" in _error_line(capsys)
    monkeypatch.delenv("AMT_REFERENCE_DIR", raising=False)
    assert cli.main(["validate"]) == 2
    assert "validate needs --reference DIR" in _error_line(capsys)


def test_validate_forwards_arguments_and_reports_failure(monkeypatch, capsys, tmp_path):
    (tmp_path / "x.mat").write_bytes(b"")
    calls = []

    def fake_main(argv):
        calls.append(argv)
        return 1

    fake = type(sys)("torch_amt.validation.__main__")
    fake.main = fake_main
    monkeypatch.setitem(sys.modules, "torch_amt.validation.__main__", fake)
    argv = ["validate", "--reference", str(tmp_path), "--report", "r.md", "--only", "ihc"]
    assert cli.main(argv) == 1
    assert calls == [["--reference", str(tmp_path), "--report", "r.md", "--only", "ihc"]]
    assert "validation failed" in _error_line(capsys)


def test_validate_runs_the_harness(amt_reference_dir, tmp_path, capsys):
    report = tmp_path / "report.md"
    assert cli.main(["validate", "--reference", str(amt_reference_dir), "--only",
                     "ihcenvelope__silence_fs44k", "--report", str(report)]) == 0
    assert "0 failed" in capsys.readouterr().out
    assert report.stat().st_size > 0


def test_python_dash_m_reports_one_line():
    proc = subprocess.run([sys.executable, "-m", "torch_amt", "run", "nosuchmodel"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("torch-amt: error: unknown model 'nosuchmodel'")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_model_options_and_files_after_options(mono_float, tmp_path, capsys, monkeypatch):
    path, _ = mono_float
    out = tmp_path / "o.npz"
    assert cli.main(["run", "toy", "-p", "dboffset=90", str(path), "--out", str(out)]) == 0
    res = np.load(out)
    assert float(res["dboffset"]) == 90.0
    assert json.loads(str(res["provenance"]))["model_options"] == {"dboffset": 90}
    assert cli.main(["run", "toy", "-p", "colour=blue", str(path)]) == 2
    assert "toy(fs=16000, colour='blue'): " in _error_line(capsys)
    assert cli.main(["run", "toy", "-p", "fs=3", str(path)]) == 2
    assert "use --fs instead" in _error_line(capsys)
    assert cli.main(["run", "toy", "-p", "nokey", str(path)]) == 2
    assert "argument -p/--param: must be KEY=VALUE" in _error_line(capsys)
    monkeypatch.setitem(cli.MODEL_DEFAULTS, "toy", {"dboffset": 80.0})
    assert cli.main(["run", "toy", str(path), "--out", str(out)]) == 0
    assert float(np.load(out)["dboffset"]) == 80.0


# ---------------------------------------------------------------- the real models, end to end

REAL_OPTIONS = {"dau1996": {}, "dau1997": {}, "jepsen2008": {"fhigh": 7000.0},
                "king2019": {"basef": 1000.0}, "osses2021": {}, "breebaart2001": {},
                "relanoiborra2019": {"fcnt": 6, "internal_noise": False},
                "paulick2024": {"flow": 500.0, "fhigh": 4000.0, "naud": 8}}


def test_real_models_are_listed(capsys):
    assert cli.main(["models"]) == 0
    names = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]
    assert set(REAL_OPTIONS) <= set(names)


@pytest.mark.parametrize("name", sorted(REAL_OPTIONS))
def test_run_real_model_end_to_end(name, stereo16, tmp_path, capsys):
    path, data = stereo16
    out, png = tmp_path / "r.npz", tmp_path / "r.png"
    options = [f"{k}={v}" for k, v in REAL_OPTIONS[name].items()]
    argv = ["run", name, str(path), "--dtype", "float64", "--out", str(out), "--plot", str(png),
            *[a for o in options for a in ("-p", o)]]
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert png.stat().st_size > 20_000
    model = MODELS[name](fs=FS, dtype=torch.float64, **REAL_OPTIONS[name])
    # a binaural model reads (left, right), the others the mean of the channels
    x = torch.from_numpy((data.T if model.binaural else data.mean(1)) / 32768.0)
    expected = model(x)
    res = np.load(out)
    assert np.array_equal(res["input"], x.numpy())
    assert np.array_equal(res["fc"], model.fc.numpy())
    assert float(res["output_fs"]) == model.output_fs and float(res["dboffset"]) == model.dboffset
    if isinstance(expected, list):
        assert res["out_mask"].sum(1).tolist() == [c.shape[0] for c in expected]
        for f, channel in enumerate(expected):
            m = channel.shape[0]
            assert np.allclose(res["out"][f, :m], channel.numpy(), rtol=1e-12, atol=1e-12)
            assert np.array_equal(res["mfc"][f, :m], model.mfc[f].numpy())
    else:
        assert res["out_mask"].all()
        assert np.allclose(res["out"], expected.numpy(), rtol=1e-12, atol=1e-12)


def test_real_model_sample_rate_error_is_one_line(mono_float, capsys):
    assert cli.main(["run", "dau1997", str(mono_float[0]), "--fs", "100"]) == 2
    assert _error_line(capsys).startswith("torch-amt: error: dau1997(fs=100)")


def test_out_name_must_be_npz_and_plot_format_known_before_running(tmp_path, capsys,
                                                                   monkeypatch):
    ran = []
    monkeypatch.setattr(ToyModel, "forward", lambda self, x, return_stages=False:
                        ran.append(1))
    assert cli.main(["run", "toy", "--fs", "8000", "--out", str(tmp_path / "x.txt")]) == 2
    assert "results are written as .npz" in _error_line(capsys)
    assert cli.main(["run", "toy", "--fs", "8000", "--plot", str(tmp_path / "x.bogus")]) == 2
    assert "unknown image format '.bogus'" in _error_line(capsys)
    assert not ran and not list(tmp_path.iterdir())


def test_nan_file_error_names_the_file(tmp_path, capsys):
    path = tmp_path / "nan.wav"
    data = np.zeros(800)
    data[10] = np.nan
    soundfile.write(path, data, FS, subtype="FLOAT")
    assert cli.main(["run", "toy", str(path)]) == 2
    line = _error_line(capsys)
    assert str(path) in line and "NaN" in line


def test_antiphase_stereo_mixdown_is_announced(tmp_path, capsys):
    t = np.arange(1600) / FS
    tone = 0.3 * np.sin(2 * np.pi * 500 * t)
    path = tmp_path / "antiphase.wav"
    soundfile.write(path, np.stack([tone, -tone], 1), FS, subtype="FLOAT")
    cli.main(["run", "toy", str(path), "--level-db", "60"])
    assert "the channels cancel" in capsys.readouterr().err
    soundfile.write(path, np.stack([tone, tone], 1), FS, subtype="FLOAT")
    assert cli.main(["run", "toy", str(path)]) == 0
    assert "cancel" not in capsys.readouterr().err
