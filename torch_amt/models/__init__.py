"""Published auditory models composed from torch_amt stages.

``MODELS`` maps the command-line name of each model to its class and a one-line
description (used by ``torch-amt models`` / ``torch-amt run``).
"""

from __future__ import annotations

from torch_amt.models._common import ModelInfo
from torch_amt.models.dau1997 import Dau1997
from torch_amt.models.jepsen2008 import Jepsen2008
from torch_amt.models.king2019 import King2019

MODELS: dict[str, ModelInfo] = {
    "dau1997": ModelInfo(Dau1997, "Dau, Kollmeier & Kohlrausch (1997): gammatone, IHC, "
                         "adaptation loops, modulation filterbank (AMT dau1997)",
                         "modulation_list"),
    "jepsen2008": ModelInfo(Jepsen2008, "Jepsen, Ewert & Dau (2008) CASP: outer/middle ear, "
                            "DRNL, IHC, expansion, adaptation, modulation filterbank",
                            "modulation_list"),
    "king2019": ModelInfo(King2019, "King, Varnet & Lorenzi (2019): gammatone, compression, "
                          "IHC, 3-Hz high-pass adaptation, modulation filterbank (AMT king2019)",
                          "fcmt"),
}

__all__ = ["MODELS", "Dau1997", "Jepsen2008", "King2019", "ModelInfo"]
