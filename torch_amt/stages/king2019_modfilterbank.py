"""The King et al. (2019) modulation filterbank (AMT ``king2019_modfilterbank``) as modules.

* :class:`King2019ModulationFilterbank` — AMT 1.4.0 ``king2019_modfilterbank`` (the
  recursion, AMT's float64 direct form by default).
* :class:`FastKing2019ModulationFilterbank` — the same filters by exact linear FFT
  convolution with their exact (double-double) impulse responses.

Both hold their filters as buffers (or parameters), turn them into one
:class:`~torch_amt.functional.king2019_modfilterbank.King2019Design` and run it with
:func:`~torch_amt.functional.king2019_modfilterbank.king2019_modfilterbank_apply`, the
function that :func:`torch_amt.functional.king2019_modfilterbank` calls too, one signal
of the batch at a time.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from torch_amt._checks import (
    check_bool,
    check_dtype,
    check_fs,
    check_module_input,
    check_positive,
    check_signal,
)
from torch_amt.functional.king2019_modfilterbank import (
    King2019Design,
    king2019_coefficients,
    king2019_impulse_responses,
    king2019_modfilterbank_apply,
    king2019_modfilterbank_design,
)
from torch_amt.functional.modfilterbank import modfilterbank_lowpass
from torch_amt.stages.base import Stage

__all__ = ["King2019ModulationFilterbank", "FastKing2019ModulationFilterbank"]


class King2019ModulationFilterbank(Stage):
    """Modulation filterbank of King et al. (2019): AMT ``king2019_modfilterbank``.

    Centre frequencies ``exp(log(mflow):log(r):log(mfhigh))`` with
    ``r = (√(4Q²+1)+1)/(√(4Q²+1)-1)`` (or ``nmod`` log-spaced ones), each filter
    ``butter(2, 2·[f_lo f_hi]/fs)`` (a 4-pole band-pass) with edges
    ``mfc·√(4+1/Q²)/2 ∓ mfc/(2Q)``, applied in direct form like AMT (or, with
    ``arithmetic='exact'``, the same recursion in double-double arithmetic); above
    ``phase_insens_cut`` = 10 Hz the output is replaced by its Hilbert envelope scaled
    by ``rms(y)/rms(env)``. Coefficients are Octave's ``butter`` to the last bit: the
    2–5 Hz filters are so ill-conditioned that one ulp in a coefficient moves the
    output by ~1e-3. A batch is processed one signal at a time (the same numbers as
    all at once, with temporaries of one signal's size).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    mflow, mfhigh : float
        Lowest centre frequency and upper bound (AMT ``mflow`` = 2, ``mfhigh`` = 150 Hz).
    qfactor : float
        Quality factor (AMT ``modbank_Qfactor`` = 1).
    nmod : int, optional
        Number of filters (AMT ``modbank_Nmod``); None: Q-spaced.
    learnable : bool
        Trainable ``log_mfc`` (M,) and ``log_qfactor`` (M,) (per filter). Forward values
        use Octave's design of the current parameters, gradients the differentiable
        design (:func:`torch_amt.dsp.design.butter`) of the same function. Centre
        frequencies are clamped so that the upper band edge stays below 0.45·fs.
    dtype : torch.dtype
        Parameter dtype. Coefficients are float64 buffers; the output has the input's
        precision.
    lp150 : bool
        AMT ``LP_150_Hz``: 1st-order 150-Hz Butterworth low-pass before the bank.
    phase_insens : bool
        AMT ``phase_insens_hilbert`` (True) / ``no_phase_insens``.
    phase_insens_cut : float
        AMT ``phase_insens_cut`` in Hz (10).
    arithmetic : {'amt', 'exact'}
        How the filters (and the 150-Hz low-pass) are applied
        (:data:`torch_amt.functional.king2019_modfilterbank.KING2019_ARITHMETIC`).
        ``'amt'`` (default): the float64 direct form exactly like AMT's ``filter``, bit
        for bit AMT's numbers including the rounding noise that direct form carries near
        ``z = 1``. ``'exact'`` (not in AMT): the same float64 coefficients filtered in
        double-double arithmetic (:func:`torch_amt.dsp.extended.lfilter_double_double`),
        i.e. the filters' exact response to ~1e-16; it differs from AMT by AMT's own
        rounding noise, within the reference README's conditioning floors: on the
        ``king2019_modfilterbank`` reference inputs (all variants, float64) the
        difference is at most 5.9e-5 (mfc 2 Hz), 5.1e-5 (5.2 Hz), 1.0e-6 (13.7 Hz),
        3.7e-8 (35.9 Hz), 2.1e-9 (94 Hz) relative at 44.1 kHz and 8.5e-6 at 2 Hz at
        16 kHz, i.e. ≤ 2.8x the README floor (2.9e-5 at 2 Hz). Use ``'exact'`` where the
        filters' response matters more than AMT's bits; the models keep ``'amt'``.
        Gradients are those of the float64 recursion (straight-through).

    Attributes
    ----------
    mfc : Tensor, shape (M,)
        Centre frequencies in Hz (AMT ``mfc`` / ``step.fmc``).
    b, a : Tensor, shape (M, 5)
        Coefficients (AMT ``step.b`` / ``step.a``), float64 buffers (not learnable).
        Editing them (in place or by ``load_state_dict``) changes the filterbank.
    num_filters : int

    Shape
    -----
    - Input: ``(B, C, T)`` or ``(C, T)``.
    - Output: ``(B, C, M, T)`` or ``(C, M, T)``.

    References
    ----------
    A. King, L. Varnet, and C. Lorenzi, J. Acoust. Soc. Am. 145(4), 2277–2293 (2019).
    """

    amt_function = "king2019_modfilterbank"
    float64_buffers = ("mfc_init", "b_lp150", "a_lp150", "b", "a")

    def stream_refusal(self) -> str | None:
        """Not causal: Hilbert envelopes and rms normalisation over the whole signal."""
        return ("its phase-insensitive readout scales Hilbert envelopes by rms ratios over "
                "the whole signal, and its impulse responses are applied by FFT (not causal)")

    def __init__(self, fs: float, mflow: float = 2.0, mfhigh: float = 150.0,
                 qfactor: float = 1.0, nmod: int | None = None, learnable: bool = False,
                 dtype: torch.dtype = torch.float32, *, lp150: bool = False,
                 phase_insens: bool = True, phase_insens_cut: float = 10.0,
                 arithmetic: str = "amt"):
        super().__init__()
        self.fs = check_fs(fs)
        design = king2019_modfilterbank_design(
            self.fs, mflow=mflow, mfhigh=mfhigh, qfactor=qfactor, nmod=nmod, lp150=lp150,
            phase_insens=phase_insens, phase_insens_cut=phase_insens_cut,
            arithmetic=arithmetic)
        self.mflow, self.mfhigh, self.qfactor = float(mflow), float(mfhigh), float(qfactor)
        self.nmod = None if nmod is None else int(nmod)
        self.learnable = check_bool(learnable, "learnable")
        self.dtype = check_dtype(dtype)
        self.lp150 = design.prefilter is not None
        self.phase_insens = design.phase_insens_cut is not None
        self.phase_insens_cut = float(phase_insens_cut)
        self.arithmetic = arithmetic
        self.num_filters = len(design.mfc)
        self.register_buffer("mfc_init", design.mfc)
        b150, a150 = modfilterbank_lowpass(self.fs, 150.0, order=1)
        self.register_buffer("b_lp150", b150)
        self.register_buffer("a_lp150", a150)
        if self.learnable:
            self.log_mfc = nn.Parameter(self.mfc_init.log().to(dtype))
            self.log_qfactor = nn.Parameter(torch.full((self.num_filters,),
                                                       math.log(self.qfactor), dtype=dtype))
        else:
            self.register_buffer("b", design.b)
            self.register_buffer("a", design.a)

    @property
    def mfc(self) -> torch.Tensor:
        """Centre frequencies in Hz (current values if learnable)."""
        return self.mfc_init if not self.learnable else self._mfc_q()[0].detach()

    def _mfc_q(self) -> tuple[torch.Tensor, torch.Tensor]:
        q = self.log_qfactor.to(torch.float64).exp()
        # upper edge = mfc·(√(4+1/Q²)+1/Q)/2 must stay below 0.45·fs
        ceiling = 0.9 * self.fs / ((4 + 1 / q.detach() ** 2) ** 0.5 + 1 / q.detach())
        mfc = torch.minimum(self.log_mfc.to(torch.float64).exp(), ceiling)
        return mfc, q

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Current ``b, a (M, 5)`` (float64)."""
        design = self.design()
        return design.b, design.a

    def design(self) -> King2019Design:
        """The current filterbank (rebuilt when a buffer or parameter changes; see
        :meth:`~torch_amt.stages.base.Stage.cached_design`)."""
        return self.cached_design("design", list(self.buffers()) + list(self.parameters()),
                                  self._build_design)

    def _build_design(self) -> King2019Design:
        if self.learnable:
            b, a = king2019_coefficients(*self._mfc_q(), self.fs)
        else:
            b, a = self.b, self.a
        return King2019Design(
            mfc=self.mfc_init, b=b, a=a,
            prefilter=(self.b_lp150, self.a_lp150) if self.lp150 else None,
            phase_insens_cut=self.phase_insens_cut if self.phase_insens else None,
            arithmetic=self.arithmetic)

    def _impulse_responses(self, design: King2019Design, n_t: int) -> torch.Tensor | None:
        """Impulse responses to convolve with instead of the recursion (None: recursion)."""
        return None

    def forward(self, x: torch.Tensor, return_filtered: bool = False):
        """Apply the King2019 modulation filterbank, one signal of the batch at a time.

        Parameters
        ----------
        x : Tensor, shape (B, C, T) or (C, T)
        return_filtered : bool
            Also return the band-pass outputs before the phase insensitivity (AMT's
            ``step.E_mod``).

        Returns
        -------
        Tensor, shape (B, C, M, T) or (C, M, T)
            The output in the input's precision (and, with ``return_filtered``, a second
            tensor of that shape).
        """
        return_filtered = check_bool(return_filtered, "return_filtered")
        x = check_signal(x, "x", ndim=(2, 3), dim_names="(B, C, T) or (C, T)")
        check_module_input(self, x)
        design = self.design()
        return king2019_modfilterbank_apply(
            x, design, impulse_responses=self._impulse_responses(design, x.shape[-1]),
            return_filtered=return_filtered, dtype=x.dtype)

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, mflow={self.mflow}, mfhigh={self.mfhigh}, "
                f"qfactor={self.qfactor}, num_filters={self.num_filters}, lp150={self.lp150}, "
                f"phase_insens={self.phase_insens}, learnable={self.learnable}, "
                f"arithmetic={self.arithmetic!r}")


