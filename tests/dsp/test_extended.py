"""Tests of ``torch_amt.dsp.extended.lfilter_double_double``.

Oracle: the same recursion (transposed direct form II, zero initial state, coefficients
normalised by ``a[0]``) in Python's ``decimal`` with 60 significant digits, from the
exact float64 values of the coefficients and the input. Its own error (~1e-60 per
operation, amplified by the filter's conditioning, ≤ ~1e11 here) is far below float64
resolution, so the oracle rounded to float64 is the correctly rounded exact response.

Tolerance of the double-double result: 1e-15 relative (max-abs error / max-abs oracle).
Rounding the double-double value to float64 costs ≤ half an ulp of each sample
(≤ 1.1e-16 of the maximum); the double-double recursion itself (~106-bit significand,
unit roundoff ~1e-32) amplified by the conditioning adds ~1e-21. 1e-15 leaves ~9 ulps of
margin while being ~1000x below the float64 recursion's error on King2019's 2-Hz filter.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

import torch_amt.dsp.extended as extended
from torch_amt.dsp.extended import lfilter_double_double
from torch_amt.dsp.iir import lfilter
from torch_amt.functional.king2019_modfilterbank import king2019_coefficients

DD_RTOL = 1e-15


def decimal_lfilter(x: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """MATLAB ``filter(b, a, x)`` in 60-digit decimal arithmetic, rounded to float64."""
    with localcontext() as ctx:
        ctx.prec = 60
        bd = [Decimal(float(v)) for v in b]
        ad = [Decimal(float(v)) for v in a]
        n = max(len(bd), len(ad))
        bd += [Decimal(0)] * (n - len(bd))
        ad += [Decimal(0)] * (n - len(ad))
        a0 = ad[0]
        bd = [v / a0 for v in bd]
        ad = [v / a0 for v in ad]
        z = [Decimal(0)] * (n - 1)
        out = []
        for xv in x.tolist():
            xt = Decimal(xv)
            yt = (z[0] if z else Decimal(0)) + bd[0] * xt
            for i in range(n - 2):
                z[i] = z[i + 1] - ad[i + 1] * yt + bd[i + 1] * xt
            if n > 1:
                z[n - 2] = bd[n - 1] * xt - ad[n - 1] * yt
            out.append(float(yt))
    return np.array(out)


def rel_err(y, ref) -> float:
    return float(np.abs(np.asarray(y) - ref).max() / np.abs(ref).max())


def random_stable(rng: np.random.Generator, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Real filter with poles at radius 0.5–0.999 and ``a[0] = 1.7`` (normalisation)."""
    radius = rng.uniform(0.5, 0.999, order)
    angle = rng.uniform(0, np.pi, order // 2)
    poles = np.concatenate([radius[: order // 2] * np.exp(1j * angle),
                            radius[: order // 2] * np.exp(-1j * angle), radius[order // 2 * 2:]])
    return rng.standard_normal(order + 1), 1.7 * np.poly(poles).real


def _noise(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("mfc", [2.0, 5.2360679774997898])
def test_ill_conditioned_king2019_filter_matches_oracle(mfc):
    b, a = king2019_coefficients([mfc], 1.0, 44100.0)
    x = _noise(3000)
    ref = decimal_lfilter(x.numpy(), b[0].numpy(), a[0].numpy())
    assert rel_err(lfilter_double_double(x, b[0], a[0]).numpy(), ref) <= DD_RTOL
    if mfc == 2.0:
        # the point: the float64 direct form is off by ~1e-6 here (measured 1.3e-6)
        assert rel_err(lfilter(x, b[0], a[0]).numpy(), ref) > 1000 * DD_RTOL


@pytest.mark.parametrize("order", [1, 2, 4, 6])
def test_random_stable_filters_match_oracle(order):
    rng = np.random.default_rng(order)
    b, a = random_stable(rng, order)
    x = _noise(2000, seed=order)
    ref = decimal_lfilter(x.numpy(), b, a)
    y = lfilter_double_double(x, torch.from_numpy(b), torch.from_numpy(a))
    assert y.dtype == torch.float64
    assert rel_err(y.numpy(), ref) <= DD_RTOL


def test_unequal_lengths_and_array_coefficients():
    x = _noise(500)
    b, a = [0.5, -0.2, 0.1, 0.05], [2.0, -0.9]
    ref = decimal_lfilter(x.numpy(), np.array(b), np.array(a))
    assert rel_err(lfilter_double_double(x, b, a).numpy(), ref) <= DD_RTOL
    # order 0: a gain
    assert rel_err(lfilter_double_double(x, [3.0], [2.0]).numpy(), 1.5 * x.numpy()) == 0


def test_broadcasting_matches_row_by_row():
    rng = np.random.default_rng(5)
    filters = [random_stable(rng, 4) for _ in range(3)]
    b = torch.from_numpy(np.stack([f[0] for f in filters]))
    a = torch.from_numpy(np.stack([f[1] for f in filters]))
    x = torch.randn(2, 1, 400, dtype=torch.float64)
    y = lfilter_double_double(x, b, a)
    assert y.shape == (2, 3, 400)
    for i in range(2):
        for k in range(3):
            assert torch.equal(y[i, k], lfilter_double_double(x[i, 0], b[k], a[k]))
    # well-conditioned filters: the float64 recursion agrees to rounding
    assert rel_err(y.numpy(), lfilter(x, b, a).numpy()) < 1e-12


def test_float32_input():
    b, a = random_stable(np.random.default_rng(1), 3)
    x = _noise(300).float()
    y = lfilter_double_double(x, torch.from_numpy(b), torch.from_numpy(a))
    assert y.dtype == torch.float32
    ref = decimal_lfilter(x.double().numpy(), b, a)
    assert rel_err(y.double().numpy(), ref) <= 1e-7


def test_no_float64_pass_without_grad(monkeypatch):
    b, a = random_stable(np.random.default_rng(2), 2)
    bt = torch.from_numpy(b).requires_grad_(True)

    def fail(*args, **kwargs):
        raise AssertionError("the float64 recursion ran although no gradient is needed")

    monkeypatch.setattr(extended, "lfilter", fail)
    x = _noise(100)
    lfilter_double_double(x, b, a)
    with torch.no_grad():
        lfilter_double_double(x, bt, a)
    with pytest.raises(AssertionError, match="float64 recursion"):
        lfilter_double_double(x, bt, a)


def test_gradients_are_those_of_the_float64_recursion():
    b, a = random_stable(np.random.default_rng(3), 3)
    x = _noise(64).requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)
    at = torch.from_numpy(a).requires_grad_(True)
    w = _noise(64, seed=9)
    (lfilter_double_double(x, bt, at) * w).sum().backward()
    grads = [t.grad.clone() for t in (x, bt, at)]
    for t in (x, bt, at):
        t.grad = None
    (lfilter(x, bt, at) * w).sum().backward()
    for g, t in zip(grads, (x, bt, at), strict=True):
        torch.testing.assert_close(g, t.grad, rtol=0, atol=0)


def test_gradcheck():
    b, a = random_stable(np.random.default_rng(4), 2)
    x = _noise(20).requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)
    at = torch.from_numpy(a).requires_grad_(True)
    assert gradcheck(lfilter_double_double, (x, bt, at), eps=1e-6, atol=1e-7, rtol=1e-6)
    xb = torch.randn(2, 1, 16, dtype=torch.float64, requires_grad=True)
    b2 = torch.from_numpy(np.stack([b, 0.5 * b])).requires_grad_(True)
    a2 = torch.from_numpy(np.stack([a, a])).requires_grad_(True)
    assert gradcheck(lfilter_double_double, (xb, b2, a2), eps=1e-6, atol=1e-7, rtol=1e-6)


def test_errors():
    x = _noise(10)
    with pytest.raises(TypeError, match="real"):
        lfilter_double_double(x.to(torch.complex128), [1.0], [1.0])
    with pytest.raises(TypeError, match="b must be real"):
        lfilter_double_double(x, [1.0 + 1j], [1.0])
    with pytest.raises(TypeError, match="a must be a real"):
        lfilter_double_double(x, [1.0], torch.tensor([1.0 + 0j]))
    with pytest.raises(TypeError, match="torch.Tensor"):
        lfilter_double_double(x.numpy(), [1.0], [1.0])
    with pytest.raises(ValueError, match=r"a\[..., 0\]"):
        lfilter_double_double(x, [1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="broadcast"):
        lfilter_double_double(torch.zeros(3, 10, dtype=torch.float64),
                              torch.ones(2, 2, dtype=torch.float64), [1.0])
    with pytest.raises(ValueError, match="NaN"):
        lfilter_double_double(x, [float("nan")], [1.0])
    assert lfilter_double_double(torch.zeros(2, 0), [1.0], [1.0]).shape == (2, 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_other_device_round_trip():
    b, a = king2019_coefficients([2.0], 1.0, 44100.0)
    x = _noise(1000)
    y = lfilter_double_double(x.cuda(), b.cuda(), a.cuda())
    assert y.device.type == "cuda"
    assert torch.equal(y.cpu(), lfilter_double_double(x, b, a))
