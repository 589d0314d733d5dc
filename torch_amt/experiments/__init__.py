"""Psychoacoustic experiments with a model as the listener (AMT ``amt_emuexp``) and
reproductions of published figures.
"""

from torch_amt.experiments.afc import AdaptiveProcedure, RunResult, run_adaptive, run_conditions
from torch_amt.experiments.listeners import CentralProcListener, TemplateListener
from torch_amt.experiments.signals import AMNoise, Breebaart2001Signal, bandpass_noise

__all__ = [
    "AMNoise",
    "AdaptiveProcedure",
    "Breebaart2001Signal",
    "CentralProcListener",
    "RunResult",
    "TemplateListener",
    "bandpass_noise",
    "run_adaptive",
    "run_conditions",
]
