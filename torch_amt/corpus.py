"""Corpus-scale processing: many sound files through a model on a Dask cluster, into Zarr.

:func:`process` runs one model over a list of files, directories or glob patterns, one
Dask task per file, on a :class:`dask.distributed.LocalCluster` it starts (``workers``
processes, one thread each) or on any running Dask scheduler (``client=`` a
:class:`~dask.distributed.Client` or a scheduler address): the same code runs on a
laptop and on a cluster. Each file's output is written to its own group of one Zarr
store, readable with :func:`xarray.open_zarr` (:func:`open_result`): the labelled
dataset of :func:`torch_amt.xr.to_xarray` with the file's provenance in its attributes.

Inputs are read exactly as ``torch-amt run`` reads them (:func:`torch_amt.io.read_input`:
channel mix or one channel, resampling to ``fs``; :func:`torch_amt.io.apply_level`:
``level_db`` or ``dboffset``). Files longer than ``chunk_seconds`` (at the model's rate)
are processed chunk by chunk with :meth:`~torch_amt.models.base.AuditoryModel.stream`
when the model is causal: the file is read block by block
(:func:`torch_amt.io.audio_blocks`) and each chunk's output appended to the store, so
memory is bounded by the chunk, not the recording. (A file that must be resampled is
resampled whole first, as ``resample_poly`` is not causal; a model that cannot stream
processes the file whole.)

Resumable: a group gets its completion marker (attribute ``torch_amt_complete``) after
all its data, with the job's settings (``torch_amt_job``); a rerun with the same settings
skips the complete groups and redoes the others. A file that fails is reported with its
reason and does not stop the others.

Needs the ``corpus`` extra: ``pip install torch_amt[corpus]`` (dask, distributed, zarr,
xarray).
"""

from __future__ import annotations

import datetime
import glob
import json
import math
import os
import sys
import time
import urllib.parse
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import soundfile
import torch

__all__ = ["COMPLETE", "CorpusResult", "Job", "find_audio", "group_names", "open_result",
           "process", "process_file"]

COMPLETE = "torch_amt_complete"
"""Group attribute written last: the group's data are complete."""

JOB = "torch_amt_job"
"""Group attribute: the settings the group was computed with (JSON)."""

TIME_CHUNK_SECONDS = 10.0
"""Duration of one Zarr chunk along time, in seconds of output."""

AUDIO_SUFFIXES = frozenset("." + name.lower() for name in soundfile.available_formats())
"""File suffixes taken from a directory (the formats libsndfile reads)."""


@dataclass(frozen=True)
class Job:
    """The settings of a corpus run, shared by every file (sent to the workers).

    Attributes
    ----------
    model : str
        Model name (a key of :data:`torch_amt.models.MODELS`).
    options : tuple of (str, value)
        Keyword arguments of the model's constructor.
    store : str
        Path of the Zarr store.
    fs : float or None
        Rate of the model in Hz (files at another rate are resampled); None: each file's.
    channel : 'mix' or int
        Channel of multichannel files.
    level_db, dboffset : float or None
        Level handling (at most one): rms level in dB SPL, or the files' convention.
    dtype : {'float32', 'float64'}
        Precision of the model.
    chunk_seconds : float or None
        Files longer than this are streamed in chunks of this duration; None: never.
    """

    model: str
    options: tuple = ()
    store: str = "out.zarr"
    fs: float | None = None
    channel: str | int = "mix"
    level_db: float | None = None
    dboffset: float | None = None
    dtype: str = "float32"
    chunk_seconds: float | None = 2.0

    def signature(self) -> str:
        """The settings that determine a file's result, as JSON (the store excluded)."""
        settings = asdict(self)
        settings.pop("store")
        settings["options"] = dict(self.options)
        return json.dumps(settings, sort_keys=True, default=str)


@dataclass
class CorpusResult:
    """What :func:`process` did.

    Attributes
    ----------
    store : str
        The Zarr store.
    done, skipped : list of str
        Files processed now / already complete in the store.
    failed : dict of str to str
        Files that failed, with the reason.
    groups : dict of str to str
        The store group of every file.
    notes : dict of str to list of str
        Remarks per file (resampling, mixdown, streaming).
    """

    store: str
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether no file failed."""
        return not self.failed


# --------------------------------------------------------------------------- inputs


def find_audio(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """The sound files named by ``paths``: files, directories (searched recursively for
    the formats libsndfile reads) and glob patterns (``**`` recursive).

    Returns
    -------
    list of str
        Sorted, without duplicates.

    Raises
    ------
    FileNotFoundError
        If a path does not exist or a pattern matches nothing.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    found: set[str] = set()
    for item in map(os.fspath, paths):
        if os.path.isdir(item):
            for root, _, names in os.walk(item):
                found.update(os.path.join(root, n) for n in names
                             if os.path.splitext(n)[1].lower() in AUDIO_SUFFIXES)
        elif os.path.exists(item):
            found.add(item)
        elif glob.has_magic(item):
            matches = [p for p in glob.glob(item, recursive=True) if os.path.isfile(p)]
            if not matches:
                raise FileNotFoundError(f"no file matches {item!r}")
            found.update(matches)
        else:
            raise FileNotFoundError(f"audio file or directory not found: {item}")
    return sorted(found)


