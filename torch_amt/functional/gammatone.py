"""Gammatone filters as AMT 1.4.0 ``gammatone`` designs them, and ``auditoryfilterbank``.

Coefficient design is written in torch (differentiable in the centre frequencies and
bandwidths) but follows AMT/Octave operation by operation, so that float64
coefficients equal AMT's bit for bit on the CPU:

* scalar transcendental functions (``exp``, ``cos``, ``sin``, ``pow``, ``hypot``)
  take their *values* from the C math library, as Octave does (torch's vectorised
  versions may differ in the last bit); their gradients come from torch autograd;
* polynomials are expanded with Octave's ``poly`` loop, one root at a time, with
  complex products written out in real arithmetic (:func:`torch_amt.dsp.design.poly`),
  which is what Octave computes;
* complex division is Smith's algorithm (libgcc's ``__divdc3`` for normal numbers).

Filtering: float64 uses AMT's direct-form polynomials (``filter(b, a, x)``), which
reproduces AMT's output bit for bit; float32 uses the mathematically identical
cascade of ``n`` first-order complex (or second-order real) sections, since a
high-order polynomial in float32 is numerically unusable at low centre frequencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from torch_amt import _checks
from torch_amt.dsp import libm
from torch_amt.dsp.design import poly, roots
from torch_amt.dsp.iir import get_backend
from torch_amt.dsp.streaming import lfilter, lfilter_envelope
from torch_amt.scales import audfiltbw, centre_frequencies

__all__ = [
    "GammatoneDesign",
    "default_betamul",
    "gammatone_coefficients",
    "gammatone_design",
    "gammatone_filter",
    "filter_channels",
    "cast_design",
    "direct_form_ok",
    "auditoryfilterbank",
]

KINDS = ("complex", "real")
FILTERTYPES = ("allpole", "classic")


# --------------------------------------------------------------------------- exact scalar math


def _complex_divide(ar, ai, br, bi):
    """``(ar + i·ai) / (br + i·bi)`` by Smith's algorithm (libgcc ``__divdc3``)."""
    small_re = br.abs() < bi.abs()
    # each branch divides by a denominator that is safe where that branch is not taken
    # (keeps gradients finite through torch.where)
    safe_bi = torch.where(small_re, bi, torch.ones_like(bi))
    safe_br = torch.where(small_re, torch.ones_like(br), br)
    ratio = torch.where(small_re, br / safe_bi, bi / safe_br)
    denom = torch.where(small_re, br * ratio + bi, bi * ratio + br)
    re = torch.where(small_re, (ar * ratio + ai) / denom, (ai * ratio + ar) / denom)
    im = torch.where(small_re, (ai * ratio - ar) / denom, (ai - ar * ratio) / denom)
    return re, im


# --------------------------------------------------------------------------- design


def default_betamul(n: int) -> float:
    """AMT's default bandwidth factor for an order-``n`` gammatone (Patterson et al. 1987).

    ``(n-1)!² / (π (2n-2)! 2^-(2n-2))``, 1.0188 for ``n = 4``: the factor that makes the
    filter's equivalent rectangular bandwidth one ERB.
    """
    return math.factorial(n - 1) ** 2 / (math.pi * math.factorial(2 * n - 2)
                                          * 2.0 ** (-(2 * n - 2)))


@dataclass(frozen=True)
class GammatoneDesign:
    """Coefficients of a bank of ``F`` gammatone filters of order ``n``.

    Attributes
    ----------
    b, a : Tensor, shape (F, nb) / (F, na)
        AMT's direct-form polynomials (``[b, a] = gammatone(...)``).
    section_b, section_a : Tensor, shape (F, n, nb_s) / (F, n, na_s)
        The same filter as a cascade of ``n`` identical first-order complex (complex
        all-pole) or second-order real sections.
    complex_output : bool
        ``True`` for the ``'complex'`` filters, whose output AMT takes as ``2·Re(y)``.
    """

    b: torch.Tensor
    a: torch.Tensor
    section_b: torch.Tensor
    section_a: torch.Tensor
    complex_output: bool


