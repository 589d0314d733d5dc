"""Audio in: reading sound files, resampling, setting levels, a built-in demo sound.

This module is the one place in torch_amt where integer PCM audio becomes floating point
(everywhere else integer tensors are rejected with an explicit error): :func:`load_audio`
reads integer files as integers and divides by the full-scale value ``2**(bits - 1)``, so
16-bit ``-32768`` is exactly ``-1.0`` and ``32767`` is ``1 - 2**-15``. Floating-point files
are returned as stored. Every signal is returned as a float64 tensor ``(T,)`` in the
amplitude convention of AMT: an rms of 1 is ``dboffset`` dB SPL, with ``dboffset`` the
convention of the model the signal is fed to (see :mod:`torch_amt.levels`); use
:func:`set_level` to give a signal a level, or
:func:`torch_amt.levels.rescale_dboffset` to move it between conventions.

References
----------
AMT 1.4.0 ``common/scaletodbspl.m``, ``common/dbspl.m``; LTFAT 2.5.0 ``sigproc/rampsignal.m``.
T. Dau, B. Kollmeier, A. Kohlrausch, "Modeling auditory processing of amplitude modulation.
I. Detection and masking with narrow-band carriers", J. Acoust. Soc. Am. 102, 2892 (1997).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import scipy.signal
import soundfile
import torch

from torch_amt._checks import check_fs, check_positive, check_signal
from torch_amt.levels import DBSPL_AMT, dbspl_to_rms, rescale_dboffset, setdbspl

__all__ = ["MixdownWarning", "ResampleWarning", "apply_level", "audio_blocks", "demo_sound",
           "load_audio", "read_input", "resample", "set_level"]

# libsndfile subtypes read as integers, with the integer dtype soundfile returns them in
# and the full-scale value that maps to 1.0. soundfile left-justifies 8-bit data in
# int16 and 24-bit data in int32, so the full scale is that of the container dtype.
_INTEGER_SUBTYPES: dict[str, tuple[str, float]] = {
    "PCM_S8": ("int16", 2.0**15),
    "PCM_U8": ("int16", 2.0**15),
    "PCM_16": ("int16", 2.0**15),
    "PCM_24": ("int32", 2.0**31),
    "PCM_32": ("int32", 2.0**31),
}

_MAX_RESAMPLE_FACTOR = 10_000


class ResampleWarning(UserWarning):
    """Issued by :func:`load_audio` when a file is resampled to the requested rate."""


class MixdownWarning(UserWarning):
    """Issued by :func:`load_audio` when mixing a file's channels down loses most of its
    energy (channels in anti-phase cancel: a model would analyse near-silence)."""


def load_audio(
    path: str | os.PathLike, *, channel: str | int = "mix", fs: float | None = None
) -> tuple[torch.Tensor, float]:
    """Read a sound file (WAV, FLAC, anything libsndfile reads) as a float64 signal.

    Integer PCM (8, 16, 24, 32 bit) is read as integers and divided by ``2**(bits-1)``
    (16 bit: ``-32768 -> -1.0`` exactly); floating-point files are returned as stored.
    This is the only place where torch_amt converts integer audio.

    Parameters
    ----------
    path : str or PathLike
        Sound file.
    channel : "mix", "all" or int, default "mix"
        ``"mix"``: the mean of all channels (a :class:`MixdownWarning` if the mix is more
        than 20 dB below the loudest channel); ``"all"``: every channel, shape ``(C, T)``
        (e.g. the two ears of a binaural recording); an int: that channel (0-based;
        negative values count from the last).
    fs : float, optional
        Sampling rate (Hz) wanted. If given and different from the file's rate, the
        signal is resampled with :func:`resample` and a :class:`ResampleWarning` says so.

    Returns
    -------
    x : Tensor, float64, shape (T,), or (C, T) for ``channel="all"``
        The signal, full scale = 1.
    fs : float
        Its sampling rate in Hz (``fs`` if given, else the file's).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be decoded, holds no samples, or ``channel`` is not a valid
        channel of the file. The message names the file.
    """
    path = os.fspath(path)
    if fs is not None:
        fs = check_fs(fs)
    if not os.path.exists(path):
        raise FileNotFoundError(f"audio file not found: {path}")
    if os.path.isdir(path):
        raise ValueError(f"cannot read audio from {path}: it is a directory")
    try:
        info = soundfile.info(path)
        int_dtype, full_scale = _INTEGER_SUBTYPES.get(info.subtype, ("float64", 1.0))
        data, file_fs = soundfile.read(path, dtype=int_dtype, always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        raise ValueError(f"cannot read audio from {path}: {_one_line(err)}") from None
    if data.shape[0] == 0:
        raise ValueError(f"audio file {path} holds no samples")
    samples = data.astype(np.float64) / full_scale
    mono = _select_channel(path, samples, channel)
    if channel == "mix":
        _warn_if_mixdown_cancels(path, samples, mono)
    x = torch.from_numpy(np.ascontiguousarray(mono))
    file_fs = float(file_fs)
    if fs is None or fs == file_fs:
        return x, file_fs
    warnings.warn(f"resampled {path} from {file_fs:g} Hz to {fs:g} Hz",
                  ResampleWarning, stacklevel=2)
    return resample(x, file_fs, fs), fs


def _select_channel(path: str, samples: np.ndarray, channel: str | int) -> np.ndarray:
    """``samples (T, C)`` mixed down (``'mix'``: the mean) or one channel, ``(T,)``; or
    every channel (``'all'``), ``(C, T)``."""
    n_channels = samples.shape[1]
    if channel == "mix":
        return samples.mean(axis=1)
    if channel == "all":
        return samples.T
    if isinstance(channel, (int, np.integer)) and not isinstance(channel, bool):
        if not -n_channels <= channel < n_channels:
            raise ValueError(f"channel {channel} does not exist in {path}, which has "
                             f"{n_channels} channel(s) (valid: 0..{n_channels - 1} or 'mix')")
        return samples[:, channel]
    raise ValueError(f"channel must be 'all', 'mix' or a channel index, got {channel!r}")


def audio_blocks(path: str | os.PathLike, blocksize: int, *,
                 channel: str | int = "mix") -> Iterator[torch.Tensor]:
    """The signal of :func:`load_audio` (``fs=None``), ``blocksize`` samples at a time.

    The blocks hold the same float64 values as ``load_audio(path, channel=channel)``
    (the same conversion, row by row), read from the file one block at a time, so a
    long recording never sits in memory whole. The :class:`MixdownWarning` is issued
    after the last block, from the energies of the whole file.

    Parameters
    ----------
    path : str or PathLike
        Sound file.
    blocksize : int
        Samples per block (the last block may be shorter).
    channel : "mix" or int
        As :func:`load_audio`.

    Yields
    ------
    Tensor, float64, shape (blocksize,)

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_audio`.
    """
    path = os.fspath(path)
    blocksize = int(check_positive(blocksize, "blocksize", integer=True))
    if not os.path.exists(path):
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        sound = soundfile.SoundFile(path)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        raise ValueError(f"cannot read audio from {path}: {_one_line(err)}") from None
    with sound:
        if sound.frames == 0:
            raise ValueError(f"audio file {path} holds no samples")
        int_dtype, full_scale = _INTEGER_SUBTYPES.get(sound.subtype, ("float64", 1.0))
        energy = np.zeros(sound.channels)
        mixed = 0.0
        for data in sound.blocks(blocksize, dtype=int_dtype, always_2d=True):
            samples = data.astype(np.float64) / full_scale
            mono = _select_channel(path, samples, channel)
            energy += np.sum(samples ** 2, axis=0)
            mixed += float(np.sum(mono ** 2))
            yield torch.from_numpy(np.ascontiguousarray(mono))
    if channel == "mix" and sound.channels > 1 and energy.max() > 0 \
            and mixed < energy.max() * 1e-2:
        drop = -10 * math.log10(max(mixed / energy.max(), 1e-300))
        warnings.warn(f"{path}: the mix of its {sound.channels} channels is {drop:.0f} dB "
                      "below its loudest channel (the channels cancel); choose one channel",
                      MixdownWarning, stacklevel=2)


def read_input(path: str | os.PathLike, *, fs: float | None = None,
               channel: str | int = "mix") -> tuple[torch.Tensor, float, float, list[str]]:
    """Read a sound file for a model, as ``torch-amt run`` does.

    :func:`load_audio` (the channel mix or one channel), a check that every sample is
    finite, then :func:`resample` to ``fs`` when the file has another rate.

    Parameters
    ----------
    path : str or PathLike
        Sound file.
    fs : float, optional
        Sampling rate of the model in Hz (default: the file's).
    channel : "mix" or int
        As :func:`load_audio`.

    Returns
    -------
    x : Tensor, float64, shape (T,)
    fs : float
        Rate of ``x`` in Hz.
    file_fs : float
        Rate of the file in Hz.
    notes : list of str
        What a person should know: a mixdown that cancels (:class:`MixdownWarning`), a
        resampling.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it cannot be read, holds non-finite samples, or cannot be resampled to ``fs``;
        the message names the file.
    """
    path = os.fspath(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MixdownWarning)
        x, file_fs = load_audio(path, channel=channel)
    notes = []
    for warning in caught:
        if issubclass(warning.category, MixdownWarning):
            notes.append(str(warning.message))
        else:
            warnings.warn(warning.message, warning.category, stacklevel=2)
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{path}: the audio holds NaN or infinite samples")
    fs = file_fs if fs is None else check_fs(fs)
    if fs != file_fs:
        try:
            x = resample(x, file_fs, fs)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
        notes.append(f"resampled {path} from {file_fs:g} Hz to {fs:g} Hz")
    return x, fs, file_fs, notes


def apply_level(x: torch.Tensor, model_dboffset: float, *, level_db: float | None = None,
                dboffset: float | None = None, rms: float | None = None) -> torch.Tensor:
    """The level handling of ``torch-amt run``: give ``x`` a level or move it between
    conventions (at most one of ``level_db`` and ``dboffset``).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal read from a file.
    model_dboffset : float
        Level convention of the model (an rms of 1 is this many dB SPL).
    level_db : float, optional
        Scale ``x`` to this rms level in dB SPL (:func:`set_level`).
    dboffset : float, optional
        The convention of ``x``: rescale it to the model's, keeping its physical level
        (:func:`torch_amt.levels.rescale_dboffset`).
    rms : float, optional
        With ``level_db``: the rms of the whole signal when ``x`` is one block of it
        (chunked processing); the block is scaled by the same formula.

    Returns
    -------
    Tensor, shape (..., T)
        ``x`` itself when neither option is given.
    """
    if level_db is not None and dboffset is not None:
        raise ValueError("give level_db or dboffset, not both")
    if level_db is not None:
        if rms is None:
            return set_level(x, level_db, model_dboffset)
        if level_db == -math.inf:
            return torch.zeros_like(x)
        if rms == 0:
            raise ValueError("x contains a silent signal (rms 0 along the last axis): its "
                             "level cannot be set (AMT would return NaN)")
        return x / rms * 10 ** ((level_db - model_dboffset) / 20)
    if dboffset is not None:
        return rescale_dboffset(x, dboffset, model_dboffset)
    return x


def _warn_if_mixdown_cancels(path: str, samples: np.ndarray, mono: np.ndarray) -> None:
    """A :class:`MixdownWarning` when the mix ``mono`` of ``samples (T, C)`` is more than
    20 dB below the loudest channel."""
    if samples.shape[1] < 2:
        return
    mixed = float(np.mean(mono ** 2))
    loudest = float(np.max(np.mean(samples ** 2, axis=0)))
    if loudest > 0 and mixed < loudest * 1e-2:
        drop = -10 * math.log10(max(mixed / loudest, 1e-300))
        warnings.warn(f"{path}: the mix of its {samples.shape[1]} channels is {drop:.0f} dB "
                      "below its loudest channel (the channels cancel); choose one channel",
                      MixdownWarning, stacklevel=3)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def resample(x: torch.Tensor, fs_in: float, fs_out: float) -> torch.Tensor:
    """Change the sampling rate of a signal by a rational factor (polyphase FIR).

    ``scipy.signal.resample_poly`` with ``up/down = fs_out/fs_in`` as a reduced fraction
    (its default Kaiser-window anti-aliasing filter). Not differentiable (NumPy).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal(s), time last.
    fs_in, fs_out : float
        Sampling rates in Hz; their ratio must be a fraction with numerator and
        denominator up to 10 000 (44100 -> 16000 is 160/441).

    Returns
    -------
    Tensor, shape (..., ceil(T * fs_out / fs_in)), dtype and device of ``x``
        The resampled signal; ``x`` itself if the rates are equal.

    Raises
    ------
    ValueError
        If the rates are not positive or their ratio is not such a fraction.
    """
    x = check_signal(x, "x", ndim=range(1, 8), dim_names="(..., T)")
    fs_in = check_fs(fs_in, "fs_in")
    fs_out = check_fs(fs_out, "fs_out")
    if fs_in == fs_out:
        return x
    ratio = Fraction(fs_out).limit_denominator(1000) / Fraction(fs_in).limit_denominator(1000)
    ratio = ratio.limit_denominator(_MAX_RESAMPLE_FACTOR)
    up, down = ratio.numerator, ratio.denominator
    if abs(up / down - fs_out / fs_in) > 1e-9 * fs_out / fs_in or up > _MAX_RESAMPLE_FACTOR:
        raise ValueError(f"cannot resample from {fs_in:g} Hz to {fs_out:g} Hz: the ratio is "
                         f"not a fraction with terms up to {_MAX_RESAMPLE_FACTOR}")
    y = scipy.signal.resample_poly(x.detach().cpu().numpy(), up, down, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(y)).to(dtype=x.dtype, device=x.device)


def set_level(x: torch.Tensor, level_db: float, dboffset: float = DBSPL_AMT) -> torch.Tensor:
    """Scale each signal to an rms level of ``level_db`` dB SPL re ``dboffset``.

    :func:`torch_amt.levels.setdbspl` (AMT ``scaletodbspl(x, level_db, dboffset)``) for
    audio: ``x`` is first validated as a signal (floating point, finite, time last).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal(s), time last.
    level_db : float
        Target rms level in dB SPL; ``-inf`` gives zeros.
    dboffset : float, default 93.98
        Level in dB SPL of an rms of 1 (the convention of the model that will hear ``x``).

    Returns
    -------
    Tensor, shape (..., T)
        ``x`` scaled so that ``20*log10(rms) + dboffset == level_db`` for every signal.

    Raises
    ------
    ValueError
        If a signal is silent (all zeros; AMT returns NaN), ``level_db`` is NaN or +inf,
        or ``dboffset`` is not finite.
    """
    x = check_signal(x, "x", ndim=range(1, 8), dim_names="(..., T)")
    return setdbspl(x, level_db, dboffset=dboffset)


def _raised_cosine_ramps(n: int, n_ramp: int, dtype: torch.dtype) -> torch.Tensor:
    """Window of length ``n`` with raised-cosine (Hann) onset and offset of ``n_ramp``."""
    window = torch.ones(n, dtype=dtype)
    n_ramp = min(n_ramp, n // 2)
    if n_ramp > 0:
        k = torch.arange(n_ramp, dtype=dtype)
        onset = 0.5 - 0.5 * torch.cos(math.pi * k / n_ramp)
        window[:n_ramp] = onset
        window[n - n_ramp:] = onset.flip(0)
    return window


def demo_sound(
    fs: float,
    duration: float = 1.0,
    *,
    level_db: float = 65.0,
    dboffset: float = DBSPL_AMT,
    carrier_hz: float = 1000.0,
    modulation_hz: float = 8.0,
    modulation_depth: float = 0.8,
    ramp_s: float = 0.01,
    seed: int = 0,
) -> torch.Tensor:
    """The built-in demo: an amplitude-modulated tone followed by a noise burst.

    The first 60 % of ``duration`` is a sinusoidally amplitude-modulated tone
    ``(1 + m sin(2π fm t)) sin(2π fc t)`` (1 kHz carrier, 8 Hz, m = 0.8: a clear peak at
    8 Hz in the modulation spectrum of the channels around 1 kHz), then 10 % silence,
    20 % white Gaussian noise (broadband, no periodic modulation), 10 % silence. The
    tone's long-term rms (that of the unramped SAM tone, ``sqrt((1 + m²/2)/2)`` times its
    amplitude) and the rms of the noise over the burst are ``level_db`` dB SPL; both
    have raised-cosine onset/offset ramps of ``ramp_s``.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (above twice ``carrier_hz``).
    duration : float, default 1.0
        Total duration in s.
    level_db : float, default 65.0
        Rms level of the tone and of the noise, dB SPL re ``dboffset``.
    dboffset : float, default 93.98
        Level in dB SPL of an rms of 1: pass the model's ``dboffset``.
    carrier_hz, modulation_hz, modulation_depth : float
        Tone frequency (Hz), modulation rate (Hz) and depth m (0..1).
    ramp_s : float, default 0.01
        Duration of each raised-cosine ramp in s.
    seed : int, default 0
        Seed of the noise (the demo is deterministic).

    Returns
    -------
    Tensor, float64, shape (round(duration * fs),)
        The demo signal.
    """
    fs = check_fs(fs)
    duration = check_positive(duration, "duration")
    ramp_s = check_positive(ramp_s, "ramp_s", strict=False)
    if not 0 < carrier_hz < fs / 2:
        raise ValueError(f"carrier_hz must be in (0, fs/2 = {fs / 2:g}) Hz, got {carrier_hz}")
    if not 0 <= modulation_depth <= 1:
        raise ValueError(f"modulation_depth must be in [0, 1], got {modulation_depth}")
    n_total = round(duration * fs)
    n_tone, n_gap, n_noise = round(0.6 * n_total), round(0.1 * n_total), round(0.2 * n_total)
    if min(n_tone, n_noise) < 2:
        raise ValueError(f"duration {duration} s is too short at fs = {fs:g} Hz")
    n_ramp = round(ramp_s * fs)
    dtype = torch.float64
    t = torch.arange(n_tone, dtype=dtype) / fs
    tone = ((1 + modulation_depth * torch.sin(2 * math.pi * modulation_hz * t))
            * torch.sin(2 * math.pi * carrier_hz * t))
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(n_noise, generator=generator, dtype=dtype)
    tone_rms = math.sqrt((1 + modulation_depth**2 / 2) / 2)  # long-term rms of the SAM tone
    tone = (tone * (float(dbspl_to_rms(level_db, dboffset)) / tone_rms)
            * _raised_cosine_ramps(n_tone, n_ramp, dtype))
    noise = set_level(noise, level_db, dboffset) * _raised_cosine_ramps(n_noise, n_ramp, dtype)
    x = torch.zeros(n_total, dtype=dtype)
    x[:n_tone] = tone
    x[n_tone + n_gap:n_tone + n_gap + n_noise] = noise
    return x
