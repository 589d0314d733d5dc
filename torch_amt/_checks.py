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
    "check_number",
    "check_dtype",
    "check_values",
    "check_increasing",
]

#: Floating dtypes the kernels compute in (the numba kernels and the float64 validation
#: path); half precision is rejected with a message saying how to convert.
FLOAT_DTYPES = (torch.float32, torch.float64)


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}" if np.ndim(x) == 0 else f"{type(x).__name__}"


@torch.compiler.disable  # host-side validation (it reads values): a graph break
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
    if isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} must be a floating-point tensor, got a NumPy array of dtype {x.dtype}; "
            f"convert integer audio explicitly, e.g. torch.from_numpy({name}).to(torch.float32)"
            f" / 32768 for 16-bit PCM (torch_amt.io reads PCM files already scaled)")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(x)}")
    if x.dtype == torch.bool or not (x.is_floating_point() or x.is_complex()):
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; convert integer "
            f"audio explicitly, e.g. {name}.to(torch.float32) / 32768 for 16-bit PCM"
        )
    if x.is_complex() and not allow_complex:
        raise TypeError(f"{name} must be real-valued, got dtype {x.dtype}")
    if x.is_floating_point() and x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got dtype {x.dtype}; convert it "
                        f"with {name}.float() (half precision is not supported by the kernels)")
    shapes = dim_names or " or ".join(f"{k}-D" for k in ndim)
    if x.ndim not in tuple(ndim):
        raise ValueError(f"{name} must have shape {shapes}, got shape {tuple(x.shape)}")
    if x.shape[-1] < min_length:
        what = "empty" if x.shape[-1] == 0 else f"{x.shape[-1]} samples long"
        raise ValueError(f"{name} must have at least {min_length} time sample(s) along its last "
                         f"axis, got a signal that is {what} (shape {tuple(x.shape)})")
    check_not_meta(x, name)
    if x.numel() and not _all_finite(x):
        raise ValueError(f"{name} contains NaN or Inf values")
    return x


def check_not_meta(x: torch.Tensor, name: str = "x") -> None:
    """Refuse a meta tensor (shape only, no data) with a message naming ``name``."""
    if x.device.type == "meta":
        raise ValueError(f"{name} is a meta tensor (shape {tuple(x.shape)}): meta tensors hold "
                         "no data and cannot be computed on; pass a CPU or CUDA tensor")


def _all_finite(x: torch.Tensor) -> bool:
    """Whether every element of ``x`` is finite.

    A NaN or Inf anywhere makes the sum non-finite, and a sum is one streaming reduction
    (cheaper than ``isfinite(x).all()``, which writes a boolean copy); only when the sum
    is not finite (a NaN/Inf, or an overflow of finite values) is every element
    examined."""
    x = x.detach()
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


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
    if integer and (not math.isfinite(value) or int(value) != value):
        raise ValueError(f"{name} must be an integer, got {value}")
    bad = (value <= 0) if strict else (value < 0)
    if not math.isfinite(value) or bad:
        if integer:
            kind = "a positive" if strict else "a non-negative"
            raise ValueError(f"{name} must be {kind} integer, got {value}")
        relation = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be finite and {relation}, got {value}")
    return int(value) if integer else float(value)


def check_frequencies(f, fs: float | None, name: str, *, allow_zero: bool = False,
                      source: str | None = None) -> torch.Tensor:
    """Validate frequencies in Hz: finite, positive and below the Nyquist frequency.

    ``source`` (e.g. ``"fhigh = 9000 Hz"``) names the argument the frequencies were
    derived from, for the Nyquist message. Returns a float64 tensor (gradients are kept
    when ``f`` is a tensor).
    """
    t = f if isinstance(f, torch.Tensor) else torch.as_tensor(_real_array(f, name))
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
        hint = f" (derived from {source}: lower it or raise fs)" if source else ""
        raise ValueError(f"{name} must be below the Nyquist frequency fs/2 = {fs / 2} Hz, got "
                         f"{values.max().item()} Hz{hint}")
    return t


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    """Validate a string option against the accepted values."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_bool(value, name: str) -> bool:
    """Validate an on/off option: ``True``/``False`` (or a NumPy bool), nothing else.

    A string such as ``'no'`` or a number is refused rather than read by its truth value.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


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


def _as_array(value, name: str) -> np.ndarray:
    """``np.asarray(value)``; a ragged nested sequence is a ``ValueError`` naming ``name``."""
    try:
        return np.asarray(value)
    except ValueError:
        raise ValueError(f"{name} must be a rectangular array of numbers, got a ragged "
                         f"{type(value).__name__}") from None


def _real_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 NumPy array; ``TypeError`` for strings, booleans, objects."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be real numbers, got {_describe(value)}")
    arr = _as_array(value, name)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be real numbers, got {_describe(value)} "
                        f"(array dtype {arr.dtype})")
    return arr.astype(np.float64)


def check_number(value, name: str, *, finite: bool = True, minimum: float | None = None,
                 maximum: float | None = None, strict: bool = False) -> float:
    """Validate a real scalar (a level in dB, a gain, a factor) and return it as ``float``.

    Parameters
    ----------
    value : number or 1-element Tensor
    name : str
        Argument name used in error messages.
    finite : bool
        Reject NaN and ±Inf (NaN is always rejected).
    minimum, maximum : float, optional
        Accepted range (inclusive unless ``strict``).
    strict : bool
        Make the bounds exclusive.
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if math.isnan(value) or (finite and not math.isfinite(value)):
        raise ValueError(f"{name} must be a {'finite ' if finite else ''}number, got {value}")
    low_bad = minimum is not None and (value <= minimum if strict else value < minimum)
    high_bad = maximum is not None and (value >= maximum if strict else value > maximum)
    if low_bad or high_bad:
        lo = "-inf" if minimum is None else minimum
        hi = "inf" if maximum is None else maximum
        brackets = "()" if strict else "[]"
        raise ValueError(f"{name} must lie in {brackets[0]}{lo}, {hi}{brackets[1]}, got {value}")
    return value


def check_dtype(dtype, name: str = "dtype") -> torch.dtype:
    """Validate a module's floating dtype: ``torch.float32`` or ``torch.float64``."""
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a torch.dtype (torch.float32 or torch.float64), got "
                        f"{_describe(dtype)}")
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be torch.float32 or torch.float64, got {dtype}")
    return dtype


def check_values(value, name: str, *, positive: bool = False, nonempty: bool = True
                 ) -> torch.Tensor:
    """Validate a vector of real, finite parameter values (time constants, exponents...).

    Returns a float64 tensor (a tensor input keeps its autograd graph).
    """
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(_real_array(value, name))
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must be real numbers, got {_describe(value)}")
    t = t.to(torch.float64)
    values = t.detach()
    if nonempty and values.numel() == 0:
        raise ValueError(f"{name} must contain at least one value")
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name} contains NaN or Inf, got {values.tolist()}")
    if positive and bool((values <= 0).any()):
        raise ValueError(f"{name} must be > 0, got {values.tolist()}")
    return t


def check_increasing(low: float, high: float, low_name: str, high_name: str, *,
                     strict: bool = True) -> None:
    """Validate that a band ``(low, high)`` is ordered: ``low < high`` (or ``<=``)."""
    if (low >= high) if strict else (low > high):
        relation = "below" if strict else "at most"
        raise ValueError(f"{low_name} must be {relation} {high_name}, got {low_name} = {low} "
                         f"and {high_name} = {high}")
