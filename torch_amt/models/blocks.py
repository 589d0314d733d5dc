"""Chain segments and the AMT flag translation shared by the Dau-family models.

AMT's ``dau1997``, ``osses2021`` (and later CASP models) share their front end (outer and
middle ear, delay-compensated) and their back end (optional ``fftresample`` to ``subfs``
and ``modfilterbank``), and parse their flags the same way. Each model file lists its own
chain with these segments; this module holds them once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.functional.adaptation import ADAPTLOOP_PRESETS
from torch_amt.functional.ihc import IHC_METHODS, get_method
from torch_amt.functional.modfilterbank import (
    MODFILTERBANK_PRESETS,
    PRESET_ALIASES,
    modfilterbank_mfc,
    resolve_modfilterbank_preset,
)
from torch_amt.stages import FastModulationFilterbank, HeadphoneFilter, MiddleEarFilter
from torch_amt.stages.resample import Resample

__all__ = ["amt_flag_options", "check_presets", "ear_stages", "is_empty", "modulation_stages"]

Chain = list[tuple[str, nn.Module | None]]

MIDDLE_EAR_PRESETS = ("lopezpoveda2001", "jepsen2008")


def check_presets(*, middleear_preset: str | None = None, ihc_preset: str | None = None,
                  adt_preset: str | None = None, mfb_preset: str | None = None) -> None:
    """Check a model's ``<stage>_preset`` arguments, so that an error names the model's own
    keyword (not the stage's ``preset``)."""
    if middleear_preset is not None:
        _checks.check_choice(middleear_preset, "middleear_preset", MIDDLE_EAR_PRESETS)
    if ihc_preset is not None:
        get_method(ihc_preset, "ihc_preset")
    if adt_preset is not None:
        _checks.check_choice(adt_preset, "adt_preset", tuple(ADAPTLOOP_PRESETS))
    if mfb_preset is not None:
        _checks.check_choice(mfb_preset, "mfb_preset",
                             (*MODFILTERBANK_PRESETS, *PRESET_ALIASES))


def ear_stages(fs: float, outerear: bool, middleear: bool, middleear_preset: str,
               dtype: torch.dtype) -> Chain:
    """``'outerear'`` and ``'middleear'`` as AMT ``dau1997``/``osses2021`` apply them.

    Both FIRs are delay-compensated and the middle ear is divided by the maximum of its
    magnitude response; a stage switched off is ``None`` (left out of the chain).
    """
    return [
        ("outerear", HeadphoneFilter(fs, compensate_delay=True, dtype=dtype)
         if outerear else None),
        ("middleear", MiddleEarFilter(fs, middleear_preset, compensate_delay=True,
                                      normalize_gain=True, dtype=dtype)
         if middleear else None),
    ]


def modulation_stages(fs: float, subfs: float | None, fc: torch.Tensor, mfb_preset: str,
                      learnable: bool, dtype: torch.dtype) -> Chain:
    """``'resample'`` (to ``subfs``, when given) and ``'mfb'`` (``modfilterbank``).

    Parameters
    ----------
    fs : float
        Sampling rate in front of the segment in Hz.
    subfs : float or None
        Rate of the modulation filterbank in Hz (LTFAT ``fftresample``), or None.
    fc : Tensor, shape (F,)
        Centre frequencies of the auditory channels in Hz.
    mfb_preset : str
        AMT ``modfilterbank`` group.
    learnable : bool
        Learnable modulation filters.
    dtype : torch.dtype
        dtype of the filterbank's parameters.

    Raises
    ------
    ValueError
        If ``subfs`` is too low for the bank's highest filter (or its 150-Hz low-pass);
        the message names ``subfs``.
    """
    if subfs is not None:
        _check_subfs(subfs, fc, mfb_preset)
    return [
        ("resample", Resample(fs, subfs) if subfs is not None else None),
        ("mfb", FastModulationFilterbank(subfs if subfs is not None else fs,
                                         fc.detach().double(), preset=mfb_preset,
                                         learnable=learnable, dtype=dtype)),
    ]


def _check_subfs(subfs: float, fc: torch.Tensor, mfb_preset: str) -> None:
    preset = resolve_modfilterbank_preset(mfb_preset)
    top_fc = float(fc.max())
    top = modfilterbank_mfc(top_fc, use_upper_limit=preset.use_upper_limit)[-1]
    need = max(2 * top, 300.0 if preset.lp150 != "off" else 5.0)
    if subfs <= need:
        raise ValueError(
            f"subfs = {subfs:g} Hz is too low for the modulation filterbank "
            f"(mfb_preset {mfb_preset!r}): its highest filter is at {top:.1f} Hz (channel "
            f"fc = {top_fc:.1f} Hz)"
            + (" and it low-passes at 150 Hz" if preset.lp150 != "off" else "")
            + f", so subfs must be above {need:.1f} Hz; raise subfs or lower fhigh")


def is_empty(value: Any) -> bool:
    """MATLAB's ``[]`` (an empty array) or ``None``."""
    return value is None or (hasattr(value, "size") and value.size == 0)


def amt_flag_options(model: str, flags: Sequence[str], keyvals: Mapping[str, Any], *,
                     keys: Iterable[str], on_off: Iterable[str] = (),
                     groups: Iterable[str] = ("ihc", "adt", "mfb"),
                     special: Mapping[str, Mapping[str, Any]] | None = None,
                     ignored_keys: Iterable[str] = (), ignored_flags: Iterable[str] = (),
                     nullable: Iterable[str] = ("basef", "subfs")) -> dict[str, Any]:
    """Keyword arguments of a model for the flags and key-values of its AMT call.

    Parameters
    ----------
    model : str
        AMT name of the model (for messages).
    flags : sequence of str
        The call's flags.
    keyvals : mapping
        The call's key-values and optional positional arguments, by AMT name.
    keys : iterable of str
        Numeric keys passed on as floats under the same name.
    on_off : iterable of str
        Stages switched by ``'<stage>'`` / ``'no_<stage>'`` (keyword ``<stage>``).
    groups : iterable of str
        Stages whose AMT flag groups (``ihc_*``, ``adt_*``, ``mfb_*``) set
        ``<stage>_preset``.
    special : mapping, optional
        Other flags and the keywords each sets (e.g. ``'jepsen2008'``).
    ignored_keys, ignored_flags : iterable of str
        Accepted and ignored (AMT imports them but never reads them).
    nullable : iterable of str
        Keys for which ``[]`` means None (AMT's "not given").

    Raises
    ------
    ValueError
        For a flag or key the model does not implement, or ``[]`` for another key.
    """
    keys, on_off, nullable = tuple(keys), tuple(on_off), tuple(nullable)
    special = special or {}
    tables = {"ihc": IHC_METHODS, "adt": ADAPTLOOP_PRESETS, "mfb": MODFILTERBANK_PRESETS}
    unknown = set(keyvals) - {*keys, *ignored_keys}
    if unknown:
        raise ValueError(f"{model} key(s) {sorted(unknown)} are not implemented")
    opts: dict[str, Any] = {}
    for key in keys:
        if key not in keyvals:
            continue
        if not is_empty(keyvals[key]):
            opts[key] = float(keyvals[key])
        elif key in nullable:
            opts[key] = None
        else:
            raise ValueError(f"{model} key {key!r} cannot be []")
    for flag in flags:
        group = next((g for g in groups if flag in tables[g]), None)
        if flag in special:
            opts.update(special[flag])
        elif flag in on_off:
            opts[flag] = True
        elif flag.startswith("no_") and flag[3:] in on_off:
            opts[flag[3:]] = False
        elif group is not None:
            opts[f"{group}_preset"] = flag
        elif flag not in ignored_flags:
            raise ValueError(f"{model} flag {flag!r} is not implemented")
    return opts
