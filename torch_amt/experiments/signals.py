"""Batched interval generators for forced-choice experiments.

Every generator is called as ``signal(values, n_intervals, generator)`` (see
:class:`~torch_amt.experiments.afc.SignalGenerator`): ``values`` holds the experimental
variable of each run, the result is ``(R, n_intervals, [2,] T)`` audio with the target in
interval 0, following the 100-dB level convention (an rms of 1 is 100 dB SPL). All
random numbers come from ``generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from torch_amt import _checks

__all__ = ["AMNoise", "Breebaart2001Signal", "bandpass_noise", "hann_ramps"]


def hann_ramps(n: int, n_ramp: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Envelope of ``n`` samples with raised-cosine on/off ramps of ``n_ramp`` samples
    (LTFAT ``rampsignal``: ``0.5 - 0.5 cos(pi k / n_ramp)``, k = 0 .. n_ramp - 1, rising;
    its mirror image falling).

    Raises
    ------
    ValueError
        If the ramps are longer than half the signal.
    """
    n = _checks.check_positive(n, "n", integer=True)
    n_ramp = _checks.check_positive(n_ramp, "n_ramp", strict=False, integer=True)
    if 2 * n_ramp > n:
        raise ValueError(f"two ramps of {n_ramp} samples do not fit in {n} samples")
    env = torch.ones(n, dtype=dtype)
    k = torch.arange(n_ramp, dtype=dtype)
    up = 0.5 - 0.5 * torch.cos(math.pi * k / n_ramp)
    if n_ramp:
        env[:n_ramp] = up
        env[n - n_ramp:] = (0.5 + 0.5 * torch.cos(math.pi * k / n_ramp))
    return env


def _rms_scale(x: torch.Tensor, level_db: torch.Tensor | float) -> torch.Tensor:
    """Scale the last axis of ``x`` to an rms of ``level_db`` dB in the 100-dB convention."""
    rms = x.square().mean(dim=-1, keepdim=True).sqrt()
    if isinstance(level_db, torch.Tensor):
        level_db = level_db.reshape(level_db.shape + (1,) * (x.ndim - level_db.ndim))
    return x / rms * 10 ** ((level_db - 100.0) / 20.0)


