"""Tests of the one IIR kernel, ``torch_amt.dsp.lfilter`` / ``sosfilt``.

Reference: ``scipy.signal.lfilter`` in float64. Tolerances (relative = max-abs error /
max-abs reference output):

* float64: 1e-12. Both compute the same recursion; they may differ only by rounding
  (SciPy adds ``b·x`` before subtracting ``a·y``, we follow Octave's order), which an
  order-8 filter with poles at radius ≤ 0.95 amplifies to ~1e-14.
* float32: 1e-5 against SciPy run on the same float32-rounded coefficients and signal,
  i.e. the kernel's own error (it accumulates in double precision), not the
  quantisation of the coefficients.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
from torch.autograd import gradcheck

from torch_amt.dsp import lfilter, resolve_backend, sosfilt, use_backend

BACKENDS = ["numba", "torch"]


def random_filter(rng: np.random.Generator, order: int, complex_: bool):
    """A random stable filter: poles at radius 0.3–0.95, random numerator."""
    radius = rng.uniform(0.3, 0.95, order)
    angle = rng.uniform(0, np.pi, order)
    poles = radius * np.exp(1j * angle)
    if not complex_:
        half = poles[: order // 2]
        poles = np.concatenate([half, half.conj(), radius[order // 2 * 2:]])
    a = np.poly(poles)
    b = rng.standard_normal(order + 1)
    if complex_:
        b = b + 1j * rng.standard_normal(order + 1)
        a = a * (1.5 + 0.5j)  # a[0] != 1 exercises the normalisation
    else:
        a = a.real * 1.7
    return b, a


def rel_err(y, ref) -> float:
    return float(np.abs(np.asarray(y) - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("order", [1, 2, 3, 5, 8])
def test_matches_scipy_float64(backend, complex_, order):
    rng = np.random.default_rng(order + 10 * complex_)
    b, a = random_filter(rng, order, complex_)
    x = rng.standard_normal((3, 5000))
    with use_backend(backend):
        y = lfilter(torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(a))
    assert y.dtype == (torch.complex128 if complex_ else torch.float64)
    assert rel_err(y.numpy(), scipy.signal.lfilter(b, a, x)) <= 1e-12


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_signal_float64(backend):
    rng = np.random.default_rng(1)
    b, a = random_filter(rng, 8, False)
    x = rng.standard_normal(1_000_000)
    with use_backend(backend):
        y = lfilter(torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(a))
    assert rel_err(y.numpy(), scipy.signal.lfilter(b, a, x)) <= 1e-12


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("order", [1, 4, 8])
def test_matches_scipy_float32(backend, complex_, order):
    rng = np.random.default_rng(100 + order)
    b, a = random_filter(rng, order, complex_)
    a = a / a[0]
    cdt = torch.complex64 if complex_ else torch.float32
    x32 = torch.from_numpy(rng.standard_normal((2, 20000))).float()
    b32, a32 = torch.from_numpy(b).to(cdt), torch.from_numpy(a).to(cdt)
    with use_backend(backend):
        y = lfilter(x32, b32, a32)
    assert y.dtype == cdt
    ref = scipy.signal.lfilter(b32.numpy().astype(np.complex128 if complex_ else np.float64),
                               a32.numpy().astype(np.complex128 if complex_ else np.float64),
                               x32.double().numpy())
    assert rel_err(y.numpy(), ref) <= 1e-5


def test_backends_agree():
    rng = np.random.default_rng(5)
    rows = [random_filter(rng, 4, True) for _ in range(6)]
    b = torch.from_numpy(np.stack([r[0] for r in rows]))
    a = torch.from_numpy(np.stack([r[1] for r in rows]))
    x = torch.from_numpy(rng.standard_normal((6, 3001)))
    zi = torch.from_numpy(rng.standard_normal((6, 4)) + 0j)
    with use_backend("numba"):
        y1 = lfilter(x, b, a, zi)
    with use_backend("torch"):
        y2 = lfilter(x, b, a, zi)
    assert rel_err(y2.numpy(), y1.numpy()) <= 1e-12


def test_per_row_filters_and_broadcasting():
    """(B, F, T) signal with (F, n) coefficients: every channel its own filter."""
    rng = np.random.default_rng(7)
    filters = [random_filter(rng, 2, False) for _ in range(4)]
    b = torch.from_numpy(np.stack([f[0] for f in filters]))
    a = torch.from_numpy(np.stack([f[1] for f in filters]))
    x = torch.from_numpy(rng.standard_normal((3, 4, 500)))
    y = lfilter(x, b, a)
    assert y.shape == (3, 4, 500)
    for i in range(3):
        for k in range(4):
            ref = scipy.signal.lfilter(filters[k][0], filters[k][1], x[i, k].numpy())
            assert rel_err(y[i, k].numpy(), ref) <= 1e-12
    # one signal, many filters
    y1 = lfilter(x[0, 0], b, a)
    assert y1.shape == (4, 500)
    assert rel_err(y1[2].numpy(), scipy.signal.lfilter(filters[2][0], filters[2][1],
                                                       x[0, 0].numpy())) <= 1e-12


def test_unequal_lengths_and_fir():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(400)
    cases = [([0.5], [1.0, -0.9]), ([1.0, 2.0, 0.5, 0.1], [1.0, -0.2]), ([0.2, 0.3, 0.4], [1.0])]
    for b, a in cases:
        y = lfilter(torch.from_numpy(x), torch.tensor(b, dtype=torch.float64),
                    torch.tensor(a, dtype=torch.float64))
        assert rel_err(y.numpy(), scipy.signal.lfilter(b, a, x)) <= 1e-13


@pytest.mark.parametrize("backend", BACKENDS)
def test_initial_state_matches_scipy(backend):
    rng = np.random.default_rng(11)
    b, a = random_filter(rng, 3, False)
    a = a / a[0]
    x = rng.standard_normal(300)
    zi = rng.standard_normal(3)
    ref, _ = scipy.signal.lfilter(b, a, x, zi=zi)
    with use_backend(backend):
        y = lfilter(torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(a),
                    zi=torch.from_numpy(zi))
    assert rel_err(y.numpy(), ref) <= 1e-12


def test_all_pole_bit_exact_like_matlab_filter():
    """All-pole filters (as AMT's gammatones) are reproduced bit for bit: Octave, SciPy and
    this kernel perform the same operations in the same order there."""
    rng = np.random.default_rng(2)
    a = np.poly(0.97 * np.exp(1j * np.array([0.1, 0.1, 0.1, 0.1])))
    b = np.array([0.01 + 0j])
    x = rng.standard_normal(4000)
    y = lfilter(torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(a)).numpy()
    np.testing.assert_array_equal(y, scipy.signal.lfilter(b, a, x))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_gradcheck(backend, dtype):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 25, dtype=torch.float64, generator=gen).to(dtype).requires_grad_()
    b = (0.5 * torch.randn(2, 3, dtype=torch.float64, generator=gen)).to(dtype).requires_grad_()
    a = torch.tensor([[1.3, -0.5, 0.2], [0.9, 0.3, 0.1]], dtype=torch.float64)
    if dtype.is_complex:
        a = a * torch.tensor(1 - 0.3j)
    a = a.requires_grad_()
    zi = torch.randn(2, 2, dtype=torch.float64, generator=gen).to(dtype).requires_grad_()
    with use_backend(backend):
        assert gradcheck(lambda *t: lfilter(*t), (x, b, a, zi))
        assert gradcheck(lambda *t: lfilter(*t), (x, b, a))


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_real_signal_complex_coefficients(backend):
    """AMT's modulation filters: real input, real b, complex one-pole a."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 20, dtype=torch.float64, generator=gen).requires_grad_()
    b = torch.tensor([[0.2], [0.3], [0.1]], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([[1.0, -0.7 + 0.3j], [1.0, -0.5 - 0.5j], [1.0, 0.2j]],
                     dtype=torch.complex128, requires_grad=True)
    with use_backend(backend):
        assert gradcheck(lambda x, b, a: lfilter(x, b, a).abs(), (x, b, a))


def test_gradient_shapes_follow_broadcasting():
    x = torch.randn(2, 4, 50, dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.3, 0.1], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([[1.0, -0.5], [1.0, -0.2], [1.0, 0.1], [1.0, 0.4]], dtype=torch.float64,
                     requires_grad=True)
    lfilter(x, b, a).square().sum().backward()
    assert x.grad.shape == x.shape and b.grad.shape == b.shape and a.grad.shape == a.shape
    # the shared numerator's gradient is the sum of the per-row gradients
    b_rows = b.detach().expand(4, 2).clone().requires_grad_()
    lfilter(x.detach(), b_rows, a.detach()).square().sum().backward()
    torch.testing.assert_close(b.grad, b_rows.grad.sum(0), rtol=1e-12, atol=0)


def test_sosfilt_matches_scipy():
    sos = scipy.signal.butter(6, [300, 3000], "bandpass", fs=16000, output="sos")
    x = np.random.default_rng(0).standard_normal((2, 3000))
    y = sosfilt(torch.from_numpy(x), torch.from_numpy(sos))
    assert rel_err(y.numpy(), scipy.signal.sosfilt(sos, x)) <= 1e-12


def test_float32_input_stays_float32_and_float64_coefficients_follow_x():
    x = torch.randn(10)
    y = lfilter(x, torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0, -0.5]))
    assert y.dtype == torch.float32


