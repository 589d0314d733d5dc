"""Pictures out: standard figures of auditory-model representations (matplotlib).

Every function takes an optional ``ax`` (or ``fig``) to draw into and returns it; without
one it makes a new pyplot figure. Nothing here selects a backend or shows a window, so the
functions work headless (Agg) as well as in notebooks. Inputs may be tensors or arrays,
with or without the batch axis (``batch`` picks the signal of a batch); time is the last
axis, as everywhere in torch_amt.

Axes: time in s; centre frequencies on the ERB-rate scale (Glasberg & Moore 1990), i.e.
roughly logarithmic above 500 Hz, labelled in Hz; modulation filters by their centre
frequencies in Hz (one row/column per filter, since they are not evenly spaced). Long
signals are summarised in short frames (rms for filterbank outputs, mean for the others)
so that figures stay light.

References
----------
B. R. Glasberg, B. C. J. Moore, "Derivation of auditory filter shapes from notched-noise
data", Hear. Res. 47, 103-138 (1990). T. Dau, B. Kollmeier, A. Kohlrausch, "Modeling
auditory processing of amplitude modulation. I.", J. Acoust. Soc. Am. 102, 2892 (1997).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from torch_amt.scales import freqtoerb

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "modulation_array",
    "plot_adaptation",
    "plot_auditory_spectrogram",
    "plot_excitation",
    "plot_loudness",
    "plot_model",
    "plot_modulation_channel",
    "plot_modulation_spectrum",
    "plot_waveform",
]

_HZ_TICKS = (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
"""Frequencies labelled on ERB-rate axes (when at least three fall in the range)."""
_MAX_FRAMES = 1500
_FILTERBANK_STAGES = ("afb", "drnl")
"""Names of the auditory filterbank in the stage vocabulary (models.base.STAGE_VOCABULARY)."""

ArrayLike = torch.Tensor | np.ndarray | Sequence[float]


def _numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = x.real if x.is_complex() else x
        return x.to(torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _unbatch(x: ArrayLike, ndim: int, batch: int, name: str) -> np.ndarray:
    """``x`` as an array of ``ndim`` axes, taking ``x[batch]`` if it has a batch axis."""
    a = _numpy(x)
    if a.ndim == ndim + 1:
        if not -a.shape[0] <= batch < a.shape[0]:
            raise ValueError(f"batch {batch} is out of range for {name} with batch size "
                             f"{a.shape[0]}")
        a = a[batch]
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes (or {ndim + 1} with a batch axis), got "
                         f"shape {a.shape}")
    return a


def _new_axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def _frames(y: np.ndarray, fs: float, frame_s: float, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Summarise ``y (..., T)`` in frames of ~``frame_s``; return values and time edges (s).

    The last frame may be shorter, so the edges run exactly from 0 to ``T / fs``.
    """
    n_t = y.shape[-1]
    hop = max(1, round(frame_s * fs), math.ceil(n_t / _MAX_FRAMES))
    n_frames = math.ceil(n_t / hop)
    padded = np.full(y.shape[:-1] + (n_frames * hop,), np.nan)
    padded[..., :n_t] = y
    blocks = padded.reshape(y.shape[:-1] + (n_frames, hop))
    values = (np.sqrt(np.nanmean(blocks**2, axis=-1)) if how == "rms"
              else np.nanmean(blocks, axis=-1))
    edges = np.minimum(np.arange(n_frames + 1) * hop, n_t) / fs
    return values, edges


def _erb_edges(fc: np.ndarray) -> np.ndarray:
    """Cell edges on the ERB-rate scale around each centre frequency."""
    erb = freqtoerb(torch.as_tensor(fc, dtype=torch.float64)).numpy()
    if erb.size == 1:
        return np.array([erb[0] - 0.5, erb[0] + 0.5])
    mid = (erb[1:] + erb[:-1]) / 2
    return np.concatenate([[erb[0] - (mid[0] - erb[0])], mid, [erb[-1] + (erb[-1] - mid[-1])]])


