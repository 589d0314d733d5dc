"""Parallel solution of a first-order linear recurrence with time-varying coefficients.

``y[t] = alpha[t]·y[t-1] + beta[t]`` is the form every linear recursion of the package
takes once its coefficients are known per sample: the adaptation loop linearised by
Newton's method (:mod:`torch_amt.dsp.adaptloop`), the RC membrane of hair-cell models
(:mod:`torch_amt.dsp.membrane`) and the adjoints of both. On the pure-torch backend (GPUs
without Triton, or CPU when forced) they are solved here without a loop over samples:
a log-depth scan of the affine maps, products and sums only (no division by a running
product, so nothing under- or overflows on long inputs), equal to the sequential
recursion up to rounding.
"""

from __future__ import annotations

import torch

__all__ = ["SCAN_BLOCK", "affine_scan"]

SCAN_BLOCK = 64
"""Block length of :func:`affine_scan` (samples)."""


def affine_scan(alpha: torch.Tensor, beta: torch.Tensor, init: torch.Tensor,
                block: int = SCAN_BLOCK) -> torch.Tensor:
    """``y[t] = alpha[t]·y[t-1] + beta[t]`` for ``t = 0..T-1`` with ``y[-1] = init``.

    Rows ``alpha, beta (N, T)``, ``init (N,)``; returns ``y (N, T)``. Hillis–Steele
    scans of the affine maps inside blocks of ``block`` samples and across the blocks'
    end maps (log depth, products and sums only), then each block is offset by the
    value carried into it."""
    n_rows, n_t = alpha.shape
    if n_t == 0:
        return beta.clone()
    beta = torch.cat([(alpha[:, :1] * init[:, None] + beta[:, :1]), beta[:, 1:]], dim=1)
    alpha = torch.cat([torch.zeros_like(alpha[:, :1]), alpha[:, 1:]], dim=1)
    L = max(1, min(block, n_t))
    n_blocks = -(-n_t // L)
    pad = n_blocks * L - n_t
    A = torch.nn.functional.pad(alpha, (0, pad), value=1.0).reshape(n_rows, n_blocks, L)
    B = torch.nn.functional.pad(beta, (0, pad)).reshape(n_rows, n_blocks, L)
    step = 1
    while step < L:  # inclusive scan of the maps inside each block
        B = torch.cat([B[..., :step], B[..., step:] + A[..., step:] * B[..., :-step]], dim=-1)
        A = torch.cat([A[..., :step], A[..., step:] * A[..., :-step]], dim=-1)
        step *= 2
    a_end, b_end = A[..., -1], B[..., -1]
    step = 1
    while step < n_blocks:  # the blocks' end values: scan of the blocks' maps
        b_end = torch.cat([b_end[:, :step], b_end[:, step:] + a_end[:, step:]
                           * b_end[:, :-step]], dim=1)
        a_end = torch.cat([a_end[:, :step], a_end[:, step:] * a_end[:, :-step]], dim=1)
        step *= 2
    carried = torch.nn.functional.pad(b_end[:, :-1], (1, 0))  # value entering each block
    y = B + A * carried[:, :, None]
    return y.reshape(n_rows, n_blocks * L)[:, :n_t]
