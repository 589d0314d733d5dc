"""Outer- and middle-ear filter stages (AMT ``headphonefilter`` / ``middleearfilter``)."""

from __future__ import annotations

import math

import torch
from torch import nn

from torch_amt import _checks
from torch_amt.functional.ears import (
    MIDDLE_EAR_PRESETS,
    PHASES,
    ear_filter,
    headphonefilter,
    max_gain_db,
    middleearfilter,
)
from torch_amt.stages.base import Stage

__all__ = ["HeadphoneFilter", "MiddleEarFilter"]


class _EarFilter(Stage):
    """Shared machinery: coefficients as buffers, learnable tap offsets, delay, gain.

    The designed coefficients ``b``, ``a`` are float64 buffers (cast to the signal's
    precision for an FIR's FFT convolution; IIR coefficients stay float64). Learnable
    taps are ``b + tap_scale·b_delta``: the parameter ``b_delta`` (the module's dtype,
    zero at first, so the filter is the designed one bit for bit) is in units of
    ``tap_scale``, the rms of the designed taps. The raw taps have an rms of ~1e-5
    (FIR middle ears) to ~0.06 (headphone): learnt directly, an optimiser step of the
    usual size (Adam, lr 1e-2) would replace a middle ear by noise at the first step;
    in these units a step moves every tap by about ``lr`` times their rms.
    """

    float64_buffers = ("b", "a")
    streamable = True

    def stream_refusal(self) -> str | None:
        """Not causal with delay compensation (the output is advanced by ``delay``)."""
        if self.delay:
            return (f"its delay compensation advances the output by {self.delay} samples "
                    "(each output sample needs that many later input samples); build it "
                    "with compensate_delay=False to stream")
        return None

    def __init__(self, b: torch.Tensor, a: torch.Tensor | None, delay: int, gain: float,
                 learnable: bool, dtype: torch.dtype) -> None:
        super().__init__()
        _checks.check_dtype(dtype)
        self.learnable = learnable
        self.delay = int(delay)
        self.gain = float(gain)
        self.register_buffer("b", b)
        self.register_buffer("a", a)
        #: rms of the designed taps, the unit of the learnable ``b_delta``
        self.tap_scale = float(b.square().mean().sqrt())
        if self.learnable:
            self.b_delta = nn.Parameter(torch.zeros_like(b, dtype=dtype))

    def taps(self) -> torch.Tensor:
        """The numerator in force: ``b``, plus ``tap_scale·b_delta`` when learnable."""
        if not self.learnable:
            return self.b
        return self.b + self.tap_scale * self.b_delta.to(self.b.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter audio ``(T,)`` or ``(B, T)``; the output has the same shape."""
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        return ear_filter(x, self.taps(), self.a, self.delay, self.gain)


class HeadphoneFilter(_EarFilter):
    """Headphone + outer-ear FIR filter (Pralong & Carlile 1996), AMT ``headphonefilter``.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    order : int
        FIR order (AMT default 512).
    compensate_delay : bool
        Remove the FIR's group delay as ``dau1997`` (``'outerear'``) does: pad
        ``ceil((order+1)/2)`` zeros, filter, drop as many leading samples. The Jepsen
        (2008) chain applies the filter without compensation (the default).
    learnable : bool
        Make the taps trainable: ``b + tap_scale·b_delta`` with the parameter
        ``b_delta`` in units of the taps' rms (zero at first: the designed filter).
    dtype : torch.dtype
        Dtype of the learnable ``b_delta`` (float32 default); the designed taps ``b``
        are a float64 buffer.

    Shape
    -----
    ``(T,)`` or ``(B, T)`` in and out.

    References
    ----------
    D. Pralong and S. Carlile, J. Acoust. Soc. Am. 100, 3785-3793, 1996.
    """

    amt_function = "headphonefilter"

    def __init__(self, fs: float, order: int = 512, *, compensate_delay: bool = False,
                 learnable: bool = False, dtype: torch.dtype = torch.float32) -> None:
        fs = _checks.check_fs(fs)
        compensate_delay = _checks.check_bool(compensate_delay, "compensate_delay")
        learnable = _checks.check_bool(learnable, "learnable")
        b = headphonefilter(fs, order)
        delay = math.ceil(b.numel() / 2) if compensate_delay else 0
        super().__init__(b, None, delay, 1.0, learnable, dtype)
        self.fs = float(fs)


class MiddleEarFilter(_EarFilter):
    """Middle-ear filter, AMT ``middleearfilter`` (every type of AMT 1.4.0).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    preset : str
        AMT type flag: ``'lopezpoveda2001'`` (default; FIR, output in m/s of stapes
        velocity for input in Pa), ``'jepsen2008'`` (FIR), ``'verhulst2012'``,
        ``'verhulst2015'``, ``'verhulst2018'`` (band-pass IIR), ``'zilany2009'``,
        ``'zilany2009cat'`` (three cascaded IIR sections). See
        :func:`torch_amt.functional.ears.middleearfilter`.
    phase : {'minimum', 'zero'}
        Phase of the ``'lopezpoveda2001'`` FIR (AMT flags ``'minimum'`` default, ``'zero'``).
    order : int
        FIR order (AMT ``'order'``, 512).
    compensate_delay : bool
        FIR presets only: remove ``ceil((order+1)/2)`` samples of delay (zero padding then
        trimming) as ``dau1997`` with ``'middleear'``/``'jepsen2008'`` does.
    normalize_gain : bool
        Divide the output by the maximum of the magnitude response
        (``gaindb(x, -max(20·log10|freqz(b, a, 8192)|))``), as ``dau1997`` does.
    learnable : bool
        Make the numerator (FIR taps) trainable: ``b + tap_scale·b_delta`` with the
        parameter ``b_delta`` in units of the taps' rms (zero at first: the designed
        filter); the IIR denominators stay fixed.
    dtype : torch.dtype
        Dtype of the learnable ``b_delta`` (float32 default); the designed coefficients
        ``b``, ``a`` are float64 buffers.

    Shape
    -----
    ``(T,)`` or ``(B, T)`` in and out.

    References
    ----------
    E. A. Lopez-Poveda and R. Meddis, J. Acoust. Soc. Am. 110, 3107-3118, 2001.
    M. L. Jepsen, S. D. Ewert and T. Dau, J. Acoust. Soc. Am. 124, 422-438, 2008.
    """

    amt_function = "middleearfilter"

    def __init__(self, fs: float, preset: str = "lopezpoveda2001", *, phase: str = "minimum",
                 order: int = 512, compensate_delay: bool = False,
                 normalize_gain: bool = False, learnable: bool = False,
                 dtype: torch.dtype = torch.float32) -> None:
        fs = _checks.check_fs(fs)
        _checks.check_choice(preset, "preset", MIDDLE_EAR_PRESETS)
        _checks.check_choice(phase, "phase", PHASES)
        compensate_delay = _checks.check_bool(compensate_delay, "compensate_delay")
        normalize_gain = _checks.check_bool(normalize_gain, "normalize_gain")
        learnable = _checks.check_bool(learnable, "learnable")
        coefficients = middleearfilter(fs, preset, phase, order)
        b, a = coefficients if isinstance(coefficients, tuple) else (coefficients, None)
        if compensate_delay and a is not None:
            raise ValueError(f"compensate_delay is only defined for the FIR middle ears, not "
                             f"preset={preset!r}")
        delay = math.ceil(b.numel() / 2) if compensate_delay else 0
        gain = 1.0
        if normalize_gain:
            gain = 10 ** (-max_gain_db(b, 1.0 if a is None else a) / 20)
        super().__init__(b, a, delay, gain, learnable, dtype)
        self.fs = float(fs)
        self.preset = preset
