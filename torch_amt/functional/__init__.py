"""Stateless functions ``f(x, params) -> y``: the math behind the stages (like
torchaudio's functional/transforms split)."""

from torch_amt.functional.adaptation import ADAPTLOOP_PRESETS, adaptloop, minspl_to_minlvl
from torch_amt.functional.compression import (
    COMPRESSION_METHODS,
    king2019_compression,
    power_compression,
)
from torch_amt.functional.drnl import DRNL_PRESETS, drnl, lopezpoveda2001
from torch_amt.functional.ears import headphonefilter, middleearfilter
from torch_amt.functional.eicell import EICELL_DEFAULTS, eicell
from torch_amt.functional.gammatone import auditoryfilterbank, gammatone_coefficients
from torch_amt.functional.glasberg2002 import glasberg2002
from torch_amt.functional.ihc import IHC_METHODS, ihc_envelope
from torch_amt.functional.king2019_modfilterbank import king2019_modfilterbank
from torch_amt.functional.modfilterbank import MODFILTERBANK_PRESETS, modfilterbank
from torch_amt.functional.modulation_lowpass import modulation_lowpass
from torch_amt.functional.outmiddle import breebaart2001_outmiddlefilter
from torch_amt.functional.relanoiborra2019 import (
    relanoiborra2019_drnl,
    relanoiborra2019_mfbtd,
)

__all__ = [
    "ADAPTLOOP_PRESETS",
    "COMPRESSION_METHODS",
    "DRNL_PRESETS",
    "EICELL_DEFAULTS",
    "IHC_METHODS",
    "MODFILTERBANK_PRESETS",
    "adaptloop",
    "auditoryfilterbank",
    "breebaart2001_outmiddlefilter",
    "drnl",
    "eicell",
    "gammatone_coefficients",
    "glasberg2002",
    "headphonefilter",
    "ihc_envelope",
    "king2019_compression",
    "king2019_modfilterbank",
    "lopezpoveda2001",
    "middleearfilter",
    "minspl_to_minlvl",
    "modfilterbank",
    "modulation_lowpass",
    "power_compression",
    "relanoiborra2019_drnl",
    "relanoiborra2019_mfbtd",
]
