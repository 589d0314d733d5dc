"""The ``torch-amt`` command (also ``python -m torch_amt``).

Subcommands
-----------
``torch-amt run MODEL [AUDIO ...]``
    Run a model on sound files, or on the built-in demo sound (:func:`torch_amt.io.demo_sound`)
    when no file is given; save the outputs (``--out``, ``.npz``) and the standard figure
    (``--plot``, :func:`torch_amt.plot.plot_model`).
``torch-amt run MODEL DIR_OR_GLOB... --out STORE.zarr [--workers N | --scheduler ADDRESS]``
    Run a model over a corpus on Dask into one Zarr store (:mod:`torch_amt.corpus`): one
    task per file, resumable, failures reported per file; long files chunk by chunk.
``torch-amt models``
    List the models.
``torch-amt validate``
    Compare torch_amt with AMT reference files (:mod:`torch_amt.validation`).
``torch-amt experiment NAME [--runs N] [--quick] [--seed S] [--json F] [--plot F]``
    Run a psychoacoustic experiment with a model as the listener
    (:mod:`torch_amt.experiments`, e.g. ``breebaart2001_fig3``, ``am_detection``).

Model options: ``-p KEY=VALUE`` (repeatable) passes a keyword argument to the model's
constructor, e.g. ``-p fhigh=7000`` (a lower top channel) or ``-p basef=2000``;
:data:`MODEL_DEFAULTS` holds the command's own defaults (king2019: ``basef`` = 1000 Hz).

Binaural models (``breebaart2001``): a stereo file is read as (left, right); a mono file
(and the demo sound) is presented diotically, the same signal to both ears (a note says
so); ``--channel`` and files of more than two channels are refused.

Levels: without an option, a file's samples are taken in the model's convention (an rms
of 1 is the model's ``dboffset`` dB SPL, e.g. 100 dB for dau1997). ``--dboffset DB`` says
the file uses another convention (rms 1 = DB dB SPL) and rescales it, keeping its
physical level; ``--level-db SPL`` sets its rms level instead.

Output names: ``--out``/``--plot`` naming an existing directory or ending in ``/`` is a
directory that receives ``<stem>.npz``/``<stem>.png`` (``demo.*`` for the demo). With
several input files, a name without a suffix is such a directory too, and otherwise the
input's stem is appended to the given name (``res.npz`` -> ``res_<stem>.npz``); with one
input a file name is used as given.

Exit status: 0 on success, 2 for an error a person can fix (missing or unreadable file,
unknown model, sample rate the model cannot use, bad option), 1 for a failed validation
and for unexpected errors (rerun with ``--debug`` for the traceback).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import math
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import torch_amt
from torch_amt.io import apply_level, demo_sound, read_input
from torch_amt.levels import dbspl
from torch_amt.xr import model_parameters

__all__ = ["UsageError", "main"]

PROG = "torch-amt"
DEMO_FS = 44100.0
DEMO_DURATION = 1.0
DEMO_LEVEL_DB = 65.0
MODEL_DEFAULTS: dict[str, dict[str, object]] = {"king2019": {"basef": 1000.0}}
"""Options ``run`` passes to a model unless ``-p`` overrides them: king2019 analyses ±2 ERB
around ``basef`` and has no default of its own; 1 kHz is the demo sound's carrier."""


class UsageError(Exception):
    """An error the user can fix: reported as one line, exit status 2."""


class _Failure(Exception):
    """A check that ran and failed (validation): one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are exceptions (one line, no usage dump)."""

    def error(self, message: str):
        raise UsageError(message)


def _channel(value: str) -> str | int:
    if value == "mix":
        return value
    try:
        index = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'mix' or a channel index (0, 1, ...), got {value!r}") from None
    if index < 0:
        raise argparse.ArgumentTypeError(f"channel index must be >= 0, got {index}")
    return index


