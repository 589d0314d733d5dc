"""Labelled model outputs: an :class:`xarray.Dataset` with named dimensions, coordinates,
units and provenance.

:func:`to_xarray` (also ``model.to_xarray(out)``) is driven by the model's
``output_kind``, ``fc``, ``mfc`` and ``output_fs``, so a new model whose output follows one
of the layouts below needs nothing more:

=====================  =================================  ===============================
``output_kind``        output                             dimensions of ``out``
=====================  =================================  ===============================
``'modulation_list'``  list of ``F`` tensors              ``(batch, fc, modulation, time)``
                       ``(B, M_f, T)`` (Dau/Jepsen)       ragged: padded with NaN, ``mask``
``'fcmt'``             ``(B, F, M, T)`` (King2019)        ``(batch, fc, modulation, time)``
``'fct'``              ``(B, F, T)``                      ``(batch, fc, time)``
``'loudness'``         ``(B, 3, N)`` (Glasberg2002)       ``(batch, loudness, time)``;
                       per 1-ms block                     ``loudness`` labels the rows
                                                          (instantaneous, short-term,
                                                          long-term; sone)
other letter codes     a tensor, one axis per code        ``fc`` / ``m`` / ``t`` tokens, the
                       token after an optional batch      other letters as dimension names
=====================  =================================  ===============================

Coordinates: ``time`` (s, sample ``n`` at ``n / output_fs``), ``fc`` (Hz), ``modulation``
(filter index), ``mfc`` (Hz: ``(fc, modulation)`` with NaN where a channel has no such
filter, or ``(modulation,)`` when shared), ``mask`` (``(fc, modulation)``, True where
the filter exists; ragged layout only) and ``batch`` (0..B-1, or the labels given).
Attributes: the model (AMT name, class, output kind, ``fs``, ``output_fs``,
``dboffset``, its public settings as JSON) and the versions of torch_amt and torch.

Needs the ``corpus`` extra (``pip install torch_amt[corpus]``) for :mod:`xarray`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["model_parameters", "provenance", "to_xarray"]

OUTPUT_UNITS = "model units (MU)"

NAMED_LAYOUTS: dict[str, tuple[list[str], dict[str, list[str]], str]] = {
    "loudness": (["loudness", "time"],
                 {"loudness": ["instantaneous", "short_term", "long_term"]}, "sone"),
}
"""``output_kind`` -> (dimensions without batch, labels of the non-time axes, units)."""
"""Units of a model output (the adaptation loops' model units, AMT's convention; King2019's
high-passed compressed envelope is in arbitrary units of the same kind)."""

_TOKENS = {"fc": "fc", "m": "modulation", "t": "time"}


def model_parameters(model: torch.nn.Module) -> dict[str, Any]:
    """The public scalar settings of a model (its constructor options, as stored), with
    ``fs``, ``output_fs`` and ``dboffset``."""
    params: dict[str, Any] = {}
    for key, value in vars(model).items():
        if key.startswith("_") or key == "training":
            continue
        if isinstance(value, bool | int | float | str) or value is None:
            params[key] = value
        elif isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
            params[key] = list(value)
    for key in ("fs", "output_fs", "dboffset"):
        params[key] = float(getattr(model, key))
    return params


def provenance(model: torch.nn.Module) -> dict[str, Any]:
    """Attributes describing a model and the software that ran it (JSON-serialisable)."""
    import torch_amt

    return {
        "model": getattr(model, "amt_function", "") or type(model).__name__,
        "model_class": type(model).__name__,
        "output_kind": getattr(model, "output_kind", ""),
        "fs": float(model.fs),
        "output_fs": float(model.output_fs),
        "dboffset": float(model.dboffset),
        "parameters": json.dumps(model_parameters(model), default=str),
        "torch_amt_version": torch_amt.__version__,
        "torch_version": torch.__version__,
    }


def _numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _kind_dims(kind: str) -> list[str]:
    """Dimension names of a letter-coded output kind (``'fcmt'`` -> fc, modulation, time)."""
    dims, rest = [], kind
    while rest:
        token = next((t for t in _TOKENS if rest.startswith(t)), rest[0])
        dims.append(_TOKENS.get(token, token))
        rest = rest[len(token):]
    return dims


def _ragged(out: Sequence[torch.Tensor], mfc: Sequence) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray, bool]:
    """Pad a list of ``F`` tensors ``([B,] M_f, T)`` into ``(B, F, M_max, T)`` (NaN where a
    channel has no such filter), with the ``(F, M_max)`` mfc (NaN) and mask."""
    channels = [_numpy(c) for c in out]
    unbatched = channels[0].ndim == 2
    if unbatched:
        channels = [c[None] for c in channels]
    n_b, n_t = channels[0].shape[0], channels[0].shape[-1]
    m_max = max(c.shape[1] for c in channels)
    dtype = np.result_type(*channels)
    values = np.full((n_b, len(channels), m_max, n_t), np.nan, dtype=dtype)
    mfcs = np.full((len(channels), m_max), np.nan)
    mask = np.zeros((len(channels), m_max), dtype=bool)
    for f, c in enumerate(channels):
        values[:, f, :c.shape[1]] = c
        mask[f, :c.shape[1]] = True
        if mfc is not None and len(mfc) == len(channels):
            m = _numpy(mfc[f]).reshape(-1)
            mfcs[f, :m.size] = m
    return values, mfcs, mask, unbatched


def to_xarray(model: torch.nn.Module, out, *, batch: Sequence | None = None,
              name: str = "out", attrs: dict[str, Any] | None = None, start: int = 0):
    """The output of ``model`` as an :class:`xarray.Dataset`.

    Parameters
    ----------
    model : AuditoryModel
        The model that computed ``out`` (its ``output_kind``, ``fc``, ``mfc`` and
        ``output_fs`` label the axes).
    out
        The model's output, with or without the batch axis (as ``model(x)`` returns it).
    batch : sequence, optional
        Labels of the batch entries (e.g. file names); default ``0..B-1``.
    name : str
        Name of the data variable (default ``'out'``).
    attrs : dict, optional
        More dataset attributes (e.g. the input file and its level).
    start : int
        Index of the first output sample (a chunk of a longer output: its ``time``
        coordinate starts at ``start / output_fs``).

    Returns
    -------
    xarray.Dataset
        One variable ``name`` (dimensions as in the module docstring; ``batch`` only when
        ``out`` has a batch axis), its coordinates, and the provenance attributes of
        :func:`provenance`.

    Raises
    ------
    ValueError
        If ``out`` does not have the layout of the model's ``output_kind``.
    """
    import xarray as xr

    kind = getattr(model, "output_kind", "")
    fc = _numpy(model.fc).astype(np.float64)
    mfc = getattr(model, "mfc", [])
    coords: dict[str, Any] = {}
    if isinstance(out, list | tuple):
        if kind != "modulation_list":
            raise ValueError(f"a list output needs output_kind 'modulation_list', the model's "
                             f"is {kind!r}")
        values, mfcs, mask, unbatched = _ragged(out, mfc)
        dims = ["batch", "fc", "modulation", "time"]
        coords["mfc"] = (("fc", "modulation"), mfcs, {"units": "Hz",
                                                       "long_name": "modulation centre "
                                                                    "frequency"})
        coords["mask"] = (("fc", "modulation"), mask,
                          {"long_name": "True where the channel has this modulation filter"})
    else:
        values = _numpy(out)
        if kind in NAMED_LAYOUTS:
            dims, labels, units = NAMED_LAYOUTS[kind]
            dims = list(dims)
            coords.update({k: (k, np.asarray(v)) for k, v in labels.items()})
        else:
            dims = _kind_dims("fcmt" if kind == "modulation_list" else kind)
        if values.ndim == len(dims):
            values, unbatched = values[None], True
        elif values.ndim == len(dims) + 1:
            unbatched = False
        else:
            raise ValueError(f"out has shape {tuple(values.shape)}, but output_kind {kind!r} "
                             f"has the axes {dims} (plus an optional leading batch axis)")
        dims = ["batch", *dims]
        if "modulation" in dims and isinstance(mfc, torch.Tensor | np.ndarray):
            coords["mfc"] = (("modulation",), _numpy(mfc).astype(np.float64).reshape(-1),
                             {"units": "Hz", "long_name": "modulation centre frequency"})
    shape = dict(zip(dims, values.shape, strict=True))
    if "fc" in shape and shape["fc"] != fc.size:
        raise ValueError(f"out has {shape['fc']} auditory channels but the model has "
                         f"{fc.size} centre frequencies fc")
    if "fc" in shape:
        coords["fc"] = ("fc", fc, {"units": "Hz", "long_name": "auditory channel centre "
                                                              "frequency"})
    coords["time"] = ("time", (start + np.arange(shape["time"])) / float(model.output_fs),
                      {"units": "s", "long_name": "time"})
    if "modulation" in shape:
        coords["modulation"] = ("modulation", np.arange(shape["modulation"]),
                                {"long_name": "modulation filter index"})
    if batch is not None:
        if len(batch) != shape["batch"]:
            raise ValueError(f"batch has {len(batch)} labels for {shape['batch']} signals")
        coords["batch"] = ("batch", np.asarray(list(batch)))
    if unbatched:
        values, dims = values[0], dims[1:]
        coords.pop("batch", None)
    units = NAMED_LAYOUTS[kind][2] if kind in NAMED_LAYOUTS else OUTPUT_UNITS
    variable = xr.Variable(dims, values, {"units": units,
                                          "long_name": f"{type(model).__name__} output"})
    info = provenance(model)
    info.update(attrs or {})
    return xr.Dataset({name: variable}, coords=coords, attrs=info)

