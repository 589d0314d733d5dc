"""Breebaart, van de Par & Kohlrausch (2001) binaural model, as AMT 1.4.0 ``breebaart2001``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

from torch_amt import _checks
from torch_amt.functional.eicell import EICELL_DEFAULTS
from torch_amt.models.base import AuditoryModel, Learnable, _unbatch, resolve_learnable
from torch_amt.models.blocks import amt_flag_options, check_presets
from torch_amt.stages import AdaptLoop, GammatoneFilterbank, IHCEnvelope
from torch_amt.stages.eicell import EICell
from torch_amt.stages.modulation_lowpass import ModulationLowpass
from torch_amt.stages.outmiddle import OuterMiddleEarFilter

__all__ = ["Breebaart2001"]

_KEYS = ("flow", "fhigh", "basef", "bwmul", "tc", "rc_a", "rc_b", "ptau")
MONAURAL_TAU = 0.01
"""Time constant of the low-pass of the monaural outputs in seconds (AMT: 10 ms, fixed)."""


class Breebaart2001(AuditoryModel):
    """Binaural EI-cell representation of Breebaart et al. (2001) (AMT 1.4.0 ``breebaart2001``).

    The peripheral preprocessing of both ears followed by excitation-inhibition (EI)
    cells that compare the ears in every auditory channel at a characteristic interaural
    delay ``tau`` and level difference ``ild``. Chain (stage names of
    :data:`~torch_amt.models.base.STAGE_VOCABULARY`), every stage run on both ears::

        outermiddle  breebaart2001_outmiddlefilter (2nd-order band-pass, poles at 1 and
                     4 kHz)
        afb          auditoryfilterbank: 1-ERB spacing, 80-8000 Hz
        ihc          ihcenvelope 'ihc_breebaart2001' (HWR + five 1st-order 2-kHz
                     low-passes, -3 dB near 770 Hz)
        adt          adaptloop 'adt_breebaart2001' (5 loops, tau 5-500 ms linearly
                     spaced, no overshoot limit, minspl 0 dB)
        eicell       breebaart2001_eicell for every channel and (tau, ild) pair

    The monaural outputs (AMT's 3rd and 4th outputs ``outsigl``, ``outsigr``) are the
    adaptation output of each ear through a first-order 10-ms low-pass
    (``filter(1-a, [1 -a], .)``, ``a = exp(-(1/0.01)/fs)``), attribute ``monaural_lowpass``;
    ``forward(x, monaural=True)`` returns them.

    No level gain is applied: the input follows the 100-dB convention (an rms of 1 is
    100 dB SPL) that the adaptation floor (minspl 0 dB -> 1e-5) assumes. AMT's help
    example scales with ``scaletodbspl(x, L)``, i.e. in Pascal (an rms of 1 is
    93.98 dB SPL): such input is 6.02 dB softer for this model than its nominal level.

    AMT quirks (reference README, quirk 15), reproduced only by the validation handler,
    not by this class: ``breebaart2001(x, fs, tau, ild, flow, fhigh)`` ignores the
    positional ``fhigh`` (it stays 8000 Hz); ``'tc'``, ``'rc_b'`` and ``'ptau'`` given to
    ``breebaart2001`` are ignored (only ``'rc_a'`` reaches the EI cell; here they all
    act); a ``[time x 2 x signals]`` input yields only the first signal's map (here a
    batch ``(B, 2, T)`` gives one map per signal).

    Parameters
    ----------
    fs : float
        Sampling rate of the input in Hz.
    tau : float, sequence or Tensor
        Characteristic interaural delay(s) of the EI cells in seconds (positive: left
        leading; AMT ``tau``). Default 0.
    ild : float, sequence or Tensor
        Characteristic interaural level difference(s) in dB (positive: left louder; AMT
        ``ild``). ``tau`` and ``ild`` broadcast to a shape ``S`` of cells computed in one
        call. Default 0.
    flow, fhigh : float
        Lowest / highest centre frequency in Hz (AMT keys ``flow``, ``fhigh``; 80, 8000).
    basef : float or None
        Frequency forced onto the 1-ERB grid (AMT ``basef``; none).
    bwmul : float
        Channel spacing in ERB (AMT ``bwmul``; 1).
    ihc_preset : str
        AMT ``ihcenvelope`` method (``'ihc_breebaart2001'``).
    adt_preset : str
        AMT ``adaptloop`` group (``'adt_breebaart2001'``).
    tc, rc_a, rc_b, ptau : float
        EI-cell smoothing time constant (s), compression constants and ``p(tau)`` time
        constant (s) (AMT ``arg_breebaart2001_eicell``: 0.03, 0.1, 2e-5, 2.2e-3).
    learnable : bool or iterable of str
        ``True`` makes every stage that has learnable parameters learnable; or name the
        stages: a subset of ``{'afb', 'adt'}``.
    dtype : torch.dtype
        dtype of the stages' parameters and buffers (default float32; float64 reproduces
        AMT to its own conditioning, ~1e-9 relative).

    Shape
    -----
    Input ``(2, T)`` or ``(B, 2, T)``: left (index 0) and right (index 1) ear. A mono
    signal is refused (the shapes of a mono batch and of one binaural signal would be
    ambiguous); present it diotically with ``torch.stack([s, s], -2)``. Output: the EI
    map ``(B, *S, F, T)`` (``(B, F, T)`` for scalar ``tau`` and ``ild``, AMT's
    ``ei_map``), without ``B`` for a ``(2, T)`` input. ``forward(x, return_stages=True)``
    returns every stage's output by chain name (``(B, 2, ...)`` before the EI cells) and
    ``'out'``.

    References
    ----------
    J. Breebaart, S. van de Par, and A. Kohlrausch, "Binaural processing model based on
    contralateral inhibition. I. Model structure", J. Acoust. Soc. Am. 110(2),
    1074–1088 (2001). T. Dau, D. Püschel, and A. Kohlrausch, "A quantitative model of
    the 'effective' signal processing in the auditory system. I. Model structure",
    J. Acoust. Soc. Am. 99(6), 3615–3622 (1996).
    """

    amt_function = "breebaart2001"
    description = ("Breebaart et al. (2001): binaural; outer/middle ear, gammatone, IHC, "
                   "adaptation, EI cells at a characteristic ITD/ILD")
    output_kind = "fct"
    binaural: ClassVar[bool] = True

    def __init__(self, fs: float, tau=0.0, ild=0.0, *, flow: float = 80.0,
                 fhigh: float = 8000.0, basef: float | None = None, bwmul: float = 1.0,
                 ihc_preset: str = "ihc_breebaart2001", adt_preset: str = "adt_breebaart2001",
                 tc: float = EICELL_DEFAULTS.tc, rc_a: float = EICELL_DEFAULTS.rc_a,
                 rc_b: float = EICELL_DEFAULTS.rc_b, ptau: float = EICELL_DEFAULTS.ptau,
                 learnable: Learnable = False, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, 100.0)
        learn = resolve_learnable(learnable, ("afb", "adt"))
        check_presets(ihc_preset=ihc_preset, adt_preset=adt_preset)
        fs = self.fs
        self.set_chain([
            ("outermiddle", OuterMiddleEarFilter(fs, dtype=dtype)),
            ("afb", GammatoneFilterbank(fs, flow=flow, fhigh=fhigh, basef=basef, bwmul=bwmul,
                                        learnable="afb" in learn, dtype=dtype)),
            ("ihc", IHCEnvelope(fs, ihc_preset, dtype=dtype)),
            ("adt", AdaptLoop(fs, preset=adt_preset, learnable="adt" in learn, dtype=dtype)),
            ("eicell", EICell(fs, tau, ild, tc=tc, rc_a=rc_a, rc_b=rc_b, ptau=ptau,
                              dtype=dtype)),
        ])
        self.monaural_lowpass = ModulationLowpass(fs, MONAURAL_TAU, dtype=dtype)

    @property
    def mfc(self) -> list:
        """``[]``: the output has no modulation axis."""
        return []

    def forward(self, x: torch.Tensor, return_stages: bool = False, *, monaural: bool = False):
        """Run the model on the binaural signal ``x (2, T)`` or ``(B, 2, T)``.

        Parameters
        ----------
        x : Tensor, shape (2, T) or (B, 2, T)
            Left and right ear signals; an rms of 1 is 100 dB SPL.
        return_stages : bool
            Return a dict of every stage's output under its chain name and the EI map as
            ``'out'`` (with ``monaural=True`` also ``'monaural'``, shape ``(B, 2, F, T)``).
        monaural : bool
            Also return the monaural representations (AMT's ``outsigl``, ``outsigr``).

        Returns
        -------
        Tensor, shape (B, *S, F, T)
            The EI map; or, with ``monaural=True``, a tuple ``(ei_map, left, right)``
            with ``left``, ``right`` of shape ``(B, F, T)``; or the dict of stage outputs.
            No ``B`` axis for a ``(2, T)`` input.
        """
        return_stages = _checks.check_bool(return_stages, "return_stages")
        monaural = _checks.check_bool(monaural, "monaural")
        x = _checks.check_signal(x, "x", ndim=range(1, 64), dim_names="(2, T) or (B, 2, T)")
        if x.ndim not in (2, 3) or x.shape[-2] != 2:
            raise ValueError(
                f"{type(self).__name__} is binaural: x must have shape (2, T) or (B, 2, T) "
                f"with the left and right ear along axis -2, got shape {tuple(x.shape)}; "
                "present a mono signal s diotically with torch.stack([s, s], -2)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 2)
        record: dict[str, Any] = {}
        y = x
        for name, stage in self.stages():
            if name == "afb":  # the filterbank reads (N, T): both ears as rows
                y = stage(y.flatten(0, -2)).unflatten(0, y.shape[:-1])
            else:
                y = stage(y)
            record[name] = y
        record["out"] = y
        if monaural:
            record["monaural"] = self.monaural_lowpass(record["adt"])
        if unbatched:
            record = _unbatch(record)
        if return_stages:
            return record
        if monaural:
            return record["out"], record["monaural"][..., 0, :, :], record["monaural"][..., 1, :, :]
        return record["out"]

    def extra_repr(self) -> str:
        return super().extra_repr() + ", binaural"

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for ``breebaart2001(insig, fs, tau, ild, flags..., key, val)``.

        Keys: ``flow``, ``fhigh``, ``basef``, ``bwmul``, ``tc``, ``rc_a``, ``rc_b``,
        ``ptau`` (each with this class's meaning; AMT's model ignores ``tc``, ``rc_b``,
        ``ptau`` and a positional ``fhigh``: the validation handler applies those
        quirks before calling this). Flags: any ``ihc_*`` or ``adt_*`` group.

        Raises
        ------
        ValueError
            For a flag or key not implemented.
        """
        return amt_flag_options("breebaart2001", flags, keyvals, keys=_KEYS,
                                groups=("ihc", "adt"), nullable=("basef",))
