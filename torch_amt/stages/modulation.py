"""Modulation filterbanks: AMT ``modfilterbank`` (Dau / Jepsen) and ``king2019_modfilterbank``.

Four modules:

* :class:`ModulationFilterbank` — AMT 1.4.0 ``modfilterbank``; loops over the auditory
  channels (the reference implementation).
* :class:`FastModulationFilterbank` — the same numbers (≤ 1e-12 in float64, in practice
  bit-identical) from ONE call of the IIR kernel over all channel × filter pairs.
* :class:`King2019ModulationFilterbank` — AMT 1.4.0 ``king2019_modfilterbank``.
* :class:`FastKing2019ModulationFilterbank` — the same filters by exact linear FFT
  convolution with their exact (double-double) impulse responses.

AMT flag groups of ``modfilterbank`` are data (:data:`MODFILTERBANK_PRESETS`); the
spec's preset names map to them as follows:

============================  =========================  =============================
``preset``                    AMT group                  meaning
============================  =========================  =============================
``'dau1997'``                 ``mfb_dau1997``            no upper mfc limit (filters up
                                                         to 1000 Hz), no 150-Hz LP, ×1
``'jepsen2008'``              ``mfb_jepsen2008``         AMT's default: limit
                                                         min(0.25·fc, 1000 Hz), 150-Hz
                                                         LP, 1/√2 on ``|.|``
``'paulick2024'``             ``mfb_jepsen2008``         same as ``'jepsen2008'``
``'verhey1999'``              ``mfb_verhey1999``         limit, no LP, ×1 (= AMT 0.9.10)
``'king2019'``                ``mfb_king2019``           same as ``mfb_verhey1999``
``'osses2021_att_gain'``      ``mfb_osses2021_att_gain`` limit, 150-Hz LP gains per
                                                         band (``LP_150_Hz_att``), 1/√2
============================  =========================  =============================

The AMT names (``'mfb_jepsen2008'`` …) are accepted as well. Note that AMT 1.4.0's upper
modulation limit is ``mfc_upper_limit_max = 1000`` Hz, not 150 Hz: 150 Hz only appears
as the optional low-pass.

Precision: the modulation filters sit within 1e-3 of ``z = 1`` (a 2.5-Hz low-pass at
44.1 kHz has ``Σa ≈ 1.2e-7``), which float32 coefficients cannot represent. Coefficients
are therefore float64 buffers in every module and filtering runs in float64; outputs
are returned in the module's ``dtype``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from torch_amt._checks import (
    apply_moving_buffers_only,
    batched,
    check_choice,
    check_dtype,
    check_frequencies,
    check_fs,
    check_module_input,
    check_number,
    check_positive,
    check_signal,
)
from torch_amt.dsp.design import butter
from torch_amt.dsp.fft import fftconvolve
from torch_amt.dsp.iir import lfilter, lfilter_envelope, sosfilt
from torch_amt.functional import modulation as F

__all__ = [
    "ModFilterbankPreset",
    "MODFILTERBANK_PRESETS",
    "ModulationFilterbank",
    "FastModulationFilterbank",
    "King2019ModulationFilterbank",
    "FastKing2019ModulationFilterbank",
    "pad_modulation_outputs",
]

_LP150_MODES = ("off", "filter", "att_gain")


@dataclass(frozen=True)
class ModFilterbankPreset:
    """One AMT ``arg_modfilterbank`` flag group.

    Attributes
    ----------
    amt_group : str
        AMT group name.
    use_upper_limit : bool
        ``mfc_upper_limit`` (True) / ``no_mfc_upper_limit``.
    lp150 : {'off', 'filter', 'att_gain'}
        ``no_LP_150_Hz`` / ``LP_150_Hz`` / ``LP_150_Hz_att``.
    att_factor : float
        ``att_factor`` (1/√2) / ``no_att_factor`` (1).
    """

    amt_group: str
    use_upper_limit: bool
    lp150: str
    att_factor: float


_SQRT1_2 = 1 / math.sqrt(2)
MODFILTERBANK_PRESETS: dict[str, ModFilterbankPreset] = {
    "mfb_dau1997": ModFilterbankPreset("mfb_dau1997", False, "off", 1.0),
    "mfb_verhey1999": ModFilterbankPreset("mfb_verhey1999", True, "off", 1.0),
    "mfb_jepsen2008": ModFilterbankPreset("mfb_jepsen2008", True, "filter", _SQRT1_2),
    "mfb_king2019": ModFilterbankPreset("mfb_king2019", True, "off", 1.0),
    "mfb_osses2021_att_gain": ModFilterbankPreset("mfb_osses2021_att_gain", True, "att_gain",
                                                  _SQRT1_2),
}
_PRESET_ALIASES = {
    "dau1997": "mfb_dau1997", "jepsen2008": "mfb_jepsen2008", "paulick2024": "mfb_jepsen2008",
    "verhey1999": "mfb_verhey1999", "king2019": "mfb_king2019",
    "osses2021_att_gain": "mfb_osses2021_att_gain",
}


def _resolve_preset(preset: str | None) -> ModFilterbankPreset | None:
    if preset is None:
        return None
    names = list(_PRESET_ALIASES) + list(MODFILTERBANK_PRESETS)
    check_choice(preset, "preset", names)
    return MODFILTERBANK_PRESETS[_PRESET_ALIASES.get(preset, preset)]


def pad_modulation_outputs(outputs: Sequence[torch.Tensor],
                           mfc: Sequence[torch.Tensor] | None = None):
    """Stack a ragged list of per-channel modulation outputs into one padded tensor.

    Parameters
    ----------
    outputs : list of F Tensors, shape (B, M_f, T) or (M_f, T)
        Output of :class:`ModulationFilterbank` / :class:`FastModulationFilterbank`.
    mfc : list of F Tensors, shape (M_f,), optional
        Centre frequencies per channel (the module's ``mfc``).

    Returns
    -------
    padded : Tensor, shape (B, F, M_max, T) (or (F, M_max, T))
        Zeros where a channel has fewer than ``M_max`` filters.
    mask : Tensor of bool, shape (F, M_max)
        True where ``padded`` holds a filter output.
    mfc_padded : Tensor, shape (F, M_max)
        Only if ``mfc`` is given: centre frequencies, NaN in padded places.
    """
    if isinstance(outputs, (str, torch.Tensor)) or not all(
            isinstance(o, torch.Tensor) for o in outputs):
        raise TypeError(f"outputs must be a list of tensors (one per channel), got "
                        f"{type(outputs).__name__}")
    if len(outputs) == 0:
        raise ValueError("outputs must contain at least one channel")
    m_max = max(o.shape[-2] for o in outputs)
    padded = torch.stack([torch.nn.functional.pad(o, (0, 0, 0, m_max - o.shape[-2]))
                          for o in outputs], dim=-3)
    counts = torch.tensor([o.shape[-2] for o in outputs], device=padded.device)
    mask = torch.arange(m_max, device=padded.device)[None, :] < counts[:, None]
    if mfc is None:
        return padded, mask
    mfc_padded = torch.stack([torch.nn.functional.pad(m.to(torch.float64), (0, m_max - len(m)),
                                                      value=float("nan")) for m in mfc])
    return padded, mask, mfc_padded


class _ChannelModFilters(nn.Module):
    """The band-pass filters (mfc > 0) of one auditory channel.

    Holds the initial centre frequencies (they fix the real/``|.|`` rule of each row), the
    LP_150_Hz_att gains and either coefficient buffers or learnable parameters
    (``log_mfc``, ``log_bandwidth``: centre frequency and -3-dB bandwidth in Hz).
    """

    def __init__(self, mfc: list[float], fs: float, Q: float, filter_type: str,
                 learnable: bool, att_gains: torch.Tensor, dtype: torch.dtype):
        super().__init__()
        self.fs = fs
        self.Q = Q
        self.filter_type = filter_type
        self.learnable = learnable
        bands = torch.tensor(mfc[1:], dtype=torch.float64)
        bandwidth = torch.where(bands < 10, torch.full_like(bands, 5.0), bands / Q)
        self.register_buffer("mfc_init", torch.tensor(mfc, dtype=torch.float64))
        self.register_buffer("att_gains", att_gains.to(torch.float64))
        if learnable:
            self.log_mfc = nn.Parameter(bands.log().to(dtype))
            self.log_bandwidth = nn.Parameter(bandwidth.log().to(dtype))
        else:
            b, a = self._design(bands, bandwidth)
            self.register_buffer("b", b)
            self.register_buffer("a", a)

    def _apply(self, fn, recurse=True):
        # float64 coefficient buffers stay float64 under .to(dtype) / .float(): only the
        # device follows (float32 coefficients would make the 2-5 Hz filters unstable)
        return apply_moving_buffers_only(self, fn, recurse, super()._apply)

    def _design(self, bands: torch.Tensor, bandwidth: torch.Tensor):
        if self.filter_type == "efilt":
            if self.learnable:
                return F.efilt_coefficients(bands, bandwidth, self.fs)
            return F.modfilterbank_bandpass(bands.tolist(), self.fs, self.Q)
        # complex Butterworth band-pass: 2nd-order low-pass (cut-off bw/2) shifted to mfc
        b_lp, a_lp = butter(2, bandwidth / 2, self.fs, "low")
        shift = torch.polar(torch.ones_like(bands), 2 * math.pi * bands / self.fs)
        powers = torch.stack([torch.ones_like(shift), shift, shift * shift], dim=-1)
        return torch.cat([b_lp * powers, a_lp * powers], dim=-1)[..., None, :], None

    def coefficients(self):
        """Current coefficients: ``(b (M, 1), a (M, 2))`` for efilt, ``(sos (M, 1, 6), None)``."""
        if not self.learnable:
            return self.b, self.a
        return self._design(self.log_mfc.to(torch.float64).exp(),
                            self.log_bandwidth.to(torch.float64).exp())

    def mfc_current(self) -> torch.Tensor:
        if not self.learnable:
            return self.mfc_init
        return torch.cat([self.mfc_init[:1], self.log_mfc.detach().to(torch.float64).exp()])


class ModulationFilterbank(nn.Module):
    """Modulation filterbank of Dau et al. (1997) / Jepsen et al. (2008): AMT ``modfilterbank``.

    For each auditory channel: optional 150-Hz low-pass, a 2nd-order Butterworth
    low-pass (``lp_cutoff`` = 2.5 Hz) as the 0-Hz filter, complex frequency-shifted
    one-pole band-passes (AMT ``efilt``: ``b = 1-e0``, ``a = [1, -e0·exp(iω0)]``) at
    5 and 10 Hz (5-Hz bandwidth) and at ``16.67·r^k`` Hz (``r = (1+1/(2Q))/(1-1/(2Q))``,
    bandwidth ``mfc/Q``) up to the upper limit, outputs ``2·filter(b, a, x)``, then the
    real part for ``mfc ≤ 10`` Hz and ``att_factor·|.|`` above
    (``phase_insens_hilbert``). The filters are AMT's to the last bit (float64).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    fc : Tensor or array_like, shape (F,)
        Centre frequencies of the input auditory channels in Hz.
    Q : float
        Quality factor above 10 Hz (AMT ``Q_mfb``). Default 2.
    max_mfc : float, optional
        Highest modulation centre frequency in Hz (AMT ``mfc_upper_limit_max``).
        Default 1000 Hz (AMT 1.4.0; the spec's 150 Hz is not what AMT does).
    lp_cutoff : float
        Cut-off of the 0-Hz low-pass in Hz (AMT: 2.5, hard-coded). Default 2.5.
    att_factor : float, optional
        Factor on ``|.|`` above 10 Hz: AMT ``att_factor`` = 1/√2, ``no_att_factor`` = 1.
        Default: the preset's, else 1.
    use_upper_limit : bool, optional
        ``umf = min(0.25·fc, max_mfc)`` (AMT ``mfc_upper_limit``, Verhey et al. 1999)
        or ``umf = max_mfc`` (``no_mfc_upper_limit``). Default: the preset's, else False.
    preset : str, optional
        ``'dau1997'``, ``'jepsen2008'``, ``'paulick2024'``, ``'verhey1999'``,
        ``'king2019'``, ``'osses2021_att_gain'`` or an AMT group name (``'mfb_dau1997'``,
        ``'mfb_jepsen2008'``, ``'mfb_verhey1999'``, ``'mfb_king2019'``,
        ``'mfb_osses2021_att_gain'``), see the module docstring. It sets
        ``use_upper_limit``, ``att_factor`` and ``lp150``; arguments given explicitly
        (not None) take precedence. Default None: ``use_upper_limit=False``,
        ``att_factor=1``, ``lp150='off'``, i.e. AMT ``mfb_dau1997``. AMT's own default is
        ``preset='jepsen2008'``.
    filter_type : {'efilt', 'butterworth'}
        ``'efilt'`` (AMT). ``'butterworth'`` (not in AMT): each band-pass is a
        2nd-order Butterworth low-pass with cut-off ``bandwidth/2`` shifted to ``mfc``
        (complex second-order section, flat symmetric passband, unit gain at ``mfc``),
        applied with :func:`torch_amt.dsp.sosfilt`; same real/``|.|`` post-processing.
    learnable : bool
        Make every band-pass' centre frequency and bandwidth (per channel and filter,
        as ``log`` parameters ``filter_coeffs[f].log_mfc`` / ``.log_bandwidth``) and the
        low-pass cut-off (``log_lp_cutoff``) trainable. The real/``|.|`` rule of a filter
        stays the one of its initial centre frequency. At initialisation the outputs
        equal the fixed bank's.
    dtype : torch.dtype
        Output dtype and dtype of learnable parameters. Coefficients are float64.
    lp150 : {'off', 'filter', 'att_gain'}, optional
        AMT ``no_LP_150_Hz`` / ``LP_150_Hz`` (1st-order 150-Hz Butterworth low-pass
        before the bank) / ``LP_150_Hz_att`` (``mfb_osses2021_att_gain``: each band
        multiplied by that low-pass' gain at its mfc, from ``freqz`` with 8192 points and
        linear interpolation). Default: the preset's, else ``'off'``.
    phase_insens : bool
        AMT ``phase_insens_hilbert`` (True) / ``no_phase_insens`` (complex outputs, the
        band-passes divided by 2). Default True.

    Attributes
    ----------
    num_channels : int
    use_lp150_prefilter : bool
        Whether the 150-Hz low-pass filters the input (``lp150 == 'filter'``).
    b_lowpass, a_lowpass : Tensor, shape (3,)
        The 0-Hz low-pass (float64 buffers; recomputed from ``log_lp_cutoff`` when
        learnable).
    b_lp150, a_lp150 : Tensor, shape (2,)
        The 150-Hz low-pass.
    mfc : list of F Tensors, shape (M_f,)
        Modulation centre frequencies per channel in Hz (first = 0, the low-pass).
    filter_coeffs : nn.ModuleList
        Per channel: buffers ``b (M_f-1, 1)`` / ``a (M_f-1, 2)`` (efilt) or ``b`` =
        ``sos (M_f-1, 1, 6)`` (butterworth), or the learnable parameters.

    Shape
    -----
    - Input: ``(B, F, T)`` or ``(F, T)``.
    - Output: list of F tensors ``(B, M_f, T)`` (or ``(M_f, T)``); complex with
      ``phase_insens=False``. :func:`pad_modulation_outputs` stacks them into
      ``(B, F, M_max, T)`` with a mask.

    References
    ----------
    T. Dau, B. Kollmeier, and A. Kohlrausch, J. Acoust. Soc. Am. 102, 2892–2905 (1997).
    J. Verhey, T. Dau, and B. Kollmeier, J. Acoust. Soc. Am. 106, 2733–2745 (1999).
    M. L. Jepsen, S. D. Ewert, and T. Dau, J. Acoust. Soc. Am. 124(1), 422–438 (2008).
    A. Kohlrausch, R. Fassel, and T. Dau, J. Acoust. Soc. Am. 108, 723–734 (2000).
    A. Osses Vecchi and A. Kohlrausch, J. Acoust. Soc. Am. 149(5), 3534–3552 (2021).
    """

    def __init__(self, fs: float, fc, Q: float = 2.0, max_mfc: float | None = None,
                 lp_cutoff: float = 2.5, att_factor: float | None = None,
                 use_upper_limit: bool | None = None, preset: str | None = None,
                 filter_type: str = "efilt", learnable: bool = False,
                 dtype: torch.dtype = torch.float32, *, lp150: str | None = None,
                 phase_insens: bool = True):
        super().__init__()
        self.fs = check_fs(fs)
        check_dtype(dtype)
        # audio-rate centre frequencies: not bounded by this (envelope) rate's Nyquist
        fc_t = check_frequencies(fc.detach() if isinstance(fc, torch.Tensor) else fc, None,
                                 "fc").to(torch.float64).reshape(-1)
        self.Q = check_positive(Q, "Q")
        if self.Q <= 0.5:
            raise ValueError(f"Q must be > 0.5 (the spacing ratio needs 1 - 1/(2Q) > 0), got {Q}")
        self.lp_cutoff = check_positive(lp_cutoff, "lp_cutoff")
        self.filter_type = check_choice(filter_type, "filter_type", ("efilt", "butterworth"))
        cfg = _resolve_preset(preset)
        self.preset = preset
        self.max_mfc = check_positive(1000.0 if max_mfc is None else max_mfc, "max_mfc")
        self.use_upper_limit = bool(use_upper_limit if use_upper_limit is not None
                                    else (cfg.use_upper_limit if cfg else False))
        self.att_factor = check_number(att_factor if att_factor is not None
                                       else (cfg.att_factor if cfg else 1.0), "att_factor",
                                       minimum=0, strict=True)
        self.lp150 = check_choice(lp150 if lp150 is not None else (cfg.lp150 if cfg else "off"),
                                  "lp150", _LP150_MODES)
        self.use_lp150_prefilter = self.lp150 == "filter"
        self.phase_insens = bool(phase_insens)
        self.learnable = bool(learnable)
        self.dtype = dtype
        self.num_channels = fc_t.numel()
        if self.lp_cutoff >= self.fs / 2 or (self.lp150 != "off" and 150 >= self.fs / 2):
            raise ValueError(f"fs = {self.fs} Hz is too low for the modulation low-passes")
        self.register_buffer("fc", fc_t)
        b_lp, a_lp = F.modfilterbank_lowpass(self.fs, self.lp_cutoff)
        self.register_buffer("b_lowpass", b_lp)
        self.register_buffer("a_lowpass", a_lp)
        b150, a150 = F.modfilterbank_lowpass(self.fs, 150.0, order=1)
        self.register_buffer("b_lp150", b150)
        self.register_buffer("a_lp150", a150)
        if self.learnable:
            self.log_lp_cutoff = nn.Parameter(torch.tensor(math.log(self.lp_cutoff), dtype=dtype))
        banks = []
        for f in fc_t.tolist():
            mfc = F.modfilterbank_mfc(f, use_upper_limit=self.use_upper_limit,
                                      max_mfc=self.max_mfc, Q=self.Q)
            if mfc[-1] >= self.fs / 2:
                raise ValueError(f"fs = {self.fs} Hz is too low for a modulation filter at "
                                 f"{mfc[-1]:.1f} Hz (channel fc = {f} Hz); lower max_mfc or "
                                 "use use_upper_limit=True")
            gains = (F.lp150_att_gains(mfc[1:], self.fs) if self.lp150 == "att_gain"
                     else torch.ones(len(mfc) - 1, dtype=torch.float64))
            banks.append(_ChannelModFilters(mfc, self.fs, self.Q, self.filter_type,
                                            self.learnable, gains, dtype))
        self.filter_coeffs = nn.ModuleList(banks)

    def _apply(self, fn, recurse=True):
        # float64 coefficient buffers stay float64 under .to(dtype) / .float(): only the
        # device follows (float32 coefficients would make the 2-5 Hz filters unstable)
        return apply_moving_buffers_only(self, fn, recurse, super()._apply)

    @property
    def mfc(self) -> list[torch.Tensor]:
        """Modulation centre frequencies per channel in Hz (current values if learnable)."""
        return [bank.mfc_current() for bank in self.filter_coeffs]

    def _lowpass(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.learnable:
            return self.b_lowpass, self.a_lowpass
        return F.modfilterbank_lowpass(self.fs, self.log_lp_cutoff.to(torch.float64).exp())

    def _prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        x = check_signal(x, "x", ndim=(2, 3), dim_names="(B, F, T) or (F, T)")
        check_module_input(self, x)
        x, squeeze = batched(x, 2)
        if x.shape[1] != self.num_channels:
            raise ValueError(f"x has {x.shape[1]} channels (axis -2) but the filterbank was "
                             f"built for {self.num_channels} centre frequencies fc")
        x64 = x.to(torch.float64)
        if self.use_lp150_prefilter:
            x64 = lfilter(x64, self.b_lp150, self.a_lp150)
        return x64, squeeze

    @staticmethod
    def _out_dtype(x, phase_insens: bool) -> torch.dtype:
        """The output dtype: the input's precision (real, or complex without phase_insens)."""
        real = torch.as_tensor(x).dtype
        if phase_insens:
            return real
        return torch.complex128 if real == torch.float64 else torch.complex64

    def _bandpass(self, x: torch.Tensor, bank: _ChannelModFilters) -> torch.Tensor:
        b, a = bank.coefficients()
        if self.filter_type == "efilt":
            y = lfilter(x[:, None, :], b, a)
        else:
            y = sosfilt(x[:, None, :], b)
        return y * (2 * bank.att_gains)[:, None]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Apply the modulation filterbank channel by channel.

        Parameters
        ----------
        x : Tensor, shape (B, F, T) or (F, T)
            Envelopes of the auditory channels (e.g. adaptation-loop output).

        Returns
        -------
        list of F Tensors, shape (B, M_f, T) or (M_f, T)
        """
        x64, squeeze = self._prepare(x)
        b_lp, a_lp = self._lowpass()
        outputs = []
        for ch, bank in enumerate(self.filter_coeffs):
            xc = x64[:, ch]
            low = lfilter(xc, b_lp, a_lp)[:, None, :].to(torch.complex128)
            y = torch.cat([low, self._bandpass(xc, bank)], dim=1)
            out = F.modfilterbank_phase(y, bank.mfc_init, self.att_factor, self.phase_insens)
            out = out.to(self._out_dtype(x, self.phase_insens))
            outputs.append(out[0] if squeeze else out)
        return outputs

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, num_channels={self.num_channels}, Q={self.Q}, "
                f"max_mfc={self.max_mfc}, use_upper_limit={self.use_upper_limit}, "
                f"lp150={self.lp150!r}, att_factor={self.att_factor:.4f}, "
                f"phase_insens={self.phase_insens}, preset={self.preset!r}, "
                f"filter_type={self.filter_type!r}, learnable={self.learnable}")


class FastModulationFilterbank(ModulationFilterbank):
    """:class:`ModulationFilterbank` computed as ONE call of the IIR kernel.

    All channel × filter pairs (the 0-Hz low-pass included, zero-padded to a common
    complex second-order form, which leaves every product and sum of the recursion
    unchanged) become rows of a single :func:`torch_amt.dsp.lfilter` call — the kernel
    takes a different filter per row — and the real/``|.|`` post-processing is one masked
    tensor operation. Results equal :class:`ModulationFilterbank`'s (bit for bit in the
    tests; documented bound 1e-12 in float64) for every argument combination.

    Parameters
    ----------
    *args, **kwargs
        As :class:`ModulationFilterbank`.
    tolerance : int
        Kept for API compatibility; it does NOT round or group coefficients. Rows whose
        coefficients are bit-identical (the same mfc in several channels) simply share
        one coefficient vector by broadcasting, which changes no number; every filter is
        still applied to its own channel. Default 2.

    Attributes
    ----------
    tolerance : int
    megabatch_map : list of dict
        One entry per row of the mega-batch: ``{'channel', 'filter', 'mfc'}`` (filter 0
        = the low-pass).
    total_filters : int
        Number of rows (Σ_f M_f).
    """

    def __init__(self, *args, tolerance: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self.tolerance = check_positive(tolerance, "tolerance", strict=False, integer=True)
        self.megabatch_map = [
            {"channel": ch, "filter": k, "mfc": float(m)}
            for ch, bank in enumerate(self.filter_coeffs) for k, m in enumerate(bank.mfc_init)
        ]
        self.total_filters = len(self.megabatch_map)
        rows = torch.tensor([e["channel"] for e in self.megabatch_map])
        self.register_buffer("row_channel", rows, persistent=False)
        self.register_buffer("row_mfc", torch.cat([b.mfc_init for b in self.filter_coeffs]),
                             persistent=False)
        self.register_buffer("row_gain", torch.cat(
            [torch.cat([torch.ones(1, dtype=torch.float64), b.att_gains])
             for b in self.filter_coeffs]), persistent=False)

    def distribute_gradients(self) -> None:
        """No-op, kept for API compatibility.

        No filters are grouped, so every learnable parameter already received its own
        exact gradient in ``backward()``; there is nothing to distribute.
        """

    def _row_coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All rows as complex second-order sections ``b, a (R, 3)``."""
        b_lp, a_lp = self._lowpass()
        lp_b = b_lp.to(torch.complex128)[None]
        lp_a = a_lp.to(torch.complex128)[None]
        bs, as_ = [], []
        for bank in self.filter_coeffs:
            b, a = bank.coefficients()
            if self.filter_type == "efilt":
                b = torch.nn.functional.pad(b.to(torch.complex128), (0, 2))
                a = torch.nn.functional.pad(a, (0, 1))
            else:
                b, a = b[:, 0, :3], b[:, 0, 3:]
            b = 2 * b  # AMT's 6-dB emphasis; ×2 commutes exactly with the recursion
            bs += [lp_b, b]
            as_ += [lp_a, a]
        return torch.cat(bs), torch.cat(as_)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Apply the modulation filterbank in one mega-batch (same output as the parent)."""
        x64, squeeze = self._prepare(x)
        b, a = self._row_coefficients()
        counts = [len(bank.mfc_init) for bank in self.filter_coeffs]
        if self.phase_insens:
            # one fused pass: channels read in place, Re / att·|.| written in the output
            # dtype (no (B, R, T) complex intermediate; see lfilter_envelope)
            y = lfilter_envelope(x64, b, a, self.row_channel, self.row_mfc <= 10,
                                 self.att_factor,
                                 self.row_gain if self.lp150 == "att_gain" else None,
                                 self._out_dtype(x, True))
            outputs = torch.split(y, counts, dim=1)
            return [out[0] if squeeze else out for out in outputs]
        y = lfilter(x64[:, self.row_channel], b, a)
        if self.lp150 == "att_gain":
            y = y * self.row_gain[:, None]
        # post-processing per channel block: cache-sized pieces of the one kernel output
        outputs = []
        for y_ch, mfc in zip(torch.split(y, counts, dim=1), torch.split(self.row_mfc, counts),
                             strict=True):
            out = F.modfilterbank_phase(y_ch, mfc, self.att_factor, self.phase_insens)
            out = out.to(self._out_dtype(x, self.phase_insens))
            outputs.append(out[0] if squeeze else out)
        return outputs


class King2019ModulationFilterbank(nn.Module):
    """Modulation filterbank of King et al. (2019): AMT ``king2019_modfilterbank``.

    Centre frequencies ``exp(log(mflow):log(r):log(mfhigh))`` with
    ``r = (√(4Q²+1)+1)/(√(4Q²+1)-1)`` (or ``nmod`` log-spaced ones), each filter
    ``butter(2, 2·[f_lo f_hi]/fs)`` (a 4-pole band-pass) with edges
    ``mfc·√(4+1/Q²)/2 ∓ mfc/(2Q)``, applied in direct form like AMT (or, with
    ``arithmetic='exact'``, the same recursion in double-double arithmetic); above
    ``phase_insens_cut`` = 10 Hz the output is replaced by its Hilbert envelope scaled
    by ``rms(y)/rms(env)``. Coefficients are Octave's ``butter`` to the last bit: the
    2–5 Hz filters are so ill-conditioned that one ulp in a coefficient moves the
    output by ~1e-3.

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
        Output / parameter dtype. Coefficients are float64 buffers.
    lp150 : bool
        AMT ``LP_150_Hz``: 1st-order 150-Hz Butterworth low-pass before the bank.
    phase_insens : bool
        AMT ``phase_insens_hilbert`` (True) / ``no_phase_insens``.
    phase_insens_cut : float
        AMT ``phase_insens_cut`` in Hz (10).
    arithmetic : {'amt', 'exact'}
        How the filters (and the 150-Hz low-pass) are applied
        (:data:`torch_amt.functional.modulation.KING2019_ARITHMETIC`). ``'amt'``
        (default): the float64 direct form exactly like AMT's ``filter``, bit for bit
        AMT's numbers including the rounding noise that direct form carries near
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
        Coefficients (AMT ``step.b`` / ``step.a``), float64.
    num_filters : int

    Shape
    -----
    - Input: ``(B, C, T)`` or ``(C, T)``.
    - Output: ``(B, C, M, T)`` or ``(C, M, T)``.

    References
    ----------
    A. King, L. Varnet, and C. Lorenzi, J. Acoust. Soc. Am. 145(4), 2277–2293 (2019).
    """

    def __init__(self, fs: float, mflow: float = 2.0, mfhigh: float = 150.0,
                 qfactor: float = 1.0, nmod: int | None = None, learnable: bool = False,
                 dtype: torch.dtype = torch.float32, *, lp150: bool = False,
                 phase_insens: bool = True, phase_insens_cut: float = 10.0,
                 arithmetic: str = "amt"):
        super().__init__()
        self.fs = check_fs(fs)
        self.mflow = check_positive(mflow, "mflow")
        self.mfhigh = check_positive(mfhigh, "mfhigh")
        if self.mfhigh < self.mflow:
            raise ValueError(f"mfhigh ({mfhigh} Hz) must be >= mflow ({mflow} Hz)")
        self.qfactor = check_positive(qfactor, "qfactor")
        self.nmod = None if nmod is None else check_positive(nmod, "nmod", integer=True)
        self.learnable = bool(learnable)
        self.dtype = check_dtype(dtype)
        self.lp150 = bool(lp150)
        self.phase_insens = bool(phase_insens)
        self.phase_insens_cut = check_positive(phase_insens_cut, "phase_insens_cut")
        self.arithmetic = check_choice(arithmetic, "arithmetic", list(F.KING2019_ARITHMETIC))
        if self.lp150 and 150 >= self.fs / 2:
            raise ValueError(f"fs = {self.fs} Hz is too low for the 150-Hz low-pass (lp150)")
        mfc = F.king2019_mfc(self.mflow, self.mfhigh, self.qfactor, self.nmod)
        b, a = F.king2019_coefficients(mfc, self.qfactor, self.fs)
        self.num_filters = len(mfc)
        self.register_buffer("mfc_init", torch.tensor(mfc, dtype=torch.float64))
        self.register_buffer("b_lp150", F.modfilterbank_lowpass(self.fs, 150.0, order=1)[0])
        self.register_buffer("a_lp150", F.modfilterbank_lowpass(self.fs, 150.0, order=1)[1])
        if self.learnable:
            self.log_mfc = nn.Parameter(self.mfc_init.log().to(dtype))
            self.log_qfactor = nn.Parameter(torch.full((len(mfc),), math.log(self.qfactor),
                                                       dtype=dtype))
        else:
            self.register_buffer("b", b)
            self.register_buffer("a", a)

    def _apply(self, fn, recurse=True):
        # float64 coefficient buffers stay float64 under .to(dtype) / .float(): only the
        # device follows (float32 coefficients would make the 2-5 Hz filters unstable)
        return apply_moving_buffers_only(self, fn, recurse, super()._apply)

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
        if not self.learnable:
            return self.b, self.a
        mfc, q = self._mfc_q()
        return F.king2019_coefficients(mfc, q, self.fs)

    def _prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        x = check_signal(x, "x", ndim=(2, 3), dim_names="(B, C, T) or (C, T)")
        check_module_input(self, x)
        x, squeeze = batched(x, 2)
        x64 = x.to(torch.float64)
        if self.lp150:
            x64 = self._lfilter(x64, self.b_lp150, self.a_lp150)
        return x64, squeeze

    def _lfilter(self, x: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The recursion of the module's ``arithmetic``."""
        return F.KING2019_ARITHMETIC[self.arithmetic](x, b, a)

    def _finish(self, y: torch.Tensor, squeeze: bool, dtype: torch.dtype) -> torch.Tensor:
        if self.phase_insens:
            y = F.king2019_phase_insensitivity(y, self.mfc_init, self.phase_insens_cut)
        y = y.to(dtype)
        return y[0] if squeeze else y

    def _filter(self, x64: torch.Tensor) -> torch.Tensor:
        """Band-pass outputs ``(B, C, M, T)`` before the phase insensitivity."""
        b, a = self.coefficients()
        return self._lfilter(x64[..., None, :], b, a)

    def forward(self, x: torch.Tensor, return_filtered: bool = False):
        """Apply the King2019 modulation filterbank.

        Parameters
        ----------
        x : Tensor, shape (B, C, T) or (C, T)
        return_filtered : bool
            Also return the band-pass outputs before the phase insensitivity (AMT's
            ``step.E_mod``).

        Returns
        -------
        Tensor, shape (B, C, M, T) or (C, M, T)
            The output (and, with ``return_filtered``, a second tensor of that shape).
        """
        x64, squeeze = self._prepare(x)
        dtype = torch.as_tensor(x).dtype  # the output has the input's precision
        y = self._filter(x64)
        out = self._finish(y, squeeze, dtype)
        if not return_filtered:
            return out
        filtered = y.to(dtype)
        return out, (filtered[0] if squeeze else filtered)

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
    circular wrap). With ``ir_length_ratio >= 1`` the IR covers every lag an output
    sample of a ``T``-sample signal can see, so the result is the filters' exact linear
    response up to FFT rounding; a ratio < 1 truncates the IRs (an approximation). It
    therefore computes what ``King2019ModulationFilterbank(..., arithmetic='exact')``
    computes (this class always uses the exact arithmetic): measured in float64 on all
    ``king2019_modfilterbank`` reference inputs and variants, the two agree to
    ≤ 1.8e-15 relative per modulation filter (outputs and ``E_mod``), i.e. FFT rounding.
    Against the default (AMT-arithmetic) class and AMT the difference is AMT's own
    rounding noise, up to 5.9e-5 at 2 Hz, 5.1e-5 at 5.2 Hz, 1e-6 at 13.7 Hz and 2e-9
    at 94 Hz (44.1 kHz), within 2.8x the reference README's conditioning floor of AMT's
    own direct form (2.9e-5 at 2 Hz).

    Gradients flow to the input and, with ``learnable=True``, through the IRs to
    ``log_mfc`` / ``log_qfactor`` (the IR values are the double-double ones, their
    gradients those of the float64 recursion, as in
    :func:`~torch_amt.dsp.extended.lfilter_double_double`). For non-learnable modules
    the detached IR values are cached per (length, device) (a few recent lengths; never
    anything with a graph, and invalidated when the coefficient buffers change). The
    double-double kernel runs on the CPU: on another device the ``M × L`` IRs make a
    host round trip when they are computed (once per length when cached, every call
    when learnable).

    Speed (``python -m benchmarks``, ``bench_modulation``: CPU, 2 threads, float32,
    31 channels, 5 filters, 1 s at 44.1 kHz, IRs cached; two runs): forward 0.10 s vs
    0.077 s for the recursive class at B = 1 (1.3x slower), 1.6–2.4 s vs 0.93–1.1 s at
    B = 8 (1.7–2.2x slower); forward+backward (input gradient) 0.27–0.36 s vs
    0.17–0.24 s and 7.5–7.7 s vs 2.9–3.6 s.
    Every row needs FFTs of length ≥ 2T, so on CPU it is not faster than the time
    recursion at any length tried (0.25–1 s); it is meant for devices where the
    recursion is the bottleneck (GPU, pure-torch backend; not measured here: no GPU),
    and as the fast route to the exact response
    (``King2019ModulationFilterbank(arithmetic='exact')`` takes 1.1–1.4x the recursive
    class' time).

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
        self._ir_cache: dict[tuple, tuple] = {}

    def impulse_responses(self, length: int) -> torch.Tensor:
        """Impulse responses ``(M, length)`` (float64) of the current filters."""
        b, a = self.coefficients()
        cacheable = not (self.learnable or b.requires_grad or a.requires_grad)
        key = (length, b.device)
        # the coefficient tensors themselves (and their in-place versions) validate an entry
        operands = (b, a, self.b_lp150, self.a_lp150)
        versions = tuple(t._version for t in operands)
        hit = self._ir_cache.get(key) if cacheable else None
        if hit is not None and all(u is v for u, v in zip(hit[0], operands, strict=True)) \
                and hit[1] == versions:
            return hit[2]
        impulse = torch.zeros(length, dtype=torch.float64, device=b.device)
        impulse[0] = 1
        if self.lp150:
            impulse = self._lfilter(impulse, self.b_lp150, self.a_lp150)
        h = self._lfilter(impulse.expand(self.num_filters, length), b, a)
        if cacheable:
            self._ir_cache.pop(key, None)
            if len(self._ir_cache) >= self._IR_CACHE_SIZE:
                self._ir_cache.pop(next(iter(self._ir_cache)))
            h = h.detach()
            self._ir_cache[key] = (operands, versions, h)
        return h

    def _prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        x = check_signal(x, "x", ndim=(2, 3), dim_names="(B, C, T) or (C, T)")
        check_module_input(self, x)
        x, squeeze = batched(x, 2)
        return x.to(torch.float64), squeeze

    def _filter(self, x64: torch.Tensor) -> torch.Tensor:
        """Band-pass outputs by FFT convolution with the impulse responses."""
        n_t = x64.shape[-1]
        h = self.impulse_responses(max(1, math.ceil(self.ir_length_ratio * n_t)))
        return fftconvolve(x64[..., None, :], h, length=n_t)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", ir_length_ratio={self.ir_length_ratio}"

