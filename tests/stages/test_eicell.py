"""EICell / functional.eicell (AMT ``breebaart2001_eicell``) and OuterMiddleEarFilter
(AMT ``breebaart2001_outmiddlefilter``): an independent NumPy/SciPy transcription of AMT's
code, the delay and level conventions, vectorised (tau, ild) pairs, gradients, errors.

Agreement with AMT's stored outputs is checked by the validation harness
(tests/validation/test_family.py, ``breebaart2001__*``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch
from torch.autograd import gradcheck

from torch_amt import EICell, OuterMiddleEarFilter
from torch_amt.functional.eicell import eicell, eicell_delays
from torch_amt.functional.outmiddle import breebaart2001_outmiddlefilter

FS = 44100.0
RNG = np.random.default_rng(7)


def _reference(insig, fs, tau, ild, tc=0.03, rc_a=0.1, rc_b=2e-5, ptau=2.2e-3):
    """AMT's breebaart2001_eicell transcribed with NumPy (insig: T x 2)."""
    n = int(math.floor(abs(tau) * fs + 0.5))
    left, right = insig[:, 0].copy(), insig[:, 1].copy()
    if tau > 0:
        left = np.concatenate([np.zeros(n), left[:len(left) - n]])
    else:
        right = np.concatenate([np.zeros(n), right[:len(right) - n]])
    left, right = left * 10 ** (ild / 2 / 20), right * 10 ** (-ild / 2 / 20)
    p = math.exp(-1 / (fs * tc))
    y = scipy.signal.filtfilt([1 - p], [1, -p], (left - right) ** 2, padtype="odd", padlen=3)
    return math.exp(-abs(tau) / ptau) * rc_a * np.log(rc_b * y + 1)


def _ears(n_t=600, channels=()):
    x = np.abs(RNG.standard_normal((*channels, 2, n_t))) * 100
    return torch.from_numpy(x)


@pytest.mark.parametrize(("tau", "ild"), [(0.0, 0.0), (3e-4, 2.0), (-5e-4, -4.0), (1e-3, 6.0)])
def test_matches_a_numpy_transcription_of_amt(tau, ild):
    x = _ears()
    y = eicell(x, FS, tau, ild)
    expected = _reference(x.numpy().T, FS, tau, ild)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-15)
    variant = eicell(x, FS, tau, ild, tc=0.01, rc_a=0.2, rc_b=1e-4, ptau=0.005)
    np.testing.assert_allclose(variant.numpy(),
                               _reference(x.numpy().T, FS, tau, ild, 0.01, 0.2, 1e-4, 0.005),
                               rtol=1e-12, atol=1e-15)


def test_delays_round_halves_away_from_zero():
    tau = torch.tensor([0.625, 0.875, -0.625, 0.12, 1e-9], dtype=torch.float64)  # x 4 Hz
    assert eicell_delays(tau, 4.0).tolist() == [3, 4, 3, 0, 0]


def test_a_cell_cancels_the_interaural_delay_and_level_it_is_tuned_to():
    n_t, n = 2000, 9
    source = torch.from_numpy(RNG.standard_normal(n_t)).abs() * 300
    left = source
    right = torch.cat([torch.zeros(n, dtype=torch.float64), source[:-n]]) * 10 ** (3 / 20)
    x = torch.stack([left, right])  # left leads by n samples, right 3 dB louder
    # tau > 0 delays the left ear; ild scales left by +ild/2 dB, right by -ild/2 dB
    assert float(eicell(x, FS, n / FS, 3.0).abs().max()) == 0.0
    assert float(eicell(x, FS, -n / FS, 3.0).abs().max()) > 0.01
    assert float(eicell(x, FS, n / FS, -3.0).abs().max()) > 0.01
    assert float(eicell(x, FS, 0.0, 0.0).abs().max()) > 0.01