def group_names(files: Sequence[str]) -> dict[str, str]:
    """The Zarr group of each file: its path relative to the files' common directory,
    percent-encoded (``/`` becomes ``%2F``) so that every file is one group of the root."""
    if not files:
        return {}
    absolute = [os.path.abspath(f) for f in files]
    root = os.path.commonpath([os.path.dirname(p) for p in absolute])
    names = {f: urllib.parse.quote(os.path.relpath(p, root).replace(os.sep, "/"),
                                   safe="._-+=,@")
             for f, p in zip(files, absolute, strict=True)}
    if len(set(names.values())) != len(names):
        raise ValueError("two inputs map to the same store group (the same file given twice "
                         "under different names?)")
    return names


# --------------------------------------------------------------------------- one file

_MODELS: dict[tuple[str, float], Any] = {}


def _single_thread() -> None:
    """One thread per worker: torch and numba (a worker is one core)."""
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def _model(job: Job, fs: float):
    """The job's model at ``fs`` (built once per worker process)."""
    key = (job.signature(), float(fs))
    if key not in _MODELS:
        from torch_amt.models import MODELS

        if job.model not in MODELS:
            raise ValueError(f"unknown model {job.model!r}; available: {', '.join(MODELS)}")
        model = MODELS[job.model](fs=fs, dtype=getattr(torch, job.dtype), **dict(job.options))
        _MODELS[key] = model.eval()
    return _MODELS[key]


def _unbatch(out):
    return [o[0] for o in out] if isinstance(out, list | tuple) else out[0]


def _encoding(ds, time_chunk: int) -> dict:
    var = ds["out"]
    chunks = tuple(min(n, time_chunk) if d == "time" else n
                   for d, n in zip(var.dims, var.shape, strict=True))
    return {"out": {"chunks": chunks}}


def _is_complete(store: str, key: str, signature: str) -> bool:
    import zarr

    try:
        group = zarr.open_group(store, path=key, mode="r")
    except (FileNotFoundError, KeyError, ValueError):
        return False
    return bool(group.attrs.get(COMPLETE)) and group.attrs.get(JOB) == signature


def _mark_complete(store: str, key: str) -> None:
    import zarr

    zarr.open_group(store, path=key, mode="r+").attrs[COMPLETE] = True


def _file_attrs(job: Job, path: str, fs: float, file_fs: float, level_db: float,
                notes: list[str], streamed: bool) -> dict[str, Any]:
    return {
        "input_file": os.path.abspath(path),
        "input_fs": file_fs,
        "resampled": fs != file_fs,
        "channel": str(job.channel),
        "level_db": level_db,
        "level_option": json.dumps({"level_db": job.level_db} if job.level_db is not None
                                   else {"dboffset": job.dboffset}
                                   if job.dboffset is not None else None),
        "model_options": json.dumps(dict(job.options), default=str),
        "dtype": job.dtype,
        "streamed": streamed,
        "notes": json.dumps(notes),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        JOB: job.signature(),
    }


def _write_whole(job: Job, path: str, key: str, notes: list[str]) -> None:
    from torch_amt.io import apply_level, read_input
    from torch_amt.levels import dbspl
    from torch_amt.xr import to_xarray

    x, fs, file_fs, read_notes = read_input(path, fs=job.fs, channel=job.channel)
    notes += read_notes
    model = _model(job, fs)
    x = apply_level(x, float(model.dboffset), level_db=job.level_db, dboffset=job.dboffset)
    level = float(dbspl(x, float(model.dboffset)))
    with torch.no_grad():
        out = model(x.to(dtype=getattr(torch, job.dtype)).unsqueeze(0))
    ds = to_xarray(model, _unbatch(out),
                   attrs=_file_attrs(job, path, fs, file_fs, level, notes, False))
    ds.to_zarr(job.store, group=key, mode="w", consolidated=False,
               encoding=_encoding(ds, round(TIME_CHUNK_SECONDS * model.output_fs)))


