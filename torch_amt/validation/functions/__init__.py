"""Handlers of the AMT/LTFAT functions named in reference files, one module per stage.

Every module in this package is imported by :func:`load_all` (the harness calls it), so
adding a stage is adding a module ``torch_amt/validation/functions/<stage>.py`` whose functions
are decorated with :func:`torch_amt.validation.registry.amt_function`.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

__all__ = ["load_all"]


@functools.cache
def load_all() -> None:
    """Import every handler module of this package (once)."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
