"""Filter design against SciPy (``butter``, ``freqz``) and NumPy (``poly``).

Tolerance 1e-14 relative: the same algorithm (analogue prototype, pre-warping,
bilinear transform, polynomial expansion in the same order), so only last-bit
rounding may differ."""

import numpy as np
import pytest
import scipy.signal
import torch
from torch.autograd import gradcheck

from torch_amt.dsp.design import butter, freqz, poly


def test_poly_matches_numpy():
    roots = np.array([0.5 + 0.2j, 0.5 - 0.2j, -0.3 + 0j, 0.9 * np.exp(1j)])
    assert np.abs(poly(torch.from_numpy(roots)).numpy() - np.poly(roots)).max() <= 1e-15


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize(("btype", "cutoff"), [("low", 1000.0), ("low", 2.5), ("high", 3.0),
                                              ("bandpass", (10.0, 40.0)),
                                              ("bandstop", (100.0, 400.0))])
def test_butter_matches_scipy(order, btype, cutoff):
    b, a = butter(order, torch.tensor(cutoff, dtype=torch.float64), 44100, btype)
    b_ref, a_ref = scipy.signal.butter(order, cutoff, btype, fs=44100)
    assert np.abs(b.numpy() - b_ref).max() <= 1e-14 * np.abs(b_ref).max()
    assert np.abs(a.numpy() - a_ref).max() <= 1e-14 * np.abs(a_ref).max()


def test_butter_batched_and_differentiable():
    fc = torch.tensor([100.0, 1000.0, 5000.0], dtype=torch.float64, requires_grad=True)
    b, a = butter(2, fc, 16000)
    assert b.shape == (3, 3) and a.shape == (3, 3)
    assert gradcheck(lambda f: torch.cat(butter(2, f, 16000), -1), (fc,))
    edges = torch.tensor([[4.0, 8.0], [20.0, 60.0]], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda e: torch.cat(butter(2, e, 16000, "bandpass"), -1), (edges,))


def test_freqz_matches_scipy():
    b, a = [1.0, 0.5, 0.2], [1.0, -0.3]
    _, h = freqz(torch.tensor(b, dtype=torch.float64), torch.tensor(a, dtype=torch.float64), 64)
    assert np.abs(h.numpy() - scipy.signal.freqz(b, a, 64)[1]).max() <= 1e-14
    w, h_long = freqz(torch.linspace(0, 1, 300, dtype=torch.float64), 1.0, 64, fs=1000)
    w_ref, h_ref = scipy.signal.freqz(np.linspace(0, 1, 300), 1, 64, fs=1000)
    assert np.abs(w.numpy() - w_ref).max() <= 1e-12
    assert np.abs(h_long.numpy() - h_ref).max() <= 1e-11 * np.abs(h_ref).max()


@pytest.mark.parametrize(
    ("args", "match"),
    [((0, 100.0, 1000), "order must be a positive integer"),
     ((2, 600.0, 1000), "cutoff must lie strictly between"),
     ((2, 100.0, -1.0), "fs must be a positive"),
     ((2, 100.0, 1000, "weird"), "btype must be one of"),
     ((2, 100.0, 1000, "bandpass"), "cutoff must be a pair")],
)
def test_butter_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        butter(*args)


def test_butter_reproduces_octave_bit_for_bit(amt_reference_dir):
    """AMT's king2019 stores Octave's ``butter(1, 2*3/fs, 'high')`` and the 2nd-order
    band-passes of its modulation filterbank: ``butter`` must give them exactly (0 ulp),
    because the 2-Hz band-pass turns one ulp into ~1e-3 of output."""
    import scipy.io

    files = sorted(amt_reference_dir.glob("king2019__*dboffset100.mat"))
    assert files
    for path in files:
        m = scipy.io.loadmat(path)
        fs = float(m["fs"][0, 0])
        b, a = butter(1, 3.0, fs, "high")
        np.testing.assert_array_equal(b.numpy(), m["step_b_adapt_HP"][0])
        np.testing.assert_array_equal(a.numpy(), m["step_a_adapt_HP"][0])
        # the same filters designed the SciPy way may differ in the last bit
        b_s, a_s = butter(1, 3.0, fs, "high", exact=False)
        assert np.abs(a_s.numpy() - m["step_a_adapt_HP"][0]).max() <= 4e-16


def test_exact_butter_keeps_the_gradient_of_the_design():
    fc = torch.tensor(150.0, dtype=torch.float64, requires_grad=True)
    b_exact, _ = butter(1, fc, 44100)
    (g_exact,) = torch.autograd.grad(b_exact.sum(), fc)
    b_plain, _ = butter(1, fc, 44100, exact=False)
    (g_plain,) = torch.autograd.grad(b_plain.sum(), fc)
    assert torch.equal(g_exact, g_plain)
