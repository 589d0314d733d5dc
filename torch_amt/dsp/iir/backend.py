"""Backend selection of the recursive kernels: numba on CPU, pure torch elsewhere.

The choice is process-wide and shared by every compiled recursion of the package
(:func:`~torch_amt.dsp.iir.lfilter`, :func:`~torch_amt.dsp.iir.lfilter_envelope` and the
adaptation loop of :mod:`torch_amt.dsp.adaptloop`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch

__all__ = ["BACKENDS", "get_backend", "resolve_backend", "use_backend"]

BACKENDS = ("auto", "numba", "torch")
_backend = "auto"


def get_backend() -> str:
    """Return the IIR backend currently in force (``'auto'``, ``'numba'`` or ``'torch'``)."""
    return _backend


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Force an IIR backend inside a ``with`` block.

    Parameters
    ----------
    name : {'auto', 'numba', 'torch'}
        ``'auto'`` uses numba for CPU tensors and the pure-torch path elsewhere;
        ``'torch'`` forces the pure-torch path (the one used on GPUs) also on CPU;
        ``'numba'`` requires CPU tensors.
    """
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    previous, _backend = _backend, name
    try:
        yield
    finally:
        _backend = previous


def resolve_backend(device: torch.device) -> Literal["numba", "torch"]:
    """The backend that runs a recursion on ``device`` under the backend in force.

    Parameters
    ----------
    device : torch.device or str
        Device of the signal (a string such as ``'cpu'`` or ``'cuda:0'`` is converted).

    Returns
    -------
    {'numba', 'torch'}
        ``'numba'`` for CPU tensors and ``'torch'`` elsewhere under ``'auto'``; the
        forced backend otherwise (see :func:`use_backend`).

    Raises
    ------
    TypeError, ValueError
        If ``device`` is not a device or does not name one.
    RuntimeError
        If ``'numba'`` is forced for a tensor that is not on the CPU.
    """
    if not isinstance(device, torch.device):
        if not isinstance(device, str):
            raise TypeError(f"device must be a torch.device or a device string, got "
                            f"{type(device).__name__}")
        try:
            device = torch.device(device)
        except RuntimeError:
            raise ValueError(f"device must name a torch device (e.g. 'cpu', 'cuda:0'), got "
                             f"{device!r}") from None
    if _backend == "auto":
        return "numba" if device.type == "cpu" else "torch"
    if _backend == "numba" and device.type != "cpu":
        raise RuntimeError("the numba IIR backend runs on CPU tensors only")
    return _backend