def bandpass_noise(shape: tuple[int, ...], fs: float, n: int, fc: float, bandwidth: float,
                   generator: torch.Generator, dtype: torch.dtype = torch.float64
                   ) -> torch.Tensor:
    """Gaussian noise with a rectangular spectrum ``fc ± bandwidth / 2`` (AMT
    ``sig_bandpassnoise``: random complex Gaussian bins, inverse real FFT), unit rms.

    The band is the FFT bins ``round(f / (fs / n))`` between the edges, as in AMT (whose
    1-based indexing shifts the band down by one bin; not reproduced: here the bins
    are the edges' nearest ones, at least bin 1).

    Parameters
    ----------
    shape : tuple of int
        Leading shape (one independent noise per element).
    fs : float
        Sampling rate in Hz.
    n : int
        Length in samples (even).
    fc, bandwidth : float
        Centre frequency and bandwidth in Hz.
    generator : torch.Generator

    Returns
    -------
    Tensor, shape shape + (n,)
    """
    resolution = fs / n
    lo = max(1, round((fc - bandwidth / 2) / resolution))
    hi = min(n // 2, round((fc + bandwidth / 2) / resolution))
    if hi < lo:
        raise ValueError(f"the band {fc} ± {bandwidth / 2} Hz holds no FFT bin at "
                         f"{resolution:g}-Hz resolution")
    spectrum = torch.zeros(shape + (n // 2 + 1,), dtype=torch.complex128)
    m = hi - lo + 1
    draws = torch.randn(shape + (m, 2), generator=generator, dtype=torch.float64)
    spectrum[..., lo:hi + 1] = torch.complex(draws[..., 0], draws[..., 1])
    noise = torch.fft.irfft(spectrum, n=n)
    return (noise / noise.square().mean(dim=-1, keepdim=True).sqrt()).to(dtype)


@dataclass(frozen=True)
class Breebaart2001Signal:
    """AMT ``sig_breebaart2001``: a binaural tone in band-limited noise; the variable is the
    tone level in dB SPL.

    Each interval: Gaussian noise of ``bandwidth`` Hz around ``fc``, ``noise_dur`` s,
    interaural phase ``noise_phase`` (0: N0, pi: Npi), ``ramp`` s raised-cosine ramps,
    each ear at ``noise_level`` dB SPL (rms). The target interval adds a ``signal_dur``-s
    tone at ``fc`` (right ear phase-shifted by ``signal_phase``: pi gives Spi), ramped,
    at the variable's level (rms per ear over the tone), centred in the noise.

    Parameters
    ----------
    fs : float
    fc : float
    bandwidth : float
    noise_level : float
    signal_dur, noise_dur, ramp : float
    signal_phase, noise_phase : float
        0 or pi (interaural correlation 1 or -1).
    dtype : torch.dtype
    """

    fs: float
    fc: float
    bandwidth: float
    noise_level: float = 65.0
    signal_dur: float = 0.3
    noise_dur: float = 0.4
    signal_phase: float = math.pi
    noise_phase: float = 0.0
    ramp: float = 0.05
    dtype: torch.dtype = torch.float64

    def __post_init__(self) -> None:
        _checks.check_fs(self.fs)
        _checks.check_frequencies(self.fc, self.fs, "fc")
        _checks.check_positive(self.bandwidth, "bandwidth")
        if self.signal_dur > self.noise_dur:
            raise ValueError("signal_dur must not exceed noise_dur")
        if self.noise_phase not in (0.0, math.pi):
            raise ValueError("noise_phase must be 0 (N0) or pi (Npi) here")

    def __call__(self, values: torch.Tensor, n_intervals: int,
                 generator: torch.Generator) -> torch.Tensor:
        """Intervals ``(R, n_intervals, 2, T)``; ``values``: tone level (dB SPL) per run."""
        fs = self.fs
        n = round(self.noise_dur * fs / 2) * 2
        n_ramp = round(self.ramp * fs)
        runs = values.shape[0]
        noise = bandpass_noise((runs, n_intervals), fs, n, self.fc, self.bandwidth, generator,
                               self.dtype)
        noise = noise * hann_ramps(n, n_ramp, self.dtype)
        noise = _rms_scale(noise, self.noise_level)
        sign = 1.0 if self.noise_phase == 0.0 else -1.0
        x = torch.stack([noise, sign * noise], dim=-2)
        m = round(self.signal_dur * fs)
        t = torch.arange(m, dtype=self.dtype) / fs
        tone = torch.stack([torch.sin(2 * math.pi * self.fc * t),
                            torch.sin(2 * math.pi * self.fc * t - self.signal_phase)])
        tone = _rms_scale(tone * hann_ramps(m, n_ramp, self.dtype), 100.0)
        offset = round((self.noise_dur - self.signal_dur) * fs / 2)
        gain = 10 ** ((values.to(self.dtype) - 100.0) / 20.0)
        x[:, 0, :, offset:offset + m] += gain[:, None, None] * tone
        return x


@dataclass(frozen=True)
class AMNoise:
    """Sinusoidally amplitude-modulated noise; the variable is the modulation depth
    ``20 log10(m)`` in dB.

    Target: ``c(t) (1 + m sin(2 pi fm t))``, references: ``c(t)``, each with its own
    Gaussian noise carrier ``c`` (band ``carrier_low``-``carrier_high`` Hz), every
    interval scaled to ``level`` dB SPL (so the modulation adds no level cue) and ramped
    with ``ramp``-s raised-cosine ramps.

    Parameters
    ----------
    fs, fm : float
        Sampling rate and modulation frequency in Hz.
    duration : float
        Interval duration in s.
    level : float
        dB SPL (rms).
    carrier_low, carrier_high : float
        Noise band in Hz.
    ramp : float
    dtype : torch.dtype
    """

    fs: float
    fm: float
    duration: float = 0.5
    level: float = 65.0
    carrier_low: float = 1.0
    carrier_high: float = 4000.0
    ramp: float = 0.05
    dtype: torch.dtype = torch.float64

    def __post_init__(self) -> None:
        _checks.check_fs(self.fs)
        _checks.check_positive(self.fm, "fm")
        _checks.check_positive(self.duration, "duration")

    def __call__(self, values: torch.Tensor, n_intervals: int,
                 generator: torch.Generator) -> torch.Tensor:
        """Intervals ``(R, n_intervals, T)``; ``values``: 20 log10(m) per run."""
        n = round(self.duration * self.fs / 2) * 2
        runs = values.shape[0]
        fc = (self.carrier_low + self.carrier_high) / 2
        bw = self.carrier_high - self.carrier_low
        x = bandpass_noise((runs, n_intervals), self.fs, n, fc, bw, generator, self.dtype)
        t = torch.arange(n, dtype=self.dtype) / self.fs
        m = 10 ** (values.to(self.dtype) / 20.0)
        x[:, 0] = x[:, 0] * (1 + m[:, None] * torch.sin(2 * math.pi * self.fm * t))
        x = x * hann_ramps(n, round(self.ramp * self.fs), self.dtype)
        return _rms_scale(x, self.level)
