"""Second (and higher) derivatives through the custom autograd functions of ``torch_amt``.

Issue #19: the hand-written backward passes were not differentiable, and
``once_differentiable`` does not catch ``torch.autograd.grad``/``hessian`` (its error
node hangs off detached copies, so the engine never reaches it): Hessians came out as
silent zeros. Every ``torch.autograd.Function`` of the package now computes an exact
double backward; these tests compare ``torch.autograd.functional.hessian`` with central
finite differences of the (first-order, fast-kernel) gradient, relative 1e-6, on both
backends. ``gradgradcheck`` alone is not enough: its absolute tolerance passes a zero
Hessian of small outputs.

All parameters are real float64 vectors (complex coefficients are built from real and
imaginary parts), so that ``hessian`` and the finite differences see the same function.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import pytest
import torch
from torch.autograd import gradgradcheck

import torch_amt
from torch_amt.dsp import lfilter, lfilter_double_double, lfilter_envelope, use_backend
from torch_amt.dsp.adaptloop import _AdaptLoopRows, adaptloop_recurrence
from torch_amt.dsp.iir.autograd import _LFilterEnvelope, _LFilterRows
from torch_amt.dsp.membrane import _Membrane, membrane_potential
from torch_amt.functional.drnl import _BrokenStick, broken_stick

BACKENDS = ["numba", "torch"]
F64 = torch.float64
RTOL = 1e-6

#: Every autograd.Function of the package and the test below that covers it; a new
#: Function must be added here (and get an exact double backward or a clear error).
COVERED = {
    _LFilterRows: "test_lfilter_hessian_matches_finite_differences",
    _LFilterEnvelope: "test_lfilter_envelope_hessian_matches_finite_differences",
    _AdaptLoopRows: "test_adaptloop_hessian_matches_finite_differences",
    _Membrane: "test_membrane_second_derivative_is_a_clear_error",
    _BrokenStick: "test_broken_stick_hessian_matches_finite_differences",
}


def _split(theta: torch.Tensor, shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    out, start = [], 0
    for shape in shapes:
        n = int(torch.Size(shape).numel())
        out.append(theta[start : start + n].reshape(shape))
        start += n
    return out


def _gradient(loss: Callable, theta: torch.Tensor) -> torch.Tensor:
    """First-order gradient (``create_graph=False``: the fast adjoint kernels)."""
    theta = theta.detach().requires_grad_()
    return torch.autograd.grad(loss(theta), theta)[0]


def _check_hessian(loss: Callable, theta: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Exact Hessian of ``loss`` at ``theta`` vs central differences of its gradient."""
    exact = torch.autograd.functional.hessian(loss, theta)
    columns = []
    for i in range(theta.numel()):
        step = torch.zeros_like(theta)
        step[i] = eps
        columns.append((_gradient(loss, theta + step) - _gradient(loss, theta - step))
                       / (2 * eps))
    reference = torch.stack(columns, dim=1)
    scale = float(reference.abs().max())
    assert scale > 0, "the finite-difference Hessian is zero: choose a non-quadratic test"
    err = float((exact - reference).abs().max()) / scale
    assert err <= RTOL, f"Hessian relative error {err:.2e}"
    return exact


