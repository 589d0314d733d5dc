"""DRNL filterbank of Paulick et al. (2024) (AMT 1.6 ``paulick2024_drnl``)."""

from __future__ import annotations

import torch

from torch_amt import _checks
from torch_amt.functional.drnl import CHANNEL_QUANTITIES, _check_nyquist, drnl_highest_fc
from torch_amt.functional.paulick2024 import (
    PAULICK2024_MODELS,
    PAULICK2024_SUBJECTS,
    paulick2024_drnl_params,
    paulick2024_drnl_values,
)
from torch_amt.scales import erbspace
from torch_amt.stages.drnl import DRNLFilterbank

__all__ = ["Paulick2024DRNL"]


class Paulick2024DRNL(DRNLFilterbank):
    """Dual-resonance nonlinear filterbank of the revised CASP model (``paulick2024_drnl``).

    The DRNL of Lopez-Poveda & Meddis (2001) as Paulick et al. (2024) parametrise it,
    one AMT ``paulick2024_drnl(x, CF, fs, subject, model)`` call per channel: a linear
    path (gain, gammatone, four 2nd-order Butterworth low-passes) and a nonlinear path
    (gammatone, broken-stick compression ``sign(y)·min(a|y|, b|y|^c)``, gammatone, low-
    passes), with every quantity ``10^(p0 + p1·log10(CF))``. Unlike AMT 1.4.0's
    ``lopezpoveda2001`` there is no middle ear and no level rescaling inside (the model
    applies the outer and middle ear before) and, for normal hearing, ``a`` and ``b``
    follow CF up to 1 kHz and are those of 1500 Hz above it.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    flow, fhigh : float
        Lowest and highest centre frequency in Hz (AMT ``flow`` 250, ``fhigh`` 8000);
        ``fhigh=None``: 8000 Hz, or the highest channel computable at ``fs`` if lower
        (7788 Hz at 16 kHz: the nonlinear path's centre frequency exceeds CF).
    naud : int
        Number of channels, ERB-spaced (AMT ``erbspace(flow, fhigh, Naud)``; 50).
    fc : sequence or Tensor, optional
        Explicit centre frequencies in Hz instead of ``flow``/``fhigh``/``naud``.
    subject : {'NH', 'HIx'}
        Normal hearing, or hearing impaired without compression (AMT ``subject``).
    model : {'paulick2024', 'jepsen2008'}
        Parameter set (AMT ``model``): gammatone orders 2 (3) and 1 (3) nonlinear-path
        low-passes.
    learnable : bool
        Trainable per-channel quantities, as in
        :class:`~torch_amt.stages.DRNLFilterbank` (identical to the fixed design at
        initialisation).
    dtype : torch.dtype
        dtype of the parameters (the design is float64).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)`` (sound pressure in Pa after the outer and middle ear);
    output ``(F, T)`` or ``(B, F, T)`` (basilar-membrane velocity, m/s).

    References
    ----------
    L. Paulick, H. Relaño-Iborra and T. Dau, "The Computational Auditory Signal
    Processing and Perception Model (CASP): A Revised Version", bioRxiv (2024).
    E. A. Lopez-Poveda and R. Meddis, J. Acoust. Soc. Am. 110, 3107–3118 (2001).
    """

    amt_function = "paulick2024_drnl"

    def __init__(self, fs: float, flow: float = 250.0, fhigh: float | None = None, *,
                 naud: int = 50, fc=None, subject: str = "NH", model: str = "paulick2024",
                 learnable: bool = False, dtype: torch.dtype = torch.float32) -> None:
        fs = _checks.check_fs(fs)
        _checks.check_choice(model, "model", PAULICK2024_MODELS)
        _checks.check_choice(subject, "subject", PAULICK2024_SUBJECTS)
        params = paulick2024_drnl_params(model)
        source = "fc"
        if fc is None:
            source = "fhigh"
            naud = _checks.check_positive(naud, "naud", integer=True)
            flow = _checks.check_positive(flow, "flow")
            if fhigh is None:
                fhigh = min(8000.0, drnl_highest_fc(fs, params))
            fhigh = _checks.check_positive(fhigh, "fhigh")
            _checks.check_increasing(flow, fhigh, "flow", "fhigh", strict=False)
            fc = erbspace(flow, fhigh, naud, dtype=torch.float64)
        fc = torch.as_tensor(fc, dtype=torch.float64).reshape(-1)
        values = paulick2024_drnl_values(fc, subject, model)
        _check_nyquist(values, fs, source)
        super().__init__(fs, params, fc=fc, dboffset=100.0, learnable=learnable, dtype=dtype)
        self._channels_from = source
        self.preset, self.subject = model, subject
        for name in CHANNEL_QUANTITIES:  # AMT's own arithmetic and a/b rule
            self.register_buffer(f"{name}0", values[name])

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, channels={self.fc.numel()}, model={self.preset!r}, "
                f"subject={self.subject!r}, learnable={self.learnable}")
