"""The stages of the revised CASP model of Paulick et al. (2024), AMT 1.6 ``paulick2024``.

* :func:`paulick2024_drnl_values`: the per-channel DRNL parameters of
  ``paulick2024_drnl`` (run by :func:`torch_amt.functional.drnl.drnl` with
  :func:`paulick2024_drnl_params`);
* :func:`paulick2024_ihc`: the physiological inner-hair-cell model of ``paulick2024_ihc``
  (mechano-electrical transduction sigmoid and an RC circuit, forward Euler, with the
  "pre-charge" of the membrane);
* :func:`paulick2024_minlvl`: the per-channel minimum levels of the adaptation loops
  (50 values tabulated at ``erbspace(250, 8000, 50)``, nearest entry per channel).

Every expression is evaluated in AMT's arithmetic order (``10^(p0 + p1·log10(CF))`` with
the C library's ``log10``/``pow``), so the float64 results agree with AMT to rounding.

References
----------
L. Paulick, H. Relaño-Iborra and T. Dau, "The Computational Auditory Signal Processing
and Perception Model (CASP): A Revised Version", bioRxiv (2024).
M. L. Jepsen, S. D. Ewert and T. Dau, "A computational model of human auditory signal
processing and perception", J. Acoust. Soc. Am. 124(1), 422–438 (2008).
"""

from __future__ import annotations

import math

import torch

from torch_amt import _checks
from torch_amt.dsp.design import straight_through
from torch_amt.dsp.membrane import membrane_potential
from torch_amt.functional.drnl import DRNLParams
from torch_amt.scales import erbspace

__all__ = [
    "PAULICK2024_MINLVLS",
    "PAULICK2024_MODELS",
    "PAULICK2024_SUBJECTS",
    "paulick2024_drnl_params",
    "paulick2024_drnl_values",
    "paulick2024_ihc",
    "paulick2024_ihc_precharge",
    "paulick2024_minlvl",
]

#: Parameter sets of ``paulick2024`` (AMT key ``'model'``).
PAULICK2024_MODELS = ("paulick2024", "jepsen2008")
#: Simulated listeners of ``paulick2024_drnl`` (AMT key ``'subject'``): normal hearing,
#: and a hearing-impaired listener without cochlear compression.
PAULICK2024_SUBJECTS = ("NH", "HIx")

# (p0, p1) of 10^(p0 + p1·log10(CF)), paulick2024_drnl
_LIN_FC = (-0.06762, 1.01679)
_LIN_BW = (0.03728, 0.75)
_LIN_LP = (-0.06762, 1.01)
_NLIN_FC = (-0.05252, 1.01650)
_NLIN_BW = (-0.03193, 0.77)
_LIN_GAIN = (4.20405, -0.47909)
_NLIN_A = (1.40298, 0.81916)
_NLIN_B = (1.61912, -0.81867)
_NLIN_C_NH = -0.60206  # c = 10^-0.60206
_A_B_FROZEN_ABOVE = 1000.0  # NH: a, b at CF up to 1 kHz, at 1500 Hz above
_A_B_FROZEN_AT = 1500.0

#: Minimum levels of the adaptation loops (linear, AMT 1.6 ``paulick2024.m``), one per
#: centre frequency of ``erbspace(250, 8000, 50)``.
PAULICK2024_MINLVLS = tuple(1e-6 * v for v in (
    114.6010, 112.6388, 110.5593, 115.6323, 122.8003, 128.3473, 129.4167, 130.5499,
    134.9603, 140.6641, 146.7089, 147.9811, 148.9594, 149.9962, 142.9728, 133.7308,
    123.9364, 116.7957, 110.2674, 103.3490, 96.4875, 89.5786, 82.2569, 74.4976, 66.1913,
    57.3802, 48.0427, 42.4791, 40.9715, 39.3738, 37.6163, 31.9073, 25.8572, 19.4456,
    14.2276, 11.9080, 9.4499, 6.8449, 5.6897, 6.3316, 7.0118, 7.7326, 7.1594, 6.2346,
    5.2545, 4.2159, 3.5157, 2.7790, 1.9983, 1.1709))


def _check_model(model: str, subject: str) -> None:
    _checks.check_choice(model, "model", PAULICK2024_MODELS)
    _checks.check_choice(subject, "subject", PAULICK2024_SUBJECTS)


