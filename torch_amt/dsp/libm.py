"""Elementary functions with the C library's rounding, differentiable.

AMT computes filter coefficients with Octave, whose ``exp``, ``cos``, ``pow``, … are the
C library's (glibc). ``torch``'s vectorised versions may differ from them in the last
bit, and AMT's ill-conditioned low-frequency filters turn one ulp of a coefficient into
errors far above 1e-9. These wrappers return the C library's values (Python's ``math``
module calls it) for float64 tensors on the CPU, with the gradient of the torch function
(:func:`torch_amt.dsp.design.straight_through`); elsewhere they are the torch functions.
They loop in Python over the elements: meant for coefficient design, not for signals.
"""

from __future__ import annotations

import math

import torch

from torch_amt.dsp.design import straight_through

__all__ = ["exp", "cos", "sin", "tan", "pow", "hypot"]


def _exact(x: torch.Tensor) -> bool:
    return x.dtype == torch.float64 and x.device.type == "cpu"


def _unary(torch_fn, math_fn, x: torch.Tensor) -> torch.Tensor:
    y = torch_fn(x)
    if not _exact(x):
        return y
    values = [math_fn(v) for v in x.detach().reshape(-1).tolist()]
    return straight_through(torch.tensor(values, dtype=torch.float64).reshape(x.shape), y)


def _binary(torch_fn, math_fn, x: torch.Tensor, z: torch.Tensor | float) -> torch.Tensor:
    y = torch_fn(x, z)
    if not _exact(y):
        return y
    xs = x.detach().expand_as(y).reshape(-1).tolist()
    zs = (z.detach().expand_as(y).reshape(-1).tolist() if isinstance(z, torch.Tensor)
          else [float(z)] * len(xs))
    values = [math_fn(a, b) for a, b in zip(xs, zs, strict=True)]
    return straight_through(torch.tensor(values, dtype=torch.float64).reshape(y.shape), y)


def exp(x: torch.Tensor) -> torch.Tensor:
    """``exp(x)`` with the C library's rounding (float64, CPU)."""
    return _unary(torch.exp, math.exp, x)


def cos(x: torch.Tensor) -> torch.Tensor:
    """``cos(x)`` with the C library's rounding (float64, CPU)."""
    return _unary(torch.cos, math.cos, x)


def sin(x: torch.Tensor) -> torch.Tensor:
    """``sin(x)`` with the C library's rounding (float64, CPU)."""
    return _unary(torch.sin, math.sin, x)


def tan(x: torch.Tensor) -> torch.Tensor:
    """``tan(x)`` with the C library's rounding (float64, CPU)."""
    return _unary(torch.tan, math.tan, x)


def pow(x: torch.Tensor, exponent: torch.Tensor | float) -> torch.Tensor:  # noqa: A001
    """``x ** exponent`` with the C library's ``pow`` (float64, CPU)."""
    return _binary(torch.pow, math.pow, x, exponent)


def hypot(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``hypot(x, y)`` with the C library's rounding (float64, CPU)."""
    return _binary(torch.hypot, math.hypot, x, y)