def _frequency_axis(axis, fc: np.ndarray, label: str = "Centre frequency (Hz)") -> None:
    """Put Hz labels on an ERB-rate ``axis`` (``ax.yaxis`` or ``ax.xaxis``)."""
    edges = _erb_edges(fc)
    ticks = [f for f in _HZ_TICKS
             if edges[0] <= freqtoerb(torch.tensor(float(f), dtype=torch.float64)) <= edges[-1]]
    if len(ticks) < 3:  # a narrow range (e.g. king2019's ±2 ERB): label the channels
        ticks = [float(f) for f in fc[:: max(1, math.ceil(fc.size / 8))]]
    positions = freqtoerb(torch.tensor(ticks, dtype=torch.float64)).numpy()
    axis.set_ticks(positions, labels=[f"{t:.0f}" for t in ticks])
    axis.set_label_text(label)


def _modulation_axis(axis, mfc: np.ndarray, label: str = "Modulation frequency (Hz)") -> None:
    """One category per modulation filter, labelled with its centre frequency."""
    axis.set_ticks(np.arange(len(mfc)), labels=[f"{f:.3g}" for f in mfc])
    axis.set_label_text(label)


def _colour_limits(values: np.ndarray) -> dict:
    """Colour limits from the 0.5th/99.5th percentiles (a brief onset overshoot would
    otherwise wash out the rest): diverging and symmetric for signed data."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"cmap": "viridis"}
    low, high = (float(v) for v in np.percentile(finite, [0.5, 99.5]))
    if low < 0 < high and -low > 0.05 * high:
        limit = max(-low, high)
        return {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
    return {"cmap": "viridis", "vmin": low, "vmax": high if high > low else low + 1}


def _extend(values: np.ndarray, mesh) -> str:
    """Colour-bar ``extend`` showing which ends the colour limits clip."""
    low, high = mesh.get_clim()
    below, above = bool(np.nanmin(values) < low), bool(np.nanmax(values) > high)
    return {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (below, above), "neither")


def plot_waveform(x: ArrayLike, fs: float, *, ax: Axes | None = None, batch: int = 0,
                  dboffset: float | None = None) -> Axes:
    """Plot a signal against time.

    Parameters
    ----------
    x : Tensor or array, shape (T,) or (B, T)
        Signal.
    fs : float
        Its sampling rate in Hz.
    ax : Axes, optional
        Where to draw; a new figure if omitted.
    batch : int, default 0
        Which signal of a batch to draw.
    dboffset : float, optional
        Level convention (rms 1 = ``dboffset`` dB SPL); if given, the title states the
        signal's level in dB SPL.

    Returns
    -------
    Axes
    """
    ax = _new_axes(ax)
    x = _unbatch(x, 1, batch, "x")
    t = np.arange(x.size) / fs
    ax.plot(t, x, linewidth=0.5, color="k")
    ax.set_xlim(0, x.size / fs)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Amplitude")
    if dboffset is not None:
        level = 20 * np.log10(max(np.sqrt(np.mean(x**2)), 1e-300)) + dboffset
        ax.set_title(f"Input, {level:.1f} dB SPL (rms 1 = {dboffset:g} dB SPL)")
    else:
        ax.set_title("Input")
    return ax


def _time_frequency_image(ax: Axes, values: np.ndarray, edges_t: np.ndarray, fc: np.ndarray,
                          label: str, colorbar: bool, limits: dict):
    mesh = ax.pcolormesh(edges_t, _erb_edges(fc), values, shading="flat", **limits)
    ax.set_xlim(edges_t[0], edges_t[-1])
    ax.set_xlabel("Time (s)")
    _frequency_axis(ax.yaxis, fc)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=label, extend=_extend(values, mesh))
    return mesh


def plot_auditory_spectrogram(y: ArrayLike, fs: float, fc: ArrayLike, *, ax: Axes | None = None,
                              batch: int = 0, frame_s: float = 0.005,
                              dynamic_range_db: float = 60.0, colorbar: bool = True) -> Axes:
    """Auditory spectrogram: the rms of each filterbank channel in short frames, in dB.

    Parameters
    ----------
    y : Tensor or array, shape (F, T) or (B, F, T)
        Filterbank output (e.g. the ``"afb"`` or ``"drnl"`` stage of a model).
    fs : float
        Its sampling rate in Hz.
    fc : Tensor or array, shape (F,)
        Centre frequencies in Hz.
    ax : Axes, optional
        Where to draw; a new figure if omitted.
    batch : int, default 0
        Which signal of a batch to draw.
    frame_s : float, default 0.005
        Frame duration in s (longer for long signals, at most 1500 frames are drawn).
    dynamic_range_db : float, default 60
        Colour range below the maximum; 0 dB is the loudest frame and channel.
    colorbar : bool, default True
        Draw a colour bar.

    Returns
    -------
    Axes
    """
    ax = _new_axes(ax)
    y = _unbatch(y, 2, batch, "y")
    fc = _numpy(fc).reshape(-1)
    if y.shape[0] != fc.size:
        raise ValueError(f"y has {y.shape[0]} channels but fc has {fc.size} frequencies")
    values, edges_t = _frames(y, fs, frame_s, "rms")
    peak = values.max()
    level = 20 * np.log10(np.maximum(values, 1e-300) / (peak if peak > 0 else 1.0))
    _time_frequency_image(ax, level, edges_t, fc, "Level (dB re max)", colorbar,
                          {"cmap": "magma", "vmin": -dynamic_range_db, "vmax": 0.0})
    ax.set_title("Auditory filterbank")
    return ax


def plot_adaptation(y: ArrayLike, fs: float, fc: ArrayLike, *, ax: Axes | None = None,
                    batch: int = 0, frame_s: float = 0.002, colorbar: bool = True,
                    title: str = "Adaptation loops") -> Axes:
    """Output of the adaptation stage (or any ``(F, T)`` internal representation).

    Parameters
    ----------
    y : Tensor or array, shape (F, T) or (B, F, T)
        Stage output in model units (MU).
    fs : float
        Its sampling rate in Hz.
    fc : Tensor or array, shape (F,)
        Centre frequencies in Hz.
    ax : Axes, optional
        Where to draw; a new figure if omitted.
    batch : int, default 0
        Which signal of a batch to draw.
    frame_s : float, default 0.002
        Frames (mean over each) in s.
    colorbar : bool, default True
        Draw a colour bar.
    title : str, default "Adaptation loops"
        Axes title.

    Returns
    -------
    Axes
    """
    ax = _new_axes(ax)
    y = _unbatch(y, 2, batch, "y")
    fc = _numpy(fc).reshape(-1)
    if y.shape[0] != fc.size:
        raise ValueError(f"y has {y.shape[0]} channels but fc has {fc.size} frequencies")
    values, edges_t = _frames(y, fs, frame_s, "mean")
    _time_frequency_image(ax, values, edges_t, fc, "Model units", colorbar,
                          _colour_limits(values))
    ax.set_title(title)
    return ax


def plot_excitation(excitation: ArrayLike, fs: float, fc: ArrayLike, *, ax: Axes | None = None,
                    batch: int = 0, dynamic_range_db: float = 80.0,
                    colorbar: bool = True) -> Axes:
    """Excitation pattern over time in dB (``10·log10(E / (20 µPa)²)``, AMT ``eLdB``).

    Parameters
    ----------
    excitation : Tensor or array, shape (F, N) or (B, F, N)
        Excitation in Pa² per band and block (the ``"excitation"`` stage of
        :class:`~torch_amt.Glasberg2002`).
    fs : float
        Block rate in Hz (the model's ``output_fs``).
    fc : Tensor or array, shape (F,)
        Band centre frequencies in Hz.
    ax : Axes, optional
        Where to draw; a new figure if omitted.
    batch : int, default 0
        Which signal of a batch to draw.
    dynamic_range_db : float, default 80
        Colour range below the maximum.
    colorbar : bool, default True
        Draw a colour bar.

    Returns
    -------
    Axes
    """
    ax = _new_axes(ax)
    e = _unbatch(excitation, 2, batch, "excitation")
    fc = _numpy(fc).reshape(-1)
    if e.shape[0] != fc.size:
        raise ValueError(f"excitation has {e.shape[0]} bands but fc has {fc.size} frequencies")
    with np.errstate(divide="ignore", invalid="ignore"):
        level = 10 * np.log10(e / 20e-6 ** 2)
    values, edges_t = _frames(np.where(np.isfinite(level), level, np.nan), fs, 1 / fs, "mean")
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    _time_frequency_image(ax, values, edges_t, fc, "Excitation level (dB)", colorbar,
                          {"cmap": "magma", "vmin": top - dynamic_range_db, "vmax": top})
    ax.set_title("Excitation pattern ('excitation')")
    return ax


def plot_loudness(loudness: ArrayLike, fs: float, *, ax: Axes | None = None, batch: int = 0,
                  labels: Sequence[str] = ("instantaneous", "short-term", "long-term")) -> Axes:
    """Loudness over time: one line per row (instantaneous, short-term, long-term).

    Parameters
    ----------
    loudness : Tensor or array, shape (L, N) or (B, L, N)
        Loudness curves in sone (the output of :class:`~torch_amt.Glasberg2002`).
    fs : float
        Block rate in Hz.
    ax : Axes, optional
        Where to draw; a new figure if omitted.
    batch : int, default 0
        Which signal of a batch to draw.
    labels : sequence of str
        One legend entry per row.

    Returns
    -------
    Axes
    """
    ax = _new_axes(ax)
    y = _unbatch(loudness, 2, batch, "loudness")
    if len(labels) != y.shape[0]:
        raise ValueError(f"loudness has {y.shape[0]} rows but {len(labels)} labels were given")
    t = np.arange(y.shape[1]) / fs
    for row, label in zip(y, labels, strict=True):
        ax.plot(t, row, label=label, linewidth=1.0)
    ax.set_xlim(0, y.shape[1] / fs)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Loudness (sone)")
    ax.legend(loc="best")
    ax.set_title("Loudness")
    return ax


def plot_modulation_channel(y: ArrayLike, fs: float, mfc: ArrayLike, *, ax: Axes | None = None,
                            batch: int = 0, fc: float | None = None, frame_s: float = 0.002,
                            colorbar: bool = True) -> Axes:
    """Modulation representation of one auditory channel: modulation filter × time.

    Parameters
    ----------
    y : Tensor or array, shape (M, T) or (B, M, T)
        Modulation filterbank output of one channel (an element of a Dau/Jepsen output
        list, or ``out[:, f]`` of King2019).
    fs : float
        Its sampling rate in Hz.
    mfc : Tensor or array, shape (M,)
        Modulation centre frequencies in Hz.
    ax : Axes, optional
        Where to draw; a new figure if omitted.
    batch : int, default 0
        Which signal of a batch to draw.
    fc : float, optional
        Centre frequency of the channel (Hz), for the title.
    frame_s : float, default 0.002
        Frames (mean over each) in s.
    colorbar : bool, default True
        Draw a colour bar.

    Returns
    -------
    Axes
    """
    ax = _new_axes(ax)
    y = _unbatch(y, 2, batch, "y")
    mfc = _numpy(mfc).reshape(-1)
    if y.shape[0] != mfc.size:
        raise ValueError(f"y has {y.shape[0]} modulation filters but mfc has {mfc.size}")
    values, edges_t = _frames(y, fs, frame_s, "mean")
    mesh = ax.pcolormesh(edges_t, np.arange(mfc.size + 1) - 0.5, values, shading="flat",
                         **_colour_limits(values))
    ax.set_xlim(edges_t[0], edges_t[-1])
    ax.set_xlabel("Time (s)")
    _modulation_axis(ax.yaxis, mfc)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="Model units", extend=_extend(values, mesh))
    ax.set_title("Modulation filterbank" + (f", channel at {fc:.0f} Hz" if fc else ""))
    return ax


def modulation_array(out: ArrayLike | Sequence[ArrayLike], mfc: ArrayLike | Sequence[ArrayLike],
                     *, batch: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad a modulation representation into one array with a mask.

    Dau1997/Jepsen2008 return one tensor per auditory channel whose number of modulation
    filters depends on the channel; King2019 returns one tensor. Both become
    ``(F, M_max, T)`` (with a leading batch axis if ``batch`` is None and the input has one).

    Parameters
    ----------
    out : list of F tensors (M_f, T) or (B, M_f, T), or tensor (F, M, T) or (B, F, M, T)
        Model output.
    mfc : list of F tensors (M_f,), or tensor (M,)
        Modulation centre frequencies in Hz (per channel, or shared).
    batch : int, optional
        Keep only this signal of a batch (drop the batch axis).

    Returns
    -------
    values : ndarray, float64, shape ([B,] F, M_max, T)
        Outputs, zero where a channel has no such filter.
    mfc : ndarray, float64, shape (F, M_max)
        Modulation centre frequencies, NaN where a channel has no such filter.
    mask : ndarray, bool, shape (F, M_max)
        True where the filter exists.
    """
    if isinstance(out, (torch.Tensor, np.ndarray)):
        channels = [c for c in np.moveaxis(_numpy(out), -3, 0)]
    else:
        channels = [_numpy(c) for c in out]
    if isinstance(mfc, (torch.Tensor, np.ndarray)) and np.ndim(mfc) == 1:
        mfcs = [_numpy(mfc)] * len(channels)
    else:
        mfcs = [_numpy(m).reshape(-1) for m in mfc]
    if len(mfcs) != len(channels):
        raise ValueError(f"out has {len(channels)} channels but mfc has {len(mfcs)}")
    if batch is not None:
        channels = [c[batch] if c.ndim == 3 else c for c in channels]
    m_max = max(c.shape[-2] for c in channels)
    lead = channels[0].shape[:-2]
    n_t = channels[0].shape[-1]
    values = np.zeros((len(channels), *lead, m_max, n_t))
    table = np.full((len(channels), m_max), np.nan)
    mask = np.zeros((len(channels), m_max), dtype=bool)
    for f, (c, m) in enumerate(zip(channels, mfcs, strict=True)):
        if c.shape[-2] != m.size:
            raise ValueError(f"channel {f} has {c.shape[-2]} modulation filters but "
                             f"{m.size} modulation frequencies")
        values[f, ..., : c.shape[-2], :] = c
        table[f, : m.size] = m
        mask[f, : m.size] = True
    return np.moveaxis(values, 0, -3), table, mask


def plot_modulation_spectrum(out: ArrayLike | Sequence[ArrayLike],
                             mfc: ArrayLike | Sequence[ArrayLike], fc: ArrayLike, *,
                             ax: Axes | None = None, batch: int = 0,
                             colorbar: bool = True) -> Axes:
    """Summary modulation spectrum: rms over time of every (channel, modulation filter).

    Cells of modulation filters that a channel does not have (Dau1997/Jepsen2008 limit the
    modulation filters to a quarter of the channel's centre frequency) are left blank.

    Parameters
    ----------
    out : list of F tensors (M_f, T) or (B, M_f, T), or tensor (F, M, T) or (B, F, M, T)
        Model output.
    mfc : list of F tensors (M_f,), or tensor (M,)
        Modulation centre frequencies in Hz.
    fc : Tensor or array, shape (F,)
        Centre frequencies of the auditory channels in Hz.
    ax : Axes, optional
        Where to draw; a new figure if omitted.
    batch : int, default 0
        Which signal of a batch to draw.
    colorbar : bool, default True
        Draw a colour bar.

    Returns
    -------
    Axes
    """
    ax = _new_axes(ax)
    channels = out if isinstance(out, (torch.Tensor, np.ndarray)) else list(out)
    first = _numpy(channels[0]) if isinstance(channels, list) else _numpy(channels)
    batched = first.ndim == (3 if isinstance(channels, list) else 4)
    values, table, mask = modulation_array(channels, mfc, batch=batch if batched else None)
    fc = _numpy(fc).reshape(-1)
    if values.shape[0] != fc.size:
        raise ValueError(f"out has {values.shape[0]} channels but fc has {fc.size} frequencies")
    spectrum = np.ma.masked_array(np.sqrt(np.mean(values**2, axis=-1)), mask=~mask)
    longest = table[int(np.argmax(mask.sum(axis=1)))]
    mesh = ax.pcolormesh(np.arange(longest.size + 1) - 0.5, _erb_edges(fc), spectrum,
                         shading="flat", cmap="viridis")
    _modulation_axis(ax.xaxis, longest)
    _frequency_axis(ax.yaxis, fc)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="rms (model units)")
    ax.set_title("Modulation spectrum")
    return ax


