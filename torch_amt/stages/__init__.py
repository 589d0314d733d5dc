"""Auditory stages as ``torch.nn.Module``s, one per file (configuration and buffers; the
math lives in :mod:`torch_amt.functional`)."""

from torch_amt.stages.adaptation import AdaptLoop
from torch_amt.stages.butterworth import ButterworthFilter
from torch_amt.stages.compression import King2019Compression
from torch_amt.stages.drnl import DRNLFilterbank
from torch_amt.stages.ears import HeadphoneFilter, MiddleEarFilter
from torch_amt.stages.eicell import EICell
from torch_amt.stages.gammatone import GammatoneFilterbank
from torch_amt.stages.ihc import IHCEnvelope
from torch_amt.stages.internal_noise import InternalNoise
from torch_amt.stages.king2019_modfilterbank import (
    FastKing2019ModulationFilterbank,
    King2019ModulationFilterbank,
)
from torch_amt.stages.modfilterbank import (
    FastModulationFilterbank,
    ModulationFilterbank,
    pad_modulation_outputs,
)
from torch_amt.stages.modulation_lowpass import ModulationLowpass
from torch_amt.stages.outmiddle import OuterMiddleEarFilter
from torch_amt.stages.relanoiborra2019_drnl import RelanoIborra2019DRNL
from torch_amt.stages.relanoiborra2019_mfbtd import RelanoIborra2019ModulationFilterbank

__all__ = [
    "AdaptLoop",
    "ButterworthFilter",
    "DRNLFilterbank",
    "EICell",
    "FastKing2019ModulationFilterbank",
    "FastModulationFilterbank",
    "GammatoneFilterbank",
    "HeadphoneFilter",
    "IHCEnvelope",
    "InternalNoise",
    "King2019Compression",
    "King2019ModulationFilterbank",
    "MiddleEarFilter",
    "ModulationFilterbank",
    "ModulationLowpass",
    "OuterMiddleEarFilter",
    "RelanoIborra2019DRNL",
    "RelanoIborra2019ModulationFilterbank",
    "pad_modulation_outputs",
]
