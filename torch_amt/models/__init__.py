"""Published auditory models: :class:`AuditoryModel` subclasses, one per paper.

``MODELS`` maps the command-line name of each model (its AMT name) to its class (used by
``torch-amt models`` / ``torch-amt run``).
"""

from __future__ import annotations

from torch_amt.models.base import STAGE_VOCABULARY, AuditoryModel
from torch_amt.models.breebaart2001 import Breebaart2001
from torch_amt.models.dau1996 import Dau1996
from torch_amt.models.dau1997 import Dau1997
from torch_amt.models.glasberg2002 import Glasberg2002
from torch_amt.models.jepsen2008 import Jepsen2008
from torch_amt.models.king2019 import King2019
from torch_amt.models.osses2021 import Osses2021
from torch_amt.models.paulick2024 import Paulick2024
from torch_amt.models.relanoiborra2019 import RelanoIborra2019

MODELS: dict[str, type[AuditoryModel]] = {
    cls.amt_function: cls for cls in (Breebaart2001, Dau1996, Dau1997, Glasberg2002, Jepsen2008,
                                      King2019, Osses2021, Paulick2024, RelanoIborra2019)
}

__all__ = ["MODELS", "STAGE_VOCABULARY", "AuditoryModel", "Breebaart2001", "Dau1996", "Dau1997",
           "Glasberg2002", "Jepsen2008", "King2019", "Osses2021", "Paulick2024",
           "RelanoIborra2019"]
