"""The one differentiable IIR kernel of torch_amt: ``lfilter`` and ``sosfilt``.

Every recursive filter in the package goes through :func:`lfilter`, so exactness,
speed and gradients are solved in one place.

* ``lfilter(x, b, a)`` filters ``x (..., T)`` along the last axis with coefficients
  ``b (..., nb)`` and ``a (..., na)`` whose leading axes broadcast against the leading
  axes of ``x``: N rows with N different filters are one call.
* The recursion is MATLAB's/Octave's ``filter``: transposed direct form II, zero
  initial state unless ``zi`` is given, coefficients normalised by ``a[..., 0]``.
  The arithmetic order per sample is Octave's, so AMT's all-pole and FIR filters
  are reproduced bit for bit.
* Real and complex signals and coefficients (float32/64, complex64/128). The
  computation runs in the precision of ``x`` (complex when any operand is complex);
  the CPU kernel accumulates float32/complex64 rows in double precision and rounds
  the output once.
* Backends: on CPU a numba kernel, parallel over rows; on any other device (and on
  CPU when forced with :func:`use_backend`) an exact pure-torch blocked state-space
  formulation (intra-block Toeplitz product + log-depth scan over block states).
* Backward is hand-written and exact. With ``y = A⁻¹(B x + d)`` (``d`` = initial
  state) and ``u = A⁻ᴴ g`` (the same recursion run backwards in time on the incoming
  gradient ``g``)::

      dL/dx[t]  = Σ_k conj(b_k) u[t+k]
      dL/db_k   = Σ_t conj(x[t-k]) u[t]
      dL/da_j   = -Σ_t conj(y[t-j]) u[t]      (j ≥ 1; a₀ handled by normalisation)
      dL/dzi[k] = u[k]

  so a backward pass costs about one more filtering pass.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numba
import numpy as np
import torch

__all__ = ["lfilter", "sosfilt", "use_backend", "get_backend", "BACKENDS"]

BACKENDS = ("auto", "numba", "torch")
_backend = "auto"
_TORCH_BLOCK = 64


def get_backend() -> str:
    """Return the IIR backend currently in force (``'auto'``, ``'numba'`` or ``'torch'``)."""
    return _backend


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Force an IIR backend inside a ``with`` block.

    Parameters
    ----------
    name : {'auto', 'numba', 'torch'}
        ``'auto'`` uses numba for CPU tensors and the pure-torch path elsewhere;
        ``'torch'`` forces the pure-torch path (the one used on GPUs) also on CPU;
        ``'numba'`` requires CPU tensors.
    """
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    previous, _backend = _backend, name
    try:
        yield
    finally:
        _backend = previous


# --------------------------------------------------------------------------- numba kernels


@numba.njit(parallel=True, cache=True)
def _nb_forward(x, b, a, zi, y):  # pragma: no cover - compiled
    """Rows of ``x (N, T)`` through TDF-II filters ``b, a (N, n+1)`` (a[:, 0] == 1)."""
    n_rows, n_t = x.shape
    order = b.shape[1] - 1
    for r in numba.prange(n_rows):
        z = zi[r].copy()
        b0 = b[r, 0]
        for t in range(n_t):
            xt = x[r, t]
            if order == 0:
                y[r, t] = b0 * xt
                continue
            yt = z[0] + b0 * xt
            for i in range(order - 1):
                z[i] = z[i + 1] - a[r, i + 1] * yt + b[r, i + 1] * xt
            z[order - 1] = b[r, order] * xt - a[r, order] * yt
            y[r, t] = yt


