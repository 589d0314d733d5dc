"""Decision back-ends: artificial observers that turn internal representations into
forced-choice answers or intelligibility predictions (AMT's ``optimaldetector``, central
processors, the relanoiborra2019 and paulick2024 correlation back ends).

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
from torch_amt.decision.paulick2024 import (
    Paulick2024Correlation,
    Paulick2024ROI,
    paulick2024_corr,
    paulick2024_decision,
    paulick2024_roi,
)

__all__ = [
    "CentralProcState",
    "EmptyCorrelationError",
    "OptimalDetector",
    "Paulick2024Correlation",
    "Paulick2024ROI",
    "breebaart2001_centralproc",
    "centralproc_channels",
    "corr2",
    "optimal_detector",
    "paulick2024_corr",
    "paulick2024_decision",
    "paulick2024_roi",
    "relanoiborra2019",
    "relanoiborra2019_decision",
    "relanoiborra2019_logistic",
    "unit_template",
    "window_lengths",
]