def paulick2024_drnl_params(model: str = "paulick2024") -> DRNLParams:
    """Filter orders of ``paulick2024_drnl`` as :class:`~torch_amt.functional.drnl.DRNLParams`.

    ``'paulick2024'``: gammatones of order 2 in both paths, 4 linear-path and 1
    nonlinear-path 2nd-order Butterworth low-passes; ``'jepsen2008'``: gammatones of order
    3, 4 and 3 low-passes. No middle ear (the model applies it before the DRNL). The
    ``(p0, p1)`` pairs are the paper's, for the Nyquist checks; the per-channel values
    themselves come from :func:`paulick2024_drnl_values` (AMT's a/b rule and arithmetic).
    """
    _checks.check_choice(model, "model", PAULICK2024_MODELS)
    order = 2 if model == "paulick2024" else 3
    return DRNLParams(lin_ngt=order, lin_nlp=4, lin_fc=_LIN_FC, lin_bw=_LIN_BW,
                      lin_gain=_LIN_GAIN, lin_lp_cutoff=_LIN_LP, nlin_ngt_before=order,
                      nlin_nlp=1 if model == "paulick2024" else 3, nlin_fc_before=_NLIN_FC,
                      nlin_bw_before=_NLIN_BW, nlin_lp_cutoff=_NLIN_FC, nlin_a=_NLIN_A,
                      nlin_b=_NLIN_B, nlin_c=(_NLIN_C_NH, 0.0), compresslimit=_A_B_FROZEN_AT,
                      middleear=None)


def _rule(par: tuple[float, float], cf: float) -> float:
    return math.pow(10.0, par[0] + par[1] * math.log10(cf))


def paulick2024_drnl_values(fc: torch.Tensor, subject: str = "NH",
                            model: str = "paulick2024") -> dict[str, torch.Tensor]:
    """Per-channel DRNL quantities of AMT 1.6 ``paulick2024_drnl(x, CF, fs, subject, model)``.

    Parameters
    ----------
    fc : Tensor, shape (F,)
        Channel centre frequencies ``CF`` in Hz.
    subject : {'NH', 'HIx'}
        ``'NH'``: compression ``a``, ``b`` follow the CF up to 1 kHz and are those of
        1500 Hz above (a step at 1 kHz), ``c = 10^-0.60206``; ``'HIx'``: no compression
        (``a = 0``: the nonlinear path is silent), ``b`` at the CF, ``c = 0.25``.
    model : {'paulick2024', 'jepsen2008'}
        Parameter set (the values are the same; :func:`paulick2024_drnl_params` holds
        the orders that differ).

    Returns
    -------
    dict of str to Tensor, shape (F,), float64
        The keys of :data:`torch_amt.functional.drnl.CHANNEL_QUANTITIES`.
    """
    _check_model(model, subject)
    cfs = [float(f) for f in fc.detach().reshape(-1).tolist()]
    if not all(math.isfinite(f) and f > 0 for f in cfs):
        raise ValueError(f"fc must be positive, finite centre frequencies in Hz, got {cfs}")

    def column(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float64)

    values = {
        "lin_fc": [_rule(_LIN_FC, f) for f in cfs],
        "lin_bw": [_rule(_LIN_BW, f) for f in cfs],
        "lin_gain": [_rule(_LIN_GAIN, f) for f in cfs],
        "lin_lp_cutoff": [_rule(_LIN_LP, f) for f in cfs],
        "nlin_fc_before": [_rule(_NLIN_FC, f) for f in cfs],
        "nlin_bw_before": [_rule(_NLIN_BW, f) for f in cfs],
        "nlin_lp_cutoff": [_rule(_NLIN_FC, f) for f in cfs],
    }
    values["nlin_fc_after"] = values["nlin_fc_before"]
    values["nlin_bw_after"] = values["nlin_bw_before"]
    if subject == "NH":
        at = [f if f <= _A_B_FROZEN_ABOVE else _A_B_FROZEN_AT for f in cfs]
        values["nlin_a"] = [_rule(_NLIN_A, f) for f in at]
        values["nlin_b"] = [_rule(_NLIN_B, f) for f in at]
        values["nlin_c"] = [math.pow(10.0, _NLIN_C_NH)] * len(cfs)
    else:
        values["nlin_a"] = [0.0] * len(cfs)
        values["nlin_b"] = [_rule(_NLIN_B, f) for f in cfs]
        values["nlin_c"] = [0.25] * len(cfs)
    return {name: column(v) for name, v in values.items()}


# paulick2024_ihc constants (SI units)
_DISPLACEMENT_DB = -105.0          # stereocilia displacement = db2mag(-105) · velocity
_EP, _CM = 90e-3, 12.5e-12         # endocochlear potential (V), capacitance (F)
_GK, _EK = (19.8e-9, 19.8e-9), (-71e-3, -78e-3)  # fast/slow K+ conductances and potentials
_GMET_MAX, _X0, _S0, _S1 = 30e-9, 20e-9, 16e-9, 35e-9
_V_REST = -0.05703
_G_PRECHARGE = 3.3514e-09          # MET conductance at rest used for the pre-charge (S)
_PRECHARGE_S = 50e-3


