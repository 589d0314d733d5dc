"""Decision back-ends: artificial observers that turn internal representations into
forced-choice answers or intelligibility predictions (AMT's ``optimaldetector``, central
processors and correlation back ends).

Each back-end lives in its own module and is imported here explicitly.
"""

from torch_amt.decision.centralproc import (
    CentralProcState,
    breebaart2001_centralproc,
    centralproc_channels,
)
from torch_amt.decision.correlation import (
    EmptyCorrelationError,
    corr2,
    relanoiborra2019,
    relanoiborra2019_decision,
    relanoiborra2019_logistic,
    window_lengths,
)
from torch_amt.decision.optimaldetector import OptimalDetector, optimal_detector, unit_template

__all__ = [
    "CentralProcState",
    "EmptyCorrelationError",
    "OptimalDetector",
    "breebaart2001_centralproc",
    "centralproc_channels",
    "corr2",
    "optimal_detector",
    "relanoiborra2019",
    "relanoiborra2019_decision",
    "relanoiborra2019_logistic",
    "unit_template",
    "window_lengths",
]
