"""Validation handlers for AMT 1.4.0 ``breebaart2001``, ``breebaart2001_outmiddlefilter``
and ``breebaart2001_eicell`` (:class:`torch_amt.Breebaart2001`, :mod:`torch_amt.functional.eicell`).

``[ei_map, fc, outsigl, outsigr] = breebaart2001(insig, fs, tau, ild, ...)`` runs the
model and returns AMT's four outputs in AMT layout (time x channel). The handler, not
the model class, reproduces AMT's argument quirks (reference README, quirk 15):

* ``breebaart2001(x, fs, tau, ild, flow, fhigh)``: the positional ``fhigh`` is ignored
  (AMT's ``importdefaults`` ``{'fhigh', 8000, ...}`` are parsed after the positional
  values, so ``fhigh`` is 8000 Hz unless given as the key ``'fhigh'``); the positional
  ``flow`` and ``basef`` act;
* ``'tc'``, ``'rc_b'`` and ``'ptau'`` are ignored (AMT passes only ``'rc_a'`` on to
  ``breebaart2001_eicell``; they stay at the ``arg_breebaart2001_eicell`` defaults);
* a ``[time x 2 x signals]`` input yields only the first signal's map (AMT reads
  ``insig(:, 1)`` and ``insig(:, 2)``, the first two columns).

Tolerances. The monaural outputs are checked per auditory channel against 10x AMT's
conditioning floor of ``auditoryfilterbank`` at its centre frequency (as every model
after the gammatone filterbank; at least 1e-9). The EI map is the compressed square of
the interaural difference ``l - r`` of those outputs: where the ears nearly cancel (an
N0 masker in a channel far from an Spi signal) the relative error of ``l`` and ``r``
is amplified by ``kappa = max(|l|, |r|) / max|l - r|`` in the difference and doubled by
the square, so the EI map of a channel is checked at ``2·kappa`` times the tolerance of
the monaural outputs (``kappa`` computed per channel from the run's own adaptation
output; the reason of each check states it). ``breebaart2001_eicell`` called alone
inherits the tolerance of its input (e.g. the stored or computed ``step4_adt``) and
applies the same ``2·kappa`` factor to the policy default. ``breebaart2001_outmiddlefilter``
is one well-conditioned 2nd-order recursion: default tolerance.
"""

from __future__ import annotations

import numpy as np
import torch

from torch_amt.functional.eicell import EICELL_DEFAULTS, eicell, eicell_difference
from torch_amt.functional.outmiddle import breebaart2001_outmiddlefilter as outmiddle
from torch_amt.models.breebaart2001 import Breebaart2001
from torch_amt.validation.convert import amt_to_torch, torch_to_amt, torch_to_row
from torch_amt.validation.registry import Context, NotCovered, amt_function
from torch_amt.validation.tolerances import (
    DEFAULT_RTOL,
    FLOAT32_RTOL,
    checked_by_frequency,
    labels_for,
)
from torch_amt.validation.values import Checked, parse_ltfat_args

_MODEL_KEYS = ("flow", "fhigh", "basef", "bwmul", "tc", "rc_a", "rc_b", "ptau")
_IGNORED_BY_AMT = ("tc", "rc_b", "ptau")
_EICELL_KEYS = ("tc", "rc_a", "rc_b", "ptau")


def _scalar(value, what: str) -> float:
    arr = np.asarray(value, dtype=float).reshape(-1)
    if arr.size != 1:
        raise NotCovered(f"breebaart2001: a non-scalar {what} is not covered (AMT takes one)")
    return float(arr[0])


def _cancellation(adt: torch.Tensor, fs: float, tau: float, ild: float) -> np.ndarray:
    """``kappa = max(|l|, |r|) / max|l - r|`` per channel of ``adt (2, F, T)`` (1 where
    the difference is exactly zero: then the EI output is exactly zero too)."""
    difference = eicell_difference(adt.movedim(0, -2), fs, tau, ild).double()
    scale = adt.double().abs().amax(dim=(0, -1))
    spread = difference.abs().amax(-1)
    kappa = torch.where(spread > 0, scale / spread.clamp_min(torch.finfo(torch.float64).tiny),
                        torch.ones_like(scale))
    return kappa.clamp_min(1.0).numpy()


def _ei_checked(value: np.ndarray, base: np.ndarray, base_reasons, kappa: np.ndarray,
                labels) -> Checked:
    tol = np.maximum(DEFAULT_RTOL, 2 * kappa * base)
    reasons = tuple(
        f"EI cell: 2 x kappa = 2 x {k:.3g} (cancellation of l - r) times the monaural "
        f"tolerance ({r})" if t > DEFAULT_RTOL else r
        for k, t, r in zip(kappa, tol, base_reasons, strict=True))
    return Checked(value, tol=tol, reason=reasons, split_axis=1, labels=labels)