@numba.njit(parallel=True, cache=True)
def _nb_backward(g, x, y, b, a, need_x, need_b, need_a, need_zi, real_gx,
                 gx, gx_real, gb, ga, gzi):  # pragma: no cover - compiled
    """Fused adjoint: ``u = A⁻ᴴ g`` backwards in time, then all requested gradients.

    ``b, a`` are in the accumulation dtype; ``g, x, y`` in their own dtypes. The input
    gradient goes to ``gx``, or only its real part to ``gx_real`` when ``real_gx`` (a
    real signal filtered by complex coefficients).
    """
    n_rows, n_t = g.shape
    order = b.shape[1] - 1
    width = order + 1
    for r in numba.prange(n_rows):
        # ring buffer holding u[t], u[t+1], ..., u[t+order]
        ring = np.zeros(width, dtype=b.dtype)
        acc_b = np.zeros(width, dtype=b.dtype)
        acc_a = np.zeros(width, dtype=b.dtype)
        zero = b[r, 0] * 0
        for t in range(n_t - 1, -1, -1):
            ut = zero + g[r, t]
            for j in range(1, width):
                ut -= np.conj(a[r, j]) * ring[(t + j) % width]
            ring[t % width] = ut
            if need_x:
                s = np.conj(b[r, 0]) * ut
                for k in range(1, width):
                    s += np.conj(b[r, k]) * ring[(t + k) % width]
                if real_gx:
                    gx_real[r, t] = s.real
                else:
                    gx[r, t] = s
            if need_b:
                for k in range(min(width, t + 1)):
                    acc_b[k] += np.conj(x[r, t - k]) * ut
            if need_a:
                for j in range(1, min(width, t + 1)):
                    acc_a[j] -= np.conj(y[r, t - j]) * ut
            if need_zi and t < order:
                gzi[r, t] = ut
        if need_b:
            for k in range(width):
                gb[r, k] = acc_b[k]
        if need_a:
            for j in range(width):
                ga[r, j] = acc_a[j]


def _acc_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(np.complex128) if dtype.is_complex else np.dtype(np.float64)


def _np(t: torch.Tensor, dtype: np.dtype | None = None) -> np.ndarray:
    arr = t.detach().resolve_conj().contiguous().numpy()
    return arr if dtype is None else np.ascontiguousarray(arr, dtype=dtype)


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return torch.empty(0, dtype=dtype).numpy().dtype


def _numba_forward(x, b, a, zi):
    acc = _acc_dtype(b.dtype)
    n = b.shape[-1] - 1
    zi_np = np.zeros((x.shape[0], n), dtype=acc) if zi is None else _np(zi, acc)
    y = np.empty(tuple(x.shape), dtype=_numpy_dtype(b.dtype))
    _nb_forward(_np(x), _np(b, acc), _np(a, acc), zi_np, y)
    return torch.from_numpy(y)


def _numba_backward(g, x, y, b, a, needs):
    acc = _acc_dtype(b.dtype)
    n_rows, n_t = g.shape
    n = b.shape[-1] - 1
    real_gx = needs[0] and g.is_complex() and not x.is_complex()
    gx = np.empty((n_rows, n_t) if needs[0] and not real_gx else (1, 1),
                  dtype=_numpy_dtype(g.dtype))
    gx_real = np.empty((n_rows, n_t) if real_gx else (1, 1), dtype=_numpy_dtype(x.dtype))
    gb = np.zeros((n_rows, n + 1) if needs[1] else (1, 1), dtype=acc)
    ga = np.zeros((n_rows, n + 1) if needs[2] else (1, 1), dtype=acc)
    gzi = np.zeros((n_rows, max(n, 1)) if needs[3] else (1, 1), dtype=acc)
    _nb_backward(_np(g), _np(x), _np(y), _np(b, acc), _np(a, acc),
                 needs[0], needs[1], needs[2], needs[3], real_gx, gx, gx_real, gb, ga, gzi)
    return [torch.from_numpy(arr) if flag else None
            for flag, arr in zip(needs, (gx_real if real_gx else gx, gb, ga, gzi[:, :n]),
                                 strict=True)]


# --------------------------------------------------------------------------- torch kernels