def _stage(stages: Mapping[str, object], names: Sequence[str]):
    for name in names:
        if name in stages:
            return name, stages[name]
    return None, None


def plot_model(stages: Mapping[str, object], model: torch.nn.Module, *,
               x: ArrayLike | None = None, channel: int | None = None, batch: int = 0,
               fig: Figure | None = None, title: str | None = None) -> Figure:
    """The standard figure of a model run.

    Four panels: the input waveform, the auditory filterbank (auditory spectrogram) next
    to the adaptation output, the summary modulation spectrum next to the modulation
    representation of one channel. A model whose output has no modulation axis
    (``output_kind == 'fct'``, e.g. Dau1996) has its ``(F, T)`` output in the bottom row
    instead. For a binaural model (``model.binaural``, e.g. Breebaart2001: stages
    ``(B, 2, F, T)``, output an EI map ``(B, F, T)`` for one characteristic delay and
    level difference) the waveform panel shows both ears and the filterbank and
    adaptation panels the left ear.

    Parameters
    ----------
    stages : dict
        ``model(x, return_stages=True)``: stage outputs by name, with the final output as
        ``"out"``, named as in :data:`torch_amt.models.base.STAGE_VOCABULARY`: the
        filterbank is ``"afb"``/``"drnl"``, the adaptation ``"adt"`` (else the last
        ``(F, T)`` stage before ``"out"``).
    model : nn.Module
        The model that produced ``stages`` (its ``fs``, ``output_fs``, ``fc``, ``mfc`` and
        ``dboffset`` label the axes).
    x : Tensor or array, shape (T,) or (B, T), optional
        The input signal (``(2, T)`` or ``(B, 2, T)`` for a binaural model); without it,
        the waveform panel is left out.
    channel : int, optional
        Auditory channel whose modulation representation is drawn; default the channel
        whose centre frequency is closest to 1 kHz.
    batch : int, default 0
        Which signal of a batch to draw.
    fig : Figure, optional
        Figure to draw into (cleared first); a new pyplot figure if omitted.
    title : str, optional
        Figure title; default the model's class name.

    Returns
    -------
    Figure
    """
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(13, 10), layout="constrained")
    else:
        fig.clear()
    if "out" not in stages:
        raise ValueError("stages must hold the final output 'out'; call the model with "
                         "return_stages=True")
    fc = _numpy(model.fc).reshape(-1)
    n_f = fc.size
    out = stages["out"]
    if getattr(model, "output_kind", None) == "loudness":
        return _plot_loudness_model(stages, model, fc, x, batch, fig, title)
    fct = getattr(model, "output_kind", None) == "fct"
    binaural = bool(getattr(model, "binaural", False))
    if binaural:  # the monaural panels show the left ear of the (..., 2, F, T) stages
        stages = {k: v[..., 0, :, :] for k, v in stages.items()
                  if k != "out" and isinstance(v, torch.Tensor | np.ndarray)
                  and v.ndim == _numpy(out).ndim + 1 and v.shape[-3] == 2}
        stages["out"] = out
    batched = (out[0].ndim == 3 if isinstance(out, list | tuple)
               else out.ndim == (3 if fct else 4))
    channel_stages = {k: v for k, v in stages.items()
                      if k != "out" and isinstance(v, torch.Tensor | np.ndarray)
                      and v.ndim == 2 + batched and v.shape[-2] == n_f}
    fb_name, fb = _stage(channel_stages, _FILTERBANK_STAGES)
    if fb is None and channel_stages:
        fb_name, fb = next(iter(channel_stages.items()))
    adt_name, adt = _stage(channel_stages, ("adt",))
    if adt is None and channel_stages:
        adt_name, adt = list(channel_stages.items())[-1]
    if fb is None:
        raise ValueError("stages must hold at least one (F, T) stage besides 'out'; call the "
                         "model with return_stages=True")
    fs = float(model.fs)
    n_fb = fb.shape[-1]
    grid = fig.add_gridspec(3 if x is not None else 2, 2,
                            height_ratios=[1, 2, 2] if x is not None else [1, 1])
    row = 0
    ear = ", left ear" if binaural else ""
    if x is not None:
        wave = _numpy(x)
        ax = plot_waveform(wave[..., 0, :] if binaural else wave, fs,
                           ax=fig.add_subplot(grid[0, :]), batch=batch,
                           dboffset=float(model.dboffset))
        if binaural:
            right = _unbatch(wave[..., 1, :], 1, batch, "x")
            ax.lines[0].set_label("left")
            ax.plot(np.arange(right.size) / fs, right, linewidth=0.5, color="tab:red",
                    alpha=0.7, label="right")
            ax.legend(loc="upper right")
            ax.set_title(ax.get_title().replace("Input,", "Input, left ear", 1))
        row = 1
    ax = plot_auditory_spectrogram(fb, fs, fc, ax=fig.add_subplot(grid[row, 0]), batch=batch)
    ax.set_title(f"Auditory filterbank ('{fb_name}'{ear})")
    adt_fs = fs if adt.shape[-1] == n_fb else float(model.output_fs)
    plot_adaptation(adt, adt_fs, fc, ax=fig.add_subplot(grid[row, 1]), batch=batch,
                    title=f"Adaptation ('{adt_name}'{ear})")
    if fct:
        plot_adaptation(out, float(model.output_fs), fc, ax=fig.add_subplot(grid[row + 1, :]),
                        batch=batch, title="Output ('out'" + (", EI map)" if binaural else ")"))
        fig.suptitle(title if title is not None else type(model).__name__)
        return fig
    plot_modulation_spectrum(out, model.mfc, fc, ax=fig.add_subplot(grid[row + 1, 0]),
                             batch=batch)
    if channel is None:
        channel = int(np.argmin(np.abs(fc - 1000.0)))
    if not -n_f <= channel < n_f:
        raise ValueError(f"channel {channel} is out of range for a model with {n_f} channels")
    one = out[channel] if isinstance(out, list | tuple) else out[..., channel, :, :]
    mfc = model.mfc[channel] if isinstance(model.mfc, list | tuple) else model.mfc
    plot_modulation_channel(one, float(model.output_fs), mfc,
                            ax=fig.add_subplot(grid[row + 1, 1]), batch=batch,
                            fc=float(fc[channel]))
    fig.suptitle(title if title is not None else type(model).__name__)
    return fig


