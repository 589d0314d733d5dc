"""The experiments the ``torch-amt experiment NAME`` command runs.

Each entry: ``run(runs, quick, seed) -> dict`` (JSON-ready, with ``"experiment"`` and
``"conditions"``) and ``plot(result, path)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["EXPERIMENTS", "run_experiment"]


def _breebaart2001_fig3(runs: int | None, quick: bool, seed: int) -> dict[str, Any]:
    from torch_amt.experiments.breebaart2001 import breebaart2001_fig3

    return breebaart2001_fig3(runs=runs, quick=quick, seed=seed)


def _plot_breebaart2001_fig3(result: dict[str, Any], path: str) -> None:
    from torch_amt.experiments.breebaart2001 import plot_breebaart2001_fig3

    plot_breebaart2001_fig3(result, path)


def _am_detection(runs: int | None, quick: bool, seed: int) -> dict[str, Any]:
    from torch_amt.experiments.am_detection import AMDetectionSetup, am_detection

    setup = AMDetectionSetup.quick() if quick else AMDetectionSetup()
    return am_detection(setup, runs=runs, seed=seed)


def _plot_am_detection(result: dict[str, Any], path: str) -> None:
    from torch_amt.experiments.am_detection import plot_am_detection

    plot_am_detection(result, path)


EXPERIMENTS: dict[str, tuple[Callable, Callable]] = {
    "breebaart2001_fig3": (_breebaart2001_fig3, _plot_breebaart2001_fig3),
    "am_detection": (_am_detection, _plot_am_detection),
}
"""Name -> (run, plot)."""


def run_experiment(name: str, runs: int | None = None, quick: bool = False,
                   seed: int = 0) -> dict[str, Any]:
    """Run the experiment ``name`` (a key of :data:`EXPERIMENTS`).

    Raises
    ------
    ValueError
        For an unknown name or a non-positive ``runs``.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of "
                         f"{', '.join(sorted(EXPERIMENTS))}")
    if runs is not None and (isinstance(runs, bool) or not isinstance(runs, int) or runs < 1):
        raise ValueError(f"runs must be a positive integer, got {runs!r}")
    return EXPERIMENTS[name][0](runs, quick, seed)
