"""Keeping freed memory in the process, so that repeated large batches reuse it.

Why: with glibc's default policy every block above 32 MiB is a fresh ``mmap`` and is
returned to the system when freed, so each forward pass on a large batch (1 s of
Dau1997 at B=8 allocates about 1 GB of short-lived intermediates) has the kernel zero
every page again, in page faults. Measured on 2 cores, 1 s @ 44.1 kHz, float32
(``benchmarks/bench_speed.py``): at B=8 about a third of the forward and half of the
forward+backward of Dau1997/Jepsen2008 were system time spent in those faults.

:func:`retained_memory` (or :func:`retain_freed_memory`) raises glibc's ``mmap`` and
trim thresholds, so that blocks up to ``limit`` bytes come from the heap and stay in
the process when freed, ready for the next batch; leaving the block (or
:func:`release_freed_memory`) restores a fixed form of the defaults and hands the
retained memory back to the system. The setting is process-wide (it is the C
allocator's), so it is opt-in: a library import never changes it. Under Dask, whose
workers ask for freed memory to be returned promptly, leave it off in the workers.

Without glibc (macOS, Windows, musl) the functions do nothing and report ``False``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["release_freed_memory", "retain_freed_memory", "retained_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_DEFAULT_LIMIT = 2**31 - 1
"""The largest value ``mallopt`` takes (an ``int``): 2 GiB."""
_RESTORED_MMAP = 32 * 2**20
"""glibc's largest dynamic ``mmap`` threshold on 64-bit systems."""
_RESTORED_TRIM = 2 * _RESTORED_MMAP
"""The trim threshold glibc pairs with that ``mmap`` threshold."""

_lock = threading.Lock()
_depth = 0


def _libc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def retain_freed_memory(limit: int = _DEFAULT_LIMIT) -> bool:
    """Keep freed blocks of up to ``limit`` bytes in the process (glibc only).

    Parameters
    ----------
    limit : int
        Largest block served from the heap and largest free heap top kept, in bytes
        (1 MiB to 2 GiB - 1; default the maximum).

    Returns
    -------
    bool
        Whether the allocator took the setting (False without glibc).
    """
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an int number of bytes, got {type(limit).__name__}")
    if not 2**20 <= limit <= _DEFAULT_LIMIT:
        raise ValueError(f"limit must be between 1 MiB and 2 GiB - 1 bytes, got {limit}")
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, limit)
                and libc.mallopt(_M_TRIM_THRESHOLD, limit))


def release_freed_memory() -> bool:
    """Undo :func:`retain_freed_memory` and return the retained memory to the system.

    glibc cannot go back to its *dynamic* ``mmap`` threshold once one was set; this
    sets the values that the dynamic threshold reaches (32 MiB, trim 64 MiB).

    Returns
    -------
    bool
        Whether the allocator took the setting (False without glibc).
    """
    libc = _libc()
    if libc is None:
        return False
    done = bool(libc.mallopt(_M_MMAP_THRESHOLD, _RESTORED_MMAP)
                and libc.mallopt(_M_TRIM_THRESHOLD, _RESTORED_TRIM))
    libc.malloc_trim(0)
    return done


@contextmanager
def retained_memory(limit: int = _DEFAULT_LIMIT) -> Iterator[bool]:
    """Context manager: :func:`retain_freed_memory` inside the block,
    :func:`release_freed_memory` when the outermost such block ends.

    Yields whether the setting took effect::

        with torch_amt.dsp.retained_memory():
            for batch in loader:
                loss = criterion(model(batch), target)
                loss.backward()
    """
    global _depth
    with _lock:
        applied = retain_freed_memory(limit)
        _depth += 1
    try:
        yield applied
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                release_freed_memory()
