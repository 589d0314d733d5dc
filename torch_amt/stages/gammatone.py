"""Gammatone filterbank stage (AMT ``auditoryfilterbank`` / ``gammatone``)."""

from __future__ import annotations

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.functional.gammatone import (
    FILTERTYPES,
    KINDS,
    GammatoneDesign,
    cast_design,
    default_betamul,
    gammatone_design,
    gammatone_filter,
)
from torch_amt.scales import centre_frequencies
from torch_amt.stages._bounded import bounded_frequency
from torch_amt.stages.base import Stage

__all__ = ["GammatoneFilterbank"]


class GammatoneFilterbank(Stage):
    """Bank of gammatone filters, AMT 1.4.0 ``auditoryfilterbank`` by default.

    With the defaults this is ``[outsig, fc] = auditoryfilterbank(x, fs)``: 4th-order
    complex all-pole gammatone filters (Lyon 1997) of 1-ERB bandwidth, one per ERB
    from 80 to 8000 Hz, output ``2·Re(filter(b, a, x))`` (31 channels).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    fc : sequence or Tensor, shape (F,), optional
        Centre frequencies in Hz. Default: ``erbspacebw(flow, fhigh, bwmul, basef)``.
    flow, fhigh : float
        Range of the default centre frequencies in Hz (AMT ``flow`` 80, ``fhigh`` 8000).
    bwmul : float
        Spacing of the default centre frequencies in ERB (AMT ``bwmul``, 1).
    basef : float, optional
        Frequency forced onto the centre-frequency grid (AMT ``basef``).
    n : int
        Filter order (AMT ``gammatone`` ``n``, 4).
    betamul : float, optional
        Bandwidth in ERB units (AMT ``betamul``); default ``default_betamul(n)``
        (1.0188 for n = 4: a 1-ERB filter).
    kind : {'complex', 'real'}
        AMT flag. ``'complex'`` (as ``auditoryfilterbank``): output ``2·Re(y)`` of
        one-sided complex filters. ``'real'``: real filters (AMT ``gammatone``'s default).
    filtertype : {'allpole', 'classic'}
        AMT flag: all-pole (Lyon 1997) or classic pole-zero approximation.
    learnable : bool
        Make the centre frequencies and bandwidths trainable, equal to AMT's at
        initialisation (bit for bit): ``betamul = betamul0·exp(θ_b)`` and
        ``fc = fc0·exp(s(θ_f))``, where ``s`` is the identity near 0 and saturates so
        that ``fc`` stays inside ``(1e-6·fc0, 0.99·fs/2)`` whatever the training does
        (:func:`~torch_amt.stages._bounded.bounded_frequency`). The coefficients are
        then re-designed in every forward pass.
    dtype : torch.dtype
        float32 (default; filters as cascades of low-order sections) or float64
        (AMT's direct-form polynomials: bit-for-bit AMT output on the CPU): the dtype
        of the parameters. The design (``fc0``, ``betamul0`` and the coefficient
        buffers) is float64 whatever ``dtype`` (see :class:`~torch_amt.stages.base.Stage`).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``; output ``(F, T)`` or ``(B, F, T)``.

    References
    ----------
    R. F. Lyon, "All-pole models of auditory filtering", 1997.
    B. R. Glasberg and B. C. J. Moore, "Derivation of auditory filter shapes from
    notched-noise data", Hear. Res. 47, 103-138, 1990.
    R. D. Patterson et al., "An efficient auditory filterbank based on the gammatone
    function", APU report 2341, 1987.
    """

    amt_function = "auditoryfilterbank"
    streamable = True
    float64_buffers = ("fc0", "betamul0", "b", "a", "section_b", "section_a")

    def __init__(self, fs: float, fc=None, *, flow: float = 80.0, fhigh: float = 8000.0,
                 bwmul: float = 1.0, basef: float | None = None, n: int = 4,
                 betamul: float | None = None, kind: str = "complex",
                 filtertype: str = "allpole", learnable: bool = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.n = _checks.check_positive(n, "n", integer=True)
        self.kind = _checks.check_choice(kind, "kind", KINDS)
        self.filtertype = _checks.check_choice(filtertype, "filtertype", FILTERTYPES)
        self.learnable = _checks.check_bool(learnable, "learnable")
        _checks.check_dtype(dtype)
        fc = centre_frequencies(self.fs, fc, flow, fhigh, bwmul, basef).to(torch.float64)
        betamul = default_betamul(self.n) if betamul is None else _checks.check_positive(
            betamul, "betamul")
        design = gammatone_design(fc, self.fs, self.n, betamul, kind=self.kind,
                                  filtertype=self.filtertype)
        self.register_buffer("b", design.b)
        self.register_buffer("a", design.a)
        self.register_buffer("section_b", design.section_b.contiguous())
        self.register_buffer("section_a", design.section_a.contiguous())
        self.register_buffer("fc0", fc)
        self.register_buffer("betamul0", torch.full_like(fc, betamul))
        if self.learnable:
            self.log_fc_scale = nn.Parameter(torch.zeros_like(fc, dtype=dtype))
            self.log_bw_scale = nn.Parameter(torch.zeros_like(fc, dtype=dtype))

    @property
    def fc(self) -> torch.Tensor:
        """Current centre frequencies in Hz, shape ``(F,)``, float64."""
        if not self.learnable:
            return self.fc0
        return bounded_frequency(self.fc0, self.log_fc_scale, self.fs)

    @property
    def betamul(self) -> torch.Tensor:
        """Current bandwidths in ERB units, shape ``(F,)``, float64."""
        return self.betamul0 * torch.exp(self.log_bw_scale) if self.learnable else self.betamul0

    def design(self) -> GammatoneDesign:
        """The filters in force (re-designed from the parameters when learnable)."""
        if not self.learnable:
            return GammatoneDesign(self.b, self.a, self.section_b, self.section_a,
                                   self.kind == "complex")
        # designed in float64 (gradients flow back to the parameters in their dtype)
        return self.cached_design(
            "gammatone", (self.fc0, self.betamul0, self.log_fc_scale, self.log_bw_scale),
            lambda: gammatone_design(self.fc, self.fs, self.n, self.betamul, kind=self.kind,
                                     filtertype=self.filtertype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x (T,)`` or ``(B, T)`` into ``(F, T)`` or ``(B, F, T)``."""
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 1)
        y = gammatone_filter(x, cast_design(self.design(), x.dtype))
        return y[0] if unbatched else y

    def amt_equivalent(self) -> str:
        """``auditoryfilterbank`` for AMT's filters, else ``gammatone`` with its flags."""
        if self.kind == "complex" and self.filtertype == "allpole" and self.n == 4:
            return self.amt_function
        return f"gammatone '{self.kind}' '{self.filtertype}'"

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, channels={self.fc0.numel()}, n={self.n}, kind={self.kind!r}, "
                f"filtertype={self.filtertype!r}, learnable={self.learnable}")
