"""The one place where AMT's array layout meets torch_amt's.

AMT arrays are time-first (``T x F x M``, column-major); torch_amt tensors are
time-last (``(F, M, T)``). Handlers convert their inputs with :func:`amt_to_torch` /
:func:`array_to_torch` and their outputs with :func:`torch_to_amt` /
:func:`torch_to_array` / :func:`torch_to_row`; outputs are always float64 (complex128)
NumPy arrays, whatever precision the computation ran in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "amt_to_torch",
    "array_to_torch",
    "torch_to_amt",
    "torch_to_array",
    "torch_to_row",
    "vector_to_torch",
]


def _tensor(arr: Any, dtype: torch.dtype) -> torch.Tensor:
    a = np.asarray(arr)
    if a.dtype.kind not in "biufc":
        raise TypeError(f"expected a numeric MATLAB value, got {a.dtype}")
    if a.dtype.kind == "c":
        cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        return torch.as_tensor(a.astype(np.complex128), dtype=cdtype)
    return torch.as_tensor(a.astype(np.float64), dtype=dtype)


def _numpy(t: torch.Tensor) -> np.ndarray:
    a = t.detach().cpu().numpy()
    return a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)


def amt_to_torch(arr: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """AMT signal (time first) to a torch_amt tensor (time last).

    Parameters
    ----------
    arr : ndarray, shape (T,) or (T, F, ...), or a number
        AMT array. A column ``(T, 1)`` becomes ``(1, T)``.
    dtype : torch.dtype
        Real dtype (complex input gives the matching complex dtype).

    Returns
    -------
    Tensor, shape (F, ..., T)
    """
    return _tensor(np.moveaxis(np.atleast_1d(np.asarray(arr)), 0, -1), dtype)


def torch_to_amt(t: torch.Tensor) -> np.ndarray:
    """torch_amt tensor (time last) to an AMT array (time first), float64/complex128.

    Parameters
    ----------
    t : Tensor, shape (T,) or (F, ..., T)

    Returns
    -------
    ndarray, shape (T, 1) or (T, F, ...)
        A 1-D signal becomes a column, as in MATLAB.
    """
    a = _numpy(t)
    if a.ndim == 1:
        return a[:, None]
    return np.moveaxis(a, -1, 0)


def array_to_torch(arr: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A non-signal MATLAB array (coefficients, frequencies) as a tensor of the same shape."""
    return _tensor(arr, dtype)


def vector_to_torch(arr: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A MATLAB scalar, row or column vector as a 1-D tensor.

    Raises
    ------
    ValueError
        If ``arr`` has more than one non-singleton dimension.
    """
    a = np.asarray(arr)
    if sum(n > 1 for n in a.shape) > 1:
        raise ValueError(f"expected a vector, got shape {a.shape}")
    return _tensor(a.reshape(-1), dtype)


def torch_to_array(t: torch.Tensor) -> np.ndarray:
    """A tensor as a float64/complex128 NumPy array of the same shape."""
    return _numpy(t)


def torch_to_row(t: torch.Tensor) -> np.ndarray:
    """A tensor as a MATLAB row vector, shape ``(1, numel)``, float64/complex128."""
    return _numpy(t).reshape(1, -1)