def _monaural_tolerance(ctx: Context, fc: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    if ctx.dtype == torch.float32:
        return (np.full(fc.shape, FLOAT32_RTOL),
                tuple("float32 (1e-4 relative)" for _ in fc))
    probe = checked_by_frequency(np.zeros((1, fc.size)), "auditoryfilterbank", fc)
    tol = np.atleast_1d(probe.tol) * np.ones(fc.size)
    return tol, tuple(probe.slice_reason(k) for k in range(fc.size))


@amt_function("breebaart2001")
def breebaart2001(ctx: Context, args: list, nargout: int) -> tuple:
    """``[ei_map, fc, outsigl, outsigr] = breebaart2001(insig, fs, tau, ild, ...)``."""
    if len(args) < 4:
        raise NotCovered("breebaart2001 needs insig, fs, tau and ild")
    insig = np.asarray(args[0], dtype=float)
    if insig.ndim < 2 or insig.shape[1] < 2:
        raise NotCovered("breebaart2001 needs a binaural insig (time x 2 [x signals])")
    if insig.ndim > 2:  # AMT: insig(:, 1), insig(:, 2) = the first signal's ears
        insig = insig.reshape(insig.shape[0], -1, order="F")
    fs, tau, ild = float(args[1]), _scalar(args[2], "tau"), _scalar(args[3], "ild")
    parsed = parse_ltfat_args(list(args[4:]), ("flow", "fhigh", "basef"), _MODEL_KEYS)
    keyvals = dict(parsed.keyvals)
    for key in _IGNORED_BY_AMT:
        keyvals.pop(key, None)
    rest = list(args[4:])
    positional = next((i for i, a in enumerate(rest) if isinstance(a, str)), len(rest))
    keyed_fhigh = any(isinstance(a, str) and a == "fhigh" for a in rest[positional::2])
    if positional >= 2 and not keyed_fhigh:
        keyvals.pop("fhigh", None)  # AMT's importdefaults reset it to 8000 Hz
    try:
        options = Breebaart2001.amt_options(parsed.flags, keyvals)
    except ValueError as err:
        raise NotCovered(str(err)) from err
    model = Breebaart2001(fs, tau, ild, dtype=ctx.dtype, **options)
    x = amt_to_torch(insig[:, :2], ctx.dtype)
    with torch.no_grad():
        stages = model(x, return_stages=True, monaural=True)
    fc = model.fc.detach().double().numpy()
    base, reasons = _monaural_tolerance(ctx, fc)
    labels = labels_for(fc, "fc")
    kappa = _cancellation(stages["adt"], fs, tau, ild)
    ei_map = _ei_checked(torch_to_amt(stages["out"]), base, reasons, kappa, labels)
    outputs: list = [ei_map, torch_to_row(model.fc.detach())]
    for ear in (0, 1):
        outputs.append(Checked(torch_to_amt(stages["monaural"][ear]), tol=base, reason=reasons,
                               split_axis=1, labels=labels))
    return tuple(outputs[:max(nargout, 1)])


@amt_function("breebaart2001_outmiddlefilter")
def breebaart2001_outmiddlefilter(ctx: Context, args: list, nargout: int) -> tuple:
    """``out = breebaart2001_outmiddlefilter(in, fs)``: a column (AMT's loop output)."""
    if len(args) != 2:
        raise NotCovered("breebaart2001_outmiddlefilter takes (in, fs)")
    signal = np.asarray(args[0], dtype=float).reshape(-1, 1, order="F")
    y = outmiddle(amt_to_torch(signal, ctx.dtype)[0], float(args[1]))
    return (torch_to_amt(y),)


@amt_function("breebaart2001_eicell")
def breebaart2001_eicell(ctx: Context, args: list, nargout: int) -> tuple:
    """``y = breebaart2001_eicell(insig, fs, tau, ild, 'tc', .., 'rc_a', .., 'rc_b', ..,
    'ptau', ..)``; ``insig`` time x 2."""
    if len(args) < 4:
        raise NotCovered("breebaart2001_eicell needs insig, fs, tau and ild")
    insig = np.asarray(args[0], dtype=float)
    if insig.ndim != 2 or insig.shape[1] != 2:
        raise NotCovered(f"breebaart2001_eicell needs insig of time x 2, got {insig.shape}")
    fs, tau, ild = float(args[1]), _scalar(args[2], "tau"), _scalar(args[3], "ild")
    parsed = parse_ltfat_args(list(args[4:]), (), _EICELL_KEYS)
    if parsed.flags:
        raise NotCovered(f"breebaart2001_eicell flags {parsed.flags} are not covered")
    settings = {key: float(parsed.get(key, getattr(EICELL_DEFAULTS, key)))
                for key in _EICELL_KEYS}
    x = amt_to_torch(insig, ctx.dtype)
    y = eicell(x, fs, tau, ild, **settings)
    kappa = float(_cancellation(x[:, None, :], fs, tau, ild)[0])
    tol = max(DEFAULT_RTOL, 2 * kappa * DEFAULT_RTOL)
    reason = (f"EI cell: 2 x kappa = 2 x {kappa:.3g} (cancellation of l - r) times the "
              "default tolerance; the input's own tolerance is inherited")
    return (Checked(torch_to_amt(y), tol=tol, reason=reason if tol > DEFAULT_RTOL else
                    "default float64 tolerance (1e-9 relative)"),)
