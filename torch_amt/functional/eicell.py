"""The excitation-inhibition (EI) cell of Breebaart et al. (2001), AMT ``breebaart2001_eicell``.

An EI cell compares the two ears' internal representations of one auditory channel after
a characteristic interaural delay ``tau`` and a characteristic level difference ``ild``
(Breebaart, van de Par & Kohlrausch 2001, Eqs. 1-5; AMT 1.4.0):

1. delay: ``n = round(|tau|·fs)`` samples (MATLAB rounding, halves away from zero); for
   ``tau > 0`` (left leading) the left signal is delayed, otherwise the right one, by
   prepending ``n`` zeros and dropping the last ``n`` samples;
2. level: ``left·10^(ild/40)``, ``right·10^(-ild/40)`` (AMT ``gaindb`` by ``±ild/2``);
3. ``(left - right)^2``;
4. temporal smoothing with the first-order low-pass ``[1 - p] / [1, -p]``,
   ``p = exp(-1/(fs·tc))``, run forward and backward as GNU Octave's ``filtfilt``
   (:func:`torch_amt.dsp.octave_filtfilt`: odd reflection of 3 samples at both ends,
   steady-state initial conditions; reference README quirk 15);
5. compression ``exp(-|tau|/ptau) · rc_a · log(rc_b·y + 1)`` (natural log; the
   ``p(tau)`` weighting with ``ptau`` = 2.2 ms as in AMT, after Larsen et al.).

The odd reflection of step 4 extrapolates the first and last samples as
``2·x[0] - x[k]``: after an abrupt onset (a large difference right after a zero first
sample) the smoothed ``y`` starts negative, and where ``rc_b·y + 1 < 0`` AMT's
``log`` returns complex numbers (``log|rc_b·y + 1| + iπ``). Here the output is real:
``log|rc_b·y + 1|``, AMT's real part (identical to AMT wherever AMT's output is real).
Ramped stimuli never get there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from torch_amt import _checks
from torch_amt.dsp.filtfilt import octave_filtfilt

__all__ = ["EICELL_DEFAULTS", "EICellParameters", "eicell", "eicell_delays",
           "eicell_difference", "eicell_smoothing_coefficients"]


@dataclass(frozen=True)
class EICellParameters:
    """The key-values of AMT's ``arg_breebaart2001_eicell``.

    Attributes
    ----------
    tc : float
        Time constant of the temporal smoothing in seconds (AMT ``tc``, 30e-3).
    rc_a : float
        Output scale of the compression (AMT ``rc_a``, 0.1).
    rc_b : float
        Input scale of the compression (AMT ``rc_b``, 2e-5).
    ptau : float
        Time constant of the ``p(tau)`` weighting in seconds (AMT ``ptau``, 2.2e-3).
    """

    tc: float = 30e-3
    rc_a: float = 0.1
    rc_b: float = 0.00002
    ptau: float = 2.2e-3


EICELL_DEFAULTS = EICellParameters()
"""AMT 1.4.0's defaults (``arg_breebaart2001_eicell``)."""


