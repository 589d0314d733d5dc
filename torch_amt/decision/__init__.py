"""Decision back-ends: artificial observers that turn internal representations into
forced-choice answers (AMT's ``optimaldetector`` and central processors).

Each back-end lives in its own module and is imported here explicitly.
"""

from torch_amt.decision.centralproc import (
    CentralProcState,
    breebaart2001_centralproc,
    centralproc_channels,
)
from torch_amt.decision.optimaldetector import OptimalDetector, optimal_detector, unit_template

__all__ = [
    "CentralProcState",
    "OptimalDetector",
    "breebaart2001_centralproc",
    "centralproc_channels",
    "optimal_detector",
    "unit_template",
]