def _positive_float(what: str):
    """An argparse type: a finite number > 0, described as ``what`` in the messages."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value!r}") from None
        if not math.isfinite(number) or number <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive {what[2:]}, got {value}")
        return number

    return parse


_positive_hz = _positive_float("a sampling rate in Hz")
_positive_seconds = _positive_float("a duration in s")


def _model_option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE (e.g. fhigh=7000), got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {number}")
    return number


def _finite(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in dB, got {value!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"must be a finite number in dB, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``torch-amt`` (exposed for documentation tools)."""
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of errors")
    parser = _Parser(prog=PROG, parents=[common], description=(
        "Auditory models of the Auditory Modeling Toolbox (AMT) in PyTorch: run them on "
        "sound files, list them, validate them against AMT, benchmark them."))
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {torch_amt.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run a model on sound files or a demo",
                         description="Run a model on sound files (WAV, FLAC, ...) or, without "
                         "files, on the built-in demo sound (an 8-Hz amplitude-modulated "
                         "1-kHz tone and a noise burst).")
    run.add_argument("model", metavar="MODEL", help="model name (see `torch-amt models`)")
    run.add_argument("audio", metavar="AUDIO", nargs="*", default=[], help="sound files")
    run.add_argument("--fs", type=_positive_hz, metavar="HZ",
                     help="sampling rate for the model (Hz); files at another rate are "
                     f"resampled; default: the file's rate, {DEMO_FS:g} for the demo")
    run.add_argument("--channel", type=_channel, default="mix", metavar="mix|N",
                     help="channel of multichannel files: 'mix' (mean, default) or index N")
    level = run.add_mutually_exclusive_group()
    level.add_argument("--level-db", type=_finite, metavar="SPL",
                       help="scale each signal to this rms level in dB SPL")
    level.add_argument("--dboffset", type=_finite, metavar="DB",
                       help="level convention of the files: an rms of 1 is DB dB SPL "
                       "(default: the model's own)")
    run.add_argument("-p", "--param", type=_model_option, action="append", default=[],
                     metavar="KEY=VALUE", help="model option passed to the model's constructor "
                     "(repeatable; VALUE a Python literal or a word), e.g. -p fhigh=7000")
    run.add_argument("--out", metavar="FILE.npz|STORE.zarr",
                     help="save outputs, fc, mfc, parameters and provenance; a name ending "
                     "in .zarr runs the files on a Dask cluster into one Zarr store (one group "
                     "per file, resumable; see torch_amt.corpus)")
    cluster = run.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=_positive_int, metavar="N",
                         help="with --out STORE.zarr: local Dask worker processes (default: "
                         "the number of CPU cores)")
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="with --out STORE.zarr: run on this Dask scheduler "
                         "(e.g. tcp://host:8786) instead of a local cluster")
    run.add_argument("--chunk-seconds", type=_positive_seconds, default=2.0, metavar="S",
                     help="with --out STORE.zarr: files longer than S seconds are processed "
                     "chunk by chunk (bounded memory) by models that can stream (default 2)")
    run.add_argument("--plot", metavar="FILE.png", help="save the standard figure")
    run.add_argument("--stages", action="store_true",
                     help="also save every intermediate stage in the .npz (stage_<name>)")
    run.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                     help="where the model runs (default cpu)")
    run.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                     help="precision of the model (default float32; float64 is the precision "
                     "validated against AMT)")
    run.set_defaults(func=_cmd_run)

    models = sub.add_parser("models", parents=[common], help="list the models")
    models.set_defaults(func=_cmd_models)

    validate = sub.add_parser("validate", parents=[common],
                              help="compare torch_amt with AMT reference files",
                              description="Run the validation harness "
                              "(`python -m torch_amt.validation`).")
    validate.add_argument("--reference", metavar="DIR",
                          default=os.environ.get("AMT_REFERENCE_DIR"),
                          help="directory of AMT reference .mat files (default: "
                          "$AMT_REFERENCE_DIR)")
    validate.add_argument("--json", metavar="F", help="write the results as JSON")
    validate.add_argument("--report", metavar="F", help="write a markdown report")
    validate.add_argument("--dtype", choices=("float64", "float32"),
                          help="precision of the torch_amt computations (default float64)")
    validate.add_argument("--only", metavar="PATTERN",
                          help="only reference files matching this glob (no wildcard: substring)")
    validate.set_defaults(func=_cmd_validate)

    from torch_amt.experiments.registry import EXPERIMENTS

    experiment = sub.add_parser("experiment", parents=[common],
                                help="run a psychoacoustic experiment with a model listener")
    experiment.add_argument("name", choices=sorted(EXPERIMENTS), help="experiment")
    experiment.add_argument("--runs", type=int, help="runs per condition")
    experiment.add_argument("--quick", action="store_true",
                            help="the CI-sized variant (minutes on 2 cores)")
    experiment.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    experiment.add_argument("--json", metavar="F", help="write the results as JSON")
    experiment.add_argument("--plot", metavar="F", help="save the figure (.png)")
    experiment.set_defaults(func=_cmd_experiment)

    return parser


