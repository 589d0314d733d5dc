"""torch_amt: computational auditory models of the Auditory Modeling Toolbox in PyTorch.

Layered, differentiable ``torch.nn.Module`` stages (outer/middle ear, gammatone and
DRNL filterbanks, inner-hair-cell envelope, adaptation loops, modulation filterbanks)
and the published models composed from them (:class:`Dau1996`, :class:`Dau1997`,
:class:`Glasberg2002`, :class:`Jepsen2008`, :class:`King2019`, :class:`Osses2021`,
:class:`RelanoIborra2019`, :class:`Paulick2024`, the binaural :class:`Breebaart2001`),
validated numerically against the outputs of AMT 1.4.0 (and AMT 1.6 for ``paulick2024``).
"""

from torch_amt import decision, dsp, experiments, functional, levels, scales
from torch_amt.models import (
    MODELS,
    Breebaart2001,
    Dau1996,
    Dau1997,
    Glasberg2002,
    Jepsen2008,
    King2019,
    Osses2021,
    Paulick2024,
    RelanoIborra2019,
)
from torch_amt.stages import (
    AdaptLoop,
    ButterworthFilter,
    DRNLFilterbank,
    EICell,
    FastKing2019ModulationFilterbank,
    FastModulationFilterbank,
    GammatoneFilterbank,
    HeadphoneFilter,
    IHCEnvelope,
    InternalNoise,
    King2019Compression,
    King2019ModulationFilterbank,
    MiddleEarFilter,
    ModulationFilterbank,
    ModulationLowpass,
    OuterMiddleEarFilter,
    RelanoIborra2019DRNL,
    RelanoIborra2019ModulationFilterbank,
    pad_modulation_outputs,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "MODELS",
    "AdaptLoop",
    "Breebaart2001",
    "ButterworthFilter",
    "DRNLFilterbank",
    "Dau1996",
    "Dau1997",
    "EICell",
    "FastKing2019ModulationFilterbank",
    "FastModulationFilterbank",
    "GammatoneFilterbank",
    "Glasberg2002",
    "HeadphoneFilter",
    "IHCEnvelope",
    "InternalNoise",
    "Jepsen2008",
    "King2019",
    "King2019Compression",
    "King2019ModulationFilterbank",
    "MiddleEarFilter",
    "ModulationFilterbank",
    "ModulationLowpass",
    "OuterMiddleEarFilter",
    "Osses2021",
    "Paulick2024",
    "RelanoIborra2019",
    "RelanoIborra2019DRNL",
    "RelanoIborra2019ModulationFilterbank",
    "__version__",
    "decision",
    "dsp",
    "experiments",
    "functional",
    "levels",
    "pad_modulation_outputs",
    "scales",
]