def test_empty_signal_gives_empty_output():
    y = lfilter(torch.zeros(3, 0), [1.0], [1.0, -0.5])
    assert y.shape == (3, 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": torch.arange(10)}, TypeError, "x must be a floating-point"),
        ({"x": [1.0, 2.0]}, TypeError, "x must be a torch.Tensor"),
        ({"a": [0.0, 1.0]}, ValueError, r"a\[..., 0\] must be non-zero"),
        ({"b": [float("nan"), 1.0]}, ValueError, "b contains NaN"),
        ({"a": [1.0, float("inf")]}, ValueError, "a contains NaN"),
        ({"b": torch.ones(3, 2)}, ValueError, "do not broadcast"),
        ({"b": ["x"]}, TypeError, "b must be numeric"),
        ({"zi": torch.zeros(5)}, ValueError, "zi must have 1 states"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"x": torch.randn(2, 10), "b": [1.0, 0.5], "a": [1.0, -0.5]}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        lfilter(**args)


def test_torch_path_stays_stable_for_ill_conditioned_direct_forms():
    """An 8th-order all-pole gammatone at 100 Hz / 16 kHz (4-fold repeated complex poles):
    its direct form is so ill-conditioned that changing the rounding order moves the
    output by ~1e-2 (scipy vs the ideal cascade: 5.5e-3). The torch path must stay bounded
    and agree with the recursion to that conditioning, never blow up."""
    fs, fc = 16000, 100.0
    bw = 1.019 * 24.7 * (4.37 * fc / 1000 + 1)
    pole = np.exp(-2 * np.pi * bw / fs + 2j * np.pi * fc / fs)
    a = np.real(np.poly([pole] * 4 + [np.conj(pole)] * 4))
    x = np.random.default_rng(0).standard_normal(16000)
    ref = scipy.signal.lfilter([1e-9], a, x)
    with use_backend("torch"):
        y = lfilter(torch.from_numpy(x), torch.tensor([1e-9], dtype=torch.float64),
                    torch.from_numpy(a)).numpy()
    assert np.isfinite(y).all()
    assert rel_err(y, ref) <= 5e-2


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_padded_coefficients(backend):
    """Trailing zeros in ``a`` or ``b`` (rows of different orders padded to one width, as
    a mega-batch of filters does) change nothing."""
    x = torch.randn(3, 200, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with use_backend(backend):
        y = lfilter(x, [0.1, 0.0, 0.0], [1.0, -0.9, 0.0])
        y_complex = lfilter(x, [0.1, 0.0, 0.0],
                            torch.tensor([1.0, -0.9j, 0.0], dtype=torch.complex128))
    ref = scipy.signal.lfilter([0.1], [1.0, -0.9], x.numpy())
    assert rel_err(y.numpy(), ref) <= 1e-13
    ref_complex = scipy.signal.lfilter([0.1], [1.0, -0.9j], x.numpy())
    assert rel_err(y_complex.numpy(), ref_complex) <= 1e-13


def test_resolve_backend():
    assert resolve_backend(torch.device("cpu")) == "numba"
    assert resolve_backend(torch.device("cuda")) == "torch"  # the device type is enough
    with use_backend("torch"):
        assert resolve_backend(torch.device("cpu")) == "torch"
    with use_backend("numba"), pytest.raises(RuntimeError, match="CPU tensors only"):
        resolve_backend(torch.device("cuda"))