def gammatone_design(fc, fs: float, n: int = 4, betamul=None, *, kind: str = "complex",
                     filtertype: str = "allpole") -> GammatoneDesign:
    """Design gammatone filters as AMT 1.4.0 ``gammatone(fc, fs, n, betamul, ...)``.

    Parameters
    ----------
    fc : float, sequence or Tensor, shape (F,)
        Centre frequencies in Hz, ``0 < fc < fs/2``. A tensor requiring grad gives
        differentiable coefficients.
    fs : float
        Sampling rate in Hz.
    n : int, default 4
        Filter order (AMT ``n``).
    betamul : float or Tensor of shape (F,), optional
        Bandwidth in units of the ERB, ``β = betamul · audfiltbw(fc)`` (AMT ``betamul``).
        Default :func:`default_betamul` ``(n)``.
    kind : {'complex', 'real'}
        AMT flag ``'complex'`` (one-sided complex filters: output ``2·Re(filter(b,a,x))``,
        what ``auditoryfilterbank`` uses) or ``'real'`` (AMT's default).
    filtertype : {'allpole', 'classic'}
        AMT flag: Lyon's all-pole approximation (default) or the classic mixed
        pole-zero approximation (``n`` real zeros at ``Re(pole)``), used by the DRNL.

    Returns
    -------
    GammatoneDesign
        In the floating dtype of ``fc`` (float64 for non-tensor input).

    Notes
    -----
    All-pole complex: pole ``p = exp(-2πβ/fs - 2πi·fc/fs)`` repeated ``n`` times,
    ``b = (1 - exp(-2πβ/fs))^n``. Real and classic: the pair ``p, p*`` repeated ``n``
    times (roots in that order), gain ``|A(θ)|^n`` with AMT's 0-dB normalisation term;
    classic adds ``n`` zeros at ``Re(p)``. AMT warns that the real all-pole and complex
    classic filters are not scaled correctly; they are reproduced as they are.

    References
    ----------
    R. F. Lyon, "All-pole models of auditory filtering", in *Diversity in Auditory
    Mechanics*, World Scientific, 1997, pp. 205-211.
    R. D. Patterson, I. Nimmo-Smith, J. Holdsworth and P. Rice, "An efficient auditory
    filterbank based on the gammatone function", APU report 2341, 1987.
    """
    fs = _checks.check_fs(fs)
    n = _checks.check_positive(n, "n", integer=True)
    _checks.check_choice(kind, "kind", KINDS)
    _checks.check_choice(filtertype, "filtertype", FILTERTYPES)
    fc = _checks.check_frequencies(fc, fs, "fc").reshape(-1)
    if betamul is None:
        betamul = default_betamul(n)
    if not isinstance(betamul, torch.Tensor):
        betamul = _checks.check_positive(betamul, "betamul")
    elif bool((betamul.detach() <= 0).any()):
        raise ValueError("betamul must be > 0")
    beta = betamul * audfiltbw(fc)
    two_pi = 2 * math.pi
    if filtertype == "allpole" and kind == "complex":
        decay = libm.exp(-two_pi * beta / fs)
        omega = -(two_pi * fc / fs)
        pole = torch.complex(decay * libm.cos(omega), decay * libm.sin(omega))
        gain = libm.pow(1 - decay, n)
        a = poly(pole[:, None].expand(-1, n))
        ones = torch.ones_like(pole.real)
        section_a = torch.stack([ones.to(pole.dtype), -pole], -1)
        section_b = (1 - decay)[:, None].to(pole.dtype)
        return GammatoneDesign(gain[:, None], a, section_b[:, None, :].expand(-1, n, -1),
                               section_a[:, None, :].expand(-1, n, -1), True)
    theta = two_pi * fc / fs
    phi = two_pi * beta / fs
    decay = libm.exp(-phi)
    cos_t, sin_t = libm.cos(theta), libm.sin(theta)
    alpha = -decay * cos_t
    b1 = 2 * alpha
    b2 = libm.exp(-2 * phi)
    num_re = 1 + b1 * cos_t + b2 * libm.cos(2 * theta)
    num_im = -(b1 * sin_t) - b2 * libm.sin(2 * theta)
    den_re = 1 + alpha * cos_t
    den_im = -(alpha * sin_t)
    a0 = libm.hypot(*_complex_divide(num_re, num_im, den_re, den_im))
    gain = libm.pow(a0, n)
    pole_re = decay * cos_t
    zero_b = poly(pole_re[:, None].expand(-1, n))
    one = torch.ones_like(pole_re)
    if kind == "real":
        pole = torch.complex(pole_re, -(decay * sin_t))
        a = poly(torch.cat([pole[:, None].expand(-1, n),
                                   pole.conj()[:, None].expand(-1, n)], -1)).real
        section_a = torch.stack([one, -2 * pole_re, decay * decay], -1)
    else:
        pole = torch.complex(pole_re, decay * sin_t)
        a = poly(pole[:, None].expand(-1, n))
        section_a = torch.stack([one.to(pole.dtype), -pole], -1)
    if filtertype == "allpole":
        b = gain[:, None]
        section_b = a0[:, None]
    else:
        b = zero_b * gain[:, None]
        section_b = torch.stack([a0, -a0 * pole_re], -1)
    return GammatoneDesign(b, a, section_b[:, None, :].expand(-1, n, -1),
                           section_a[:, None, :].expand(-1, n, -1), kind == "complex")


