"""Modulation filterbank of Relaño-Iborra et al. (2019) (AMT ``relanoiborra2019_mfbtd``)."""

from __future__ import annotations

import math

import torch

from torch_amt._checks import batched, check_module_input, check_signal
from torch_amt.functional.relanoiborra2019 import mfbtd_lowpass
from torch_amt.stages.modfilterbank import FastModulationFilterbank

__all__ = ["RelanoIborra2019ModulationFilterbank"]


class RelanoIborra2019ModulationFilterbank(FastModulationFilterbank):
    """The sCASP modulation filterbank: AMT ``relanoiborra2019_mfbtd(x, 0, umf, 1, fs)``
    followed by the model's post-processing (``local_mfbtdpp``).

    The Dau et al. (1997) / Jepsen et al. (2008) bank of :class:`FastModulationFilterbank`
    with the settings of ``mfbtd``: a 1st-order 150-Hz low-pass first, the same filters in
    every channel (no ``fc/4`` limit): a 2nd-order 2.5-Hz low-pass, complex one-pole
    band-passes at 5 and 10 Hz (5-Hz bandwidth) and ``16.67·(5/3)^k`` Hz (Q = 2) up to
    ``umf`` (1500 Hz: 12 filters, the last at 992 Hz), outputs ``2·filter(b, a, x)``, then
    the real part up to 10 Hz and ``|.|/√2`` above. The 2.5-Hz low-pass is mfbtd's own
    (``local_solp``, written with ``tan``), not ``butter``.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (the model runs it at the audio rate).
    fc : Tensor or array_like, shape (F,)
        Centre frequencies of the auditory channels in Hz (they set only the number of
        channels: the bank is the same in each).
    umf : float
        Upper limit of the modulation centre frequencies in Hz (AMT ``mfhigh`` 1500).
    learnable : bool
        As :class:`ModulationFilterbank` (a learnable 0-Hz low-pass is redesigned with
        ``butter``).
    dtype : torch.dtype
        dtype of learnable parameters.

    Attributes
    ----------
    mfc : Tensor, shape (M,)
        Modulation centre frequencies in Hz (0 first).

    Shape
    -----
    Input ``(B, F, T)`` or ``(F, T)``; output ``(B, F, M, T)`` or ``(F, M, T)`` (AMT's
    ``time x channel x fmod`` array, time last).

    References
    ----------
    H. Relaño-Iborra, J. Zaar, and T. Dau, J. Acoust. Soc. Am. 146(5), 3306–3317 (2019).
    T. Dau, B. Kollmeier, and A. Kohlrausch, J. Acoust. Soc. Am. 102, 2892–2905 (1997).
    """

    amt_function = "relanoiborra2019_mfbtd"

    def __init__(self, fs: float, fc, umf: float = 1500.0, *, learnable: bool = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, fc, max_mfc=umf, use_upper_limit=False, lp150="filter",
                         att_factor=1 / math.sqrt(2), learnable=learnable, dtype=dtype)
        b, a = mfbtd_lowpass(self.fs, style=1)
        self.b_lowpass.copy_(b)
        self.a_lowpass.copy_(a)

    @property
    def mfc(self) -> torch.Tensor:
        """Modulation centre frequencies in Hz, shape ``(M,)`` (the same in every channel)."""
        return self.filter_coeffs[0].mfc_current()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter the envelopes ``x (B, F, T)`` or ``(F, T)`` into ``(B, F, M, T)``."""
        x = check_signal(x, "x", ndim=(2, 3), dim_names="(B, F, T) or (F, T)")
        check_module_input(self, x)
        x, squeeze = batched(x, 2)
        out = torch.stack(super().forward(x), dim=1)
        return out[0] if squeeze else out

    def amt_equivalent(self) -> str:
        return (f"relanoiborra2019_mfbtd(insig, 0, {self.max_mfc:g}, 1, fs) + local_mfbtdpp"
                + (" (not in AMT: learnable)" if self.learnable else ""))
