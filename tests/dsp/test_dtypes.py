"""Signal dtypes and devices at the entry points of ``torch_amt.dsp`` (issue #19).

Accepted: float32/float64 (and complex64/complex128 where complex signals make sense).
Refused with a one-line ``TypeError`` naming ``x`` and the accepted dtypes: float16,
bfloat16, integer and boolean tensors (they used to end in a numba traceback, a raw
``TypeError`` or a silent conversion). Meta tensors are refused with a ``ValueError``.
The output dtype of ``lfilter`` is the precision of ``x``, complex if any operand is,
for every filter order (an order-0 filter used to return float64 for float32 input).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from torch_amt.dsp import (
    fftconvolve,
    fftresample,
    hilbert,
    lfilter,
    lfilter_double_double,
    lfilter_envelope,
    sosfilt,
    use_backend,
)
from torch_amt.dsp.adaptloop import adaptloop_recurrence

F64 = torch.float64
REAL = (torch.float32, torch.float64)
COMPLEX = (torch.complex64, torch.complex128)
REFUSED = (torch.float16, torch.bfloat16, torch.int16, torch.int64, torch.uint8, torch.bool)


def _adaptloop(x: torch.Tensor) -> torch.Tensor:
    ones = torch.ones(1, 2, dtype=F64)
    return adaptloop_recurrence(x, 0.9 * ones, 0.1 * ones, ones, 2 * ones, -ones, 0 * ones,
                                True)


def _envelope(x: torch.Tensor) -> torch.Tensor:
    b = torch.tensor([[0.3, 0.1j]], dtype=torch.complex128)
    a = torch.tensor([[1.0, -0.5 + 0.1j]], dtype=torch.complex128)
    return lfilter_envelope(x, b, a, torch.tensor([1]), torch.tensor([False]))


#: entry point -> (function of x (2, 16), accepts complex x)
ENTRY_POINTS: dict[str, tuple[Callable, bool]] = {
    "lfilter": (lambda x: lfilter(x, [0.5, 0.2], [1.0, -0.5]), True),
    "lfilter_order0": (lambda x: lfilter(x, [0.5], [2.0]), True),
    "sosfilt": (lambda x: sosfilt(x, [[1.0, 0.2, 0.0, 1.0, -0.5, 0.1]]), True),
    "lfilter_envelope": (_envelope, False),
    "adaptloop_recurrence": (_adaptloop, False),
    "fftresample": (lambda x: fftresample(x, 7), True),
    "fftconvolve": (lambda x: fftconvolve(x, torch.ones(3, dtype=F64)), True),
    "hilbert": (hilbert, False),
    "lfilter_double_double": (lambda x: lfilter_double_double(x, [0.5], [1.0, -0.5]), False),
}


def _signal(dtype: torch.dtype, device: str = "cpu") -> torch.Tensor:
    x = torch.linspace(0.1, 1.0, 32, dtype=F64).reshape(2, 16)
    return (x * 100).to(dtype=dtype, device=device)


@pytest.mark.parametrize("entry, dtype", [
    (entry, dtype) for entry, (_, complex_ok) in ENTRY_POINTS.items()
    for dtype in REFUSED + (() if complex_ok else COMPLEX)])
def test_refused_dtypes_give_a_one_line_type_error(entry, dtype):
    function, complex_ok = ENTRY_POINTS[entry]
    accepted = "float32, float64, complex64, complex128" if complex_ok else "float32, float64"
    with pytest.raises(TypeError, match=rf"^x must be .*\({accepted}\), got {dtype}") as info:
        function(_signal(dtype))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("entry, dtype", [
    (entry, dtype) for entry, (_, complex_ok) in ENTRY_POINTS.items()
    for dtype in REAL + (COMPLEX if complex_ok else ())])
def test_accepted_dtypes(entry, dtype):
    function, _ = ENTRY_POINTS[entry]
    y = function(_signal(dtype))
    assert y.dtype.to_real() in ({dtype.to_real()} if entry not in (
        "adaptloop_recurrence", "fftconvolve") else {torch.float64})


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("x_dtype", REAL + COMPLEX)
@pytest.mark.parametrize("c_dtype", REAL + COMPLEX)
@pytest.mark.parametrize("order", [0, 1, 2])
def test_lfilter_output_dtype_is_the_same_rule_for_every_order(backend, x_dtype, c_dtype,
                                                               order):
    """The precision of ``x``, complex when ``x`` or the coefficients are."""
    b = torch.tensor([0.5, 0.25, 0.125][: order + 1], dtype=F64).to(c_dtype)
    a = torch.tensor([2.0, -0.5, 0.1][: order + 1], dtype=F64).to(c_dtype)
    x = _signal(x_dtype)
    with use_backend(backend):
        y = lfilter(x, b, a)
    complex_ = x_dtype.is_complex or c_dtype.is_complex
    expected = x_dtype.to_complex() if complex_ else x_dtype
    assert y.dtype == expected
    with use_backend(backend):
        reference = lfilter(x.to(torch.complex128 if complex_ else F64), b.to(
            torch.complex128 if complex_ else F64), a.to(torch.complex128 if complex_ else F64))
    tol = 1e-6 if x_dtype in (torch.float32, torch.complex64) else 1e-12
    torch.testing.assert_close(y.to(reference.dtype), reference, rtol=tol, atol=tol)


def test_lfilter_order0_list_coefficients_keep_float32():
    """The case of the issue: ``lfilter(float32, [g], [1])`` returned float64."""
    y = lfilter(torch.ones(3, dtype=torch.float32), [2.0], [1.0])
    assert y.dtype == torch.float32
    assert torch.equal(y, torch.full((3,), 2.0))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_meta_tensors_are_refused(entry):
    function, _ = ENTRY_POINTS[entry]
    with pytest.raises(ValueError, match=r"^x is a meta tensor .*cannot be computed"):
        function(_signal(torch.float64, "meta"))


def test_fftconvolve_names_a_meta_or_half_h():
    x = _signal(F64)
    with pytest.raises(ValueError, match="^h is a meta tensor"):
        fftconvolve(x, torch.ones(3, device="meta"))
    with pytest.raises(TypeError, match=r"^h must be .*got torch.float16"):
        fftconvolve(x, torch.ones(3, dtype=torch.float16))


@pytest.mark.parametrize("function", [
    lambda d: adaptloop_recurrence(torch.ones(1, 4), *[torch.ones(1, 1, dtype=F64)] * 6,
                                   False, dtype=d),
    lambda d: lfilter_envelope(torch.ones(1, 4), torch.ones(1, 1), torch.ones(1, 2),
                               torch.tensor([0]), torch.tensor([True]), dtype=d),
])
def test_output_dtype_arguments_are_checked(function):
    assert function(torch.float32).dtype == torch.float32
    with pytest.raises(TypeError, match="^dtype must be torch.float32 or torch.float64"):
        function(torch.float16)
