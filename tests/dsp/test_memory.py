"""The opt-in allocator setting of :mod:`torch_amt.dsp.memory`: it takes effect on
glibc, freed large blocks are then reused without page faults, and leaving the block
restores the release of freed memory."""

from __future__ import annotations

import platform
import resource

import numpy as np
import pytest

from torch_amt import dsp
from torch_amt.dsp import memory

glibc = pytest.mark.skipif(memory._libc() is None, reason="glibc only (Linux)")


def _faults_of_repeated_blocks(n_bytes: int, repeats: int = 4) -> int:
    """Minor page faults of allocating, writing and freeing one block ``repeats`` times
    (after a first round that may fault)."""
    block = np.empty(n_bytes // 8)
    block.fill(1.0)
    del block
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeats):
        block = np.empty(n_bytes // 8)
        block.fill(1.0)
        del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@glibc
def test_retained_memory_reuses_large_blocks():
    """A 64 MiB block (above glibc's largest dynamic mmap threshold) is mapped afresh,
    and faults in, on every allocation by default; inside ``retained_memory`` the
    freed block is reused. Counted in pages touched, so huge pages (numpy asks for
    them) count as what they cover: the threshold is a tenth of the default count.
    (After the block the thresholds are restored, but a free heap chunk that the
    block left behind may still serve the next request, so faults are not checked
    there.)"""
    n_bytes = 64 * 2**20
    default = _faults_of_repeated_blocks(n_bytes)
    with dsp.retained_memory() as applied:
        assert applied is True
        retained = _faults_of_repeated_blocks(n_bytes)
    assert retained * 10 <= default, (retained, default)
    assert dsp.release_freed_memory() is True


@glibc
def test_nested_blocks_release_once():
    with dsp.retained_memory():
        with dsp.retained_memory():
            pass
        assert memory._depth == 1
    assert memory._depth == 0


def test_limit_is_checked():
    with pytest.raises(ValueError, match="limit"):
        dsp.retain_freed_memory(1000)
    with pytest.raises(TypeError, match="limit"):
        dsp.retain_freed_memory(2.0**30)
    with pytest.raises(ValueError, match="limit"):
        dsp.retain_freed_memory(2**40)


def test_without_glibc_nothing_happens(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert dsp.retain_freed_memory() is False
    assert dsp.release_freed_memory() is False
    with dsp.retained_memory() as applied:
        assert applied is False
