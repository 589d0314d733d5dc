"""Kernel timing: where the compiled kernels of the dsp layer report their wall time.

The numba kernels of :func:`~torch_amt.dsp.lfilter`, :func:`~torch_amt.dsp.lfilter_envelope`
and the adaptation loop (forward and adjoint recursions) are called through
:func:`run_kernel`. Inside a :func:`kernel_timer` block each call's wall time is
recorded; outside, :func:`run_kernel` costs one test of a module-level tuple. Other
code can time its own kernels in the same record by calling them through
:func:`run_kernel` (the benchmarks do so for ``torch.fft``)::

    with kernel_timer() as times:
        model(x)
    times.seconds, times.calls, times.per_kernel["iir.forward"]

The timer is process-wide (not per thread) and times host wall clock, so it is
meaningful for the CPU kernels only (the pure-torch path reports nothing).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import torch

__all__ = ["KernelTimes", "kernel_timer", "run_kernel"]

T = TypeVar("T")


@dataclass
class KernelTimes:
    """Wall time spent in kernels during a :func:`kernel_timer` block.

    Attributes
    ----------
    seconds : float
        Total time inside the kernels, in seconds.
    calls : int
        Number of kernel calls.
    per_kernel : dict of str to (float, int)
        Seconds and calls per kernel name (e.g. ``'iir.forward'``), in order of first call.
    """

    seconds: float = 0.0
    calls: int = 0
    per_kernel: dict[str, tuple[float, int]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        """Record one call of kernel ``name`` that took ``seconds``."""
        self.seconds += seconds
        self.calls += 1
        total, calls = self.per_kernel.get(name, (0.0, 0))
        self.per_kernel[name] = (total + seconds, calls + 1)


_timers: tuple[KernelTimes, ...] = ()
"""The open timers, innermost last."""


@contextlib.contextmanager
def kernel_timer() -> Iterator[KernelTimes]:
    """Record the kernels run inside the ``with`` block.

    Yields
    ------
    KernelTimes
        Filled as the kernels run. Blocks may nest; each records every kernel run
        while it is open.
    """
    global _timers
    times = KernelTimes()
    _timers = (*_timers, times)
    try:
        yield times
    finally:
        _timers = tuple(t for t in _timers if t is not times)


@torch.compiler.disable
def run_kernel(name: str, kernel: Callable[..., T], /, *args, **kwargs) -> T:
    """Return ``kernel(*args, **kwargs)``, timed as ``name`` inside :func:`kernel_timer`.

    Parameters
    ----------
    name : str
        Name the call is recorded under, ``'<module>.<kernel>'`` by convention
        (``'iir.forward'``, ``'iir.envelope'``, ``'adaptloop.backward'``, ...).
    kernel : callable
        The kernel.
    *args, **kwargs
        Its arguments.

    Notes
    -----
    Excluded from ``torch.compile`` tracing (``torch.compiler.disable``): a numba
    kernel is opaque to TorchDynamo, so a compiled module breaks its graph here and
    runs the kernel eagerly.
    """
    if not _timers:
        return kernel(*args, **kwargs)
    start = time.perf_counter()
    out = kernel(*args, **kwargs)
    seconds = time.perf_counter() - start
    for times in _timers:
        times.add(name, seconds)
    return out
