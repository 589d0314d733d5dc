"""Excitation-inhibition cell stage of Breebaart et al. (2001) (AMT ``breebaart2001_eicell``)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.functional.eicell import EICELL_DEFAULTS, eicell
from torch_amt.stages.base import Stage

__all__ = ["EICell"]


class EICell(Stage):
    """Binaural excitation-inhibition (EI) cells, one per auditory channel and per
    characteristic ``(tau, ild)`` pair.

    AMT 1.4.0 ``breebaart2001_eicell`` applied to every auditory channel, as
    ``breebaart2001`` does, for any number of characteristic delays and level
    differences at once: ``tau`` and ``ild`` broadcast against each other to a shape
    ``S`` of cells (e.g. ``tau`` of shape ``(P,)`` and a scalar ``ild``: ``P`` cells along
    the delay axis). Each cell delays one ear by ``round(|tau|·fs)`` samples, scales the
    ears by ``±ild/2`` dB, squares their difference, smooths it with a zero-phase
    first-order low-pass (``tc``; GNU Octave's ``filtfilt``) and compresses it as
    ``exp(-|tau|/ptau)·rc_a·log(rc_b·y + 1)`` (see :func:`torch_amt.functional.eicell`).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    tau : float, sequence or Tensor
        Characteristic interaural delays in seconds (positive: left leading; AMT
        ``tau``, 0).
    ild : float, sequence or Tensor
        Characteristic interaural level differences in dB (positive: left louder; AMT
        ``ild``, 0).
    tc : float
        Smoothing time constant in seconds (AMT ``tc``, 30 ms).
    rc_a, rc_b : float
        Compression ``rc_a·log(rc_b·y + 1)`` (AMT ``rc_a`` 0.1, ``rc_b`` 2e-5).
    ptau : float
        Time constant of the ``exp(-|tau|/ptau)`` weighting in seconds (AMT ``ptau``,
        2.2 ms).
    dtype : torch.dtype
        Accepted for a uniform signature (default float32); the stage has no parameters
        and keeps ``tau``, ``ild`` as float64 buffers.

    Shape
    -----
    Input ``(..., 2, F, T)``: left and right ear (axis -3) of ``F`` auditory channels, as
    the binaural filterbank of :class:`~torch_amt.models.Breebaart2001` produces it.
    Output ``(..., *S, F, T)``; ``(..., F, T)`` for scalar ``tau`` and ``ild``.

    References
    ----------
    J. Breebaart, S. van de Par, and A. Kohlrausch, "Binaural processing model based on
    contralateral inhibition. I. Model structure", J. Acoust. Soc. Am. 110(2),
    1074–1088 (2001).
    """

    amt_function = "breebaart2001_eicell"
    float64_buffers = ("tau", "ild")

    def __init__(self, fs: float, tau=0.0, ild=0.0, *, tc: float = EICELL_DEFAULTS.tc,
                 rc_a: float = EICELL_DEFAULTS.rc_a, rc_b: float = EICELL_DEFAULTS.rc_b,
                 ptau: float = EICELL_DEFAULTS.ptau, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        _checks.check_dtype(dtype)
        tau_t = _checks.check_values(tau, "tau", nonempty=False).detach().clone()
        ild_t = _checks.check_values(ild, "ild", nonempty=False).detach().clone()
        try:
            torch.broadcast_shapes(tau_t.shape, ild_t.shape)
        except RuntimeError as err:
            raise ValueError(f"tau {tuple(tau_t.shape)} and ild {tuple(ild_t.shape)} do not "
                             "broadcast") from err
        self.register_buffer("tau", tau_t)
        self.register_buffer("ild", ild_t)
        self.tc = _checks.check_positive(tc, "tc")
        self.rc_a = _checks.check_positive(rc_a, "rc_a")
        self.rc_b = _checks.check_positive(rc_b, "rc_b")
        self.ptau = _checks.check_positive(ptau, "ptau")

    @property
    def cells(self) -> torch.Size:
        """Shape ``S`` of the cells: ``tau`` and ``ild`` broadcast."""
        return torch.broadcast_shapes(self.tau.shape, self.ild.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EI-cell activity of ``x (..., 2, F, T)``: ``(..., *S, F, T)``."""
        x = _checks.check_signal(x, "x", ndim=range(3, 64), dim_names="(..., 2, F, T)")
        _checks.check_module_input(self, x)
        if x.shape[-3] != 2:
            raise ValueError(f"x must hold the left and right ear along axis -3 (length 2), "
                             f"got shape {tuple(x.shape)}")
        y = eicell(x.movedim(-3, -2), self.fs, self.tau, self.ild, tc=self.tc,
                   rc_a=self.rc_a, rc_b=self.rc_b, ptau=self.ptau)
        lead = x.ndim - 3
        return y.movedim(lead, lead + len(self.cells))

    def extra_repr(self) -> str:
        def show(t: torch.Tensor) -> str:
            return f"{float(t):g}" if t.ndim == 0 else f"{tuple(t.shape)} values"

        return (f"fs={self.fs:g}, tau={show(self.tau)}, ild={show(self.ild)}, tc={self.tc:g}, "
                f"rc_a={self.rc_a:g}, rc_b={self.rc_b:g}, ptau={self.ptau:g}")
