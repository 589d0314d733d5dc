"""The one differentiable IIR kernel of torch_amt: ``lfilter``, ``sosfilt`` and
``lfilter_envelope``.

Every recursive filter in the package goes through :func:`lfilter`, so exactness,
speed and gradients are solved in one place.

* ``lfilter(x, b, a)`` filters ``x (..., T)`` along the last axis with coefficients
  ``b (..., nb)`` and ``a (..., na)`` whose leading axes broadcast against the leading
  axes of ``x``: N rows with N different filters are one call.
* The recursion is MATLAB's/Octave's ``filter``: transposed direct form II, zero
  initial state unless ``zi`` is given, coefficients normalised by ``a[..., 0]``.
  The arithmetic order per sample is Octave's, so AMT's all-pole and FIR filters
  are reproduced bit for bit.
* Real and complex signals and coefficients (float32/64, complex64/128). The output has
  the precision of ``x`` (complex when any operand is complex). Both backends
  accumulate in double precision and round the output once; coefficients keep their own
  precision (float64 coefficients are not rounded to float32 for a float32 signal).
* Backends: on CPU a numba kernel, rows spread over ``torch.get_num_threads()`` threads
  (:mod:`~torch_amt.dsp.iir.threads`; bit-identical for any thread count); on any other
  device (and on
  CPU when forced with :func:`use_backend`) a pure-torch formulation with no
  sample-by-sample loop: the FIR numerator, then one complex one-pole section per root
  of ``a``, each solved in blocks (Toeplitz products) with a log-depth scan across
  blocks. It equals the recursion up to rounding; for ill-conditioned direct forms
  (high order, repeated poles at low frequency) that rounding is amplified just as in
  any other evaluation order, so only the numba kernel reproduces Octave bit for bit.
* Backward is hand-written and exact. With ``y = A⁻¹(B x + d)`` (``d`` = initial
  state) and ``u = A⁻ᴴ g`` (the same recursion run backwards in time on the incoming
  gradient ``g``)::

      dL/dx[t]  = Σ_k conj(b_k) u[t+k]
      dL/db_k   = Σ_t conj(x[t-k]) u[t]
      dL/da_j   = -Σ_t conj(y[t-j]) u[t]      (j ≥ 1; a₀ handled by normalisation)
      dL/dzi[k] = u[k]

  so a backward pass costs about one more filtering pass. Higher derivatives are exact
  too: with ``create_graph=True`` the same adjoint is built from differentiable
  operations (``u`` is again :func:`lfilter`), so Hessians and Hessian-vector products
  go through the same kernels; a plain backward keeps the compiled adjoint.
* Signals are float32, float64, complex64 or complex128 (half precision, integer and
  boolean tensors are refused with a ``TypeError``, meta tensors with a ``ValueError``).

Layout: :mod:`~torch_amt.dsp.iir.api` (the public functions),
:mod:`~torch_amt.dsp.iir.backend` (backend selection), :mod:`~torch_amt.dsp.iir.autograd`
(the autograd functions and the host side of the numba kernels),
:mod:`~torch_amt.dsp.iir.numba_kernels` and :mod:`~torch_amt.dsp.iir.numba_adjoints`
(the compiled forward and backward recursions), :mod:`~torch_amt.dsp.iir.threads` (their
row parallelism) and :mod:`~torch_amt.dsp.iir.torch_kernels`
(the pure-torch path). Compiled kernel calls report to :mod:`torch_amt.dsp.profiling`.
"""

from torch_amt.dsp.iir.api import leading_shape, lfilter, lfilter_envelope, sosfilt
from torch_amt.dsp.iir.backend import BACKENDS, get_backend, resolve_backend, use_backend

__all__ = [
    "BACKENDS",
    "get_backend",
    "leading_shape",
    "lfilter",
    "lfilter_envelope",
    "resolve_backend",
    "sosfilt",
    "use_backend",
]
