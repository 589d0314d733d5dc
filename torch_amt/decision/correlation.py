"""Correlation back end of the sCASP model (Relaño-Iborra et al. 2019), AMT 1.4.0
``relanoiborra2019_decision`` and the whole ``relanoiborra2019`` comparison.

The clean template's and the noisy target's internal representations (``(F, M, T)``:
channel × modulation filter × time) are compared per modulation filter ``m``, in
consecutive windows of ``floor(fs/fmod_m)`` samples (``floor(fs/2.5)`` for the low-pass),
by the correlation coefficient of the two ``window × channel`` matrices (``corr2``), using
only the channels with ``fc > 4·fmod_m``. Negative correlations count as 0; windows whose
correlation is undefined (a constant matrix: 0/0) are NaN and left out of the sum (AMT
``nansum``) but not of the count. ``dint_m`` = sum / number of windows, ``dfinal`` = mean
over ``m``. Intelligibility follows from ``dfinal`` through a logistic function fitted to
listening data (:func:`relanoiborra2019_logistic`).

References
----------
H. Relaño-Iborra, J. Zaar, and T. Dau, "A speech-based computational auditory signal
processing and perception model," J. Acoust. Soc. Am. 146(5), 3306–3317 (2019).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from torch_amt import _checks
from torch_amt.models.relanoiborra2019 import RelanoIborra2019

__all__ = [
    "EmptyCorrelationError",
    "corr2",
    "window_lengths",
    "relanoiborra2019_decision",
    "relanoiborra2019",
    "relanoiborra2019_logistic",
]


class EmptyCorrelationError(ValueError):
    """A correlation over no elements: where AMT's ``corr2`` stops with "corr2: I and J
    must be real matrices" (an empty window or channel selection, quirk 14)."""


