"""The kernel-timing hook of ``torch_amt.dsp.profiling``."""

from __future__ import annotations

import torch

from torch_amt.dsp.iir import lfilter, lfilter_envelope, use_backend
from torch_amt.dsp.profiling import kernel_timer, run_kernel

B = torch.tensor([0.2, 0.1], dtype=torch.float64)
A = torch.tensor([1.0, -0.7], dtype=torch.float64)


def test_timer_records_the_kernels_of_an_lfilter_call():
    x = torch.randn(3, 500, dtype=torch.float64, requires_grad=True)
    with kernel_timer() as times:
        y = lfilter(x, B, A)
        assert list(times.per_kernel) == ["iir.forward"]
        y.sum().backward()
    assert list(times.per_kernel) == ["iir.forward", "iir.backward"]
    assert times.calls == 2 and all(calls == 1 for _, calls in times.per_kernel.values())
    assert times.seconds == sum(s for s, _ in times.per_kernel.values()) > 0


def test_timer_records_the_fused_envelope():
    b = torch.tensor([[0.1, 0.0], [0.3, 0.0]], dtype=torch.complex128)
    a = torch.tensor([[1.0, -0.9j], [1.0, -0.5]], dtype=torch.complex128)
    x = torch.randn(2, 100, dtype=torch.float64)
    with kernel_timer() as times:
        lfilter_envelope(x, b, a, torch.tensor([0, 1]), torch.tensor([True, False]))
    assert list(times.per_kernel) == ["iir.envelope"]


def test_nothing_recorded_outside_the_block_or_on_the_torch_path():
    x = torch.randn(2, 100, dtype=torch.float64)
    with kernel_timer() as times:
        with use_backend("torch"):
            lfilter(x, B, A)
    lfilter(x, B, A)
    assert times.calls == 0 and times.per_kernel == {}


def test_nested_timers_and_user_kernels():
    with kernel_timer() as outer:
        run_kernel("user.fft", torch.fft.rfft, torch.ones(8), n=16)
        with kernel_timer() as inner:
            lfilter(torch.ones(1, 10, dtype=torch.float64), B, A)
    assert list(outer.per_kernel) == ["user.fft", "iir.forward"]
    assert list(inner.per_kernel) == ["iir.forward"]
