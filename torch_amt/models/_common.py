"""Pieces shared by the model classes: the outer/middle-ear front and ``learnable``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from torch_amt.stages.ears import HeadphoneFilter, MiddleEarFilter

Learnable = bool | Iterable[str]


@dataclass(frozen=True)
class ModelInfo:
    """Registry entry of a model: its class, a one-line description, its output kind.

    ``output`` is ``"modulation_list"`` (Dau/Jepsen: a list of ``(B, M_f, T)`` tensors, one
    per auditory channel) or ``"fcmt"`` (King: one ``(B, F, M, T)`` tensor).
    """

    cls: type[torch.nn.Module]
    description: str
    output: str


def resolve_learnable(learnable: Learnable, stages: tuple[str, ...]) -> frozenset[str]:
    """The set of stage names made learnable by a model's ``learnable`` argument.

    ``True`` means every stage in ``stages``, ``False`` none; a name or an iterable of
    names selects those stages.
    """
    if isinstance(learnable, bool):
        return frozenset(stages) if learnable else frozenset()
    names = frozenset([learnable] if isinstance(learnable, str) else learnable)
    unknown = names - set(stages)
    if unknown:
        raise ValueError(f"learnable names unknown stages {sorted(unknown)}; choose from "
                         f"{list(stages)} (or pass True/False)")
    return names


class EarFilters(nn.Module):
    """Optional outer-ear (headphone) and middle-ear FIR filters in front of a model.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    outerear : bool
        Apply AMT ``headphonefilter`` (Pralong & Carlile 1996).
    middleear : {None, 'lopezpoveda2001', 'jepsen2008'}
        Apply AMT ``middleearfilter`` of that kind.
    compensate_delay : bool
        Remove the FIR group delay and divide out the middle-ear filter's maximum gain, as
        AMT ``dau1997`` does (``True``); plain filtering as in the Jepsen et al. (2008)
        chain (``False``).
    dtype : torch.dtype
        dtype of the filter buffers.
    """

    def __init__(self, fs: float, *, outerear: bool = False, middleear: str | None = None,
                 compensate_delay: bool = True, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.outerear = (HeadphoneFilter(fs, compensate_delay=compensate_delay, dtype=dtype)
                         if outerear else None)
        self.middleear = (MiddleEarFilter(fs, middleear, compensate_delay=compensate_delay,
                                          normalize_gain=compensate_delay, dtype=dtype)
                          if middleear is not None else None)

    def forward(self, x: torch.Tensor, stages: dict | None = None) -> torch.Tensor:
        """Filter ``x (B, T)``; record each applied filter's output in ``stages``."""
        for name in ("outerear", "middleear"):
            module = getattr(self, name)
            if module is not None:
                x = module(x)
                if stages is not None:
                    stages[name] = x
        return x


def unbatch_stages(stages: dict) -> dict:
    """Drop the batch axis added to a 1-D input from every stage output (lists too)."""
    return {name: [v[0] for v in value] if isinstance(value, list) else value[0]
            for name, value in stages.items()}
