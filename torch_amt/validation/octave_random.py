"""Octave's ``randn`` (Octave 7: Mersenne twister + Marsaglia-Tsang ziggurat), to replay the
seeded draws of AMT reference files.

``randn('state', s)`` seeds the normal generator with MT19937 ``init_by_array`` of the
state vector (each entry reduced to ``uint32``), exactly as Octave's ``rand::do_state``;
each normal is drawn by Octave's ``rand_normal<double>`` (``randmtzig.cc``): a 54-bit
integer from two 32-bit words (53-bit mantissa + sign), the ziggurat with 256 strips,
Marsaglia's tail method and 53-bit uniforms ``randu53`` for the rejections. Arrays are
filled in column-major order. The stored draws of the reference files check it
(``internal_noise_draws``, ``noise_draws_*``).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

__all__ = ["OctaveRandn"]

_NOR_R = 3.6541528853610088
_NOR_INV_R = 0.27366123732975828
_NOR_AREA = 0.00492867323399
_MANTISSA = 9007199254740992.0


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ki = np.zeros(256, dtype=np.int64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    x1 = _NOR_R
    wi[255] = x1 / _MANTISSA
    fi[255] = math.exp(-0.5 * x1 * x1)
    ki[0] = int(x1 * fi[255] / _NOR_AREA * _MANTISSA)
    wi[0] = _NOR_AREA / fi[255] / _MANTISSA
    fi[0] = 1.0
    for i in range(254, 0, -1):
        x = math.sqrt(-2.0 * math.log(_NOR_AREA / x1 + fi[i + 1]))
        ki[i + 1] = int(x / x1 * _MANTISSA)
        wi[i] = x / _MANTISSA
        fi[i] = math.exp(-0.5 * x * x)
        x1 = x
    ki[1] = 0
    return ki, wi, fi


_KI, _WI, _FI = _ziggurat_tables()


def _init_by_array(key: list[int]) -> np.ndarray:
    """MT19937's ``init_by_array`` (Matsumoto & Nishimura 2002; Octave's
    ``init_mersenne_twister(init_key, key_length)``): the 624-word state."""
    mask = 0xFFFFFFFF
    mt = [0] * 624
    mt[0] = 19650218
    for i in range(1, 624):
        mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & mask
    i, j = 1, 0
    for _ in range(max(624, len(key))):
        mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525)) + key[j] + j) & mask
        i, j = i + 1, j + 1
        if i >= 624:
            mt[0], i = mt[623], 1
        if j >= len(key):
            j = 0
    for _ in range(623):
        mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941)) - i) & mask
        i += 1
        if i >= 624:
            mt[0], i = mt[623], 1
    mt[0] = 0x80000000
    return np.array(mt, dtype=np.uint32)


class OctaveRandn:
    """The state of Octave's normal generator; :meth:`seed` and :meth:`draw`.

    Unseeded (Octave's start-up state depends on the time), drawing raises
    ``RuntimeError``.
    """

    _BLOCK = 1 << 16

    def __init__(self) -> None:
        self._bits: np.random.MT19937 | None = None
        self._words = np.zeros(0, dtype=np.uint64)
        self._pos = 0

    def copy(self) -> OctaveRandn:
        """An independent copy of the current state."""
        other = OctaveRandn()
        if self._bits is not None:
            other._bits = np.random.MT19937()
            other._bits.state = self._bits.state
        other._words = self._words.copy()
        other._pos = self._pos
        return other

    def assign(self, other: OctaveRandn) -> None:
        """Take over the state of ``other`` (a copy of it)."""
        copy = other.copy()
        self._bits, self._words, self._pos = copy._bits, copy._words, copy._pos

    def digest(self) -> bytes:
        """A fingerprint of the state: equal states give equal digests (a state reached
        with other buffering may give another one)."""
        if self._bits is None:
            return b"unseeded"
        h = hashlib.blake2b(digest_size=16)
        state = self._bits.state["state"]
        h.update(np.asarray(state["key"]).tobytes())
        h.update(str(int(state["pos"])).encode())
        h.update(self._words[self._pos:].tobytes())
        return h.digest()

    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` has been called."""
        return self._bits is not None

    def seed(self, state) -> None:
        """``randn('state', state)`` / ``randn('seed', ...)``: MT19937 ``init_by_array``
        of the entries of ``state`` reduced to uint32 (non-finite values as 0)."""
        values = np.atleast_1d(np.asarray(state, dtype=np.float64)).reshape(-1, order="F")
        key = [0 if not math.isfinite(v) else int(math.fmod(v, 4294967295.0)
                                                  + (4294967295.0 if v < 0 else 0))
               for v in values[:625]]
        bits = np.random.MT19937()
        bits.state = {"bit_generator": "MT19937",
                      "state": {"key": _init_by_array(key), "pos": 624}}
        self._bits = bits
        self._words = np.zeros(0, dtype=np.uint64)
        self._pos = 0

    def _take(self, n: int) -> np.ndarray:
        if self._bits is None:
            raise RuntimeError("Octave's randn was not seeded (randn('state', s)): its draws "
                               "cannot be reproduced")
        if self._pos + n > len(self._words):
            more = self._bits.random_raw(max(self._BLOCK, n))
            self._words = np.concatenate([self._words[self._pos:], more.astype(np.uint64)])
            self._pos = 0
        out = self._words[self._pos:self._pos + n]
        self._pos += n
        return out

    def _uniform(self) -> float:
        while True:
            a, b = (int(w) for w in self._take(2))
            a >>= 5
            b >>= 6
            if a or b:
                return (a * 67108864.0 + b) / 9007199254740992.0

    def _slow(self, r: int) -> float:
        """One normal from the 54-bit integer ``r`` that failed the fast test, continuing
        Octave's loop (further draws as needed)."""
        while True:
            rabs = r >> 1
            idx = rabs & 0xFF
            x = (-rabs if r & 1 else rabs) * _WI[idx]
            if rabs < _KI[idx]:
                return x
            if idx == 0:
                while True:
                    xx = -_NOR_INV_R * math.log(self._uniform())
                    yy = -math.log(self._uniform())
                    if yy + yy > xx * xx:
                        break
                return -_NOR_R - xx if rabs & 0x100 else _NOR_R + xx
            if (_FI[idx - 1] - _FI[idx]) * self._uniform() + _FI[idx] < math.exp(-0.5 * x * x):
                return x
            lo, hi = (int(w) for w in self._take(2))
            r = ((hi & 0x3FFFFF) << 32) | lo

    def draw(self, n: int) -> np.ndarray:
        """The next ``n`` normals (float64), in Octave's order."""
        out = np.empty(n)
        done = 0
        while done < n:
            k = n - done
            if self._pos + 2 * k > len(self._words):
                self._take(0)
                self._take(2 * k)
                self._pos -= 2 * k
            words = self._words[self._pos:self._pos + 2 * k]
            r = ((words[1::2] & np.uint64(0x3FFFFF)) << np.uint64(32)) | words[0::2]
            rabs = (r >> np.uint64(1)).astype(np.int64)
            idx = rabs & 0xFF
            fast = rabs < _KI[idx]
            bad = np.flatnonzero(~fast)
            j = int(bad[0]) if bad.size else k
            sign = np.where((r & np.uint64(1)).astype(bool), -1.0, 1.0)
            out[done:done + j] = sign[:j] * rabs[:j].astype(np.float64) * _WI[idx[:j]]
            self._pos += 2 * j
            done += j
            if j < k:
                self._pos += 2
                out[done] = self._slow(int(r[j]))
                done += 1
        return out

    def randn(self, *shape: int) -> np.ndarray:
        """``randn(shape)``: an array of ``shape`` filled column-major."""
        n = math.prod(shape)
        return self.draw(n).reshape(shape, order="F")