def _plot_loudness_model(stages: Mapping[str, object], model: torch.nn.Module, fc: np.ndarray,
                         x: ArrayLike | None, batch: int, fig: Figure, title: str | None
                         ) -> Figure:
    """:func:`plot_model` for ``output_kind == 'loudness'``."""
    for name in ("excitation", "specificloudness"):
        if name not in stages:
            raise ValueError(f"stages must hold {name!r}; call the model with "
                             "return_stages=True")
    rate = float(model.output_fs)
    grid = fig.add_gridspec(3 if x is not None else 2, 2,
                            height_ratios=[1, 2, 2] if x is not None else [1, 1])
    row = 0
    if x is not None:
        plot_waveform(x, float(model.fs), ax=fig.add_subplot(grid[0, :]), batch=batch,
                      dboffset=float(model.dboffset))
        row = 1
    plot_excitation(stages["excitation"], rate, fc, ax=fig.add_subplot(grid[row, 0]),
                    batch=batch)
    ax = fig.add_subplot(grid[row, 1])
    values, edges_t = _frames(_unbatch(stages["specificloudness"], 2, batch,
                                       "specificloudness"), rate, 1 / rate, "mean")
    _time_frequency_image(ax, values, edges_t, fc, "Specific loudness (sone/ERB)", True,
                          {"cmap": "viridis"})
    ax.set_title("Specific loudness ('specificloudness')")
    plot_loudness(stages["out"], rate, ax=fig.add_subplot(grid[row + 1, :]), batch=batch)
    fig.suptitle(title if title is not None else type(model).__name__)
    return fig