def _blocks_and_rms(job: Job, path: str, fs: float, file_fs: float, n_chunk: int,
                    notes: list[str]):
    """The file's signal in chunks of ``n_chunk`` samples at ``fs`` (read block by block
    when no resampling is needed), and its rms (for ``level_db``)."""
    from torch_amt.io import MixdownWarning, audio_blocks, read_input

    if fs != file_fs:  # resample_poly is not causal: the whole signal, once
        x, _, _, read_notes = read_input(path, fs=fs, channel=job.channel)
        notes += read_notes
        return (lambda: iter(x.split(n_chunk))), float(x.square().mean().sqrt())

    def blocks():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MixdownWarning)
            for block in audio_blocks(path, n_chunk, channel=job.channel):
                if not bool(torch.isfinite(block).all()):
                    raise ValueError(f"{path}: the audio holds NaN or infinite samples")
                yield block
        notes.extend(str(w.message) for w in caught if issubclass(w.category, MixdownWarning))

    if job.level_db is None:
        return blocks, None
    total, count = 0.0, 0
    for block in audio_blocks(path, n_chunk, channel=job.channel):
        total += float(block.square().sum())
        count += block.numel()
    return blocks, math.sqrt(total / count)


def _write_streamed(job: Job, path: str, key: str, model, fs: float, file_fs: float,
                    notes: list[str]) -> None:
    from torch_amt.io import apply_level
    from torch_amt.xr import to_xarray

    n_chunk = max(1, round(job.chunk_seconds * fs))
    blocks, rms = _blocks_and_rms(job, path, fs, file_fs, n_chunk, notes)
    dboffset = float(model.dboffset)
    dtype = getattr(torch, job.dtype)
    state, start, energy = None, 0, 0.0
    for block in blocks():
        x = apply_level(block, dboffset, level_db=job.level_db, dboffset=job.dboffset, rms=rms)
        energy += float(x.square().sum())
        with torch.no_grad():
            out, state = model.stream(x.to(dtype=dtype).unsqueeze(0), state)
        ds = to_xarray(model, _unbatch(out), start=start)
        start += ds.sizes["time"]
        if start == ds.sizes["time"]:
            ds.to_zarr(job.store, group=key, mode="w", consolidated=False,
                       encoding=_encoding(ds, round(TIME_CHUNK_SECONDS * model.output_fs)))
        else:
            ds = ds.drop_vars([v for v in ds.variables if "time" not in ds[v].dims])
            ds.to_zarr(job.store, group=key, append_dim="time", consolidated=False)
    rms_out = math.sqrt(energy / max(start, 1))
    level = 20 * math.log10(rms_out) + dboffset if rms_out > 0 else -math.inf
    notes.append(f"streamed in chunks of {n_chunk} samples ({job.chunk_seconds:g} s)")
    import zarr

    group = zarr.open_group(job.store, path=key, mode="r+")
    group.attrs.update(_file_attrs(job, path, fs, file_fs, level, notes, True))


def process_file(job: Job, path: str, key: str) -> dict[str, Any]:
    """Process one file into group ``key`` of ``job.store`` (the task of one file).

    Never raises for a problem of the file: the returned record says what happened.

    Returns
    -------
    dict
        ``path``, ``key``, ``status`` (``'done'``, ``'skipped'`` or ``'failed'``),
        ``reason`` (for a failure), ``notes``, ``seconds``.
    """
    _single_thread()
    started = time.perf_counter()
    record: dict[str, Any] = {"path": path, "key": key, "status": "done", "reason": "",
                              "notes": []}
    try:
        if _is_complete(job.store, key, job.signature()):
            record["status"] = "skipped"
            return record
        try:
            info = soundfile.info(path)
        except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
            raise ValueError(f"cannot read audio from {path}: {' '.join(str(err).split())}"
                             ) from None
        file_fs = float(info.samplerate)
        fs = file_fs if job.fs is None else float(job.fs)
        model = _model(job, fs)
        long = (job.chunk_seconds is not None
                and info.frames * fs / file_fs > job.chunk_seconds * fs)
        reason = model.stream_refusal() if long else None
        if long and reason is None:
            _write_streamed(job, path, key, model, fs, file_fs, record["notes"])
        else:
            if long:
                record["notes"].append(f"processed whole (not streamed: {reason})")
            _write_whole(job, path, key, record["notes"])
        _mark_complete(job.store, key)
    except Exception as err:  # a failing file is reported; the others continue
        record["status"] = "failed"
        record["reason"] = f"{type(err).__name__}: {' '.join(str(err).split())}"
    record["seconds"] = time.perf_counter() - started
    return record


# --------------------------------------------------------------------------- the corpus


