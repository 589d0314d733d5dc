"""Shared fixtures: where the AMT reference files are; a test signal as a model's input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("AMT_REFERENCE_DIR")
                     or REPO_ROOT.parent / "shared" / "amt_reference")
"""``$AMT_REFERENCE_DIR``, else ``../shared/amt_reference`` next to the repository."""
REFERENCE_FAMILY_DIR = Path(os.environ.get("AMT_REFERENCE_FAMILY_DIR")
                            or REPO_ROOT.parent / "shared" / "amt_reference_family")
"""``$AMT_REFERENCE_FAMILY_DIR``, else ``../shared/amt_reference_family`` (the model-family
reference set) next to the repository."""


def missing_reference(message: str, variable: str = "AMT_REFERENCE_DIR") -> None:
    """Skip the calling test (one line saying how to point at a reference set), except
    under ``CI=true``, where a missing reference is an error, never a skip."""
    message += (f"; set {variable} to the directory holding the AMT reference .mat "
                "files")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def amt_reference_dir() -> Path:
    """Directory of the AMT reference ``.mat`` files (see :func:`missing_reference`)."""
    if not REFERENCE_DIR.is_dir():
        missing_reference(f"AMT reference files not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def amt_reference_family_dir() -> Path:
    """Directory of the model-family AMT reference files (see :func:`missing_reference`)."""
    if not REFERENCE_FAMILY_DIR.is_dir():
        missing_reference(f"AMT model-family reference files not found at "
                          f"{REFERENCE_FAMILY_DIR}", "AMT_REFERENCE_FAMILY_DIR")
    return REFERENCE_FAMILY_DIR


@pytest.fixture
def model_input():
    """``convert(model, x)``: a mono test signal ``x (..., T)`` as the input of ``model``
    (a model class or instance): presented diotically, ``(..., 2, T)``, to a binaural
    model (``model.binaural``, e.g. Breebaart2001), unchanged for a monaural one. The
    result is a leaf tensor that requires grad when ``x`` does."""

    def convert(model, x):
        if not getattr(model, "binaural", False):
            return x
        return torch.stack([x, x], -2).detach().requires_grad_(x.requires_grad)

    return convert