def eicell_smoothing_coefficients(fs: float, tc: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(b, a) = ([1 - p], [1, -p])``, ``p = exp(-1/(fs·tc))`` (AMT's rounding), float64."""
    fs = _checks.check_fs(fs)
    tc = _checks.check_positive(tc, "tc")
    pole = math.exp(-1 / (fs * tc))
    return (torch.tensor([1 - pole], dtype=torch.float64),
            torch.tensor([1.0, -pole], dtype=torch.float64))


def _as_parameter(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if value.is_complex() or not value.is_floating_point():
            raise TypeError(f"{name} must be a real floating-point tensor, got {value.dtype}")
        if not bool(torch.isfinite(value.detach()).all()):
            raise ValueError(f"{name} contains NaN or Inf")
        return value
    return _checks.check_values(value, name, nonempty=False)


def eicell_delays(tau: torch.Tensor, fs: float) -> torch.Tensor:
    """Characteristic delays in samples, ``round(|tau|·fs)`` with MATLAB's rounding.

    Parameters
    ----------
    tau : Tensor
        Characteristic delays in seconds (any shape).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    LongTensor, same shape as ``tau``
        Halves round away from zero, as MATLAB's ``round`` (``torch.round`` rounds them
        to even).
    """
    samples = tau.detach().to(torch.float64).abs() * fs
    rounded = torch.where(samples - samples.floor() == 0.5, samples.ceil(), samples.round())
    return rounded.to(torch.int64)


def _delayed(x: torch.Tensor, delays: torch.Tensor) -> torch.Tensor:
    """``x (..., T)`` delayed by ``delays (P,)`` samples (zeros in front): ``(..., P, T)``."""
    n_t = x.shape[-1]
    most = int(delays.max()) if delays.numel() else 0
    padded = torch.nn.functional.pad(x, (most, 0))
    index = (torch.arange(n_t, device=x.device)[None, :] + most
             - delays.to(x.device)[:, None])
    return padded[..., index]


def eicell(x: torch.Tensor, fs: float, tau: float | torch.Tensor = 0.0,
           ild: float | torch.Tensor = 0.0, *, tc: float = EICELL_DEFAULTS.tc,
           rc_a: float | torch.Tensor = EICELL_DEFAULTS.rc_a,
           rc_b: float | torch.Tensor = EICELL_DEFAULTS.rc_b,
           ptau: float | torch.Tensor = EICELL_DEFAULTS.ptau) -> torch.Tensor:
    """EI-cell output for the characteristic delays ``tau`` and level differences ``ild``.

    AMT 1.4.0 ``breebaart2001_eicell(insig, fs, tau, ild, 'tc', tc, 'rc_a', rc_a,
    'rc_b', rc_b, 'ptau', ptau)``, for many ``(tau, ild)`` pairs in one call: ``tau`` and
    ``ild`` broadcast against each other to a shape ``S`` of cells, computed together.
    See the module docstring for the steps.

    Parameters
    ----------
    x : Tensor, shape (..., 2, T)
        Left (index 0) and right (index 1) signals, time last (AMT's ``[n x 2]`` insig,
        e.g. one auditory channel of the adaptation output of both ears).
    fs : float
        Sampling rate in Hz.
    tau : float or Tensor, shape S_tau
        Characteristic interaural delay in seconds (positive: left leading). The delay
        itself is a whole number of samples (no gradient); ``tau`` reaches the output
        differentiably through the ``p(tau)`` weighting.
    ild : float or Tensor, shape S_ild
        Characteristic interaural level difference in dB (positive: left louder).
    tc : float
        Smoothing time constant in seconds (AMT ``tc``, 30 ms).
    rc_a, rc_b : float or Tensor, shape ()
        Compression ``rc_a·log(rc_b·y + 1)`` (AMT ``rc_a`` 0.1, ``rc_b`` 2e-5).
    ptau : float or Tensor, shape ()
        Time constant of the ``exp(-|tau|/ptau)`` weighting in seconds (AMT ``ptau``,
        2.2 ms).

    Returns
    -------
    Tensor, shape (..., *S, T)
        EI-cell activity (model units), ``S = broadcast(S_tau, S_ild)``; ``(..., T)``
        for scalar ``tau`` and ``ild``.

    Raises
    ------
    TypeError, ValueError
        For a signal that is not real floating point, has no ear axis of length 2, or
        is not longer than 3 samples (Octave's ``filtfilt``), a delay longer than the
        signal, or invalid parameters.

    References
    ----------
    J. Breebaart, S. van de Par, and A. Kohlrausch, "Binaural processing model based on
    contralateral inhibition. I. Model structure", J. Acoust. Soc. Am. 110(2),
    1074–1088 (2001).
    """
    for value, name in ((rc_a, "rc_a"), (rc_b, "rc_b"), (ptau, "ptau")):
        if not isinstance(value, torch.Tensor):
            _checks.check_positive(value, name)
    difference, tau_f = _difference(x, fs, tau, ild)
    cells, n_t = difference.shape[x.ndim - 2:-1], x.shape[-1]
    if n_t <= 3:
        raise ValueError(f"x must be longer than 3 samples (the EI cell's zero-phase "
                         f"smoothing, Octave's filtfilt, reflects 3 samples at each end), got "
                         f"{n_t}")
    difference = difference.reshape(*x.shape[:-2], tau_f.numel(), n_t) ** 2
    b, a = eicell_smoothing_coefficients(fs, tc)
    smoothed = octave_filtfilt(difference, b.to(x.device), a.to(x.device))
    weight = torch.exp(-tau_f.abs() / ptau) * rc_a
    # |.|: AMT's real part where an onset makes the edge of the filtfilt output negative
    # enough that rc_b·y + 1 < 0 (AMT then returns complex values; module docstring)
    out = weight.to(x.dtype)[:, None] * torch.log(torch.abs(rc_b * smoothed + 1))
    return out.reshape(*x.shape[:-2], *cells, n_t)


def _difference(x: torch.Tensor, fs: float, tau, ild) -> tuple[torch.Tensor, torch.Tensor]:
    """``eicell_difference`` and the flattened delays ``tau (P,)``."""
    x = _checks.check_signal(x, "x", ndim=range(2, 64), dim_names="(..., 2, T)")
    if x.shape[-2] != 2:
        raise ValueError(f"x must hold the left and right signals along axis -2 (length 2), "
                         f"got shape {tuple(x.shape)}")
    fs = _checks.check_fs(fs)
    tau_t = _as_parameter(tau, "tau")
    ild_t = _as_parameter(ild, "ild")
    try:
        tau_t, ild_t = torch.broadcast_tensors(tau_t.to(torch.float64), ild_t.to(torch.float64))
    except RuntimeError as err:
        raise ValueError(f"tau {tuple(tau_t.shape)} and ild {tuple(ild_t.shape)} do not "
                         "broadcast") from err
    cells = tau_t.shape
    tau_f, ild_f = tau_t.reshape(-1).to(x.device), ild_t.reshape(-1).to(x.device)
    n_t = x.shape[-1]
    delays = eicell_delays(tau_f, fs)
    if delays.numel() and int(delays.max()) > n_t:
        raise ValueError(f"tau = {float(tau_f.detach().abs().max())} s is "
                         f"{int(delays.max())} samples at fs = {fs:g} Hz, longer than the "
                         f"signal ({n_t} samples)")
    left_leads = tau_f.detach() > 0
    zero = torch.zeros_like(delays)
    left = _delayed(x[..., 0, :], torch.where(left_leads, delays, zero))
    right = _delayed(x[..., 1, :], torch.where(left_leads, zero, delays))
    if bool((ild_f.detach().abs() / 2 > 6000).any()):
        raise ValueError(f"ild must lie within ±12000 dB (a gain of ±ild/2 dB per ear that "
                         f"float64 can represent), got {ild_f.detach().abs().max().item()} dB")
    gain_left = torch.pow(10.0, (ild_f / 2) / 20).to(x.dtype)
    gain_right = torch.pow(10.0, (-ild_f / 2) / 20).to(x.dtype)
    difference = left * gain_left[:, None] - right * gain_right[:, None]
    return difference.reshape(*x.shape[:-2], *cells, n_t), tau_f


def eicell_difference(x: torch.Tensor, fs: float, tau: float | torch.Tensor = 0.0,
                      ild: float | torch.Tensor = 0.0) -> torch.Tensor:
    """The interaural difference an EI cell squares: steps 1-2 of :func:`eicell`.

    Parameters
    ----------
    x : Tensor, shape (..., 2, T)
        Left and right signals.
    fs : float
        Sampling rate in Hz.
    tau, ild : float or Tensor
        Characteristic delays (s) and level differences (dB), broadcast to a shape ``S``.

    Returns
    -------
    Tensor, shape (..., *S, T)
        ``delayed(left)·10^(ild/40) - delayed(right)·10^(-ild/40)``.
    """
    return _difference(x, fs, tau, ild)[0]
