"""Adaptation-loop stage (AMT ``adaptloop``)."""

from __future__ import annotations

import torch
from torch import nn

from torch_amt._checks import check_bool, check_dtype, check_fs, check_module_input, check_signal
from torch_amt.functional.adaptation import (
    ADAPTLOOP_PRESETS,
    adaptloop_core,
    minspl_to_minlvl,
    resolve_adaptloop,
)
from torch_amt.stages.base import Stage

__all__ = ["AdaptLoop"]


class AdaptLoop(Stage):
    """Nonlinear adaptation loops (Püschel 1988; Dau et al. 1996a, 1997a).

    Reproduces AMT 1.4.0 ``adaptloop(x, fs, limit, minspl, tau)`` and its flag groups
    (:data:`torch_amt.functional.adaptation.ADAPTLOOP_PRESETS`): the input is floored
    at the minimum level, passed through ``len(tau)`` divisive feedback loops (each
    divides by a one-pole low-pass, time constant ``tau_j``, of its own output),
    optionally with overshoot limitation, and scaled to model units.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    limit : float, optional
        Overshoot limit (AMT positional ``limit``); ``<= 1`` disables the limitation.
        Default: the preset's.
    minspl : float or sequence of float, optional
        Minimum level (AMT ``minspl``): dB SPL re AMT's adaptloop convention
        ``dboffset = 100`` (0 dB -> 1e-5), or a linear floor when in (0, 1). A sequence
        gives one value per channel; the input must then be ``(..., F, T)`` with ``F``
        equal to its length. Default: the preset's.
    tau : sequence of float, optional
        Time constants in s (AMT ``tau``); their number is the number of loops.
        Default: the preset's.
    preset : str
        AMT group: ``'adt_dau1997'`` (default; tau 5, 50, 129, 253, 500 ms, limit 10,
        minspl 0 dB), ``'adt_dau1996'`` (same tau, no limit), ``'adt_puschel1988'`` /
        ``'adt_breebaart2001'`` (tau linearly spaced 5–500 ms, no limit),
        ``'adt_osses2021'`` (limit 5), ``'adt_relanoiborra2019'`` (limit 10, floor 2e-7).
    learnable : bool
        Make the time constants trainable (``log_tau``, so they stay positive) and, when
        the limitation is on, the limit (``limit = 1 + softplus(limit_raw)``, so it stays
        above 1). The minimum level stays fixed.
    dtype : torch.dtype
        dtype of the learnable parameters (default float32). The fixed time constants,
        limit and minimum level are float64 buffers, the recurrence runs in float64 and
        the output is in the input's dtype.

    Shapes
    ------
    Input ``(..., T)`` (typically ``(B, F, T)`` IHC envelopes); output of the same shape.

    Notes
    -----
    The recurrence runs in its own compiled kernel with an exact hand-written adjoint
    (:mod:`torch_amt.dsp.adaptloop`): numba on CPU, an exact pure-torch loop on other
    devices (slow: one step per sample). Digital silence gives a constant
    ≈ -3.674e-14 model units in float64, as AMT does.

    Every setting in force is a buffer or parameter (``tau_value``/``log_tau``,
    ``limit_value``/``limit_raw``, ``minlvl``), and whether the limitation is on is
    read from the limit: a state dict saved from another preset (with the same number
    of loops) loads that preset's settings whole; ``preset`` names the group the module
    was built from.

    References
    ----------
    D. Püschel, PhD thesis, Universität Göttingen (1988). T. Dau, D. Püschel, and
    A. Kohlrausch, J. Acoust. Soc. Am. 99(6), 3615–3622 (1996a). T. Dau, B. Kollmeier,
    and A. Kohlrausch, J. Acoust. Soc. Am. 102, 2892–2905 (1997a). J. Breebaart, S. van
    de Par, and A. Kohlrausch, J. Acoust. Soc. Am. 110, 1074–1088 (2001).
    H. Relaño-Iborra, J. Zaar, and T. Dau, J. Acoust. Soc. Am. 146(5) (2019).
    A. Osses Vecchi and A. Kohlrausch, J. Acoust. Soc. Am. 149(5), 3534–3554 (2021).
    """

    amt_function = "adaptloop"
    streamable = True
    float64_buffers = ("tau_value", "limit_value", "minlvl")
    presets = tuple(ADAPTLOOP_PRESETS)

    def __init__(self, fs: float, limit: float | None = None, minspl=None, tau=None, *,
                 preset: str = "adt_dau1997", learnable: bool = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = check_fs(fs)
        check_dtype(dtype)
        self.config = resolve_adaptloop(preset, limit, minspl, tau)
        self.learnable = check_bool(learnable, "learnable")
        tau_t = torch.tensor(self.config.tau, dtype=torch.float64)
        limit_t = torch.tensor(self.config.limit, dtype=torch.float64)
        if self.learnable:
            self.log_tau = nn.Parameter(tau_t.log().to(dtype))
            if self.config.limit > 1:
                # inverse softplus of (limit - 1)
                raw = limit_t - 1 + torch.log(-torch.expm1(-(limit_t - 1)))
                self.limit_raw = nn.Parameter(raw.to(dtype))
            else:
                self.register_buffer("limit_value", limit_t)
        else:
            self.register_buffer("tau_value", tau_t)
            self.register_buffer("limit_value", limit_t)
        self.register_buffer("minlvl", minspl_to_minlvl(self.config.minspl))

    @property
    def preset(self) -> str:
        """AMT flag group the settings start from."""
        return self.config.name

    @property
    def tau(self) -> torch.Tensor:
        """Time constants in s, shape (L,)."""
        return self.log_tau.exp() if self.learnable else self.tau_value

    @property
    def limit(self) -> torch.Tensor:
        """Overshoot limit (0-d tensor)."""
        if "limit_raw" in self._parameters:
            return 1 + nn.functional.softplus(self.limit_raw)
        return self.limit_value

    @property
    def limited(self) -> bool:
        """Whether the overshoot limitation is on: the limit in force is above 1.

        Read from the ``limit_value`` buffer (a learnable limit is always above 1), so a
        state dict loaded from another preset brings its limitation with its values.
        """
        if "limit_raw" in self._parameters:
            return True
        return self.cached_design("limited", (self.limit_value,),
                                  lambda: bool(self.limit_value > 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Adapt ``x (..., T)``; output of the same shape, in model units."""
        x = check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
        check_module_input(self, x)
        return adaptloop_core(x, self.fs, self.tau, self.limit.to(torch.float64), self.minlvl,
                              self.limited)

    def extra_repr(self) -> str:
        tau = tuple(round(float(t), 6) for t in self.tau.detach().reshape(-1))
        minlvl = self.minlvl.reshape(-1)
        minlvl = f"{float(minlvl[0]):g}" if minlvl.numel() == 1 else f"{minlvl.numel()} values"
        limit = float(self.limit.detach())
        return (f"fs={self.fs}, preset={self.preset!r}, tau={tau}, limit={limit:g}, "
                f"minlvl={minlvl}, learnable={self.learnable}")