def _torch_forward(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor,
                   zi: torch.Tensor | None, block: int = _TORCH_BLOCK) -> torch.Tensor:
    """Exact blocked state-space evaluation of the TDF-II recursion (pure torch).

    The signal is cut into blocks of ``L`` samples. Inside a block the output is the
    response to the block's input (a product with the Toeplitz matrix of the first
    ``L`` impulse-response taps, exact) plus the response to the state at the block
    start. The block-start states follow ``s[k+1] = Fᴸ s[k] + R x_k``, a linear
    recurrence evaluated by a Hillis–Steele scan in ``log2(K)`` steps.
    """
    n_rows, n_t = x.shape
    n = b.shape[-1] - 1
    if n == 0:
        return b[:, :1] * x
    dtype, device = x.dtype, x.device
    L = max(1, min(block, n_t))
    n_blocks = -(-n_t // L)
    # companion matrix of the TDF-II state update: z' = F z + G x, y = z[0] + b0 x
    F = torch.zeros(n_rows, n, n, dtype=dtype, device=device)
    F[:, :, 0] = -a[:, 1:]
    if n > 1:
        idx = torch.arange(n - 1, device=device)
        F[:, idx, idx + 1] = 1
    G = b[:, 1:] - a[:, 1:] * b[:, :1]
    # V[s] = F^s G (s = 0..L-1) and O[t] = e0ᵀ F^t (t = 0..L-1)
    V = [G]
    O = [torch.zeros(n_rows, n, dtype=dtype, device=device)]
    O[0][:, 0] = 1
    for _ in range(L - 1):
        V.append(torch.einsum("rij,rj->ri", F, V[-1]))
        O.append(torch.einsum("ri,rij->rj", O[-1], F))
    V = torch.stack(V, dim=1)  # (N, L, n)
    O = torch.stack(O, dim=1)  # (N, L, n)
    h = torch.cat([b[:, :1], V[:, : L - 1, 0]], dim=1)  # impulse response, (N, L)
    tt = torch.arange(L, device=device)
    lag = tt[:, None] - tt[None, :]
    zero = torch.zeros((), dtype=dtype, device=device)
    toep = torch.where(lag >= 0, h[:, lag.clamp(min=0)], zero)
    R = V.flip(1)  # R[:, s] = F^(L-1-s) G
    X = torch.nn.functional.pad(x, (0, n_blocks * L - n_t)).reshape(n_rows, n_blocks, L)
    W = torch.einsum("rks,rsi->rki", X, R)  # state contribution of each block, (N, K, n)
    P = torch.einsum("rij,rjk->rik", F, torch.linalg.matrix_power(F, L - 1)) if L > 1 else F
    if zi is not None:
        W = W.clone()
        W[:, 0] = W[:, 0] + torch.einsum("rij,rj->ri", P, zi)
    # inclusive scan: S_end[k] = Σ_{j≤k} P^{k-j} W[j]
    Q, d = P, 1
    while d < n_blocks:
        W = torch.cat([W[:, :d], W[:, d:] + torch.einsum("rij,rkj->rki", Q, W[:, :-d])], dim=1)
        Q = Q @ Q
        d *= 2
    s0 = zi if zi is not None else torch.zeros(n_rows, n, dtype=dtype, device=device)
    S = torch.cat([s0[:, None], W[:, :-1]], dim=1)  # block-start states, (N, K, n)
    Y = torch.einsum("rts,rks->rkt", toep, X) + torch.einsum("rti,rki->rkt", O, S)
    return Y.reshape(n_rows, n_blocks * L)[:, :n_t]


def _torch_backward(g, x, y, b, a, needs):
    n = b.shape[-1] - 1
    n_t = g.shape[-1]
    ones = torch.zeros_like(a)
    ones[:, 0] = 1
    u = _torch_forward(g.flip(-1), ones, a.conj(), None).flip(-1)
    gx = gb = ga = gzi = None
    if needs[0]:
        up = torch.nn.functional.pad(u, (0, n))
        gx = sum(b[:, k : k + 1].conj() * up[:, k : k + n_t] for k in range(n + 1))
    if needs[1]:
        gb = torch.stack(
            [(x[:, : n_t - k].conj() * u[:, k:]).sum(-1) if k < n_t else u.new_zeros(u.shape[0])
             for k in range(n + 1)], dim=-1)
    if needs[2]:
        ga = torch.stack(
            [u.new_zeros(u.shape[0])] + [
                -(y[:, : n_t - j].conj() * u[:, j:]).sum(-1) if j < n_t else u.new_zeros(u.shape[0])
                for j in range(1, n + 1)], dim=-1)
    if needs[3]:
        gzi = torch.nn.functional.pad(u[:, :n], (0, max(0, n - n_t)))
    return [gx, gb, ga, gzi]


def _wide(t: torch.Tensor, complex_: bool) -> torch.Tensor:
    """``t`` in double precision (complex if ``complex_``).

    The torch path accumulates single-precision rows in double precision, as the numba
    kernel does, so both backends agree and high-order filters keep float32 accuracy."""
    return t.to(torch.complex128 if complex_ else torch.float64)


def _cast_grads(grads: list, x: torch.Tensor, b: torch.Tensor) -> tuple:
    """Gradients back to the dtypes of ``x`` (real part for a real signal) and ``b, a``."""
    gx, gb, ga, gzi = grads
    if gx is not None:
        gx = (gx.real if gx.is_complex() and not x.is_complex() else gx).to(x.dtype)
    return (gx, *(None if t is None else t.to(b.dtype) for t in (gb, ga, gzi)))


# --------------------------------------------------------------------------- autograd


def _resolve_backend(device: torch.device) -> str:
    if _backend == "auto":
        return "numba" if device.type == "cpu" else "torch"
    if _backend == "numba" and device.type != "cpu":
        raise RuntimeError("the numba IIR backend runs on CPU tensors only")
    return _backend


class _LFilterRows(torch.autograd.Function):
    """Rows ``x (N, T)`` through ``b, a (N, n+1)`` with ``a[:, 0] == 1``.

    ``b``, ``a`` (and ``zi``) share the compute dtype; ``x`` has the same precision and
    may be real while the coefficients are complex."""

    @staticmethod
    def forward(ctx, x, b, a, zi):
        backend = _resolve_backend(x.device)
        if backend == "numba":
            y = _numba_forward(x, b, a, zi)
        else:
            cplx = b.is_complex()
            y = _torch_forward(_wide(x, cplx), _wide(b, cplx), _wide(a, cplx),
                               None if zi is None else _wide(zi, cplx)).to(b.dtype)
        ctx.backend = backend
        ctx.has_zi = zi is not None
        ctx.save_for_backward(x, b, a, y)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x, b, a, y = ctx.saved_tensors
        needs = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2],
                 ctx.has_zi and ctx.needs_input_grad[3]]
        g = g.contiguous()
        if ctx.backend == "numba":
            grads = _numba_backward(g, x, y, b, a, needs)
        else:
            cplx = b.is_complex()
            grads = _torch_backward(*(_wide(t, cplx) for t in (g, x, y, b, a)), needs)
        return _cast_grads(grads, x, b)