class FastKing2019ModulationFilterbank(King2019ModulationFilterbank):
    """:class:`King2019ModulationFilterbank` by exact linear FFT convolution.

    The impulse response of every modulation filter (the 150-Hz low-pass included when
    ``lp150``) is computed on a unit impulse of ``L = ceil(ir_length_ratio·T)`` samples
    with :func:`torch_amt.dsp.extended.lfilter_double_double` (the filters' exact
    response, free of the rounding noise of the float64 direct form near ``z = 1``) and
    convolved with the input by :func:`torch_amt.dsp.fft.fftconvolve` (zero-padded, no
    circular wrap), in the same apply function as the recursive class. With
    ``ir_length_ratio >= 1`` the IR covers every lag an output sample of a ``T``-sample
    signal can see, so the result is the filters' exact linear response up to FFT
    rounding; a ratio < 1 truncates the IRs (an approximation). It therefore computes
    what ``King2019ModulationFilterbank(..., arithmetic='exact')`` computes (this class
    always uses the exact arithmetic): measured in float64 on all
    ``king2019_modfilterbank`` reference inputs and variants, the two agree to
    ≤ 1.8e-15 relative per modulation filter (outputs and ``E_mod``), i.e. FFT rounding.
    Against the default (AMT-arithmetic) class and AMT the difference is AMT's own
    rounding noise, up to 5.9e-5 at 2 Hz, 5.1e-5 at 5.2 Hz, 1e-6 at 13.7 Hz and 2e-9
    at 94 Hz (44.1 kHz), within 2.8x the reference README's conditioning floor of AMT's
    own direct form (2.9e-5 at 2 Hz).

    Gradients flow to the input and, with ``learnable=True``, through the IRs to
    ``log_mfc`` / ``log_qfactor`` (the IR values are the double-double ones, their
    gradients those of the float64 recursion, as in
    :func:`~torch_amt.dsp.extended.lfilter_double_double`). The detached IRs of the
    current design are cached per length (a few recent lengths; never anything with a
    graph; a new design, i.e. an edited buffer or parameter, starts afresh). The
    double-double kernel runs on the CPU: on another device the ``M × L`` IRs make a
    host round trip when they are computed.

    Every row needs FFTs of length ≥ 2T, so on CPU it is not faster than the time
    recursion; it is meant for devices where the recursion is the bottleneck and as the
    fast route to the exact response. Timings: the benchmark page (``docs/benchmarks``,
    ``python -m benchmarks --only modulation``).

    Parameters
    ----------
    *args, **kwargs
        As :class:`King2019ModulationFilterbank`; ``arithmetic`` may only be
        ``'exact'`` (the default here).
    ir_length_ratio : float
        IR length as a fraction of the signal length (> 0). Default 1.0 (exact).
    """

    _IR_CACHE_SIZE = 4

    def __init__(self, *args, ir_length_ratio: float = 1.0, **kwargs):
        if kwargs.setdefault("arithmetic", "exact") != "exact":
            raise ValueError("FastKing2019ModulationFilterbank always computes the exact "
                             f"impulse responses: arithmetic must be 'exact', got "
                             f"{kwargs['arithmetic']!r} (use King2019ModulationFilterbank "
                             "for AMT's arithmetic)")
        super().__init__(*args, **kwargs)
        self.ir_length_ratio = check_positive(ir_length_ratio, "ir_length_ratio")
        self._ir_cache: dict[int, tuple[King2019Design, torch.Tensor]] = {}

    def impulse_responses(self, length: int) -> torch.Tensor:
        """Impulse responses ``(M, length)`` (float64) of the current filters."""
        return self._impulse_responses_of(self.design(), length)

    def _impulse_responses_of(self, design: King2019Design, length: int) -> torch.Tensor:
        if design.b.requires_grad or design.a.requires_grad:
            return king2019_impulse_responses(design, length)
        hit = self._ir_cache.pop(length, None)
        if hit is None or hit[0] is not design:
            hit = (design, king2019_impulse_responses(design, length).detach())
            if len(self._ir_cache) >= self._IR_CACHE_SIZE:
                self._ir_cache.pop(next(iter(self._ir_cache)))
        self._ir_cache[length] = hit
        return hit[1]

    def _impulse_responses(self, design: King2019Design, n_t: int) -> torch.Tensor:
        return self._impulse_responses_of(design,
                                          max(1, math.ceil(self.ir_length_ratio * n_t)))

    def __getstate__(self):
        state = super().__getstate__()
        state["_ir_cache"] = {}
        return state

    def extra_repr(self) -> str:
        return super().extra_repr() + f", ir_length_ratio={self.ir_length_ratio}"
