"""The one input-validation layer of torch_amt.

Every public entry point (stages, models, functional API) validates its arguments
through these helpers, so that bad input always gets the same kind of answer: a
``TypeError`` for a wrong type, a ``ValueError`` for a wrong value, and a message that
names the argument, the value received and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "check_signal",
    "check_fs",
    "check_positive",
    "check_frequencies",
    "check_choice",
    "check_module_input",
    "batched",
]


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}" if np.ndim(x) == 0 else f"{type(x).__name__}"


def check_signal(x, name: str = "x", *, ndim: Sequence[int] = (1, 2), min_length: int = 1,
                 allow_complex: bool = False, dim_names: str | None = None) -> torch.Tensor:
    """Validate an audio-like tensor whose last axis is time.

    Parameters
    ----------
    x : Tensor
        The signal. NumPy float arrays are accepted and converted; integer data are
        rejected (convert explicitly, e.g. ``x.float() / 32768`` for int16 PCM).
    name : str
        Argument name used in error messages.
    ndim : sequence of int
        Accepted numbers of dimensions.
    min_length : int
        Minimum number of time samples.
    allow_complex : bool
        Accept complex tensors.
    dim_names : str, optional
        Human-readable accepted shapes for messages, e.g. ``"(T,) or (B, T)"``.

    Returns
    -------
    Tensor
        ``x`` (converted from NumPy if needed).
    """
    if isinstance(x, np.ndarray) and x.dtype.kind in "fc":
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(x)}")
    if x.dtype == torch.bool or not (x.is_floating_point() or x.is_complex()):
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; convert integer "
            f"audio explicitly, e.g. {name}.to(torch.float32) / 32768 for 16-bit PCM"
        )
    if x.is_complex() and not allow_complex:
        raise TypeError(f"{name} must be real-valued, got dtype {x.dtype}")
    shapes = dim_names or " or ".join(f"{k}-D" for k in ndim)
    if x.ndim not in tuple(ndim):
        raise ValueError(f"{name} must have shape {shapes}, got shape {tuple(x.shape)}")
    if x.shape[-1] < min_length:
        what = "empty" if x.shape[-1] == 0 else f"{x.shape[-1]} samples long"
        raise ValueError(f"{name} must have at least {min_length} time sample(s) along its last "
                         f"axis, got a signal that is {what} (shape {tuple(x.shape)})")
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    return x


def check_fs(fs, name: str = "fs", *, minimum: float | None = None) -> float:
    """Validate a sampling rate in Hz and return it as ``float``."""
    if isinstance(fs, torch.Tensor) and fs.numel() == 1:
        fs = fs.item()
    if isinstance(fs, bool) or not isinstance(fs, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number (sampling rate in Hz), got {_describe(fs)}")
    fs = float(fs)
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"{name} must be a positive, finite sampling rate in Hz, got {fs}")
    if minimum is not None and fs < minimum:
        raise ValueError(f"{name} must be at least {minimum} Hz here, got {fs} Hz")
    return fs


def check_positive(value, name: str, *, strict: bool = True, integer: bool = False):
    """Validate a positive (or non-negative) scalar parameter and return it."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {_describe(value)}")
    if integer and int(value) != value:
        raise ValueError(f"{name} must be an integer, got {value}")
    bad = (value <= 0) if strict else (value < 0)
    if not math.isfinite(value) or bad:
        relation = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be finite and {relation}, got {value}")
    return int(value) if integer else float(value)


def check_frequencies(f, fs: float | None, name: str, *, allow_zero: bool = False) -> torch.Tensor:
    """Validate frequencies in Hz: finite, positive and below the Nyquist frequency.

    Returns a float64 tensor (gradients are kept when ``f`` is a tensor).
    """
    t = f if isinstance(f, torch.Tensor) else torch.as_tensor(np.asarray(f, dtype=np.float64))
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name} must be real frequencies in Hz, got {_describe(f)}")
    t = t if t.is_floating_point() else t.to(torch.float64)
    values = t.detach()
    if values.numel() == 0:
        raise ValueError(f"{name} must contain at least one frequency")
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name} contains NaN or Inf")
    low_ok = (values >= 0) if allow_zero else (values > 0)
    if not bool(low_ok.all()):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} Hz, got "
                         f"{values.min().item()} Hz")
    if fs is not None and bool((values >= fs / 2).any()):
        raise ValueError(f"{name} must be below the Nyquist frequency fs/2 = {fs / 2} Hz, got "
                         f"{values.max().item()} Hz")
    return t


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    """Validate a string option against the accepted values."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_module_input(module: torch.nn.Module, x: torch.Tensor, name: str = "x") -> None:
    """Check that ``x`` lives on the device of the module's tensors.

    Raises a ``ValueError`` naming both devices instead of a deep kernel error.
    """
    for t in list(module.buffers()) + list(module.parameters()):
        if t.device != x.device:
            raise ValueError(f"{name} is on {x.device} but {type(module).__name__} is on "
                             f"{t.device}; move one of them with .to(device)")
        break


def batched(x: torch.Tensor, signal_ndim: int) -> tuple[torch.Tensor, bool]:
    """Add a leading batch axis if ``x`` has only ``signal_ndim`` axes.

    Returns the batched tensor and whether the batch axis was added (so the caller
    can remove it from the output: an input without batch gives an output without).
    """
    if x.ndim == signal_ndim:
        return x.unsqueeze(0), True
    return x, False
