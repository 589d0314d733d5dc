"""Validation of torch_amt against outputs of the Auditory Modeling Toolbox (AMT).

Run ``python -m torch_amt.validation --reference DIR`` or :func:`run_validation`; see
``torch_amt/validation/README.md`` for the file format, the tolerance policy and how to add the
handler of an AMT function.
"""

from torch_amt.validation.harness import Result, run_validation, validate_file

__all__ = ["Result", "run_validation", "validate_file"]