# --------------------------------------------------------------------------- public API


def _as_coefficients(c, name: str, like: torch.Tensor) -> torch.Tensor:
    if not isinstance(c, torch.Tensor):
        arr = np.asarray(c)
        if arr.dtype.kind not in "fciub":
            raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
        c = torch.as_tensor(arr, device=like.device)
        if not (c.is_floating_point() or c.is_complex()):
            c = c.to(torch.float64)
    elif not (c.is_floating_point() or c.is_complex()):
        raise TypeError(f"{name} must be a floating-point or complex tensor, got {c.dtype}")
    if c.ndim == 0:
        c = c.reshape(1)
    if c.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one coefficient along its last axis")
    if c.device != like.device:
        raise ValueError(f"{name} is on {c.device} but x is on {like.device}")
    if c.device.type == "cpu" and not bool(torch.isfinite(c).all()):
        raise ValueError(f"{name} contains NaN or Inf coefficients")
    return c


def _compute_dtype(x: torch.Tensor, *coeffs: torch.Tensor) -> torch.dtype:
    complex_ = x.is_complex() or any(c.is_complex() for c in coeffs)
    double = x.dtype in (torch.float64, torch.complex128)
    if complex_:
        return torch.complex128 if double else torch.complex64
    return torch.float64 if double else torch.float32


