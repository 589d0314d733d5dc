"""The fused filter-bank readout ``lfilter_envelope`` against its defining composition."""

import numpy as np
import pytest
import torch

from torch_amt.dsp import use_backend
from torch_amt.dsp.iir import lfilter, lfilter_envelope


def _bank(n_rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(0.05, 2.5, n_rows)
    e0 = np.exp(-w0 / 4)
    a = torch.from_numpy(np.stack([np.ones(n_rows), -e0 * np.exp(1j * w0), 0 * w0], 1))
    b = torch.from_numpy(np.stack([1 - e0, 0.3 * e0, 0 * w0], 1)).to(torch.complex128)
    a[0] = torch.tensor([1.0, -1.6, 0.64], dtype=torch.complex128)  # a real low-pass row
    b[0] = torch.tensor([0.01, 0.02, 0.01], dtype=torch.complex128)
    return b, a


def _composition(x, b, a, index, keep, factor, gain):
    y = lfilter(x[..., index, :], b, a) * gain[:, None]
    return torch.where(keep[:, None], y.real, factor * y.abs())


# a second-order low-pass: the same values whichever kernel (quads or rows) runs it
_PRE = (torch.tensor([0.02, 0.04, 0.02], dtype=torch.float64),
        torch.tensor([1.0, -1.5, 0.6], dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_equals_composition_bit_for_bit(dtype):
    b, a = _bank(7)
    x = torch.randn(2, 3, 500, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    index = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    keep = torch.tensor([True, True, False, True, False, False, False])
    gain = torch.linspace(0.5, 2.0, 7, dtype=torch.float64)
    got = lfilter_envelope(x, b, a, index, keep, 0.7, gain, dtype)
    ref = _composition(x, b, a, index, keep, 0.7, gain).to(dtype)
    assert got.dtype == dtype and got.shape == (2, 7, 500)
    # |.| is sqrt(re² + im²) in the kernel, torch's hypot here: equal up to the last bit
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=4e-16 if dtype == torch.float64
                               else 0, atol=0)
    with use_backend("torch"):
        torch_path = lfilter_envelope(x, b, a, index, keep, 0.7, gain, dtype)
    np.testing.assert_allclose(torch_path.numpy(), ref.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("coefficients_grad", [True, False])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_gradcheck(backend, coefficients_grad):
    b, a = _bank(4, seed=2)
    b.requires_grad_(coefficients_grad)
    a = a.clone().requires_grad_(coefficients_grad)
    x = torch.randn(2, 2, 40, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(3))
    index = torch.tensor([0, 1, 1, 0])
    keep = torch.tensor([True, False, True, False])
    gain = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64)
    with use_backend(backend):
        assert torch.autograd.gradcheck(
            lambda x, b, a: lfilter_envelope(x, b, a, index, keep, 0.7, gain), (x, b, a))


@pytest.fixture
def tiny_groups(monkeypatch):
    """Groups of at most two rows of 2 × 60 float64 samples: every split has several
    kernel groups (and a piece larger than a group is one of its own)."""
    import torch_amt.dsp.iir.api as api
    monkeypatch.setattr(api, "ENVELOPE_GROUP_BYTES", 2 * 2 * 60 * 8)


@pytest.mark.parametrize("split", [[7], [2, 2, 3], [1, 5, 1], [3, 1, 1, 1, 1]])
def test_split_equals_split_output_and_its_gradients(split, tiny_groups):
    b, a = _bank(7, seed=4)
    b = b.clone().requires_grad_()
    a = a.clone().requires_grad_()
    x = torch.randn(2, 3, 60, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(5))
    index = torch.tensor([0, 2, 1, 1, 2, 0, 2])
    keep = torch.tensor([True, False, False, True, False, False, True])
    gain = torch.linspace(0.5, 2.0, 7, dtype=torch.float64)
    whole = lfilter_envelope(x, b, a, index, keep, 0.7, gain)
    pieces = lfilter_envelope(x, b, a, index, keep, 0.7, gain, split=split)
    assert [p.shape for p in pieces] == [(2, n, 60) for n in split]
    for got, ref in zip(pieces, torch.split(whole, split, dim=-2), strict=True):
        assert torch.equal(got, ref)  # rows never interact: the same kernel values
    # gradients with an upstream gradient on some pieces only (the others unused)
    weights = [torch.randn(p.shape, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(i)) for i, p in
               enumerate(pieces)]
    used = range(0, len(split), 2) if len(split) > 1 else [0]
    loss = sum((pieces[i] * weights[i]).sum() for i in used)
    got = torch.autograd.grad(loss, (x, b, a), retain_graph=True)
    ref_loss = sum((p * w).sum() for i, (p, w) in enumerate(
        zip(torch.split(whole, split, dim=-2), weights, strict=True)) if i in used)
    ref = torch.autograd.grad(ref_loss, (x, b, a), retain_graph=True)
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-13, atol=1e-13)
    # sums: expanded (stride-0) gradients, read in place by the kernels
    got = torch.autograd.grad(sum(p.sum() for p in pieces), (x, b, a))
    ref = torch.autograd.grad(whole.sum(), (x, b, a))
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("prefiltered", [False, True])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_split_gradcheck_and_gradgradcheck(backend, prefiltered, tiny_groups):
    b, a = _bank(5, seed=6)
    b.requires_grad_()
    x = torch.randn(2, 2, 30, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(7))
    index = torch.tensor([0, 1, 1, 0, 1])
    keep = torch.tensor([True, False, True, False, False])

    def fn(x, b):
        return tuple(lfilter_envelope(x, b, a, index, keep, 0.7, split=[2, 1, 2],
                                      prefilter=_PRE if prefiltered else None))

    with use_backend(backend):
        assert torch.autograd.gradcheck(fn, (x, b))
        assert torch.autograd.gradgradcheck(fn, (x, b))


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("split", [[2, 2], [3, 0, 2], [6, -1]])
def test_split_must_count_every_row(split, streamed):
    from torch_amt.dsp import streaming

    b, a = _bank(5)
    x = torch.randn(1, 2, 20, dtype=torch.float64)

    def call(chunk):
        return streaming.lfilter_envelope(chunk, b, a, torch.tensor([0, 1, 1, 0, 1]),
                                          torch.zeros(5, dtype=torch.bool), split=split)

    with pytest.raises(ValueError, match="split must hold positive row counts summing to"):
        streaming.stream_call(call, x) if streamed else call(x)


@pytest.mark.parametrize("x_dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("split", [None, [2, 2, 3], [1, 5, 1]])
def test_prefilter_equals_filtering_first_values_and_gradients(split, x_dtype, tiny_groups):
    """``prefilter`` is ``lfilter(x, *prefilter)`` passed as ``x``: the same values bit for
    bit, and the same input gradient (per group, into x's dtype directly), with some
    channels read by several groups (index 2) and one read by none (index 3)."""
    b, a = _bank(7, seed=8)
    x = torch.randn(2, 4, 60, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(9)).to(x_dtype).requires_grad_()
    index = torch.tensor([0, 2, 1, 1, 2, 0, 2])
    keep = torch.tensor([True, False, False, True, False, False, True])
    gain = torch.linspace(0.5, 2.0, 7, dtype=torch.float64)
    got = lfilter_envelope(x, b, a, index, keep, 0.7, gain, torch.float64, split=split,
                           prefilter=_PRE)
    ref = lfilter_envelope(lfilter(x.double(), *_PRE), b, a, index, keep, 0.7, gain,
                           torch.float64, split=split)
    got, ref = ([got] if split is None else got), ([ref] if split is None else ref)
    for g, r in zip(got, ref, strict=True):
        assert torch.equal(g, r)
    weights = [torch.randn(g.shape, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(10 + i))
               for i, g in enumerate(got)]
    g_got, = torch.autograd.grad(sum((g * w).sum() for g, w in zip(got, weights, strict=True)), x)
    g_ref, = torch.autograd.grad(sum((r * w).sum() for r, w in zip(ref, weights, strict=True)), x)
    assert g_got.dtype == x_dtype
    assert torch.all(g_got[:, 3] == 0)
    np.testing.assert_allclose(g_got.double().numpy(), g_ref.double().numpy(),
                               rtol=1e-13 if x_dtype == torch.float64 else 1e-6, atol=1e-15)


def test_prefilter_disjoint_groups_write_x_gradient_directly(tiny_groups):
    """Groups reading disjoint channels (the modulation filterbank's layout) give the
    gradient of filtering first exactly, with one rounding to float32."""
    b, a = _bank(6, seed=11)
    x = torch.randn(3, 3, 60, generator=torch.Generator().manual_seed(12),
                    requires_grad=True)
    index = torch.tensor([0, 0, 1, 1, 2, 2])
    keep = torch.tensor([True, False, True, False, False, True])
    pieces = lfilter_envelope(x, b, a, index, keep, 0.7, split=[2, 2, 2], prefilter=_PRE)
    g_got, = torch.autograd.grad(sum(p.sum() for p in pieces), x)
    x64 = x.detach().double().requires_grad_()
    whole = lfilter_envelope(lfilter(x64, *_PRE), b, a, index, keep, 0.7)
    g_ref, = torch.autograd.grad(whole.sum(), x64)
    assert torch.equal(g_got, g_ref.float())


def test_prefilter_with_a_gradient_is_differentiated():
    b, a = _bank(3, seed=15)
    x = torch.randn(1, 2, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(16))
    pb = _PRE[0].clone().requires_grad_()
    index, keep = torch.tensor([0, 1, 1]), torch.tensor([True, False, True])
    assert torch.autograd.gradcheck(
        lambda pb: lfilter_envelope(x, b, a, index, keep, 0.7, prefilter=(pb, _PRE[1])), (pb,))


def test_prefilter_streamed_equals_whole():
    from torch_amt.dsp import streaming

    b, a = _bank(5, seed=17)
    x = torch.randn(2, 2, 90, dtype=torch.float64, generator=torch.Generator().manual_seed(18))
    index, keep = torch.tensor([0, 1, 1, 0, 1]), torch.tensor([True, False, True, False, True])

    def call(chunk):
        return streaming.lfilter_envelope(chunk, b, a, index, keep, 0.7, split=[2, 3],
                                          prefilter=_PRE)

    whole = call(x)
    state, parts = None, []
    for start in range(0, 90, 25):  # chunks of 25, 25, 25, 15 samples
        out, state = streaming.stream_call(call, x[..., start:start + 25], state)
        parts.append(out)
    for k, w in enumerate(whole):
        streamed = torch.cat([p[k] for p in parts], dim=-1)
        np.testing.assert_allclose(streamed.numpy(), w.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("prefilter", "error", "match"), [
    ((1.0, 2.0), TypeError, "prefilter must be a pair"),
    ((_PRE[0],), TypeError, "prefilter must be a pair"),
    ((_PRE[0].to(torch.complex128), _PRE[1]), TypeError, "prefilter b must be a real"),
    ((_PRE[0], _PRE[1][None]), ValueError, "prefilter a must be a non-empty 1-D"),
    ((_PRE[0], torch.zeros(3, dtype=torch.float64)), ValueError, "prefilter a\\[0\\]"),
])
def test_bad_prefilter_is_rejected(prefilter, error, match):
    b, a = _bank(3)
    with pytest.raises(error, match=match):
        lfilter_envelope(torch.randn(1, 2, 10, dtype=torch.float64), b, a,
                         torch.tensor([0, 1, 1]), torch.zeros(3, dtype=torch.bool),
                         prefilter=prefilter)


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("n_sources", [1, 3])
def test_real_rows_adjoint_equals_composition(order, n_sources):
    """Rows that all read out ``Re`` (a linear map: the adjoint recomputes nothing and
    runs per row, then adds into the sources), many rows per source, as a gammatone
    bank on one signal; more rows than one chunk of the per-row buffer."""
    import torch_amt.dsp.iir.autograd as ag

    rng = np.random.default_rng(order)
    n_rows, n_t = 9, 50
    a = np.concatenate([np.ones((n_rows, 1)), 0.2 * rng.standard_normal((n_rows, order))], 1)
    a = torch.from_numpy(a.astype(complex) * np.exp(0.3j * np.arange(order + 1)))
    b = torch.from_numpy(rng.standard_normal((n_rows, order + 1)) * (1 - 0.5j))
    index = torch.from_numpy(rng.integers(0, n_sources, n_rows))
    keep = torch.ones(n_rows, dtype=torch.bool)
    gain = torch.from_numpy(rng.uniform(0.5, 2.0, n_rows))
    x = torch.randn(2, n_sources, n_t, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(order))
    w = torch.randn(2, n_rows, n_t, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(1))
    calls = []
    original = ag._linear_envelope_backward

    def spy(*args):
        calls.append(args[0].shape)
        return original(*args)

    ag._linear_envelope_backward = spy
    try:
        ag.ROW_ADJOINT_BYTES, saved = 4 * n_t * 8, ag.ROW_ADJOINT_BYTES  # chunks of 4 rows
        got, = torch.autograd.grad((lfilter_envelope(x, b, a, index, keep, 1.0, gain) * w)
                                   .sum(), x)
    finally:
        ag._linear_envelope_backward = original
        ag.ROW_ADJOINT_BYTES = saved
    assert calls, "the Re-only adjoint was not used"
    ref, = torch.autograd.grad((_composition(x, b, a, index, keep, 1.0, gain) * w).sum(), x)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-12, atol=1e-13)
    assert torch.autograd.gradcheck(
        lambda x: lfilter_envelope(x, b, a, index, keep, 1.0, gain), (x,))