def test_vectorised_pairs_equal_single_calls_and_broadcast():
    x = _ears(300, (3,))
    taus = torch.tensor([0.0, 2e-4, -2e-4], dtype=torch.float64)
    ilds = torch.tensor([[0.0], [5.0]], dtype=torch.float64)
    y = eicell(x, FS, taus, ilds)  # (3 channels, 2 ilds, 3 taus, T)
    assert y.shape == (3, 2, 3, 300)
    for i, ild in enumerate(ilds[:, 0].tolist()):
        for j, tau in enumerate(taus.tolist()):
            torch.testing.assert_close(y[:, i, j], eicell(x, FS, tau, ild), rtol=0, atol=0)


def test_stage_layout_and_equality_with_functional():
    stage = EICell(FS, tau=[0.0, 3e-4], ild=2.0)
    x = _ears(400, (2, 2)).movedim(-2, -3)  # (B=2, ears, F=2, T)
    assert stage.cells == (2,)
    y = stage(x)
    assert y.shape == (2, 2, 2, 400)  # (B, pairs, F, T)
    taus = torch.tensor([0.0, 3e-4], dtype=torch.float64)
    expected = eicell(x.movedim(-3, -2), FS, taus, 2.0)
    torch.testing.assert_close(y, expected.movedim(1, 2), rtol=0, atol=0)
    assert EICell(FS)(x).shape == (2, 2, 400)
    assert "tau=(2,) values" in repr(stage)


def test_float32():
    x = _ears(400)
    y32 = eicell(x.float(), FS, 3e-4, 2.0)
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), eicell(x, FS, 3e-4, 2.0), rtol=1e-4, atol=1e-6)


def test_gradcheck_float64_through_the_cell():
    x = (_ears(10) / 100).requires_grad_(True)
    ild = torch.tensor([0.0, 3.0], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, ild: eicell(x, FS, torch.tensor([0.0, 5e-5]).double(), ild,
                                           rc_b=0.5), (x, ild))
    stage = EICell(FS, [0.0, -5e-5], [1.0, 0.0], rc_b=0.5)
    x4 = (_ears(10, (1, 1)) / 100).movedim(-2, -3).requires_grad_(True)
    assert gradcheck(stage, (x4,))


def test_bad_input():
    with pytest.raises(ValueError, match="left and right"):
        eicell(torch.zeros(3, 100, dtype=torch.float64), FS)
    with pytest.raises(ValueError, match="longer than the signal"):
        eicell(torch.zeros(2, 100, dtype=torch.float64), FS, 0.01)
    with pytest.raises(ValueError, match="longer than 3 samples"):
        eicell(torch.zeros(2, 3, dtype=torch.float64), FS)
    with pytest.raises(ValueError, match="do not broadcast"):
        eicell(torch.zeros(2, 100, dtype=torch.float64), FS, [0.0, 1e-4], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="ear along axis -3"):
        EICell(FS)(torch.zeros(3, 4, 100))
    with pytest.raises(ValueError, match="rc_b"):
        EICell(FS, rc_b=0.0)
    with pytest.raises(TypeError):
        eicell(torch.zeros(2, 100, dtype=torch.int32), FS)


def test_outer_middle_ear_is_amts_recursion():
    x = RNG.standard_normal(300)
    q = 2 - math.cos(2 * math.pi * 4000 / FS) - math.sqrt((math.cos(2 * math.pi * 4000 / FS)
                                                          - 2) ** 2 - 1)
    r = 2 - math.cos(2 * math.pi * 1000 / FS) - math.sqrt((math.cos(2 * math.pi * 1000 / FS)
                                                          - 2) ** 2 - 1)
    y = np.zeros(len(x) + 2)
    xp = np.concatenate([[0.0, 0.0], x])
    for n in range(2, len(xp)):  # AMT's loop
        y[n] = ((1 - q) * r * xp[n] - (1 - q) * r * xp[n - 1] + (q + r) * y[n - 1]
                - q * r * y[n - 2])
    out = breebaart2001_outmiddlefilter(torch.from_numpy(x), FS)
    np.testing.assert_allclose(out.numpy(), y[2:], rtol=0, atol=1e-14)
    stage = OuterMiddleEarFilter(FS)
    both = torch.from_numpy(np.stack([x, -x]))
    torch.testing.assert_close(stage(both)[0], out, rtol=0, atol=0)
    assert stage.amt_equivalent() == "breebaart2001_outmiddlefilter"
