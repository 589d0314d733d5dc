"""DRNL filterbank stage (Lopez-Poveda & Meddis 2001; AMT ``lopezpoveda2001``)."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.functional.drnl import (
    CHANNEL_QUANTITIES,
    DRNL_PRESETS,
    PATHS,
    DRNLDesign,
    DRNLParams,
    drnl,
    drnl_channel_values,
    drnl_design,
    drnl_highest_fc,
    resolve_preset,
)
from torch_amt.functional.ears import middleearfilter
from torch_amt.levels import DBSPL_AMT
from torch_amt.scales import centre_frequencies
from torch_amt.stages._bounded import bounded_frequency
from torch_amt.stages.base import Stage

__all__ = ["DRNLFilterbank", "FREQUENCY_QUANTITIES"]

FREQUENCY_QUANTITIES = ("lin_fc", "lin_lp_cutoff", "nlin_fc_before", "nlin_fc_after",
                        "nlin_lp_cutoff")
"""The per-channel quantities that are frequencies in Hz (kept below fs/2 when learnable)."""


class DRNLFilterbank(Stage):
    """Dual-resonance nonlinear filterbank, AMT 1.4.0 ``lopezpoveda2001``.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    preset : {'lopezpoveda2001', 'jepsen2008'} or DRNLParams
        Parameter set: AMT's defaults (human DRNL of Lopez-Poveda & Meddis 2001 with its
        middle ear) or the ``jepsen2008`` group (Jepsen et al. 2008; middle ear
        ``middleearfilter(fs, 'jepsen2008')``), or a
        :class:`~torch_amt.functional.drnl.DRNLParams`. Individual values can be
        overridden with ``**overrides`` (any ``DRNLParams`` field, e.g.
        ``compresslimit=1500``, ``middleear=None`` for AMT's ``'no_middleear'``).
    flow, fhigh : float
        Range of the 1-ERB-spaced centre frequencies (AMT ``flow`` 80, ``fhigh`` 8000 Hz).
        ``fhigh`` must keep the top channel's nonlinear-path centre frequency
        ``10^-0.05252·fhigh^1.0165`` below fs/2 (AMT's own ``lopezpoveda2001`` fails
        otherwise, e.g. with its default 8000 Hz at 16 kHz). ``fhigh=None``: the smaller
        of 8000 Hz and the highest channel computable at ``fs``
        (:func:`~torch_amt.functional.drnl.drnl_highest_fc`).
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
        ``q = q0·exp(θ_q)`` with ``θ_q`` a parameter named ``log_<quantity>``, equal to
        the fixed design at initialisation (bit for bit). The centre frequencies and
        cut-offs (:data:`FREQUENCY_QUANTITIES`) use ``q0·exp(s(θ_q))`` instead, with
        ``s`` the identity near 0 saturating so that they stay inside
        ``(1e-6·q0, 0.99·fs/2)`` whatever the training does
        (:func:`~torch_amt.stages._bounded.bounded_frequency`).
    dtype : torch.dtype
        dtype of the parameters. The design is float64 whatever ``dtype`` (the buffers
        ``fc``, ``<quantity>0`` and ``middle_ear``; see
        :class:`~torch_amt.stages.base.Stage`) and the filters are designed from those
        buffers when first used after any change to them. A float32 signal is filtered
        with the float64 coefficients (gammatones as second-order sections; float64 on
        the CPU uses AMT's direct-form polynomials).

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

    amt_function = "lopezpoveda2001"
    streamable = True
    float64_buffers = ("fc", *(f"{name}0" for name in CHANNEL_QUANTITIES), "middle_ear")

    def __init__(self, fs: float, preset: str | DRNLParams = "lopezpoveda2001", *,
                 flow: float = 80.0, fhigh: float | None = 8000.0, fc=None,
                 bwmul: float = 1.0,
                 basef: float | None = None, path: str = "bothparts",
                 dboffset: float = DBSPL_AMT, learnable: bool = False,
                 dtype: torch.dtype = torch.float32, **overrides) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        params = resolve_preset(preset)
        #: AMT flag group (None for parameters that are not one of :data:`DRNL_PRESETS`)
        self.preset = preset if isinstance(preset, str) else next(
            (name for name, p in DRNL_PRESETS.items() if p == preset), None)
        self.params = dataclasses.replace(params, **overrides) if overrides else params
        self.path = _checks.check_choice(path, "path", PATHS)
        self.dboffset = _checks.check_number(dboffset, "dboffset")
        self.learnable = _checks.check_bool(learnable, "learnable")
        _checks.check_dtype(dtype)
        #: the argument the channels came from, for the Nyquist message
        self._channels_from = "fhigh" if fc is None else "fc"
        if fhigh is None:
            fhigh = min(8000.0, drnl_highest_fc(self.fs, self.params))
        fc = centre_frequencies(self.fs, fc, flow, fhigh, bwmul, basef).to(torch.float64)
        values = drnl_channel_values(fc, self.params)
        self.register_buffer("fc", fc)
        for name in CHANNEL_QUANTITIES:
            self.register_buffer(f"{name}0", values[name])
            if self.learnable:
                setattr(self, f"log_{name}", nn.Parameter(torch.zeros_like(values[name],
                                                                           dtype=dtype)))
        me = (middleearfilter(self.fs, self.params.middleear)
              if self.params.middleear is not None else None)
        self.register_buffer("middle_ear", me)
        self.design()  # validates (Nyquist) once, eagerly

    def channel_values(self) -> dict[str, torch.Tensor]:
        """The per-channel quantities in force, each of shape ``(F,)``, float64."""
        values = {name: getattr(self, f"{name}0") for name in CHANNEL_QUANTITIES}
        if self.learnable:
            values = {name: bounded_frequency(v, getattr(self, f"log_{name}"), self.fs)
                      if name in FREQUENCY_QUANTITIES
                      else v * torch.exp(getattr(self, f"log_{name}"))
                      for name, v in values.items()}
        return values

    def design(self) -> DRNLDesign:
        """The filters in force, designed in float64 from the buffers (and parameters).

        Cached until one of them changes (:meth:`~torch_amt.stages.base.Stage.cached_design`):
        editing e.g. ``lin_gain0`` in place, loading a state dict or moving the module
        takes effect at the next call.
        """
        sources = [getattr(self, f"{name}0") for name in CHANNEL_QUANTITIES]
        if self.learnable:
            sources += [getattr(self, f"log_{name}") for name in CHANNEL_QUANTITIES]
        return self.cached_design("drnl", sources, self._build_design)

    def _build_design(self) -> DRNLDesign:
        values = self.channel_values()
        device = values["lin_fc"].device
        if device.type == "cpu" or any(v.requires_grad for v in values.values()):
            return drnl_design(values, self.fs, self.params, source=self._channels_from)
        # a fixed design is computed on the CPU, where its elementary functions are the
        # C library's as in AMT (see torch_amt.dsp.libm), then moved once
        values = {name: v.cpu() for name, v in values.items()}
        return _to_device(drnl_design(values, self.fs, self.params,
                                      source=self._channels_from), device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x (T,)`` or ``(B, T)`` into ``(F, T)`` or ``(B, F, T)``."""
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 1)
        y = drnl(x, self.fs, self.design(), self.params, dboffset=self.dboffset,
                 path=self.path, middle_ear=self.middle_ear)
        return y[0] if unbatched else y

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, channels={self.fc.numel()}, preset={self.preset!r}, "
                f"path={self.path!r}, middleear={self.params.middleear!r}, "
                f"learnable={self.learnable}")


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