def gammatone_coefficients(fc, fs: float, n: int = 4, betamul=None, *, kind: str = "complex",
                           filtertype: str = "allpole") -> tuple[torch.Tensor, torch.Tensor]:
    """``[b, a] = gammatone(fc, fs, n, betamul, kind, filtertype)`` of AMT 1.4.0.

    See :func:`gammatone_design` for the parameters. Returns ``b (F, nb)``, ``a (F, na)``.
    """
    design = gammatone_design(fc, fs, n, betamul, kind=kind, filtertype=filtertype)
    return design.b, design.a


def gammatone_filter(x: torch.Tensor, design: GammatoneDesign,
                     cascade: bool | None = None) -> torch.Tensor:
    """Filter ``x`` with every filter of ``design``: ``(..., T) -> (..., F, T)``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Real signal.
    design : GammatoneDesign
        Filters, in the precision of ``x`` (see :func:`cast_design`).
    cascade : bool, optional
        Use the cascade of ``n`` low-order sections instead of AMT's direct-form
        polynomial. Default: the direct form (which reproduces AMT's
        ``filter(b, a, x)`` bit for bit) on the CPU kernel, the cascade on the torch
        kernel (used on GPUs). A polynomial that rounding makes unusable — single
        precision, or roots within :data:`DIRECT_FORM_MARGIN` of the unit circle — always
        uses the cascade: there AMT's own direct form is dominated by rounding or
        diverges.

    Returns
    -------
    Tensor, shape (..., F, T)
        ``2·Re(y)`` for complex designs (AMT ``auditoryfilterbank``), else ``y``.
    """
    return filter_channels(x.unsqueeze(-2), design, cascade)


def filter_channels(y: torch.Tensor, design: GammatoneDesign,
                    cascade: bool | None = None) -> torch.Tensor:
    """Filter channel ``f`` of ``y (..., F, T)`` (or a broadcast ``(..., 1, T)``) with filter ``f``.

    Same conventions as :func:`gammatone_filter`, without adding the channel axis.
    """
    if cascade is None:
        cascade = not direct_form_ok(y)
    if not cascade and not _direct_form_stable(design.a):
        cascade = True
    if cascade:
        for k in range(design.section_a.shape[-2]):
            y = lfilter(y, design.section_b[:, k], design.section_a[:, k])
    elif design.complex_output and _fused_readout(y, design):
        # 2·Re(y) in one pass (lfilter_envelope with gain 2): the broadcast channel axis
        # is read in place, and neither the complex output nor its gradient is stored
        n_filters = design.b.shape[0]
        index = (torch.zeros(n_filters, dtype=torch.long) if y.shape[-2] == 1
                 else torch.arange(n_filters))
        return lfilter_envelope(y, design.b, design.a, index,
                                torch.ones(n_filters, dtype=torch.bool), 1.0,
                                torch.full((n_filters,), 2.0, dtype=torch.float64),
                                dtype=y.dtype)
    else:
        y = lfilter(y, design.b, design.a)
    return 2 * y.real if design.complex_output else y