def process(paths, model_name: str, *, store: str | os.PathLike = "out.zarr", client=None,
            workers: int | None = None, fs: float | None = None, channel: str | int = "mix",
            level_db: float | None = None, dboffset: float | None = None,
            dtype: str = "float32", chunk_seconds: float | None = 2.0,
            progress: bool = True, **model_options) -> CorpusResult:
    """Run a model over many sound files on Dask; results in a Zarr store.

    Parameters
    ----------
    paths : str, PathLike or iterable of them
        Files, directories (searched recursively) and glob patterns
        (:func:`find_audio`).
    model_name : str
        A key of :data:`torch_amt.models.MODELS` (e.g. ``'dau1997'``).
    store : str or PathLike
        Zarr store (a directory); one group per file (:func:`group_names`). With a
        remote cluster it must be on a file system every worker sees.
    client : dask.distributed.Client or str, optional
        The cluster to run on: a client, or a scheduler address
        (``'tcp://host:8786'``). Default: a :class:`~dask.distributed.LocalCluster` of
        ``workers`` processes with one thread each, closed at the end.
    workers : int, optional
        Number of local worker processes (default: the number of CPU cores, at most the
        number of files). Only without ``client``.
    fs : float, optional
        Rate of the model in Hz; files at another rate are resampled. Default: each
        file's rate.
    channel : 'mix' or int
        Channel of multichannel files (the mean of all, default, or an index).
    level_db : float, optional
        Scale each file to this rms level in dB SPL.
    dboffset : float, optional
        Level convention of the files (an rms of 1 is ``dboffset`` dB SPL); default the
        model's own.
    dtype : {'float32', 'float64'}
        Precision of the model.
    chunk_seconds : float or None
        Files longer than this are processed chunk by chunk with the model's
        :meth:`~torch_amt.models.base.AuditoryModel.stream` (bounded memory); None
        processes every file whole.
    progress : bool
        Show a progress bar (stderr) and report failures as they happen.
    **model_options
        Keyword arguments of the model's constructor (e.g. ``fhigh=7000``).

    Returns
    -------
    CorpusResult
        Files done, skipped (already complete) and failed (with the reason).

    Raises
    ------
    FileNotFoundError
        If a path does not exist or a pattern matches nothing.
    ValueError
        For an unknown model, or ``level_db`` together with ``dboffset``.
    """
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm

    from torch_amt.models import MODELS

    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r}; available: {', '.join(MODELS)}")
    if level_db is not None and dboffset is not None:
        raise ValueError("give level_db or dboffset, not both")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if chunk_seconds is not None and not chunk_seconds > 0:
        raise ValueError(f"chunk_seconds must be positive or None, got {chunk_seconds}")
    files = find_audio(paths)
    store = os.fspath(store)
    job = Job(model_name, tuple(sorted(model_options.items())), store,
              None if fs is None else float(fs), channel, level_db, dboffset, dtype,
              chunk_seconds)
    names = group_names(files)
    result = CorpusResult(store, groups=dict(names))
    import zarr

    zarr.open_group(store, mode="a")
    signature = job.signature()
    todo = []
    for path in files:
        if _is_complete(store, names[path], signature):
            result.skipped.append(path)
        else:
            todo.append(path)
    if not todo:
        return result
    owned = []
    if client is None:
        n_workers = workers or min(os.cpu_count() or 1, len(todo))
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        owned = [client, cluster]
    elif isinstance(client, str):
        client = Client(client)
        owned = [client]
    bar = tqdm(total=len(todo), desc="torch-amt", unit="file", file=sys.stderr,
               disable=None if progress else True)
    try:
        futures = client.map(process_file, [job] * len(todo), todo,
                             [names[p] for p in todo], pure=False)
        for future in as_completed(futures):
            try:
                record = future.result()
            except Exception as err:  # the worker itself died
                record = {"path": todo[futures.index(future)], "status": "failed",
                          "reason": f"{type(err).__name__}: {err}", "notes": []}
            path = record["path"]
            if record["notes"]:
                result.notes[path] = record["notes"]
            if record["status"] == "failed":
                result.failed[path] = record["reason"]
                if progress:
                    bar.write(f"torch-amt: {path}: failed: {record['reason']}",
                              file=sys.stderr)
            elif record["status"] == "skipped":
                result.skipped.append(path)
            else:
                result.done.append(path)
            bar.update(1)
    finally:
        bar.close()
        for thing in owned:
            thing.close()
    result.done.sort()
    result.skipped.sort()
    return result


def open_result(store: str | os.PathLike, key: str):
    """The dataset of one file (its group ``key``, see :attr:`CorpusResult.groups`)."""
    import xarray as xr

    return xr.open_zarr(os.fspath(store), group=key, consolidated=False)

