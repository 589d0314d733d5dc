"""The validation harness on the model-family reference set (``$AMT_REFERENCE_FAMILY_DIR``,
default ``../shared/amt_reference_family``), restricted to the models it covers.

Each covered AMT model is one file-name prefix; every output of every file with that
prefix must pass, nothing may be left uncovered. Files of models the harness does not
cover yet (other prefixes) are not run, so new reference files for other models do not
turn this test red; add a prefix here when its model is covered.
"""

from __future__ import annotations

import pytest
import torch

from torch_amt.validation import run_validation

COVERED_PREFIXES = ("osses2021", "dau1996", "breebaart2001", "optimaldetector",
                    "breebaart2001_centralproc", "relanoiborra2019", "paulick2024",
                    "glasberg2002")
"""File-name prefixes (AMT models) whose family reference files are fully covered."""


@pytest.mark.parametrize("prefix", COVERED_PREFIXES)
def test_family_reference_files_pass(amt_reference_family_dir, prefix):
    result = run_validation(amt_reference_family_dir, torch.float64, only=f"{prefix}__*")
    assert result.files and result.passed
    failed = [f"{c.file}:{c.quantity}: {c.reason} (rel {c.rel_err})" for c in result.failed]
    assert not failed, "\n".join(failed)
    missing = [f"{n.key}: {n.reason}" for n in result.not_covered]
    assert not missing, "\n".join(missing)
