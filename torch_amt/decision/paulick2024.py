"""Back-end of the revised CASP model (AMT 1.6 ``paulick2024_roi``, ``_corr``, ``_decision``).

Paulick et al. (2024) detect a target by correlating its internal representation (minus
a stored reference) with a normalised supra-threshold template, over a region of
interest of auditory channels, and turn the correlation into the probability of a
correct answer in an n-AFC trial:

* :func:`paulick2024_roi`: the channels whose smoothed adaptation-output difference
  (supra-threshold minus reference) has an rms of at least half the largest, widened
  to at least ``[fc_max/√2, 2·fc_max]``;
* :func:`paulick2024_corr`: per modulation filter, the cross-product sum of target and
  template over time and the channels above four times the modulation frequency, with
  each array's mean over those samples removed (``'paulick2024'``) or not
  (``'jepsen2008'``);
* :func:`paulick2024_decision`: ``P(correct)`` of an n-AFC trial (n = 2, 3, 4) for a
  correlation ``mue`` against an internal-noise variance (40, or 130 for
  ``'jepsen2008'``), and the 1-up-n-down decision ``P > 2^(-1/n)``.

Layouts are time-last as everywhere in torch_amt: adaptation outputs ``(F, T)``,
internal representations ``(F, M, T)`` (AMT's ``int_rep`` is ``T x F x M``; NaN where a
channel has fewer modulation filters, see
:func:`torch_amt.stages.pad_modulation_outputs`).

References
----------
L. Paulick, H. Relaño-Iborra and T. Dau, "The Computational Auditory Signal Processing
and Perception Model (CASP): A Revised Version", bioRxiv (2024).
M. L. Jepsen, S. D. Ewert and T. Dau, J. Acoust. Soc. Am. 124(1), 422–438 (2008).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from torch_amt import _checks
from torch_amt.dsp.movmean import movmean
from torch_amt.functional.paulick2024 import PAULICK2024_MODELS

__all__ = ["Paulick2024Correlation", "Paulick2024ROI", "paulick2024_corr",
           "paulick2024_decision", "paulick2024_roi"]

#: Internal-noise variance of the decision stage per parameter set.
INTERNAL_NOISE_VARIANCE = {"paulick2024": 40.0, "jepsen2008": 130.0}
#: ``(slope, offset)`` of the n-AFC psychometric functions (``nAFC`` = 2, 3, 4).
_AFC = {2: (0.707, 0.0), 3: (0.765, 0.423), 4: (0.810, 0.668)}
_ROI_PERIODS = 25.0  # smoothing window: 25 periods of the channel's centre frequency


@dataclass(frozen=True)
class Paulick2024ROI:
    """Region of interest of :func:`paulick2024_roi`.

    Attributes
    ----------
    idx : Tensor, shape (K,), int64
        0-based indices of the channels (AMT ``roi.idx`` minus 1), contiguous.
    freq : Tensor, shape (K,)
        Their centre frequencies in Hz (AMT ``roi.freq``).
    met : Tensor, shape (F,)
        Rms of each smoothed channel, the measure the region is chosen by.
    """

    idx: torch.Tensor
    freq: torch.Tensor
    met: torch.Tensor


@dataclass(frozen=True)
class Paulick2024Correlation:
    """Output of :func:`paulick2024_corr`.

    Attributes
    ----------
    int : Tensor, shape (M,)
        Correlation per modulation filter (AMT ``out.int``; NaN where an included
        channel lacks that filter).
    fin : Tensor, shape ()
        Their sum, NaN ignored (AMT ``out.fin``).
    """

    int: torch.Tensor
    fin: torch.Tensor


def _nearest(values: torch.Tensor, target: torch.Tensor) -> int:
    return int(torch.argmin((values - target).abs()))


def paulick2024_roi(x: torch.Tensor, fs: float, fc) -> Paulick2024ROI:
    """Region of interest of auditory channels, AMT 1.6 ``paulick2024_roi(insig, fs, fc)``.

    Each channel of ``x`` is smoothed by a moving average of ``25/fc·fs`` samples
    (:func:`torch_amt.dsp.movmean.movmean`) and measured by its rms ``met``. The region
    runs from the first to the last channel with ``met >= max(met)/2``, widened to
    include the channels nearest to ``fc_max/√2`` and ``2·fc_max`` (``fc_max`` the
    centre frequency of the largest ``met``).

    Parameters
    ----------
    x : Tensor, shape (F, T)
        Adaptation-output difference, supra-threshold minus reference (model units).
    fs : float
        Sampling rate of ``x`` in Hz.
    fc : sequence or Tensor, shape (F,)
        Centre frequencies of the channels in Hz.

    Returns
    -------
    Paulick2024ROI
    """
    x = _checks.check_signal(x, "x", ndim=(2,), dim_names="(F, T)")
    fs = _checks.check_fs(fs)
    fc = torch.as_tensor(fc, dtype=torch.float64).reshape(-1)
    if fc.numel() != x.shape[0] or not bool((fc > 0).all()):
        raise ValueError(f"fc must hold one positive centre frequency per channel of x "
                         f"({x.shape[0]}), got {fc.tolist()}")
    smoothed = torch.stack([movmean(x[ch], _ROI_PERIODS / float(fc[ch]) * fs)
                            for ch in range(x.shape[0])])
    met = smoothed.square().mean(dim=-1).sqrt()
    met64 = met.detach().double().cpu()
    top = int(torch.argmax(met64))
    above = torch.nonzero(met64 >= 0.5 * met64.max()).reshape(-1)
    low = min(_nearest(fc, 1 / math.sqrt(2) * fc[top]), int(above[0]))
    high = max(_nearest(fc, math.sqrt(4) * fc[top]), int(above[-1]))
    idx = torch.arange(low, high + 1)
    return Paulick2024ROI(idx=idx, freq=fc[low:high + 1], met=met)


def paulick2024_corr(x: torch.Tensor, template: torch.Tensor, fc, fc_mod,
                     model: str = "paulick2024") -> Paulick2024Correlation:
    """Correlation of a target with the template, AMT 1.6 ``paulick2024_corr``.

    For modulation filter ``m``, over the channels ``c`` with ``fc[c] > 4·fc_mod[m]``
    and all times: ``Σ (x - x̄)(template - t̄)`` with ``x̄``, ``t̄`` the means over those
    samples (``'paulick2024'``: across-frequency level differences removed) or 0
    (``'jepsen2008'``: the original CASP correlates all dimensions at once).

    Parameters
    ----------
    x, template : Tensor, shape (F, M, T)
        Target minus reference, and the normalised template, over the region of interest
        (NaN where a channel has no filter ``m``).
    fc : sequence or Tensor, shape (F,)
        Centre frequencies of the channels in Hz.
    fc_mod : sequence or Tensor, shape (M,)
        Modulation centre frequencies in Hz.
    model : {'paulick2024', 'jepsen2008'}
        Parameter set (AMT key ``'model'``).

    Returns
    -------
    Paulick2024Correlation
        Differentiable with respect to ``x`` and ``template``.
    """
    _checks.check_choice(model, "model", PAULICK2024_MODELS)
    for name, t in (("x", x), ("template", template)):  # NaN allowed: missing filters
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.ndim != 3:
            raise TypeError(f"{name} must be a real floating-point tensor of shape (F, M, T), "
                            f"got {type(t).__name__} {getattr(t, 'shape', '')}")
    if template.shape != x.shape:
        raise ValueError(f"template must have the shape of x {tuple(x.shape)}, got "
                         f"{tuple(template.shape)}")
    fc = torch.as_tensor(fc, dtype=torch.float64).reshape(-1).to(x.device)
    fc_mod = torch.as_tensor(fc_mod, dtype=torch.float64).reshape(-1).to(x.device)
    if fc.numel() != x.shape[0] or fc_mod.numel() != x.shape[1]:
        raise ValueError(f"fc and fc_mod must have {x.shape[0]} and {x.shape[1]} values (the "
                         f"channels and modulation filters of x), got {fc.numel()} and "
                         f"{fc_mod.numel()}")
    values = []
    for m in range(x.shape[1]):
        keep = fc > 4 * fc_mod[m]
        xs, ts = x[keep, m], template[keep, m]
        if model == "paulick2024" and xs.numel():
            xs, ts = xs - xs.mean(), ts - ts.mean()
        values.append((xs * ts).sum())
    mutarget = torch.stack(values) if values else x.new_zeros(0)
    return Paulick2024Correlation(int=mutarget, fin=torch.nansum(mutarget))


def paulick2024_decision(mue, n_afc: int, rule=(1, 2), model: str = "paulick2024"
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Decision and probability of a correct answer, AMT 1.6 ``paulick2024_decision``.

    ``P = 1 - erfc((mue/√σ²·k - d)·0.7071068)/2`` with ``(k, d)`` = (0.707, 0), (0.765,
    0.423), (0.810, 0.668) for 2-, 3-, 4-AFC and the internal-noise variance σ² = 40
    (``'paulick2024'``) or 130 (``'jepsen2008'``); the target counts as detected when
    ``P > 1/2^(1/n)`` for a 1-up-n-down rule ``[1, n]`` (the point it converges to).

    Parameters
    ----------
    mue : float or Tensor
        Correlation (e.g. ``max(0, corr_tar.fin - max(0, corr_mask.fin))/fsR``).
    n_afc : {2, 3, 4}
        Number of intervals.
    rule : (int, int)
        Tracking rule ``[up, down]``; only ``up = 1`` is defined.
    model : {'paulick2024', 'jepsen2008'}
        Parameter set.

    Returns
    -------
    decision : Tensor
        1.0 where detected, else 0.0 (no gradient).
    prob : Tensor
        ``P``, differentiable with respect to ``mue``; float64 for a Python ``mue``.
    """
    _checks.check_choice(model, "model", PAULICK2024_MODELS)
    if isinstance(n_afc, bool) or n_afc not in _AFC:
        raise ValueError(f"n_afc must be 2, 3 or 4 (only 2-, 3- and 4-AFC procedures are "
                         f"implemented), got {n_afc!r}")
    up, down = (float(r) for r in rule)
    if up != 1:
        raise ValueError(f"rule must be [1, n] (only 1-up-n-down is implemented), got "
                         f"{list(rule)}")
    if down <= 0:
        raise ValueError(f"rule[1] (steps down) must be positive, got {down}")
    mue = mue if isinstance(mue, torch.Tensor) else torch.tensor(float(mue),
                                                                 dtype=torch.float64)
    slope, offset = _AFC[n_afc]
    sigma = math.sqrt(INTERNAL_NOISE_VARIANCE[model])
    prob = 1 - torch.special.erfc(((mue / sigma) * slope - offset) * 0.7071068) / 2
    decision = (prob.detach() > 1 / 2 ** (1 / down)).to(prob.dtype)
    return decision, prob
