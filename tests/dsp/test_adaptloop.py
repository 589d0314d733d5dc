"""The adaptation-loop kernel: exact AMT arithmetic, backends, hand-written adjoint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from torch_amt.dsp.adaptloop import adaptloop_recurrence
from torch_amt.dsp.iir import use_backend


def _reference_loop(x, a1, b0, s0, factor, expfac, offset, limited):
    """Plain-Python transcription of AMT's comp_adaptloop.m inner loop (one row)."""
    state = list(s0)
    out = []
    for value in x:
        tmp = value
        for j in range(len(a1)):
            tmp = tmp / state[j]
            if limited and tmp > 1:
                tmp = factor[j] / (1 + math.exp(expfac[j] * (tmp - 1))) - offset[j]
            state[j] = a1[j] * state[j] + b0[j] * tmp
        out.append(tmp)
    return out


def _coefficients(n_rows: int, fs: float = 4000.0, limit: float = 4.0):
    tau = torch.tensor([0.005, 0.05, 0.2], dtype=torch.float64)
    a1 = torch.exp(-1 / (tau * fs)).expand(n_rows, -1)
    b0 = 1 - a1
    minlvl = torch.tensor([1e-5, 1e-4, 2e-7][:n_rows], dtype=torch.float64)[:, None]
    s0 = minlvl ** (1 / 2 ** torch.arange(1, 4, dtype=torch.float64))
    maxvalue = (1 - s0 * s0) * limit - 1
    return [a1, b0, s0, 2 * maxvalue, -2 / maxvalue, maxvalue - 1]


def _input(n_rows: int, n_t: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n_rows, n_t, generator=g, dtype=torch.float64) * 0.01 + 1e-3
    x[:, n_t // 4: n_t // 2] *= 50  # onset: the limiter engages
    return x


@pytest.mark.parametrize("limited", [True, False])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_forward_matches_plain_loop(backend, limited):
    x = _input(3, 200)
    coeffs = _coefficients(3)
    with use_backend(backend):
        y = adaptloop_recurrence(x, *coeffs, limited)
    ref = np.array([_reference_loop(x[r].tolist(), *[c[r].tolist() for c in coeffs], limited)
                    for r in range(3)])
    if backend == "numba":  # same libm exp, same order: bit-identical
        assert np.array_equal(y.numpy(), ref)
    else:  # torch.exp may differ from libm by an ulp
        np.testing.assert_allclose(y.numpy(), ref, rtol=1e-13, atol=0)


@pytest.mark.parametrize("limited", [True, False])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_gradcheck_all_inputs(backend, limited):
    x = _input(2, 24).requires_grad_()
    coeffs = [c.detach().clone().requires_grad_() for c in _coefficients(2)]
    if not limited:  # the limiter constants are unused then (zero gradient)
        coeffs = coeffs[:3] + [c.detach() for c in coeffs[3:]]
    with use_backend(backend):
        assert torch.autograd.gradcheck(
            lambda *a: adaptloop_recurrence(*a, limited), (x, *coeffs), atol=1e-6)


def test_backends_agree_on_gradients():
    x = _input(3, 120, seed=4).requires_grad_()
    coeffs = [c.detach().clone().requires_grad_() for c in _coefficients(3)]
    grads = {}
    for backend in ("numba", "torch"):
        with use_backend(backend):
            y = adaptloop_recurrence(x, *coeffs, True)
            grads[backend] = torch.autograd.grad((y * torch.linspace(-1, 1, 120)).sum(),
                                                 (x, *coeffs))
    for a, b in zip(grads["numba"], grads["torch"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_input_gradient_alone_equals_it_with_parameter_gradients(dtype):
    """Without parameter gradients the adjoint skips their sums over time: the input
    gradient must be the same numbers (and read a float32 gradient, write a float32
    one, without losing the double-precision adjoint)."""
    x = _input(3, 150, seed=5).to(dtype)
    weight = torch.linspace(-1, 2, 150, dtype=torch.float64)
    grads = []
    for with_params in (False, True):
        xg = x.clone().requires_grad_()
        coeffs = [c.detach().clone().requires_grad_(with_params) for c in _coefficients(3)]
        y = adaptloop_recurrence(xg, *coeffs, True, dtype=dtype)
        grads.append(torch.autograd.grad((y * weight.to(dtype)).sum(), xg)[0])
    assert grads[0].dtype == dtype
    assert torch.equal(grads[0], grads[1])
    if dtype == torch.float32:  # the float64 adjoint, rounded once
        x64 = x.double().requires_grad_()
        y64 = adaptloop_recurrence(x64, *_coefficients(3), True)
        ref = torch.autograd.grad((y64 * weight.float().double()).sum(), x64)[0]
        torch.testing.assert_close(grads[0].double(), ref, rtol=1e-6, atol=1e-9)


def test_no_state_stored_without_grad_and_float32():
    x = _input(2, 50).float()
    y = adaptloop_recurrence(x, *_coefficients(2), True)
    assert y.dtype == torch.float64 and not y.requires_grad
    ref = adaptloop_recurrence(x.double(), *_coefficients(2), True)
    assert torch.equal(y, ref)  # float32 rows run in float64


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        adaptloop_recurrence(torch.rand(10), *_coefficients(1), True)
    coeffs = _coefficients(2)
    coeffs[0] = coeffs[0][:, :2]
    with pytest.raises(ValueError, match="same shape"):
        adaptloop_recurrence(torch.rand(2, 10), *coeffs, True)