def lfilter(x: torch.Tensor, b, a, zi: torch.Tensor | None = None) -> torch.Tensor:
    """Filter ``x`` along its last axis with the rational transfer function ``b / a``.

    Computes what MATLAB's ``filter(b, a, x)`` and ``scipy.signal.lfilter(b, a, x)``
    compute (transposed direct form II), batched over rows and differentiable.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal, real or complex floating point. Time is the last axis.
    b : Tensor or array_like, shape (..., nb)
        Numerator coefficients. Leading axes broadcast against the leading axes of
        ``x`` (one filter per row is one call).
    a : Tensor or array_like, shape (..., na)
        Denominator coefficients; ``a[..., 0]`` must be non-zero (the filter is
        normalised by it, differentiably).
    zi : Tensor, shape (..., max(na, nb) - 1), optional
        Initial state in SciPy's ``lfilter`` convention (transposed direct form II
        state of the normalised filter). Default: zero initial state, like MATLAB.

    Returns
    -------
    Tensor, shape (broadcast leading shape, T)
        Filtered signal, in the precision of ``x`` (complex if any operand is).

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point/complex tensor or coefficients are not numeric.
    ValueError
        On non-broadcastable shapes, ``a[..., 0] == 0``, NaN/Inf coefficients, or a
        wrong ``zi`` shape.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(
            f"x must be a floating-point or complex tensor, got {x.dtype}; "
            "convert integer audio explicitly, e.g. x.to(torch.float32) / 32768"
        )
    if x.ndim == 0:
        raise ValueError("x must have at least one (time) axis, got a 0-d tensor")
    b = _as_coefficients(b, "b", x)
    a = _as_coefficients(a, "a", x)
    if a.device.type == "cpu" and bool((a[..., 0] == 0).any()):
        raise ValueError("a[..., 0] must be non-zero (the filter is normalised by it)")
    dtype = _compute_dtype(x, b, a)
    # a real signal stays real (the kernels read it as is); coefficients take the
    # compute dtype, complex if any operand is complex
    x = x.to(dtype if x.is_complex() else dtype.to_real())
    b, a = b.to(dtype), a.to(dtype)
    try:
        lead = torch.broadcast_shapes(x.shape[:-1], b.shape[:-1], a.shape[:-1])
    except RuntimeError as err:
        raise ValueError(
            f"leading axes of x {tuple(x.shape[:-1])}, b {tuple(b.shape[:-1])} and "
            f"a {tuple(a.shape[:-1])} do not broadcast"
        ) from err
    n_t = x.shape[-1]
    order = max(a.shape[-1], b.shape[-1]) - 1
    a0 = a[..., :1]
    b = torch.nn.functional.pad(b / a0, (0, order + 1 - b.shape[-1]))
    a = torch.nn.functional.pad(a / a0, (0, order + 1 - a.shape[-1]))
    if zi is not None:
        if not isinstance(zi, torch.Tensor):
            zi = torch.as_tensor(np.asarray(zi), device=x.device)
        if zi.shape[-1] != order:
            raise ValueError(f"zi must have {order} states along its last axis, got shape "
                             f"{tuple(zi.shape)}")
        zi = zi.to(dtype)
        try:
            lead = torch.broadcast_shapes(lead, zi.shape[:-1])
        except RuntimeError as err:
            raise ValueError(f"leading axes of zi {tuple(zi.shape[:-1])} do not broadcast "
                             f"with {tuple(lead)}") from err
    n_rows = math.prod(lead)
    if n_t == 0 or n_rows == 0:
        return x.new_zeros(*lead, n_t)
    xr = x.expand(*lead, n_t).reshape(n_rows, n_t)
    br = b.expand(*lead, order + 1).reshape(n_rows, order + 1)
    ar = a.expand(*lead, order + 1).reshape(n_rows, order + 1)
    zr = None if zi is None else zi.expand(*lead, order).reshape(n_rows, order)
    if order == 0:
        return (br * xr).reshape(*lead, n_t)
    y = _LFilterRows.apply(xr, br, ar, zr)
    return y.reshape(*lead, n_t)


def sosfilt(x: torch.Tensor, sos, zi: torch.Tensor | None = None) -> torch.Tensor:
    """Filter ``x`` through a cascade of second-order sections (``scipy.signal.sosfilt``).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal.
    sos : Tensor or array_like, shape (..., n_sections, 6)
        Sections ``[b0, b1, b2, a0, a1, a2]``; leading axes broadcast against ``x``.
    zi : Tensor, shape (..., n_sections, 2), optional
        Initial state of each section (SciPy convention). Default zero.

    Returns
    -------
    Tensor, shape (broadcast leading shape, T)
    """
    sos = _as_coefficients(sos, "sos", x) if isinstance(x, torch.Tensor) else sos
    if sos.ndim < 2 or sos.shape[-1] != 6:
        raise ValueError(f"sos must have shape (..., n_sections, 6), got {tuple(sos.shape)}")
    if zi is not None and (zi.ndim < 2 or zi.shape[-2:] != (sos.shape[-2], 2)):
        raise ValueError(f"zi must have shape (..., {sos.shape[-2]}, 2), got {tuple(zi.shape)}")
    y = x
    for k in range(sos.shape[-2]):
        section = sos[..., k, :]
        y = lfilter(y, section[..., :3], section[..., 3:],
                    None if zi is None else zi[..., k, :])
    return y
