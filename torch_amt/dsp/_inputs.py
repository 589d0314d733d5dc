"""The signal checks shared by the entry points of :mod:`torch_amt.dsp`: type, dtype and
device of the signal argument, each refused with a one-line message naming it.

The kernels compute in single or double precision (the numba kernels have no half
precision, and the FFTs have none on the CPU), so ``float16``/``bfloat16`` are refused
rather than failing deep inside a kernel, and integer or boolean tensors are refused
rather than silently reinterpreted. Meta tensors have no data: shape inference through
a recursive filter would need its values (coefficient checks, pole computations), so
they are refused too.
"""

from __future__ import annotations

import torch

from torch_amt import _checks

__all__ = ["COMPLEX_SIGNAL_DTYPES", "REAL_SIGNAL_DTYPES", "check_signal_tensor"]

#: dtypes of a real signal.
REAL_SIGNAL_DTYPES = (torch.float32, torch.float64)
#: dtypes of a real or complex signal.
COMPLEX_SIGNAL_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def check_signal_tensor(x, name: str = "x", *, real: bool = False) -> torch.Tensor:
    """Refuse a signal the kernels cannot compute on, with a one-line message.

    Parameters
    ----------
    x : object
        The signal argument.
    name : str
        Its name in the messages.
    real : bool
        Accept only real dtypes (float32, float64); otherwise also complex64/complex128.

    Returns
    -------
    Tensor
        ``x``, unchanged.

    Raises
    ------
    TypeError
        If ``x`` is not a tensor, or its dtype is not one of the accepted ones.
    ValueError
        If ``x`` is a meta tensor.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    accepted = REAL_SIGNAL_DTYPES if real else COMPLEX_SIGNAL_DTYPES
    if x.dtype not in accepted:
        kind = "real floating-point" if real else "floating-point or complex"
        names = ", ".join(str(d).removeprefix("torch.") for d in accepted)
        if x.is_complex():
            hint = ""
        elif x.is_floating_point():
            hint = f"; convert half precision with {name}.float()"
        elif x.dtype == torch.bool:
            hint = f"; convert it explicitly, e.g. {name}.to(torch.float32)"
        else:
            hint = (f"; convert integer audio explicitly, e.g. {name}.to(torch.float32) / 32768 "
                    "for 16-bit PCM")
        raise TypeError(f"{name} must be a {kind} tensor ({names}), got {x.dtype}{hint}")
    _checks.check_not_meta(x, name)
    return x
