"""The Dau / Jepsen modulation filterbank (AMT ``modfilterbank``) as modules.

* :class:`ModulationFilterbank` — AMT 1.4.0 ``modfilterbank``.
* :class:`FastModulationFilterbank` — the same filterbank, all channel × filter pairs in
  one kernel call.

Both hold their filters as buffers (or parameters), turn them into one
:class:`~torch_amt.functional.modfilterbank.ModFilterbankDesign` and run it with
:func:`~torch_amt.functional.modfilterbank.modfilterbank_apply`, the function that
:func:`torch_amt.functional.modfilterbank` calls too; the two classes differ only in
how many rows one kernel call takes. AMT's flag groups are the data of
:data:`~torch_amt.functional.modfilterbank.MODFILTERBANK_PRESETS`; the spec's preset
names map to them as follows:

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
are therefore float64 buffers in every module (kept so by ``.float()``) and filtering
runs in float64; outputs have the input's precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from torch_amt._checks import (
    batched,
    check_bool,
    check_dtype,
    check_frequencies,
    check_fs,
    check_module_input,
    check_positive,
    check_signal,
)
from torch_amt.functional.modfilterbank import (
    MODFILTERBANK_PRESETS,
    ModFilterbankDesign,
    butterworth_bandpass_coefficients,
    efilt_coefficients,
    modfilterbank_apply,
    modfilterbank_design,
    modfilterbank_lowpass,
    resolve_modfilterbank_preset,
)
from torch_amt.stages.base import Stage

__all__ = ["ModulationFilterbank", "FastModulationFilterbank", "pad_modulation_outputs"]

#: AMT flag of each ``lp150`` mode.
_LP150_FLAGS = {"off": "no_LP_150_Hz", "filter": "LP_150_Hz", "att_gain": "LP_150_Hz_att"}
#: AMT flag of each ``att_factor`` value AMT has.
_ATT_FLAGS = {1.0: "no_att_factor", 1 / math.sqrt(2): "att_factor"}


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


class _ChannelModFilters(Stage):
    """The band-pass filters (mfc > 0) of one auditory channel (a part of
    :class:`ModulationFilterbank`, a :class:`Stage` for its float64-buffer policy).

    Buffers: ``mfc_init (M,)`` (the initial centre frequencies, 0 first; they fix each
    filter's readout), ``att_gains (M-1,)`` (``LP_150_Hz_att`` gains, else ones) and the
    coefficients ``b (M-1, nb)``, ``a (M-1, na)``; or, learnable, the parameters
    ``log_mfc`` and ``log_bandwidth`` (centre frequency and -3-dB bandwidth in Hz).
    """

    float64_buffers = ("mfc_init", "att_gains", "b", "a")

    def __init__(self, mfc: torch.Tensor, bandpass: tuple[torch.Tensor, torch.Tensor],
                 att_gains: torch.Tensor, fs: float, Q: float, filter_type: str,
                 learnable: bool, dtype: torch.dtype):
        super().__init__()
        self.fs = fs
        self.filter_type = filter_type
        self.learnable = learnable
        self.register_buffer("mfc_init", mfc)
        self.register_buffer("att_gains", att_gains)
        if learnable:
            bands = mfc[1:]
            bandwidth = torch.where(bands < 10, torch.full_like(bands, 5.0), bands / Q)
            self.log_mfc = nn.Parameter(bands.log().to(dtype))
            self.log_bandwidth = nn.Parameter(bandwidth.log().to(dtype))
        else:
            self.register_buffer("b", bandpass[0])
            self.register_buffer("a", bandpass[1])

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Current band-pass coefficients ``b (M-1, nb)``, ``a (M-1, na)``."""
        if not self.learnable:
            return self.b, self.a
        bands = self.log_mfc.to(torch.float64).exp()
        bandwidth = self.log_bandwidth.to(torch.float64).exp()
        if self.filter_type == "efilt":
            return efilt_coefficients(bands, bandwidth, self.fs)
        return butterworth_bandpass_coefficients(bands, bandwidth, self.fs)

    def mfc_current(self) -> torch.Tensor:
        """Centre frequencies in Hz, 0 first (current values if learnable)."""
        if not self.learnable:
            return self.mfc_init
        return torch.cat([self.mfc_init[:1], self.log_mfc.detach().to(torch.float64).exp()])


class ModulationFilterbank(Stage):
    """Modulation filterbank of Dau et al. (1997) / Jepsen et al. (2008): AMT ``modfilterbank``.

    For each auditory channel: optional 150-Hz low-pass, a 2nd-order Butterworth
    low-pass (``lp_cutoff`` = 2.5 Hz) as the 0-Hz filter, complex frequency-shifted
    one-pole band-passes (AMT ``efilt``: ``b = 1-e0``, ``a = [1, -e0·exp(iω0)]``) at
    5 and 10 Hz (5-Hz bandwidth) and at ``16.67·r^k`` Hz (``r = (1+1/(2Q))/(1-1/(2Q))``,
    bandwidth ``mfc/Q``) up to the upper limit, outputs ``2·filter(b, a, x)``, then the
    real part for ``mfc ≤ 10`` Hz and ``att_factor·|.|`` above
    (``phase_insens_hilbert``). The filters are AMT's to the last bit (float64).
    Computed by :func:`~torch_amt.functional.modfilterbank.modfilterbank_apply`, one
    kernel call per auditory channel.

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
        (complex second-order section, flat symmetric passband, unit gain at ``mfc``);
        same real/``|.|`` post-processing.
    learnable : bool
        Make every band-pass' centre frequency and bandwidth (per channel and filter,
        as ``log`` parameters ``filter_coeffs[f].log_mfc`` / ``.log_bandwidth``) and the
        low-pass cut-off (``log_lp_cutoff``) trainable. The real/``|.|`` rule of a filter
        stays the one of its initial centre frequency. At initialisation the outputs
        equal the fixed bank's.
    dtype : torch.dtype
        dtype of learnable parameters. Coefficients are float64; the output has the
        input's precision.
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
    preset : str or None
        The AMT group of ``preset`` (``'jepsen2008'`` → ``'mfb_jepsen2008'``).
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
        Per channel: buffers ``b (M_f-1, 1)`` / ``a (M_f-1, 2)`` (efilt) or
        ``b, a (M_f-1, 3)`` (butterworth, complex), ``att_gains (M_f-1,)`` and
        ``mfc_init (M_f,)``, or the learnable parameters. Editing a buffer (in place or
        by ``load_state_dict``) changes the filterbank.

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

    amt_function = "modfilterbank"
    streamable = True
    float64_buffers = ("fc", "b_lowpass", "a_lowpass", "b_lp150", "a_lp150")
    #: How many rows one kernel call takes (see ``modfilterbank_apply``).
    _rows_per_call = "channel"

    def __init__(self, fs: float, fc, Q: float = 2.0, max_mfc: float | None = None,
                 lp_cutoff: float = 2.5, att_factor: float | None = None,
                 use_upper_limit: bool | None = None, preset: str | None = None,
                 filter_type: str = "efilt", learnable: bool = False,
                 dtype: torch.dtype = torch.float32, *, lp150: str | None = None,
                 phase_insens: bool = True):
        super().__init__()
        self.fs = check_fs(fs)
        self.dtype = check_dtype(dtype)
        cfg = resolve_modfilterbank_preset(preset)
        self.preset = cfg.amt_group if cfg else None
        cfg = cfg or MODFILTERBANK_PRESETS["mfb_dau1997"]  # the spec's class default
        design = modfilterbank_design(
            self.fs, fc, Q=Q, max_mfc=1000.0 if max_mfc is None else max_mfc,
            use_upper_limit=cfg.use_upper_limit if use_upper_limit is None else use_upper_limit,
            lp150=cfg.lp150 if lp150 is None else lp150,
            att_factor=cfg.att_factor if att_factor is None else att_factor,
            phase_insens=phase_insens, lp_cutoff=lp_cutoff, filter_type=filter_type)
        self.learnable = check_bool(learnable, "learnable")
        self.Q, self.lp_cutoff, self.filter_type = float(Q), float(lp_cutoff), filter_type
        self.max_mfc = float(1000.0 if max_mfc is None else max_mfc)
        self.use_upper_limit = cfg.use_upper_limit if use_upper_limit is None else bool(
            use_upper_limit)
        self.lp150 = cfg.lp150 if lp150 is None else lp150
        self.use_lp150_prefilter = self.lp150 == "filter"
        self.att_factor, self.phase_insens = design.att_factor, design.phase_insens
        self.num_channels = len(design.mfc)
        self.register_buffer("fc", check_frequencies(
            fc.detach() if isinstance(fc, torch.Tensor) else fc, None, "fc").to(
                torch.float64).reshape(-1))
        self.register_buffer("b_lowpass", design.lowpass[0])
        self.register_buffer("a_lowpass", design.lowpass[1])
        b150, a150 = modfilterbank_lowpass(self.fs, 150.0, order=1)
        self.register_buffer("b_lp150", b150)
        self.register_buffer("a_lp150", a150)
        if self.learnable:
            self.log_lp_cutoff = nn.Parameter(torch.tensor(math.log(lp_cutoff), dtype=dtype))
        gains = design.gains or [torch.ones(len(m) - 1, dtype=torch.float64)
                                 for m in design.mfc]
        self.filter_coeffs = nn.ModuleList(
            _ChannelModFilters(m, bp, g, self.fs, Q, filter_type, self.learnable, dtype)
            for m, bp, g in zip(design.mfc, design.bandpass, gains, strict=True))

    @property
    def mfc(self) -> list[torch.Tensor]:
        """Modulation centre frequencies per channel in Hz (current values if learnable)."""
        return [bank.mfc_current() for bank in self.filter_coeffs]

    def design(self) -> ModFilterbankDesign:
        """The current filterbank as one row table (rebuilt when a buffer or parameter
        changes; see :meth:`~torch_amt.stages.base.Stage.cached_design`)."""
        return self.cached_design("design", list(self.buffers()) + list(self.parameters()),
                                  self._build_design)

    def _build_design(self) -> ModFilterbankDesign:
        lowpass = ((self.b_lowpass, self.a_lowpass) if not self.learnable else
                   modfilterbank_lowpass(self.fs, self.log_lp_cutoff.to(torch.float64).exp()))
        banks = list(self.filter_coeffs)
        return ModFilterbankDesign(
            mfc=tuple(bank.mfc_init for bank in banks), lowpass=lowpass,
            bandpass=tuple(bank.coefficients() for bank in banks),
            gains=(tuple(bank.att_gains for bank in banks) if self.lp150 == "att_gain"
                   else None),
            prefilter=(self.b_lp150, self.a_lp150) if self.use_lp150_prefilter else None,
            att_factor=self.att_factor, phase_insens=self.phase_insens)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Apply the modulation filterbank.

        Parameters
        ----------
        x : Tensor, shape (B, F, T) or (F, T)
            Envelopes of the auditory channels (e.g. adaptation-loop output).

        Returns
        -------
        list of F Tensors, shape (B, M_f, T) or (M_f, T)
            Real, or complex with ``phase_insens=False``; the input's precision.
        """
        x = check_signal(x, "x", ndim=(2, 3), dim_names="(B, F, T) or (F, T)")
        check_module_input(self, x)
        x, squeeze = batched(x, 2)
        if x.shape[1] != self.num_channels:
            raise ValueError(f"x has {x.shape[1]} channels (axis -2) but the filterbank was "
                             f"built for {self.num_channels} centre frequencies fc")
        outputs = modfilterbank_apply(x, self.design(), rows_per_call=self._rows_per_call,
                                        dtype=x.dtype)
        return [out[0] for out in outputs] if squeeze else outputs

    def amt_equivalent(self) -> str:
        """The AMT call: the flag group, then the flags where the settings differ from it
        (without ``preset``, from AMT's default group ``mfb_jepsen2008``)."""
        base = MODFILTERBANK_PRESETS[self.preset or "mfb_jepsen2008"]
        flags = [self.preset] if self.preset else []
        if self.use_upper_limit != base.use_upper_limit:
            flags.append("mfc_upper_limit" if self.use_upper_limit else "no_mfc_upper_limit")
        if self.lp150 != base.lp150:
            flags.append(_LP150_FLAGS[self.lp150])
        if self.att_factor != base.att_factor and self.att_factor in _ATT_FLAGS:
            flags.append(_ATT_FLAGS[self.att_factor])
        if not self.phase_insens:
            flags.append("no_phase_insens")
        args = [repr(f) for f in flags]
        if self.Q != 2:
            args.append(f"'Q_mfb', {self.Q:g}")
        if self.max_mfc != 1000:
            args.append(f"'mfc_upper_limit_max', {self.max_mfc:g}")
        extra = [] if self.att_factor in _ATT_FLAGS else [f"att_factor={self.att_factor:.4g}"]
        if self.lp_cutoff != 2.5:
            extra.append(f"lp_cutoff={self.lp_cutoff:g}")
        if self.filter_type != "efilt":
            extra.append(f"filter_type={self.filter_type!r}")
        if self.learnable:
            extra.append("learnable")
        call = " ".join([self.amt_function, *([", ".join(args)] if args else [])])
        return call + (f" (not in AMT: {', '.join(extra)})" if extra else "")

    def extra_repr(self) -> str:
        return (f"fs={self.fs}, num_channels={self.num_channels}, Q={self.Q}, "
                f"max_mfc={self.max_mfc}, use_upper_limit={self.use_upper_limit}, "
                f"lp150={self.lp150!r}, att_factor={self.att_factor:.4f}, "
                f"phase_insens={self.phase_insens}, preset={self.preset!r}, "
                f"filter_type={self.filter_type!r}, learnable={self.learnable}")


class FastModulationFilterbank(ModulationFilterbank):
    """:class:`ModulationFilterbank` with every channel × filter pair in one kernel call.

    The same design and the same apply function as :class:`ModulationFilterbank`; only
    the row batching differs: all rows (the 0-Hz low-passes included) go to a single
    :func:`torch_amt.dsp.iir.lfilter_envelope` call, which takes a different filter per
    row, instead of one call per auditory channel. Results equal
    :class:`ModulationFilterbank`'s (bit for bit in the tests; documented bound 1e-12
    relative in float64) for every argument combination.

    Parameters
    ----------
    *args, **kwargs
        As :class:`ModulationFilterbank`.
    tolerance : int
        Kept from the seed API, where it set how coarsely coefficients were rounded to
        group filters. Here it is validated (an integer ≥ 0) and stored, and has no
        effect: no coefficient is rounded or grouped, every filter is applied with its
        own coefficients to its own channel. Default 2.

    Attributes
    ----------
    tolerance : int
    megabatch_map : list of dict
        One entry per row of the kernel call: ``{'channel', 'filter', 'mfc'}`` (filter 0
        = the low-pass).
    total_filters : int
        Number of rows (Σ_f M_f).
    """

    _rows_per_call = "all"

    def __init__(self, *args, tolerance: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self.tolerance = check_positive(tolerance, "tolerance", strict=False, integer=True)
        self.megabatch_map = [
            {"channel": ch, "filter": k, "mfc": float(m)}
            for ch, bank in enumerate(self.filter_coeffs) for k, m in enumerate(bank.mfc_init)
        ]
        self.total_filters = len(self.megabatch_map)

    def distribute_gradients(self) -> None:
        """Does nothing (kept from the seed API).

        In the seed API, filters sharing rounded coefficients were computed once and
        this method copied their gradient to every member of the group. No filters are
        grouped here: after ``backward()`` every parameter already holds its own exact
        gradient, and this method changes nothing.
        """