def test_every_autograd_function_is_covered():
    """Walk the whole package: each ``torch.autograd.Function`` subclass defined in
    ``torch_amt`` must be in :data:`COVERED`."""
    for info in pkgutil.walk_packages(torch_amt.__path__, "torch_amt."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    found, stack = set(), list(torch.autograd.Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("torch_amt"):
            found.add(cls)
    assert found == set(COVERED), found ^ set(COVERED)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("complex_", [False, True])
def test_lfilter_hessian_matches_finite_differences(backend, complex_):
    """Hessian of ``sum(|y|³)`` in the signal, both coefficient vectors (``a[0] ≠ 1``: the
    normalisation is differentiated too) and the initial state, jointly."""
    gen = torch.Generator().manual_seed(1)
    width = 2 if complex_ else 1
    shapes = [(2, 9), (3, width), (2, width), (2, 2, width)]  # x, b, a[1:], zi

    def loss(theta):
        x, b, a, zi = _split(theta, shapes)
        b, a, zi = (torch.view_as_complex(t.contiguous()) if complex_ else t[..., 0]
                    for t in (b, a, zi))
        a = torch.cat([torch.full_like(a[:1], 1.3), a])
        with use_backend(backend):
            y = lfilter(x, b, a, zi)
        return (y.abs() ** 3).sum()

    theta = 0.4 * torch.randn(sum(torch.Size(s).numel() for s in shapes), dtype=F64,
                              generator=gen)
    hessian = _check_hessian(loss, theta)
    assert float(hessian.abs().max()) > 0.1


@pytest.mark.parametrize("backend", BACKENDS)
def test_lfilter_envelope_hessian_matches_finite_differences(backend):
    """The fused filterbank readout (real-part and magnitude rows, a gain, a batch)."""
    gen = torch.Generator().manual_seed(2)
    index = torch.tensor([0, 1, 1])
    keep_real = torch.tensor([True, False, True])
    gain = torch.tensor([1.0, 0.5, 2.0], dtype=F64)
    shapes = [(2, 2, 10), (3, 2, 2), (3, 1, 2)]  # x, b (complex), a[1:] (complex)

    def loss(theta):
        x, b, a = _split(theta, shapes)
        b, a = torch.view_as_complex(b.contiguous()), torch.view_as_complex(a.contiguous())
        a = torch.cat([torch.ones_like(a), a], dim=1)
        with use_backend(backend):
            y = lfilter_envelope(x, b, a, index, keep_real, 2.0, gain)
        return (y ** 3).sum()

    theta = 0.4 * torch.randn(sum(torch.Size(s).numel() for s in shapes), dtype=F64,
                              generator=gen)
    theta[:40] += 1.0  # keep the magnitude rows away from |y| = 0
    hessian = _check_hessian(loss, theta)
    assert float(hessian.abs().max()) > 0.1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("limited", [False, True])
def test_adaptloop_hessian_matches_finite_differences(backend, limited):
    """The adaptation-loop recurrence: input, one-pole coefficients, initial states and
    the limiter constants (inputs with ``q > 1``, so that the limiter is active)."""
    gen = torch.Generator().manual_seed(3)
    n_rows, n_t, n_loops = 2, 10, 2
    base = torch.tensor([0.9, 0.1, 0.3, 18.0, -2 / 9, 8.0], dtype=F64)
    floor = torch.full((n_rows,), 1e-5, dtype=F64)

    def loss(theta):
        x = theta[: n_rows * n_t].reshape(n_rows, n_t)
        params = theta[n_rows * n_t :].reshape(6, n_rows, n_loops).unbind(0)
        with use_backend(backend):
            y = adaptloop_recurrence(x, *params, limited, floor=floor,
                                     corr=torch.full((n_rows,), 0.1, dtype=F64),
                                     mult=torch.full((n_rows,), 3.0, dtype=F64))
        return (y ** 3).sum() / 100

    x = 0.1 + 2 * torch.rand(n_rows * n_t, dtype=F64, generator=gen)
    params = base[:, None] * (1 + 0.05 * torch.rand(6, n_rows * n_loops, dtype=F64,
                                                    generator=gen))
    hessian = _check_hessian(loss, torch.cat([x, params.reshape(-1)]))
    assert float(hessian.abs().max()) > 0.1


def test_lfilter_double_double_hessian_is_the_float64_one():
    """The double-double filter is straight-through to :func:`lfilter`: its Hessian
    is exact, and that of the float64 recursion."""
    gen = torch.Generator().manual_seed(4)
    b = torch.tensor([0.4, 0.2], dtype=F64)

    def loss_dd(theta):
        return (lfilter_double_double(theta[:12].reshape(2, 6), b,
                                      torch.cat([theta.new_ones(1), theta[12:]])) ** 3).sum()

    def loss_64(theta):
        return (lfilter(theta[:12].reshape(2, 6), b,
                        torch.cat([theta.new_ones(1), theta[12:]])) ** 3).sum()

    theta = torch.cat([torch.randn(12, dtype=F64, generator=gen),
                       torch.tensor([-0.5, 0.2], dtype=F64)])
    hessian = _check_hessian(loss_dd, theta)
    torch.testing.assert_close(hessian, torch.autograd.functional.hessian(loss_64, theta),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lfilter_hvp_and_third_derivative(backend):
    """``hvp`` agrees with the Hessian, and the third derivative (the Hessian of a
    Hessian-vector product component) with finite differences: every order goes
    through the same kernels."""
    gen = torch.Generator().manual_seed(5)
    theta = 0.5 * torch.randn(10, dtype=F64, generator=gen)
    v = torch.randn(10, dtype=F64, generator=gen)

    def loss(theta):
        with use_backend(backend):
            y = lfilter(theta[:8].reshape(1, 8), theta[8:9], torch.cat([theta.new_ones(1),
                                                                        theta[9:]]))
        return (y ** 4).sum()

    _, hvp = torch.autograd.functional.hvp(loss, theta, v)
    torch.testing.assert_close(hvp, torch.autograd.functional.hessian(loss, theta) @ v,
                               rtol=1e-12, atol=1e-12)

    def directional(t):  # v·∇L, whose Hessian holds third derivatives of L
        t = t if t.requires_grad else t.requires_grad_()
        return torch.autograd.grad(loss(t), t, create_graph=True)[0] @ v

    third = torch.autograd.functional.hessian(directional, theta)
    eps = 1e-5
    columns = [(torch.autograd.functional.hessian(loss, theta + eps * e) -
                torch.autograd.functional.hessian(loss, theta - eps * e)) @ v / (2 * eps)
               for e in torch.eye(10, dtype=F64)]
    reference = torch.stack(columns, dim=1)
    assert float((third - reference).abs().max() / reference.abs().max()) <= RTOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_order_values_with_create_graph(backend):
    """With ``create_graph=True`` the first-order gradients are those of the fast
    kernels (to rounding), and with ``create_graph=False`` they carry no graph."""
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(3, 50, dtype=F64, generator=gen, requires_grad=True)
    b = torch.tensor([0.3, 0.2 + 0.1j], dtype=torch.complex128, requires_grad=True)
    a = torch.tensor([1.1, -0.7 + 0.2j], dtype=torch.complex128, requires_grad=True)
    with use_backend(backend):
        y = lfilter(x, b, a)
        fast = torch.autograd.grad(y.abs().sum(), (x, b, a))
        graph = torch.autograd.grad(lfilter(x, b, a).abs().sum(), (x, b, a),
                                    create_graph=True)
    assert not any(t.requires_grad for t in fast)
    assert all(t.requires_grad for t in graph)
    for f, g in zip(fast, graph, strict=True):
        torch.testing.assert_close(g.detach(), f, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradgradcheck_real_signal_complex_coefficients(backend):
    """A real signal through complex coefficients (the real part of the input gradient
    is taken inside the backward) passes gradgradcheck."""
    x = torch.randn(2, 12, generator=torch.Generator().manual_seed(7)).double()
    b = torch.tensor([0.5 + 0.1j, 0.2j], dtype=torch.complex128, requires_grad=True)
    a = torch.tensor([1.0, -0.6 + 0.3j], dtype=torch.complex128, requires_grad=True)
    with use_backend(backend):
        assert gradgradcheck(lambda b, a: lfilter(x, b, a).abs() ** 2, (b, a))


def test_lfilter_envelope_gain_gradient_is_not_dropped():
    """The fused numba readout treats the gain as a constant; a gain that requires a
    gradient goes through the composition instead, so its gradient (first order and
    higher) is that of the torch backend, not a silent zero."""
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(2, 12, dtype=F64, generator=gen)
    b = torch.tensor([[0.3, 0.1j], [0.2, 0.1]], dtype=torch.complex128)
    a = torch.tensor([[1.0, -0.5 + 0.1j], [1.0, -0.3]], dtype=torch.complex128)
    gains = {}
    for backend in BACKENDS:
        gain = torch.tensor([0.7, 1.3], dtype=F64, requires_grad=True)
        with use_backend(backend):
            y = lfilter_envelope(x, b, a, torch.tensor([0, 1]), torch.tensor([False, True]),
                                 2.0, gain)
        gains[backend] = torch.autograd.grad((y ** 2).sum(), gain)[0]
    assert float(gains["numba"].abs().min()) > 0
    torch.testing.assert_close(gains["numba"], gains["torch"], rtol=1e-12, atol=0)


def test_membrane_second_derivative_is_a_clear_error():
    """Paulick2024's RC membrane has an exact first-order adjoint only: asking for a
    second derivative raises instead of returning a silent zero."""
    g = torch.rand(2, 30, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    g = (1e-9 * (1 + g)).requires_grad_(True)
    y = membrane_potential(g, -0.06, 0.1, [1e-9], [-0.07], 1 / 44100, 1e-11)
    (grad,) = torch.autograd.grad(y.square().sum(), g, create_graph=True)
    with pytest.raises(RuntimeError, match="twice|not have been used|does not require grad"):
        torch.autograd.grad(grad.sum(), g)


@pytest.mark.parametrize("d", [1.0, 1.3])
def test_broken_stick_hessian_matches_finite_differences(d):
    """The DRNL broken stick in ``y`` and its per-channel ``a``, ``b``, ``c``, with
    samples on both segments (none at a tie or at 0, where it is not twice
    differentiable)."""
    g = torch.Generator().manual_seed(3)
    y = torch.tensor([[1e-4, -2e-3, 5e-2, -8e-1, 3e-5, -5e-6]], dtype=F64)
    shapes = [(1, 6), (1, 1), (1, 1), (1, 1)]
    theta = torch.cat([y.reshape(-1), torch.tensor([300.0, 0.06, 0.25], dtype=F64)])
    weight = torch.randn(1, 6, generator=g, dtype=F64)

    def loss(t: torch.Tensor) -> torch.Tensor:
        yy, a, b, c = _split(t, shapes)
        return (broken_stick(yy, a, b, c, d) * weight).sum()

    _check_hessian(loss, theta, eps=1e-9)
