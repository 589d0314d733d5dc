"""Inner-hair-cell envelope extraction stage (AMT ``ihcenvelope``)."""

from __future__ import annotations

import torch

from torch_amt._checks import (
    check_dtype,
    check_fs,
    check_module_input,
    check_number,
    check_signal,
)
from torch_amt.functional.ihc import (
    IHC_METHODS,
    get_method,
    ihc_lowpass,
    ihc_transduce,
    resolve_passes,
)
from torch_amt.stages.base import Stage

__all__ = ["IHCEnvelope"]


class IHCEnvelope(Stage):
    """Inner-hair-cell transduction: rectification followed by low-pass filtering.

    Reproduces AMT 1.4.0 ``ihcenvelope(x, fs, method)``; the methods are the rows of
    :data:`torch_amt.functional.ihc.IHC_METHODS`:

    ==========================  ==========================================================
    ``preset`` (AMT flag)       computation
    ==========================  ==========================================================
    ``'ihc_dau1996'``           ``max(x, 0)``, 1st-order Butterworth low-pass at 1 kHz
    ``'ihc_king2019'``          identical to ``ihc_dau1996`` in AMT 1.4.0 (help: 1.5 kHz)
    ``'ihc_breebaart2001'``     ``max(x, 0)``, 1st-order 2-kHz low-pass applied 5 times
                                (≈ 770 Hz overall)
    ``'ihc_lindemann1986'``     ``max(x, 0)``, 1st-order low-pass at 800 Hz
    ``'ihc_relanoiborra2019'``  ``max(x, 0)``, 2nd-order low-pass at 1 kHz
    ``'ihc_bernstein1999'``     ``max(|hilbert(x)|^-0.77 · x, 0)^2``, 2nd-order low-pass at
                                425 Hz. AMT gives NaN where the Hilbert envelope is exactly
                                0 (silence); here such samples give 0 (the limit), so
                                silence maps to 0.
    ``'hilbert'``               ``|hilbert(x)|`` (no low-pass)
    ``'ihc_meddis1990'``        not implemented (AMT needs compiled code):
                                ``NotImplementedError``
    ==========================  ==========================================================

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    preset : str
        AMT method flag (default ``'ihc_dau1996'``).
    filter_order : int, optional
        Number of low-pass passes (AMT keyval ``ihc_filter_order``; only for
        ``ihc_dau1996``, ``ihc_king2019``, ``ihc_breebaart2001``). Default: the
        method's own (5 for ``ihc_breebaart2001``, else 1).
    minlvl : float, optional
        Output floor ``max(y, minlvl)`` (AMT keyval ``ihc_minlvl``; default none).
    dtype : torch.dtype
        Accepted for a uniform signature (default float32); the stage has no parameters
        and its low-pass coefficients ``b``, ``a`` are float64 buffers (AMT's design,
        cast to the signal's precision when filtering).

    Shapes
    ------
    Input ``(..., T)`` (e.g. ``(B, F, T)`` filterbank output or ``(T,)``); output of the
    same shape and dtype.

    References
    ----------
    T. Dau, D. Püschel, and A. Kohlrausch, J. Acoust. Soc. Am. 99(6), 3615–3622 (1996a).
    J. Breebaart, S. van de Par, and A. Kohlrausch, J. Acoust. Soc. Am. 110, 1074–1088
    (2001). W. Lindemann, J. Acoust. Soc. Am. 80, 1608–1622 (1986). L. R. Bernstein,
    S. van de Par, and C. Trahiotis, J. Acoust. Soc. Am. 106, 870–876 (1999).
    H. Relaño-Iborra, J. Zaar, and T. Dau, J. Acoust. Soc. Am. 146(5) (2019).
    A. King, L. Varnet, and C. Lorenzi, J. Acoust. Soc. Am. 145, 2277 (2019).
    """

    amt_function = "ihcenvelope"
    float64_buffers = ("b", "a")
    presets = tuple(IHC_METHODS)
    streamable = True

    def stream_refusal(self) -> str | None:
        """Not causal for the Hilbert-envelope methods (an FFT over the whole signal)."""
        if self.spec.rectifier != "halfwave":
            return (f"{self.spec.name!r} takes the Hilbert envelope, computed by an FFT over "
                    "the whole signal (not causal)")
        return None

    def __init__(self, fs: float, preset: str = "ihc_dau1996", *,
                 filter_order: int | None = None, minlvl: float | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fs = check_fs(fs)
        self.spec = get_method(preset)
        self.passes = resolve_passes(self.spec, filter_order)
        self.minlvl = None if minlvl is None else check_number(minlvl, "minlvl")
        check_dtype(dtype)
        coefficients = ihc_lowpass(preset, self.fs)
        b, a = (None, None) if coefficients is None else coefficients
        self.register_buffer("b", b)
        self.register_buffer("a", a)

    @property
    def preset(self) -> str:
        """AMT flag of the method."""
        return self.spec.name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Envelope of ``x (..., T)``; same shape and dtype."""
        x = check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
        check_module_input(self, x)
        return ihc_transduce(x, self.spec.rectifier, self.b, self.a, self.passes, self.minlvl)

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, preset={self.preset!r}, passes={self.passes}, "
                f"minlvl={self.minlvl}")
