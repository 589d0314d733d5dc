"""DRNL filterbank stage (Lopez-Poveda & Meddis 2001; AMT ``lopezpoveda2001``)."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.functional.drnl import (
    CHANNEL_QUANTITIES,
    DBSPL_AMT,
    DRNL_PRESETS,
    PATHS,
    DRNLParams,
    drnl,
    drnl_channel_values,
    drnl_design,
)
from torch_amt.functional.ears import middleearfilter
from torch_amt.scales import centre_frequencies

__all__ = ["DRNLFilterbank"]


class DRNLFilterbank(nn.Module):
    """Dual-resonance nonlinear filterbank, AMT 1.4.0 ``lopezpoveda2001``.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    params : {'lopezpoveda2001', 'jepsen2008'} or DRNLParams
        Parameter set: AMT's defaults (human DRNL of Lopez-Poveda & Meddis 2001 with its
        middle ear) or the ``jepsen2008`` group (Jepsen et al. 2008; middle ear
        ``middleearfilter(fs, 'jepsen2008')``). Individual values can be overridden with
        ``**overrides`` (any :class:`~torch_amt.functional.drnl.DRNLParams` field, e.g.
        ``compresslimit=1500``, ``middleear=None`` for AMT's ``'no_middleear'``).
    flow, fhigh : float
        Range of the 1-ERB-spaced centre frequencies (AMT ``flow`` 80, ``fhigh`` 8000 Hz).
        ``fhigh`` must keep the top channel's nonlinear-path centre frequency
        ``10^-0.05252·fhigh^1.0165`` below fs/2 (at 16 kHz use e.g. 7000).
    fc : sequence or Tensor, optional
        Explicit centre frequencies in Hz (instead of ``flow``/``fhigh``/``basef``).
    bwmul : float
        Channel spacing in ERB (AMT ``bwmul``).
    basef : float, optional
        Frequency forced onto the channel grid (AMT ``basef``).
    path : {'bothparts', 'linonly', 'nlinonly'}
        AMT flag: both paths or only the linear / nonlinear one.
    dboffset : float
        Level of an rms of 1 in dB SPL; AMT reads ``dbspl(1) = 93.98`` and scales the
        input by ``gaindb(x, dboffset - 100)``.
    learnable : bool
        Make every per-channel quantity trainable (centre frequencies, bandwidths and
        low-pass cut-offs of both paths, linear gain, compression ``a``, ``b``, ``c``):
        ``q = q0·exp(θ_q)`` with ``θ_q`` a parameter named ``log_<quantity>``.
    dtype : torch.dtype
        float32 (default; gammatones as second-order sections) or float64 (AMT's
        direct-form polynomials).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``; output ``(F, T)`` or ``(B, F, T)`` (basilar-membrane
    velocity in m/s).

    References
    ----------
    E. A. Lopez-Poveda and R. Meddis, "A human nonlinear cochlear filterbank",
    J. Acoust. Soc. Am. 110, 3107-3118, 2001.
    M. L. Jepsen, S. D. Ewert and T. Dau, "A computational model of human auditory signal
    processing and perception", J. Acoust. Soc. Am. 124, 422-438, 2008.
    """

    def __init__(self, fs: float, params: str | DRNLParams = "lopezpoveda2001", *,
                 flow: float = 80.0, fhigh: float = 8000.0, fc=None, bwmul: float = 1.0,
                 basef: float | None = None, path: str = "bothparts",
                 dboffset: float = DBSPL_AMT, learnable: bool = False,
                 dtype: torch.dtype = torch.float32, **overrides) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        if isinstance(params, str):
            params = DRNL_PRESETS[_checks.check_choice(params, "params", tuple(DRNL_PRESETS))]
        self.params = dataclasses.replace(params, **overrides) if overrides else params
        self.path = _checks.check_choice(path, "path", PATHS)
        self.dboffset = _checks.check_number(dboffset, "dboffset")
        self.learnable = bool(learnable)
        _checks.check_dtype(dtype)
        fc = centre_frequencies(self.fs, fc, flow, fhigh, bwmul, basef)
        values = drnl_channel_values(fc, self.params)
        drnl_design(values, self.fs, self.params)  # validates (Nyquist) once, eagerly
        self.register_buffer("fc", fc.to(dtype))
        for name in CHANNEL_QUANTITIES:
            self.register_buffer(f"{name}0", values[name].to(dtype))
            if self.learnable:
                setattr(self, f"log_{name}", nn.Parameter(torch.zeros_like(values[name],
                                                                           dtype=dtype)))
        # The fixed design stays in float64 (AMT's exact coefficients, cast to the input's
        # precision when used); it is moved to a device once and cached there.
        self._fixed = None if self.learnable else drnl_design(values, self.fs, self.params)
        self._fixed_on: dict[torch.device, object] = {}
        me = (middleearfilter(self.fs, self.params.middleear)
              if self.params.middleear is not None else None)
        self.register_buffer("middle_ear", None if me is None else me.to(dtype))

    def channel_values(self) -> dict[str, torch.Tensor]:
        """The per-channel quantities in force, each of shape ``(F,)``."""
        values = {name: getattr(self, f"{name}0") for name in CHANNEL_QUANTITIES}
        if self.learnable:
            values = {name: v * torch.exp(getattr(self, f"log_{name}"))
                      for name, v in values.items()}
        return values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x (T,)`` or ``(B, T)`` into ``(F, T)`` or ``(B, F, T)``."""
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 1)
        if self._fixed is None:
            # designed in float64 (gradients flow back to the parameters in their dtype)
            values = {k: v.double() for k, v in self.channel_values().items()}
            design = drnl_design(values, self.fs, self.params)
        else:
            if x.device not in self._fixed_on:
                self._fixed_on[x.device] = _to_device(self._fixed, x.device)
            design = self._fixed_on[x.device]
        middle_ear = self.middle_ear
        if middle_ear is not None and x.dtype == torch.float64 and middle_ear.dtype != x.dtype:
            middle_ear = None  # re-design in float64 rather than upcast rounded taps
        y = drnl(x, self.fs, design, self.params, dboffset=self.dboffset, path=self.path,
                 middle_ear=middle_ear)
        return y[0] if unbatched else y

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, channels={self.fc.numel()}, path={self.path!r}, "
                f"middleear={self.params.middleear!r}, learnable={self.learnable}")


def _to_device(design, device: torch.device):
    """Move every tensor of a (nested) frozen design dataclass to ``device``."""
    if isinstance(design, torch.Tensor):
        return design.to(device)
    if isinstance(design, tuple):
        return tuple(_to_device(t, device) for t in design)
    if dataclasses.is_dataclass(design):
        return dataclasses.replace(design, **{f.name: _to_device(getattr(design, f.name), device)
                                              for f in dataclasses.fields(design)})
    return design
