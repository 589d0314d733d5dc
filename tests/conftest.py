"""Shared fixtures: where the AMT reference files are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def amt_reference_dir() -> Path:
    """Directory of the AMT reference ``.mat`` files.

    ``$AMT_REFERENCE_DIR``, else ``../shared/amt_reference`` next to the repository. If it
    is missing the test is skipped, except under ``CI=true``, where it errors.
    """
    configured = os.environ.get("AMT_REFERENCE_DIR")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "amt_reference"
    if path.is_dir():
        return path
    message = (f"AMT reference files not found at {path}; set AMT_REFERENCE_DIR to the "
               "directory holding the AMT reference .mat files")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