# --------------------------------------------------------------------------- models


def _models() -> dict:
    from torch_amt.models import MODELS

    return MODELS


def _cmd_models(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    for name, cls in _models().items():
        print(f"{name}: {cls.description}")
    return 0


# --------------------------------------------------------------------------- run


@dataclass
class _Input:
    """One signal to run: where it came from and how it was prepared."""

    label: str
    stem: str
    x: torch.Tensor
    fs: float
    file_fs: float
    resampled: bool


def _output_path(option: str | None, stem: str, suffix: str, several: bool) -> Path | None:
    """Where the result of input ``stem`` goes (see the module docstring)."""
    if option is None:
        return None
    path = Path(option)
    if path.is_dir() or option.endswith(("/", os.sep)) or (several and path.suffix == ""):
        return path / f"{stem}{suffix}"
    if not several:
        return path
    return path.with_name(f"{path.stem}_{stem}{path.suffix}")


def _check_output_options(args: argparse.Namespace) -> None:
    """Refuse ``--out``/``--plot`` names that would be written elsewhere or in no known
    format, before any model runs."""
    several = len(args.audio) > 1
    out = _output_path(args.out, "x", ".npz", several)
    if out is not None and out.suffix != ".npz":
        raise UsageError(f"--out {args.out}: results are written as .npz; give a name ending "
                         "in .npz or a directory")
    plot = _output_path(args.plot, "x", ".png", several)
    if plot is not None:
        from matplotlib.figure import Figure

        formats = Figure().canvas.get_supported_filetypes()
        if plot.suffix.lstrip(".").lower() not in formats:
            raise UsageError(f"--plot {args.plot}: unknown image format {plot.suffix!r}; use "
                             f"one of {', '.join('.' + f for f in sorted(formats))}")


def _binaural_input(path: str, x: torch.Tensor, model: str, note) -> torch.Tensor:
    """A file's channels ``(C, T)`` as the ``(2, T)`` input of a binaural model."""
    if x.shape[0] == 1:
        note(f"{path} is mono: {model} is binaural, the signal is presented diotically "
             "(the same to both ears)")
        return x.expand(2, -1).clone()
    if x.shape[0] != 2:
        raise UsageError(f"{path} has {x.shape[0]} channels; {model} is binaural and reads a "
                         "stereo (left, right) or mono file")
    return x


def _read_inputs(args: argparse.Namespace, note, binaural: bool = False) -> list[_Input]:
    if binaural and args.channel != "mix":
        raise UsageError(f"--channel: {args.model} is binaural and reads both channels of a "
                         "stereo file (a mono file is presented to both ears)")
    if not args.audio:
        fs = args.fs or DEMO_FS
        return [_Input("demo", "demo", torch.empty(0), fs, fs, False)]
    inputs = []
    for path in args.audio:
        try:
            x, fs, file_fs, notes = read_input(
                path, fs=args.fs, channel="all" if binaural else args.channel)
        except (FileNotFoundError, ValueError) as err:
            raise UsageError(str(err)) from err
        if binaural:
            x = _binaural_input(path, x, args.model, note)
        for message in notes:
            note(f"{message} with --channel N" if message.endswith("choose one channel")
                 else message)
        inputs.append(_Input(path, Path(path).stem, x, fs, file_fs, fs != file_fs))
    return inputs


def _model_class(name: str):
    models = _models()
    if name not in models:
        raise UsageError(f"unknown model {name!r}; available: {', '.join(models)} "
                         f"(see `{PROG} models`)")
    return models[name]


def _model_options(name: str, params: Sequence[tuple[str, object]]) -> dict:
    """:data:`MODEL_DEFAULTS` of the model updated with the ``-p KEY=VALUE`` options."""
    options = dict(MODEL_DEFAULTS.get(name, {}))
    options.update(params)
    for key in ("fs", "dtype"):
        if key in options:
            raise UsageError(f"-p {key}=...: use --{key} instead")
    return options


def _make_model(name: str, fs: float, dtype: torch.dtype, device: str,
                options: dict) -> torch.nn.Module:
    try:
        model = _model_class(name)(fs=fs, dtype=dtype, **options)
    except (ValueError, TypeError) as err:
        given = "".join(f", {k}={v!r}" for k, v in options.items())
        raise UsageError(f"{name}(fs={fs:g}{given}): {_one_line(err)}") from err
    return model.to(device)


def _prepare_signal(args: argparse.Namespace, item: _Input, model: torch.nn.Module
                    ) -> torch.Tensor:
    """The model's input: the demo sound (both ears for a binaural model) or the file's
    signal, at the requested level. The level of a binaural signal is that of both ears
    together, set by one gain, so the interaural level differences stay."""
    dboffset = float(model.dboffset)
    try:
        if item.label == "demo":
            level = DEMO_LEVEL_DB if args.level_db is None else args.level_db
            x = demo_sound(item.fs, DEMO_DURATION, level_db=level, dboffset=dboffset)
            return torch.stack([x, x]) if getattr(model, "binaural", False) else x
        # one gain for all channels of a signal (a binaural input keeps its level
        # differences between the ears)
        return apply_level(item.x.reshape(1, -1), dboffset, level_db=args.level_db,
                           dboffset=args.dboffset).reshape(item.x.shape)
    except ValueError as err:
        raise UsageError(f"{item.label}: {err}") from err


def _save_npz(path: Path, item: _Input, x: torch.Tensor, stages: dict, model: torch.nn.Module,
              args: argparse.Namespace, argv: Sequence[str], level_db: float) -> None:
    from torch_amt.plot import modulation_array

    out = stages["out"]
    if getattr(model, "output_kind", None) in ("fct", "loudness"):  # no modulation axis
        values = _array(out[0])
        mfc, mask = np.zeros((values.shape[0], 0)), np.ones((values.shape[0], 0), dtype=bool)
    else:
        values, mfc, mask = modulation_array(out, model.mfc, batch=0)
    provenance = {
        "torch_amt_version": torch_amt.__version__,
        "torch_version": torch.__version__,
        "model": args.model,
        "model_class": type(model).__name__,
        "model_options": _model_options(args.model, args.param),
        "input_file": os.path.abspath(item.label) if item.label != "demo" else "demo",
        "input_fs": item.file_fs,
        "fs": item.fs,
        "resampled": item.resampled,
        "channel": args.channel,
        "level_db": level_db,
        "level_option": ({"level_db": args.level_db} if args.level_db is not None
                         else {"dboffset": args.dboffset} if args.dboffset is not None
                         else None),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([PROG, *argv]),
        "device": args.device,
        "dtype": args.dtype,
    }
    arrays = {
        "out": values.astype(np.float32 if args.dtype == "float32" else np.float64),
        "out_mask": mask,
        "fc": _array(model.fc),
        "mfc": mfc,
        "input": _array(x),
        "fs": np.float64(item.fs),
        "output_fs": np.float64(model.output_fs),
        "dboffset": np.float64(model.dboffset),
        "level_db": np.float64(level_db),
        "model": np.str_(args.model),
        "output_kind": np.str_(model.output_kind),
        "parameters": np.str_(json.dumps(model_parameters(model), default=str)),
        "provenance": np.str_(json.dumps(provenance, default=str)),
    }
    if args.stages:
        for name, value in stages.items():
            if name != "out" and isinstance(value, torch.Tensor):
                arrays[f"stage_{name}"] = _array(value[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


def _array(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _save_plot(path: Path, stages: dict, model: torch.nn.Module, x: torch.Tensor,
               title: str) -> None:
    from matplotlib.figure import Figure

    from torch_amt.plot import plot_model

    fig = Figure(figsize=(13, 10), layout="constrained")
    plot_model(stages, model, x=x.unsqueeze(0), fig=fig, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def _is_corpus_run(args: argparse.Namespace) -> bool:
    return (args.out is not None and args.out.rstrip("/" + os.sep).endswith(".zarr")) or \
        args.workers is not None or args.scheduler is not None


def _cmd_corpus(args: argparse.Namespace) -> int:
    """``run MODEL DIR_OR_GLOB... --out STORE.zarr``: :func:`torch_amt.corpus.process`."""
    if args.out is None or not args.out.rstrip("/" + os.sep).endswith(".zarr"):
        raise UsageError("--workers/--scheduler run files into a Zarr store: give "
                         "--out STORE.zarr")
    for option, given in (("--plot", args.plot is not None), ("--stages", args.stages),
                          ("--device cuda", args.device != "cpu")):
        if given:
            raise UsageError(f"{option} is not available with --out STORE.zarr")
    if not args.audio:
        raise UsageError("--out STORE.zarr needs sound files, directories or glob patterns")
    try:
        from torch_amt import corpus
    except ImportError as err:
        raise UsageError(f"--out STORE.zarr needs the corpus extra (pip install "
                         f"'torch_amt[corpus]'): {err}") from err
    options = _model_options(args.model, args.param)
    if args.fs is not None:
        _make_model(args.model, args.fs, getattr(torch, args.dtype), "cpu", options)
    try:
        result = corpus.process(args.audio, args.model, store=args.out, client=args.scheduler,
                                workers=args.workers, fs=args.fs, channel=args.channel,
                                level_db=args.level_db, dboffset=args.dboffset,
                                dtype=args.dtype, chunk_seconds=args.chunk_seconds, **options)
    except (FileNotFoundError, ValueError) as err:
        raise UsageError(str(err)) from err
    for path, notes in result.notes.items():
        for message in notes:
            print(f"{PROG}: note: {path}: {message}", file=sys.stderr)
    print(f"{args.out}: {len(result.done)} file(s) done, {len(result.skipped)} already "
          f"complete, {len(result.failed)} failed")
    if result.failed:
        raise _Failure(f"{len(result.failed)} file(s) failed: "
                       + "; ".join(f"{p}: {r}" for p, r in result.failed.items()))
    return 0


def _cmd_run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from tqdm import tqdm

    binaural = bool(getattr(_model_class(args.model), "binaural", False))  # an unknown model
    # fails before any file is read
    if _is_corpus_run(args):
        if binaural:
            raise UsageError(f"--out *.zarr: corpus runs of the binaural {args.model} are not "
                             "supported yet; write .npz files instead")
        return _cmd_corpus(args)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: CUDA is not available on this machine")
    if not args.audio and args.dboffset is not None:
        raise UsageError("--dboffset describes the level convention of input files; the demo "
                         "sound is made in the model's convention (use --level-db)")
    dtype = getattr(torch, args.dtype)
    options = _model_options(args.model, args.param)
    models: dict[float, torch.nn.Module] = {}

    def model_at(fs: float) -> torch.nn.Module:
        if fs not in models:
            models[fs] = _make_model(args.model, fs, dtype, args.device, options)
        return models[fs]

    _check_output_options(args)
    if args.fs is not None:
        model_at(args.fs)  # a rate the model cannot use fails before any file is read
    bar = tqdm(total=len(args.audio) or 1, desc=PROG, unit="file", disable=None, file=sys.stderr)
    inputs = _read_inputs(args, lambda m: bar.write(f"{PROG}: note: {m}", file=sys.stderr),
                          binaural)
    several = len(inputs) > 1
    for item in inputs:
        model = model_at(item.fs)
        x = _prepare_signal(args, item, model)
        level_db = float(dbspl(x.reshape(-1), float(model.dboffset)))
        with torch.no_grad():
            stages = model(x.to(device=args.device, dtype=dtype).unsqueeze(0),
                           return_stages=True)
        out_path = _output_path(args.out, item.stem, ".npz", several)
        plot_path = _output_path(args.plot, item.stem, ".png", several)
        if out_path is not None:
            _save_npz(out_path, item, x, stages, model, args, argv, level_db)
        if plot_path is not None:
            _save_plot(plot_path, stages, model, x,
                       f"{args.model} — {item.label} ({item.fs:g} Hz, {level_db:.1f} dB SPL)")
        saved = ", ".join(str(p) for p in (out_path, plot_path) if p is not None)
        bar.write(f"{item.label}: {args.model} at {item.fs:g} Hz, {level_db:.1f} dB SPL, "
                  f"{len(model.fc)} channels" + (f" -> {saved}" if saved else ""),
                  file=sys.stdout)
        bar.update(1)
    bar.close()
    return 0


# --------------------------------------------------------------------------- validate


def _cmd_validate(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    if args.reference is None:
        raise UsageError("validate needs --reference DIR (or AMT_REFERENCE_DIR), the directory "
                         "of AMT reference .mat files")
    reference = Path(args.reference)
    if not reference.is_dir() or not any(reference.glob("*.mat")):
        raise UsageError(f"no AMT reference .mat files in {reference}")
    from torch_amt.validation.__main__ import main as validation_main

    forwarded = []
    for option in ("reference", "json", "report", "dtype", "only"):
        value = getattr(args, option)
        if value is not None:
            forwarded += [f"--{option}", str(value)]
    try:
        code = validation_main(forwarded)
    except SystemExit as stop:  # the harness's own argument errors
        raise UsageError(f"the validation harness stopped (status {stop.code})") from stop
    if code:
        raise _Failure("validation failed: some outputs differ from AMT beyond their "
                       "tolerance (see the summary above)")
    return 0


def _cmd_experiment(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from torch_amt.experiments.registry import EXPERIMENTS, run_experiment

    if args.runs is not None and args.runs < 1:
        raise UsageError(f"--runs must be at least 1, got {args.runs}")
    result = run_experiment(args.name, runs=args.runs, quick=args.quick, seed=args.seed)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.plot:
        EXPERIMENTS[args.name][1](result, args.plot)
    for row in result["conditions"]:
        print(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in row.items()))
    print(f"runtime {result.get('runtime_s', float('nan')):.1f} s")
    return 0


# --------------------------------------------------------------------------- main


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; ``run`` takes its files also after options (``run M -p a=1 f.wav``)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "run":
        args.audio += [a for a in extra if not a.startswith("-")]
        extra = [a for a in extra if a.startswith("-")]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``torch-amt``; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for usage errors, 1 for failed checks and unexpected errors.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = _parse(argv)
        return args.func(args, argv)
    except (UsageError, FileNotFoundError) as err:
        if debug:
            raise
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except _Failure as err:
        print(f"{PROG}: {_one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            raise
        print(f"{PROG}: error: {type(err).__name__}: {_one_line(err)} (rerun with --debug "
              "to see the traceback)", file=sys.stderr)
        return 1