def _fused_readout(y: torch.Tensor, design: GammatoneDesign) -> bool:
    """Whether the direct form's ``2·Re`` readout runs fused: a real signal on the CPU
    kernel, coefficients without a gradient (learnable filters keep :func:`lfilter`,
    whose coefficient adjoint is parallel over the channels), and ``(..., 1 or F, T)``."""
    coefficients_grad = torch.is_grad_enabled() and (design.b.requires_grad
                                                     or design.a.requires_grad)
    return (not y.is_complex() and direct_form_ok(y) and not coefficients_grad
            and y.ndim >= 2 and y.shape[-2] in (1, design.b.shape[0]))


DIRECT_FORM_MARGIN = 5e-4
"""Smallest distance of a direct-form polynomial's roots from the unit circle for which
AMT's direct form is used (see :func:`filter_channels`)."""


def _direct_form_stable(a: torch.Tensor) -> bool:
    """Whether every direct-form polynomial ``a (F, n+1)`` is usable as it is rounded.

    High-order polynomials with repeated roots close to the unit circle (8th-order
    ``'real'`` gammatones, DRNL channels below ~80 Hz at 96 kHz; any design rounded to
    float32) are moved across it by rounding: measured, a 50-Hz DRNL channel at 96 kHz
    (roots 3e-4 inside the circle) diverges to 1e40 in direct form. Such polynomials
    are filtered as section cascades (poles computed exactly) instead.
    """
    if a.dtype not in (torch.float64, torch.complex128):
        return False
    a = a.detach()
    return bool((roots(a / a[:, :1]).abs() < 1 - DIRECT_FORM_MARGIN).all())


def direct_form_ok(x: torch.Tensor) -> bool:
    """Whether AMT's high-order direct-form polynomials can filter ``x`` accurately.

    True for the numba CPU kernel (sequential recursion in double precision, Octave's
    arithmetic order, any signal dtype); false for the pure-torch kernel, which gets the
    section cascade (exact poles) instead of the roots of an ill-conditioned polynomial.
    """
    return x.device.type == "cpu" and get_backend() != "torch"


def auditoryfilterbank(x: torch.Tensor, fs: float, flow: float = 80.0, fhigh: float = 8000.0,
                       bwmul: float = 1.0, basef: float | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """AMT 1.4.0 ``[outsig, fc] = auditoryfilterbank(x, fs, 'flow', ..., 'basef', ...)``.

    4th-order complex all-pole gammatone filters (1 ERB bandwidth) spaced ``bwmul`` ERB
    apart between ``flow`` and ``fhigh`` (through ``basef`` if given); output
    ``2·Re(filter(b, a, x))``.

    Parameters
    ----------
    x : Tensor, shape (T,) or (B, T)
        Audio (level-free, linear stage).
    fs : float
        Sampling rate in Hz.
    flow, fhigh : float
        Frequency range in Hz (AMT defaults 80, 8000).
    bwmul : float
        Channel spacing in ERB (AMT ``bwmul``, default 1).
    basef : float, optional
        Frequency that must be a centre frequency (AMT ``basef``).

    Returns
    -------
    outsig : Tensor, shape (F, T) or (B, F, T)
    fc : Tensor, shape (F,), float64
        Centre frequencies in Hz.
    """
    x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
    fs = _checks.check_fs(fs)
    fc = centre_frequencies(fs, None, flow, fhigh, bwmul, basef)
    design = gammatone_design(fc, fs, kind="complex", filtertype="allpole")
    return gammatone_filter(x, cast_design(design, x.dtype, x.device)), fc


def cast_design(design: GammatoneDesign, dtype: torch.dtype,
                device: torch.device | None = None) -> GammatoneDesign:
    """Move a design to ``device``; raise its precision to that of ``dtype`` if lower.

    Coefficients are never rounded down to single precision: :func:`lfilter` accumulates
    in double precision and keeps double-precision coefficients for a float32 signal,
    and AMT's low-frequency gammatones lose most of their accuracy in float32.
    """
    double = dtype in (torch.float64, torch.complex128)

    def cast(t: torch.Tensor) -> torch.Tensor:
        if not double or t.dtype in (torch.float64, torch.complex128):
            return t.to(device=device)
        return t.to(device=device, dtype=torch.complex128 if t.is_complex() else torch.float64)

    return GammatoneDesign(cast(design.b), cast(design.a), cast(design.section_b),
                           cast(design.section_a), design.complex_output)
