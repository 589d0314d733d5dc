"""Instantaneous compression of the King et al. (2019) model (AMT ``king2019``), stateless.

Two compressors act on the gammatone output sample by sample, around a knee point
given in dB SPL re ``dboffset`` (AMT: ``comp_knee = gaindb(1, knee_dB - dboffset)``):

* broken-stick (AMT default ``compression_brokenstick``, Ewert's ``nltrans3`` without
  smoothing): linear below the knee, ``sign(x)·|x|^n / knee^n · knee`` above it;
* power (``compression_power``): ``sign(x)·|x/knee|^n·knee`` everywhere (an expansion
  below the knee).

The exponent ``n`` may differ per channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from torch_amt._checks import check_choice, check_number, check_signal, check_values
from torch_amt.levels import DBSPL_AMT

__all__ = ["CompressionMethod", "COMPRESSION_METHODS", "get_compression", "knee_amplitude",
           "broken_stick", "power_compression", "king2019_compression"]


@dataclass(frozen=True)
class CompressionMethod:
    """One AMT ``king2019`` compression flag.

    Attributes
    ----------
    name : str
        AMT flag name.
    kind : {'brokenstick', 'power', 'none'}
        Compressor.
    """

    name: str
    kind: str


#: AMT 1.4.0 ``king2019`` compression flags (``arg_king2019``).
COMPRESSION_METHODS: dict[str, CompressionMethod] = {
    m.name: m
    for m in (
        CompressionMethod("compression_brokenstick", "brokenstick"),
        CompressionMethod("compression_power", "power"),
        CompressionMethod("no_compression", "none"),
    )
}


def get_compression(preset: str) -> CompressionMethod:
    """Look up an AMT ``king2019`` compression flag in :data:`COMPRESSION_METHODS`."""
    return COMPRESSION_METHODS[check_choice(preset, "preset", tuple(COMPRESSION_METHODS))]


def knee_amplitude(knee_db: float, dboffset: float) -> float:
    """Linear knee amplitude ``10^((knee_db - dboffset)/20)`` (AMT ``gaindb(1, ·)``)."""
    return math.pow(10.0, (check_number(knee_db, "knee_db")
                           - check_number(dboffset, "dboffset")) / 20)


def _channel_exponent(exponent, x: torch.Tensor) -> torch.Tensor:
    """Exponent as a tensor broadcastable to ``x (..., F, T)``: scalar or one per channel."""
    n = exponent if isinstance(exponent, torch.Tensor) else torch.as_tensor(
        check_values(exponent, "exponent", positive=True), dtype=x.dtype, device=x.device)
    n = n.to(device=x.device, dtype=x.dtype)
    if n.ndim == 0 or n.numel() == 1:
        return n.reshape(())
    if n.ndim != 1 or x.ndim < 2 or x.shape[-2] != n.numel():
        raise ValueError(f"exponent must be a scalar or have one value per channel "
                         f"(x.shape[-2] = {x.shape[-2] if x.ndim >= 2 else None}), got shape "
                         f"{tuple(n.shape)}")
    return n[:, None]


def broken_stick(x: torch.Tensor, knee: float, exponent) -> torch.Tensor:
    """Broken-stick compression: ``sign(x)·(|x|^n / knee^n · knee)`` where ``|x| > knee``.

    Parameters
    ----------
    x : Tensor, shape (..., T) or (..., F, T)
        Signal.
    knee : float
        Knee amplitude (linear).
    exponent : float or Tensor, shape () or (F,)
        Compression exponent ``n`` (one per channel ``x.shape[-2]`` allowed; may require
        grad). Channels with ``n == 1`` are left unchanged, as in AMT.

    Returns
    -------
    Tensor
        Compressed signal, shape and dtype of ``x``.
    """
    n = _channel_exponent(exponent, x)
    mag = x.abs()
    above = mag > knee
    safe = torch.where(above, mag, torch.full_like(mag, knee))  # no 0^(n-1) in the graph
    compressed = torch.sign(x) * (safe.pow(n) / torch.pow(knee, n) * knee)
    return torch.where(above & (n != 1), compressed, x)


def power_compression(x: torch.Tensor, knee: float, exponent) -> torch.Tensor:
    """Power compression ``sign(x)·|x/knee|^n·knee`` (an expansion below the knee).

    Same parameters as :func:`broken_stick`. Exact zeros map to 0 with zero gradient
    (the derivative is infinite there for ``n < 1``).
    """
    x = check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T) or (..., F, T)")
    return _power_law(x, check_number(knee, "knee", minimum=0, strict=True), exponent)


def _power_law(x: torch.Tensor, knee: float, exponent) -> torch.Tensor:
    n = _channel_exponent(exponent, x)
    zero = x == 0
    safe = torch.where(zero, torch.ones_like(x), x)
    y = torch.sign(safe) * (safe / knee).abs().pow(n) * knee
    # an exponent <= 1 cannot leave the range of a finite input; a larger one (expansion)
    # can, and that is an error rather than an Inf in the output
    expands = bool((n.detach() > 1).any()) if isinstance(exponent, torch.Tensor) \
        else bool(np.any(np.asarray(exponent, dtype=float) > 1))
    if expands and not bool(torch.isfinite(y).all()):
        raise ValueError(f"exponent = {exponent} overflows {x.dtype}: (|x|/knee)**exponent "
                         "exceeds its range for this input; use a smaller exponent")
    return torch.where(zero, torch.zeros_like(x), y)


def king2019_compression(x: torch.Tensor, preset: str = "compression_brokenstick",
                         exponent=0.3, knee_db: float = 30.0,
                         dboffset: float = DBSPL_AMT) -> torch.Tensor:
    """King et al. (2019) compression stage (AMT ``king2019`` between filterbank and IHC).

    Parameters
    ----------
    x : Tensor, shape (..., F, T)
        Gammatone filterbank output; time last.
    preset : str
        AMT flag: ``'compression_brokenstick'`` (default), ``'compression_power'`` or
        ``'no_compression'``.
    exponent : float or Tensor, shape () or (F,)
        Exponent ``n`` (AMT keyval ``compression_n``, default 0.3), per channel allowed.
    knee_db : float
        Knee point in dB SPL re ``dboffset`` (AMT ``compression_knee_dB``, default 30).
    dboffset : float
        Level of an rms of 1 in dB SPL. AMT 1.4.0's ``king2019`` default is
        ``dbspl(1) = 93.98`` (its help and AMT 1.6.0 say 100); pass 100 for signals in
        the ``dboffset = 100`` convention.

    Returns
    -------
    Tensor, shape (..., F, T)

    References
    ----------
    A. King, L. Varnet, and C. Lorenzi, "Accounting for masking of frequency modulation
    by amplitude modulation with the modulation filter-bank concept," J. Acoust. Soc.
    Am. 145(4), 2277–2293 (2019).
    """
    x = check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T) or (..., F, T)")
    return apply_compression(x, preset, exponent, knee_db, dboffset)


def apply_compression(x: torch.Tensor, preset: str, exponent, knee_db: float,
                      dboffset: float) -> torch.Tensor:
    """:func:`king2019_compression` without the check of ``x`` (for callers that made it)."""
    kind = get_compression(preset).kind
    if kind == "none":
        return x
    knee = knee_amplitude(knee_db, dboffset)
    if kind == "power":
        return _power_law(x, knee, exponent)
    return broken_stick(x, knee, exponent)
