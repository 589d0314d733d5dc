"""torch_amt: computational auditory models of the Auditory Modeling Toolbox in PyTorch.

Layered, differentiable ``torch.nn.Module`` stages (outer/middle ear, gammatone and
DRNL filterbanks, inner-hair-cell envelope, adaptation loops, modulation filterbanks)
and the published models composed from them (:class:`Dau1996`, :class:`Dau1997`,
:class:`Glasberg2002`, :class:`Jepsen2008`, :class:`King2019`, :class:`Osses2021`),
validated numerically against the outputs of AMT 1.4.0.
"""

from torch_amt import dsp, functional, levels, scales
from torch_amt.models import (
    MODELS,
    Dau1996,
    Dau1997,
    Glasberg2002,
    Jepsen2008,
    King2019,
    Osses2021,
)
from torch_amt.stages import (
    AdaptLoop,
    ButterworthFilter,
    DRNLFilterbank,
    FastKing2019ModulationFilterbank,
    FastModulationFilterbank,
    GammatoneFilterbank,
    HeadphoneFilter,
    IHCEnvelope,
    King2019Compression,
    King2019ModulationFilterbank,
    MiddleEarFilter,
    ModulationFilterbank,
    ModulationLowpass,
    pad_modulation_outputs,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "MODELS",
    "AdaptLoop",
    "ButterworthFilter",
    "DRNLFilterbank",
    "Dau1996",
    "Dau1997",
    "FastKing2019ModulationFilterbank",
    "FastModulationFilterbank",
    "GammatoneFilterbank",
    "Glasberg2002",
    "HeadphoneFilter",
    "IHCEnvelope",
    "Jepsen2008",
    "King2019",
    "King2019Compression",
    "King2019ModulationFilterbank",
    "MiddleEarFilter",
    "ModulationFilterbank",
    "ModulationLowpass",
    "Osses2021",
    "__version__",
    "dsp",
    "functional",
    "levels",
    "pad_modulation_outputs",
    "scales",
]
