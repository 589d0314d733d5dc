"""Auditory stages as ``torch.nn.Module``s, one per file (configuration and buffers; the
math lives in :mod:`torch_amt.functional`)."""

from torch_amt.stages.adaptation import AdaptLoop
from torch_amt.stages.butterworth import ButterworthFilter
from torch_amt.stages.compression import King2019Compression
from torch_amt.stages.drnl import DRNLFilterbank
from torch_amt.stages.ears import HeadphoneFilter, MiddleEarFilter
from torch_amt.stages.eicell import EICell
from torch_amt.stages.excitation import ExcitationPattern
from torch_amt.stages.gammatone import GammatoneFilterbank
from torch_amt.stages.ihc import IHCEnvelope
from torch_amt.stages.internal_noise import InternalNoise
from torch_amt.stages.king2019_modfilterbank import (
    FastKing2019ModulationFilterbank,
    King2019ModulationFilterbank,
)
from torch_amt.stages.loudness import LoudnessIntegration, SpecificLoudness
from torch_amt.stages.modfilterbank import (
    FastModulationFilterbank,
    ModulationFilterbank,
    pad_modulation_outputs,
)
from torch_amt.stages.modulation_lowpass import ModulationLowpass
from torch_amt.stages.octave_resample import OctaveResample
from torch_amt.stages.outer_middle_ear import Glasberg2002OuterMiddleEarFilter
from torch_amt.stages.outmiddle import OuterMiddleEarFilter
from torch_amt.stages.relanoiborra2019_drnl import RelanoIborra2019DRNL
from torch_amt.stages.relanoiborra2019_mfbtd import RelanoIborra2019ModulationFilterbank
from torch_amt.stages.spectrum import MultiResolutionSpectrum

__all__ = [
    "AdaptLoop",
    "ButterworthFilter",
    "DRNLFilterbank",
    "EICell",
    "ExcitationPattern",
    "FastKing2019ModulationFilterbank",
    "FastModulationFilterbank",
    "GammatoneFilterbank",
    "Glasberg2002OuterMiddleEarFilter",
    "HeadphoneFilter",
    "IHCEnvelope",
    "InternalNoise",
    "King2019Compression",
    "King2019ModulationFilterbank",
    "LoudnessIntegration",
    "MiddleEarFilter",
    "ModulationFilterbank",
    "ModulationLowpass",
    "MultiResolutionSpectrum",
    "OctaveResample",
    "OuterMiddleEarFilter",
    "RelanoIborra2019DRNL",
    "RelanoIborra2019ModulationFilterbank",
    "SpecificLoudness",
    "pad_modulation_outputs",
]
