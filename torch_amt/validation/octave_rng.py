"""Octave's ``randn`` stream, bit for bit, so seeded AMT calls can be replayed.

Octave (liboctave ``oct-rand.cc`` / ``randmtzig.cc``, 3.x to 9.x) draws normal numbers
with a 32-bit Mersenne Twister (MT19937) and Marsaglia and Tsang's Ziggurat method on
54-bit integers. ``randn('state', s)`` (also ``'seed'``/``'twister'``) converts ``s``
to 32-bit words and initialises the twister with ``init_by_array`` (a complete
625-word state vector is taken as the state itself). This module reimplements both
from the published algorithms (Matsumoto and Nishimura 1998; Marsaglia and Tsang 2000)
with the constants Octave uses; it is checked against the draws stored in the AMT
reference files (``noise_draws_*``).

References
----------
M. Matsumoto, T. Nishimura (1998). Mersenne Twister: a 623-dimensionally equidistributed
uniform pseudo-random number generator. ACM TOMACS 8(1), 3-30.

G. Marsaglia, W. W. Tsang (2000). The Ziggurat method for generating random variables.
J. Statistical Software 5(8).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["OctaveRandn"]

_N, _M = 624, 397
_MATRIX_A, _UPPER, _LOWER = 0x9908B0DF, 0x80000000, 0x7FFFFFFF
_MASK32 = 0xFFFFFFFF

_ZIGGURAT_NOR_R = 3.6541528853610088
_ZIGGURAT_NOR_INV_R = 0.27366123732975828
_NOR_SECTION_AREA = 0.00492867323399
_NMANTISSA = 9007199254740992.0  # 2^53


def _ziggurat_tables() -> tuple[list[int], list[float], list[float]]:
    """Octave's ``create_ziggurat_tables`` for the normal distribution."""
    ki, wi, fi = [0] * 256, [0.0] * 256, [0.0] * 256
    x1 = _ZIGGURAT_NOR_R
    wi[255] = x1 / _NMANTISSA
    fi[255] = math.exp(-0.5 * x1 * x1)
    ki[0] = int(x1 * fi[255] / _NOR_SECTION_AREA * _NMANTISSA)
    wi[0] = _NOR_SECTION_AREA / fi[255] / _NMANTISSA
    fi[0] = 1.0
    for i in range(254, 0, -1):
        x = math.sqrt(-2.0 * math.log(_NOR_SECTION_AREA / x1 + fi[i + 1]))
        ki[i + 1] = int(x / x1 * _NMANTISSA)
        wi[i] = x / _NMANTISSA
        fi[i] = math.exp(-0.5 * x * x)
        x1 = x
    ki[1] = 0
    return ki, wi, fi


_KI, _WI, _FI = _ziggurat_tables()


def _seed_words(seed: float | np.ndarray) -> list[int]:
    """Octave's ``double2uint32`` of each element (non-finite -> 0, modulo 2^32 - 1)."""
    words = []
    for d in np.asarray(seed, dtype=float).reshape(-1, order="F"):
        if not math.isfinite(d):
            words.append(0)
            continue
        d = math.fmod(d, 4294967295.0)
        if d < 0:
            d += 4294967295.0
        words.append(int(d) & _MASK32)
    return words


class OctaveRandn:
    """Octave's normal-distribution generator after ``randn('state', seed)``.

    Parameters
    ----------
    seed : float or array
        The value given to ``randn('state', seed)`` (or ``'seed'``, ``'twister'``).
    """

    def __init__(self, seed: float | np.ndarray) -> None:
        words = _seed_words(seed)
        if not words or len(words) == _N + 1:
            raise ValueError("OctaveRandn replays seeds given as 1 to 624 numbers (not an "
                             "empty seed or a saved 625-word state)")
        self._init_by_array(words)

    # ------------------------------------------------------------- Mersenne Twister
    def _init_by_array(self, key: list[int]) -> None:
        mt = [0] * _N
        mt[0] = 19650218
        for j in range(1, _N):
            mt[j] = (1812433253 * (mt[j - 1] ^ (mt[j - 1] >> 30)) + j) & _MASK32
        n = len(key)
        i, j = 1, 0
        for _ in range(max(_N, n)):
            mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525)) + key[j] + j
                     ) & _MASK32
            i, j = i + 1, j + 1
            if i >= _N:
                mt[0] = mt[_N - 1]
                i = 1
            if j >= n:
                j = 0
        for _ in range(_N - 1):
            mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941)) - i) & _MASK32
            i += 1
            if i >= _N:
                mt[0] = mt[_N - 1]
                i = 1
        mt[0] = 0x80000000
        self._mt = mt
        self._left = 1
        self._next = 0
        self._words: list[int] = []

    def _next_state(self) -> None:
        mt = self._mt
        for k in range(_N):
            y = (mt[k] & _UPPER) | (mt[(k + 1) % _N] & _LOWER)
            mt[k] = mt[(k + _M) % _N] ^ (y >> 1) ^ (_MATRIX_A if y & 1 else 0)
        self._words = [self._temper(y) for y in mt]
        self._left = _N
        self._next = 0

    @staticmethod
    def _temper(y: int) -> int:
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return (y ^ (y >> 18)) & _MASK32

    def _randi32(self) -> int:
        self._left -= 1
        if self._left == 0:
            self._next_state()
        word = self._words[self._next]
        self._next += 1
        return word

    def _randi54(self) -> int:
        lo = self._randi32()
        hi = self._randi32() & 0x3FFFFF
        return (hi << 32) | lo

    def _randu53(self) -> float:
        while True:
            a = self._randi32() >> 5
            b = self._randi32() >> 6
            if a or b:
                return (a * 67108864.0 + b) / 9007199254740992.0

    # ------------------------------------------------------------- normal
    def normal(self) -> float:
        """One ``randn`` draw."""
        while True:
            r = self._randi54()
            rabs = r >> 1
            idx = rabs & 0xFF
            x = (-rabs if r & 1 else rabs) * _WI[idx]
            if rabs < _KI[idx]:
                return x
            if idx == 0:
                while True:
                    xx = -_ZIGGURAT_NOR_INV_R * math.log(self._randu53())
                    yy = -math.log(self._randu53())
                    if yy + yy > xx * xx:
                        break
                return -_ZIGGURAT_NOR_R - xx if rabs & 0x100 else _ZIGGURAT_NOR_R + xx
            if (_FI[idx - 1] - _FI[idx]) * self._randu53() + _FI[idx] < math.exp(-0.5 * x * x):
                return x

    def randn(self, *shape: int) -> np.ndarray:
        """``randn(m, n, ...)``: draws in column-major order (``randn(n)`` is n x n)."""
        dims = list(shape) * 2 if len(shape) == 1 else list(shape)
        count = int(np.prod(dims))
        values = np.array([self.normal() for _ in range(count)], dtype=float)
        return values.reshape(dims, order="F")
