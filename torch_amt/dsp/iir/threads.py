"""Row parallelism of the compiled kernels on torch's thread budget.

Every numba kernel of the package is a GIL-free (``nogil``) loop over a range
``[lo, hi)`` of independent work items (rows, or groups of rows run interleaved); the
host spreads the items over ``torch.get_num_threads()`` threads with
:func:`parallel_for`. Each item is computed by exactly one thread with the same
operations as in a serial run, so results are bit-identical whatever the number of
threads (there is no reduction across items).

Why not numba's own thread pool: its OpenMP pool is a second OpenMP runtime next to
torch's (two ``libgomp`` copies), each spinning for a while after its parallel regions;
on a machine with as many threads as cores the two pools steal each other's cores at
every hand-over between a kernel and a torch operation (profiled: a 44100-sample
``torch.mul`` between two kernels took milliseconds instead of tens of microseconds),
and it ignores :func:`torch.set_num_threads`. A small pool of Python threads that sleep
when idle hands over cleanly, follows torch's thread count, and is safe to call from
several threads at once.

The kernels are still compiled with ``parallel=True`` and their item loop is a
``prange``, run with numba's thread count set to 1 in the calling thread (numba's
setting is per thread): numba then runs the loop in that thread, without its pool, and
its parallel lowering outlines the loop body into a function whose arrays the compiler
optimises far better (measured: the adaptation loop 4-6x faster than the same loop
compiled without ``parallel=True``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numba
import torch

__all__ = ["num_threads", "parallel_for"]

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_CHUNKS_PER_THREAD = 4
"""Work is cut into this many chunks per thread and handed out on demand, so that a
thread slowed down by other processes does not hold back the others."""


def num_threads() -> int:
    """Threads the kernels use: ``torch.get_num_threads()`` (at least 1)."""
    return max(1, torch.get_num_threads())


def _reset_pool() -> None:
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads
    os.register_at_fork(after_in_child=_reset_pool)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(64, os.cpu_count() or 1),
                                       thread_name_prefix="torch_amt-kernel")
        return _pool


_launched = False


def _launch_numba() -> None:
    """Start numba's threading layer once, keeping torch's thread count.

    Starting numba's OpenMP layer resets the calling thread's OpenMP thread count to
    numba's (all cores), and torch reads its own count from the same setting: without
    this, the first kernel call would silently undo a user's
    ``torch.set_num_threads(1)``.
    """
    global _launched
    if _launched:
        return
    before = torch.get_num_threads()
    numba.np.ufunc.parallel._launch_threads()
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)
    _launched = True


def _serial(kernel: Callable[..., None], lo: int, hi: int, args: tuple) -> None:
    """``kernel(lo, hi, *args)`` with numba's thread count 1 in this thread (restored)."""
    before = numba.get_num_threads()
    if before != 1:
        numba.set_num_threads(1)
    try:
        kernel(lo, hi, *args)
    finally:
        if before != 1:
            numba.set_num_threads(before)


def parallel_for(kernel: Callable[..., None], n_items: int, *args,
                 scratch: Sequence | None = None) -> None:
    """Run ``kernel(lo, hi, *args)`` over ``[0, n_items)`` on :func:`num_threads` threads.

    Parameters
    ----------
    kernel : callable
        A compiled ``nogil`` kernel that processes items ``lo .. hi-1`` and writes only
        their own outputs; it runs with numba's thread count set to 1.
    n_items : int
        Number of independent work items.
    *args
        The kernel's other arguments (the same for every chunk).
    scratch : sequence, optional
        Working memory, one entry per thread (at least :func:`num_threads`): the thread
        that runs a chunk passes its own entry as the kernel's last argument. A kernel
        that needs a buffer per item then reuses one for all the items of a thread,
        instead of allocating one per item (a buffer of megabytes allocated afresh is
        faulted in page by page every time: measured 35% of the modulation bank's
        adjoint at batch 8).
    """
    _launch_numba()
    threads = min(num_threads(), n_items)
    if scratch is not None and len(scratch) < max(threads, 1):
        raise ValueError(f"scratch has {len(scratch)} entries for {threads} threads")
    extra = [(scratch[i],) if scratch is not None else () for i in range(max(threads, 1))]
    if threads <= 1:
        if n_items > 0:
            _serial(kernel, 0, n_items, args + extra[0])
        return
    n_chunks = min(n_items, _CHUNKS_PER_THREAD * threads)
    bounds = [n_items * i // n_chunks for i in range(n_chunks + 1)]
    chunks = iter(range(n_chunks))
    lock = threading.Lock()

    def work(worker: int) -> None:
        while True:
            with lock:
                i = next(chunks, None)
            if i is None:
                return
            _serial(kernel, bounds[i], bounds[i + 1], args + extra[worker])

    pool = _executor()
    futures = [pool.submit(work, w) for w in range(1, threads)]
    try:
        work(0)
    finally:
        for future in futures:
            future.result()