def paulick2024_ihc_precharge(fs: float) -> float:
    """Membrane potential (V) after AMT's 50-ms pre-charge from rest at ``fs``.

    ``round(fs·0.05)`` forward-Euler steps of the circuit from ``V_rest = -57.03 mV``
    with the transduction conductance fixed at 3.3514 nS; the main loop starts there and
    its output is taken relative to it.
    """
    fs = _checks.check_fs(fs)
    ts = 1 / fs
    v = _V_REST
    for _ in range(math.floor(fs * _PRECHARGE_S + 0.5)):
        i_met = _G_PRECHARGE * (v - _EP)
        i_kf = _GK[0] * (v - _EK[0])
        i_ks = _GK[1] * (v - _EK[1])
        v = v - (i_met + i_kf + i_ks) * ts / _CM
    return v


def paulick2024_ihc(x: torch.Tensor, fs: float) -> torch.Tensor:
    """Inner-hair-cell receptor potential, AMT 1.6 ``paulick2024_ihc(vel, fs)``.

    The basilar-membrane velocity is scaled to a stereocilia displacement
    (``db2mag(-105)·vel``), turned into a mechano-electrical transduction (MET)
    conductance by a second-order Boltzmann function
    ``G = Gmax / (1 + e^{(x0-d)/s1}·(1 + e^{(x0-d)/s0}))``, and drives an RC circuit
    with two potassium conductances (:func:`torch_amt.dsp.membrane.membrane_potential`,
    forward Euler at ``1/fs``), started from the pre-charged potential
    (:func:`paulick2024_ihc_precharge`). The output is the potential relative to it.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Basilar-membrane velocity (m/s, DRNL output), float32 or float64.
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    Tensor, shape (..., T)
        Receptor potential relative to the pre-charged potential (V), dtype of ``x``;
        differentiable with respect to ``x``.
    """
    x = _checks.check_signal(x, "x", ndim=range(1, 64), min_length=0, dim_names="(..., T)")
    fs = _checks.check_fs(fs)
    # the conductance in float64 whatever the dtype of x: at rest it sits 3e-6 (relative)
    # from the pre-charge value, and that offset drives the output at silence
    displacement = math.pow(10.0, _DISPLACEMENT_DB / 20) * x.to(torch.float64)
    with torch.no_grad():  # AMT's expression (its rounding; overflows to G = 0)
        factor1 = torch.exp((_X0 - displacement) / _S0)
        factor0 = torch.exp((_X0 - displacement) / _S1)
        g_amt = _GMET_MAX / (1 + factor0 * (1 + factor1))
    # the same function, G = Gmax·exp(-logsumexp(0, a, a + b)), for a finite gradient
    # where AMT's exponentials overflow
    g = g_amt
    if displacement.requires_grad:
        a = (_X0 - displacement) / _S1
        b = (_X0 - displacement) / _S0
        terms = torch.stack([torch.zeros_like(a), a, a + b])
        g = straight_through(g_amt, _GMET_MAX * torch.exp(-torch.logsumexp(terms, dim=0)))
    v0 = paulick2024_ihc_precharge(fs)
    rows = g.reshape(-1, x.shape[-1])
    # relative to the pre-charged potential in float64 (the potential itself is ~-57 mV,
    # its changes as small as ~1e-9 V at silence: in float32 only the difference keeps them)
    v = membrane_potential(rows, v0, _EP, _GK, _EK, 1 / fs, _CM, dtype=torch.float64)
    return (v - v0).to(x.dtype).reshape(x.shape)


def paulick2024_minlvl(fc: torch.Tensor) -> torch.Tensor:
    """Minimum level of each channel's adaptation loops (linear, AMT 1.6 ``paulick2024``).

    The entry of :data:`PAULICK2024_MINLVLS` whose tabulated frequency
    (``erbspace(250, 8000, 50)``) is nearest to each centre frequency (the first one on
    a tie).

    Parameters
    ----------
    fc : Tensor, shape (F,)
        Centre frequencies in Hz.

    Returns
    -------
    Tensor, shape (F,), float64
    """
    grid = erbspace(250.0, 8000.0, len(PAULICK2024_MINLVLS), dtype=torch.float64)
    fc = fc.detach().to(torch.float64).reshape(-1).cpu()
    idx = torch.argmin((grid[:, None] - fc[None, :]).abs(), dim=0)
    return torch.tensor(PAULICK2024_MINLVLS, dtype=torch.float64)[idx]