def corr2(a: torch.Tensor, b: torch.Tensor, dims: Sequence[int] = (-2, -1)) -> torch.Tensor:
    """Correlation coefficient of two arrays over the axes ``dims`` (Octave image
    ``corr2``: ``corr(a(:), b(:))``), batched over the other axes.

    ``Σ(a-ā)(b-b̄) / sqrt(Σ(a-ā)²·Σ(b-b̄)²)``; 1 where the arrays have a single element
    (Octave's ``corr`` of scalars), NaN where one of them is constant (0/0).
    Differentiable.

    Parameters
    ----------
    a, b : Tensor
        Same shape.
    dims : sequence of int
        The axes to correlate over (default the last two).

    Returns
    -------
    Tensor
        ``a``'s shape without ``dims``.

    Raises
    ------
    ValueError
        If the shapes differ or the arrays are empty (Octave: "corr2: I and J must be real
        matrices").
    """
    if a.shape != b.shape:
        raise ValueError(f"corr2 needs arrays of the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    dims = tuple(dims)
    n = math.prod(a.shape[d] for d in dims)
    if n == 0:
        raise EmptyCorrelationError("corr2 of empty arrays (Octave: 'corr2: I and J must be real "
                         "matrices')")
    if n == 1:
        return torch.ones_like(a.sum(dim=dims))
    ac = a - a.mean(dim=dims, keepdim=True)
    bc = b - b.mean(dim=dims, keepdim=True)
    return (ac * bc).sum(dim=dims) / torch.sqrt((ac * ac).sum(dim=dims)
                                                * (bc * bc).sum(dim=dims))


def window_lengths(fmod: Sequence[float], fs: float) -> list[int]:
    """Window length per modulation filter: ``floor(fs/fmod)`` samples, and
    ``floor(fs/2.5)`` for the first filter (the low-pass), as AMT."""
    durations = [1 / f if f else math.inf for f in fmod]
    durations[0] = 1 / 2.5
    return [math.floor(d * fs) for d in durations]


def relanoiborra2019_decision(clean: torch.Tensor, noisy: torch.Tensor, fs: float, fc,
                              fmod) -> dict[str, torch.Tensor]:
    """AMT ``relanoiborra2019_decision``: windowed correlation per modulation filter.

    Parameters
    ----------
    clean, noisy : Tensor, shape (..., F, M, T)
        Internal representations (:class:`~torch_amt.models.RelanoIborra2019` output) of
        the clean template and the noisy target, the part to compare (AMT compares the
        samples after ``N_org``).
    fs : float
        Sampling rate in Hz.
    fc : array_like, shape (F,)
        Centre frequencies of the auditory channels in Hz.
    fmod : array_like, shape (M,)
        Modulation centre frequencies in Hz (the first is the low-pass).

    Returns
    -------
    dict
        ``'dint'`` ``(..., M)``: mean correlation per modulation filter; ``'dsegments'``
        ``(..., S, M)``: every window's correlation (negative ones set to 0; NaN for a
        constant window), zero-padded to the largest window count ``S``; ``'dfinal'``
        ``(...)``: mean of ``dint``.

    Raises
    ------
    ValueError
        If the shapes differ.
    EmptyCorrelationError
        (a ValueError) If no channel has ``fc > 4·fmod_m`` for some ``m``, the signal is
        empty, or its length is ``k ≥ 2`` times a window length (AMT's last, "leftover"
        window is then empty and ``corr2`` fails: reference README quirk 14).
    """
    if not isinstance(clean, torch.Tensor) or not isinstance(noisy, torch.Tensor):
        raise TypeError("clean and noisy must be tensors of shape (..., F, M, T)")
    if clean.shape != noisy.shape:
        raise ValueError(f"internal representations must have the same size, got "
                         f"{tuple(clean.shape)} and {tuple(noisy.shape)}")
    if clean.ndim < 3:
        raise ValueError(f"clean and noisy must have shape (..., F, M, T), got "
                         f"{tuple(clean.shape)}")
    fs = _checks.check_fs(fs)
    fcs = [float(f) for f in torch.as_tensor(fc, dtype=torch.float64).reshape(-1)]
    fmods = [float(f) for f in torch.as_tensor(fmod, dtype=torch.float64).reshape(-1)]
    n_ch, n_mod, n_samp = clean.shape[-3:]
    if len(fcs) != n_ch or len(fmods) != n_mod:
        raise ValueError(f"fc ({len(fcs)}) and fmod ({len(fmods)}) must match the channel "
                         f"and modulation axes ({n_ch}, {n_mod})")
    lengths = window_lengths(fmods, fs)
    counts = [n_samp // w + 1 - (w == n_samp) for w in lengths]
    columns, dints = [], []
    for m, (w, count) in enumerate(zip(lengths, counts, strict=True)):
        keep = [k for k, f in enumerate(fcs) if f > 4 * fmods[m]]
        if not keep:
            raise EmptyCorrelationError(f"no channel has fc > 4·fmod = {4 * fmods[m]:g} Hz "
                                        "(AMT's corr2 fails on the empty selection)")
        last = (count - 1) * w
        if last >= n_samp and count > 1:
            raise EmptyCorrelationError(
                f"the compared length ({n_samp} samples) is {count - 1} times the window of "
                f"modulation filter {m + 1} ({w} samples): AMT's last, leftover window is "
                "then empty and its corr2 fails (quirk 14); compare a length that is not "
                "such a multiple")
        a, b = (t[..., keep, m, :] for t in (clean, noisy))
        pieces = []
        if count > 1:
            full = a.shape[:-2] + (len(keep), count - 1, w)
            pieces.append(corr2(a[..., :last].reshape(full), b[..., :last].reshape(full),
                                dims=(-3, -1)))
        pieces.append(corr2(a[..., last:], b[..., last:])[..., None])
        d = torch.cat(pieces, dim=-1)
        d = torch.where(d < 0, torch.zeros_like(d), d)
        dints.append(torch.nansum(d, dim=-1) / count)
        columns.append(d)
    rows = max(counts)
    dsegments = torch.stack([torch.nn.functional.pad(d, (0, rows - d.shape[-1]))
                             for d in columns], dim=-1)
    dint = torch.stack(dints, dim=-1)
    return {"dint": dint, "dsegments": dsegments, "dfinal": dint.mean(dim=-1)}


def relanoiborra2019(clean: torch.Tensor, noisy: torch.Tensor, fs: float,
                     n_org: int | None = None, *, model: RelanoIborra2019 | None = None,
                     clean_noise_draws: torch.Tensor | None = None,
                     noisy_noise_draws: torch.Tensor | None = None,
                     **model_kwargs) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """AMT ``[out, clean, noisy] = relanoiborra2019(clean, noisy, fs, 'N_org', n_org, ...)``.

    Both signals go through the sCASP model; :func:`relanoiborra2019_decision` compares
    their representations from sample ``n_org`` on (the first ``n_org`` samples are the
    copy of the sentence that settles the adaptation loops).

    Parameters
    ----------
    clean, noisy : Tensor, shape (T,) or (B, T)
        Clean template and noisy target (Pa by default, see the model's ``dboffset``).
    fs : float
        Sampling rate in Hz.
    n_org : int
        Length of the original sentence in samples (AMT ``N_org``). AMT's default
        (``length(clean)``: nothing left to compare; its help says twice that) fails in
        AMT; here ``None`` raises a ValueError.
    model : RelanoIborra2019, optional
        The model to use (default ``RelanoIborra2019(fs, **model_kwargs)``).
    clean_noise_draws, noisy_noise_draws : Tensor, shape (F, T) or (B, F, T), optional
        Internal-noise draws of each run (AMT draws the clean signal's first).
    **model_kwargs
        Arguments of :class:`~torch_amt.models.RelanoIborra2019` (e.g. ``fcnt``,
        ``internal_noise``, ``subject``, ``dtype``) when ``model`` is not given.

    Returns
    -------
    out : dict
        ``dint``, ``dsegments``, ``dfinal`` (see :func:`relanoiborra2019_decision`).
    clean, noisy : dict
        ``afb`` (adaptation output ``(..., F, T)``), ``mfb`` (``(..., F, M, T)``), ``fc``,
        ``fmod``: AMT's structs.
    """
    fs = _checks.check_fs(fs)
    if model is None:
        model = RelanoIborra2019(fs, **model_kwargs)
    elif model_kwargs:
        raise ValueError("give either model or model keyword arguments, not both")
    if model.fs != fs:
        raise ValueError(f"fs = {fs} Hz differs from the model's fs = {model.fs} Hz")
    if n_org is None:
        raise ValueError("n_org is required: AMT's default N_org = length(insig_clean) "
                         "leaves nothing to compare and fails (quirk 14)")
    if isinstance(n_org, bool) or not isinstance(n_org, int) or n_org < 0:
        raise ValueError(f"n_org must be a non-negative integer (samples), got {n_org!r}")
    if clean.shape[-1] <= n_org:
        raise ValueError(f"n_org = {n_org} leaves no samples of the {clean.shape[-1]} to "
                         "compare")
    structs = []
    for x, draws in ((clean, clean_noise_draws), (noisy, noisy_noise_draws)):
        kwargs = {} if draws is None else {"noise_draws": draws}
        stages = model(x, return_stages=True, **kwargs)
        afb = stages["adt"] if "adt" in stages else stages[model.chain[-2]]
        structs.append({"afb": afb, "fc": model.fc, "mfb": stages["out"],
                        "fmod": model.mfc})
    out = relanoiborra2019_decision(structs[0]["mfb"][..., n_org:],
                                    structs[1]["mfb"][..., n_org:], fs, model.fc, model.mfc)
    return out, structs[0], structs[1]


def relanoiborra2019_logistic(d: torch.Tensor | float, a: float, b: float) -> torch.Tensor:
    """Map the model output ``d`` to percent correct: ``100 / (1 + exp(a·d + b))``.

    The logistic function of the AMT demo and experiment (``exp_relanoiborra2019``), whose
    parameters ``a``, ``b`` are fitted (non-linear least squares) to listening data of a
    speech material; AMT ships no fixed values.
    """
    d = torch.as_tensor(d, dtype=torch.float64) if not isinstance(d, torch.Tensor) else d
    return 100 / (1 + torch.exp(a * d + b))
