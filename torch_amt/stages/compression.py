"""King et al. (2019) instantaneous compression stage (AMT ``king2019``)."""

from __future__ import annotations

import torch
from torch import nn

from torch_amt._checks import (
    check_bool,
    check_dtype,
    check_module_input,
    check_number,
    check_signal,
    check_values,
)
from torch_amt.functional.compression import apply_compression, get_compression
from torch_amt.levels import DBSPL_AMT
from torch_amt.stages.base import Stage

__all__ = ["King2019Compression"]


class King2019Compression(Stage):
    """Broken-stick or power compression of the gammatone output (King et al. 2019).

    AMT 1.4.0 ``king2019`` applies it between the auditory filterbank and the IHC
    envelope: with ``knee = 10^((knee_db - dboffset)/20)``,

    * ``'compression_brokenstick'`` (default): ``y = x`` for ``|x| <= knee``, else
      ``sign(x)·|x|^n / knee^n · knee`` (channels with ``n == 1`` unchanged);
    * ``'compression_power'``: ``y = sign(x)·|x/knee|^n·knee`` (expands below the knee);
    * ``'no_compression'``: ``y = x``.

    Parameters
    ----------
    preset : str
        AMT flag: ``'compression_brokenstick'``, ``'compression_power'`` or
        ``'no_compression'``.
    exponent : float or sequence of float
        Exponent ``n`` (AMT keyval ``compression_n``, default 0.3; 0.6 for normal hearing
        per Wallaert et al. 2017). A sequence gives one exponent per channel; the input
        must then be ``(..., F, T)`` with matching ``F``.
    knee_db : float
        Knee in dB SPL re ``dboffset`` (AMT ``compression_knee_dB``, default 30).
    dboffset : float
        dB SPL of an rms of 1. Default 93.98 = AMT 1.4.0's ``king2019`` default (taken
        from ``arg_auditoryfilterbank``; its help text and AMT 1.6.0 say 100).
    learnable : bool
        Make the exponent(s) a trainable parameter, ``n = sigmoid(exponent_logit)`` so
        it stays in (0, 1) (a compressive exponent); requires ``0 < n < 1``.
    dtype : torch.dtype
        dtype of the exponent buffer / parameter (default float32).

    Shapes
    ------
    Input ``(..., T)`` (a scalar exponent) or ``(..., F, T)``; output of the same shape.

    References
    ----------
    A. King, L. Varnet, and C. Lorenzi, J. Acoust. Soc. Am. 145(4), 2277–2293 (2019).
    J. Wallaert, B. C. J. Moore, S. D. Ewert, and C. Lorenzi, J. Acoust. Soc. Am.
    141(2), 971–980 (2017).
    """

    amt_function = "king2019"
    streamable = True

    def __init__(self, preset: str = "compression_brokenstick", exponent=0.3,
                 knee_db: float = 30.0, dboffset: float = DBSPL_AMT, *,
                 learnable: bool = False, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.preset = get_compression(preset).name
        self.knee_db = check_number(knee_db, "knee_db")
        self.dboffset = check_number(dboffset, "dboffset")
        check_dtype(dtype)
        n = check_values(exponent.detach() if isinstance(exponent, torch.Tensor) else exponent,
                         "exponent", positive=True).reshape(-1)
        n = n.reshape(()) if n.numel() == 1 else n
        self.learnable = check_bool(learnable, "learnable")
        if self.learnable:
            if bool((n >= 1).any()):
                raise ValueError(f"a learnable exponent must lie in (0, 1), got {exponent!r}")
            self.exponent_logit = nn.Parameter(torch.logit(n).to(dtype))
        else:
            self.register_buffer("exponent_value", n.to(dtype))

    @property
    def exponent(self) -> torch.Tensor:
        """Compression exponent(s), shape () or (F,)."""
        return torch.sigmoid(self.exponent_logit) if self.learnable else self.exponent_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compress ``x (..., F, T)``; same shape and dtype."""
        x = check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T) or (..., F, T)")
        check_module_input(self, x)
        return apply_compression(x, self.preset, self.exponent, self.knee_db, self.dboffset)

    def extra_repr(self) -> str:
        return (f"preset={self.preset!r}, knee_db={self.knee_db}, dboffset={self.dboffset}, "
                f"learnable={self.learnable}")
