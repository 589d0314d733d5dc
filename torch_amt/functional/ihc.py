"""Inner-hair-cell envelope extraction (AMT ``ihcenvelope``), stateless.

Every AMT 1.4.0 ``ihcenvelope`` method is one row of :data:`IHC_METHODS`: a rectifier
(half-wave, Hilbert envelope, or Bernstein's compressed envelope) followed by a
Butterworth low-pass designed as AMT designs it (``butter(order, 2*fc/fs)``) and
applied with MATLAB ``filter`` semantics (:func:`torch_amt.dsp.lfilter`), possibly
several times in a row.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from torch_amt._checks import check_choice, check_fs, check_positive, check_signal
from torch_amt.dsp.design import butter
from torch_amt.dsp.hilbert import hilbert
from torch_amt.dsp.streaming import lfilter

__all__ = ["IHCMethod", "IHC_METHODS", "ihc_envelope", "ihc_lowpass", "ihc_transduce", "get_method",
           "resolve_passes"]


@dataclass(frozen=True)
class IHCMethod:
    """One AMT ``ihcenvelope`` method.

    Attributes
    ----------
    name : str
        AMT flag name.
    rectifier : {'halfwave', 'hilbert', 'bernstein'}
        ``'halfwave'``: ``max(x, 0)``; ``'hilbert'``: ``|hilbert(x)|``;
        ``'bernstein'``: ``max(|hilbert(x)|^-0.77 · x, 0)^2`` (Bernstein et al. 1999).
    cutoff : float or None
        Cut-off frequency of the Butterworth low-pass in Hz (None: no low-pass).
    order : int
        Butterworth order of one low-pass pass.
    passes : int
        Default number of passes of the low-pass (AMT keyval ``ihc_filter_order``).
    variable_passes : bool
        Whether AMT's ``ihc_filter_order`` keyval applies to this method.
    """

    name: str
    rectifier: str
    cutoff: float | None
    order: int = 1
    passes: int = 1
    variable_passes: bool = False


#: AMT 1.4.0 ``ihcenvelope`` methods (``arg_ihcenvelope``). ``ihc_meddis1990`` is not
#: included: AMT runs it through the compiled ``comp_meddishaircell``.
IHC_METHODS: dict[str, IHCMethod] = {
    m.name: m
    for m in (
        # Dau et al. (1996a): half-wave rectification + 1st-order 1-kHz low-pass
        IHCMethod("ihc_dau1996", "halfwave", 1000.0, 1, 1, True),
        # AMT 1.4.0 computes ihc_king2019 exactly as ihc_dau1996 (its help says 1500 Hz)
        IHCMethod("ihc_king2019", "halfwave", 1000.0, 1, 1, True),
        # Breebaart et al. (2001): 1st-order 2-kHz low-pass applied 5 times (770 Hz overall)
        IHCMethod("ihc_breebaart2001", "halfwave", 2000.0, 1, 5, True),
        # Lindemann (1986a): 1st-order 800-Hz low-pass, always one pass
        IHCMethod("ihc_lindemann1986", "halfwave", 800.0, 1, 1, False),
        # Relaño-Iborra et al. (2019): 2nd-order 1-kHz low-pass
        IHCMethod("ihc_relanoiborra2019", "halfwave", 1000.0, 2, 1, False),
        # Bernstein et al. (1999): compressed envelope, squared, 2nd-order 425-Hz low-pass
        IHCMethod("ihc_bernstein1999", "bernstein", 425.0, 2, 1, False),
        # Gabor (1946): Hilbert envelope, no low-pass
        IHCMethod("hilbert", "hilbert", None),
    )
}

_NOT_IMPLEMENTED = {
    "ihc_meddis1990": "ihc_meddis1990 (Meddis 1990 hair-cell model) is not implemented: AMT "
                      "computes it with the compiled comp_meddishaircell, not with m-code",
}

#: Bernstein et al. (1999) envelope exponent applied to the Hilbert envelope.
_BERNSTEIN_EXPONENT = -0.77


def _bernstein_rectify(x: torch.Tensor) -> torch.Tensor:
    """``max(|a|^-0.77 · x, 0)^2`` with ``a = hilbert(x)`` (AMT's arithmetic order).

    AMT returns NaN where ``|a| = 0`` (``0^-0.77 · 0``). Since ``|x| <= |a|``, the
    product tends to 0 as ``|a| -> 0``; that limit (0, with zero gradient) is used
    here, so silence gives 0 instead of NaN. Computed in float64 (the negative power
    amplifies the FFT's rounding where the envelope is small) and rounded back.
    """
    dtype = x.dtype
    x = x.to(torch.float64)
    env = hilbert(x).abs()
    silent = env == 0
    safe = torch.where(silent, torch.ones_like(env), env)
    compressed = torch.where(silent, torch.zeros_like(x), safe.pow(_BERNSTEIN_EXPONENT) * x)
    return compressed.clamp_min(0).square().to(dtype)


def ihc_lowpass(preset: str, fs: float,
                dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Low-pass coefficients of an IHC method, designed as AMT does: ``butter(n, 2*fc/fs)``.

    Returns ``(b, a)`` (shape ``(order + 1,)`` each, designed in float64 and returned in
    ``dtype``) or None for methods without a low-pass (``'hilbert'``).
    """
    spec = get_method(preset)
    if spec.cutoff is None:
        return None
    fs = check_fs(fs)
    if spec.cutoff >= fs / 2:
        raise ValueError(f"fs = {fs} Hz is too low for the {spec.cutoff:g}-Hz low-pass of "
                         f"{spec.name!r}: fs must be above {2 * spec.cutoff:g} Hz")
    b, a = butter(spec.order, spec.cutoff, fs, dtype=torch.float64)
    return b.to(dtype), a.to(dtype)


def ihc_transduce(x: torch.Tensor, rectifier: str, b: torch.Tensor | None = None,
                  a: torch.Tensor | None = None, passes: int = 1,
                  minlvl: float | None = None) -> torch.Tensor:
    """Rectify ``x``, low-pass it ``passes`` times with ``b / a``, floor at ``minlvl``.

    The computational core of :func:`ihc_envelope` (which designs ``b, a``); see there.
    ``b``/``a`` None means no low-pass.
    """
    if rectifier == "halfwave":
        y = x.clamp_min(0)
    elif rectifier == "hilbert":
        y = hilbert(x).abs()
    else:
        y = _bernstein_rectify(x)
    if b is not None and a is not None:
        b, a = b.to(device=x.device, dtype=x.dtype), a.to(device=x.device, dtype=x.dtype)
        for _ in range(passes):
            y = lfilter(y, b, a)
    if minlvl is not None:
        y = y.clamp_min(float(minlvl))
    return y


def get_method(preset: str, name: str = "preset") -> IHCMethod:
    """Look up an AMT ``ihcenvelope`` method (``NotImplementedError`` for ``ihc_meddis1990``).

    ``name`` is the argument named by the error for an unknown method (a model's
    ``ihc_preset``).
    """
    if preset in _NOT_IMPLEMENTED:
        raise NotImplementedError(_NOT_IMPLEMENTED[preset])
    return IHC_METHODS[check_choice(preset, name, tuple(IHC_METHODS))]


def ihc_envelope(x: torch.Tensor, fs: float, preset: str = "ihc_dau1996", *,
                 filter_order: int | None = None, minlvl: float | None = None) -> torch.Tensor:
    """Inner-hair-cell envelope of ``x`` (AMT ``ihcenvelope(x, fs, preset)``).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Filterbank output (any leading axes, e.g. ``(B, F, T)``); time is the last axis.
    fs : float
        Sampling rate in Hz.
    preset : str
        One of :data:`IHC_METHODS` (AMT flags ``'ihc_dau1996'``, ``'ihc_king2019'``,
        ``'ihc_breebaart2001'``, ``'ihc_lindemann1986'``, ``'ihc_relanoiborra2019'``,
        ``'ihc_bernstein1999'``, ``'hilbert'``). ``'ihc_meddis1990'`` raises
        ``NotImplementedError``.
    filter_order : int, optional
        Number of passes of the low-pass (AMT keyval ``ihc_filter_order``; only for
        ``ihc_dau1996``, ``ihc_king2019`` and ``ihc_breebaart2001``). Default: the
        method's (5 for ``ihc_breebaart2001``, else 1).
    minlvl : float, optional
        Floor applied to the output, ``max(y, minlvl)`` (AMT keyval ``ihc_minlvl``).

    Returns
    -------
    Tensor, shape (..., T)
        Envelope, same dtype as ``x``.

    References
    ----------
    T. Dau, D. Püschel, and A. Kohlrausch, J. Acoust. Soc. Am. 99(6), 3615–3622 (1996a).
    J. Breebaart, S. van de Par, and A. Kohlrausch, J. Acoust. Soc. Am. 110, 1074–1088
    (2001). W. Lindemann, J. Acoust. Soc. Am. 80, 1608–1622 (1986). L. R. Bernstein,
    S. van de Par, and C. Trahiotis, J. Acoust. Soc. Am. 106, 870–876 (1999).
    H. Relaño-Iborra, J. Zaar, and T. Dau, J. Acoust. Soc. Am. 146(5) (2019).
    A. King, L. Varnet, and C. Lorenzi, J. Acoust. Soc. Am. 145, 2277 (2019).
    D. Gabor, J. IEE 93(26), 429–457 (1946).
    """
    spec = get_method(preset)
    x = check_signal(x, "x", ndim=range(1, 64), dim_names="(..., T)")
    passes = resolve_passes(spec, filter_order)
    coefficients = ihc_lowpass(preset, fs, x.dtype)
    b, a = (None, None) if coefficients is None else coefficients
    return ihc_transduce(x, spec.rectifier, b, a, passes, minlvl)


def resolve_passes(spec: IHCMethod, filter_order: int | None) -> int:
    """Number of low-pass passes for ``spec`` given AMT's ``ihc_filter_order`` keyval."""
    if filter_order is None:
        return spec.passes
    if not spec.variable_passes:
        raise ValueError(f"filter_order (AMT ihc_filter_order) does not apply to preset "
                         f"{spec.name!r}; it applies to "
                         f"{[m.name for m in IHC_METHODS.values() if m.variable_passes]}")
    return check_positive(filter_order, "filter_order", integer=True)
