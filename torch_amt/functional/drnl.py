"""Dual-resonance nonlinear (DRNL) filterbank, AMT 1.4.0 ``lopezpoveda2001``.

Each channel sums a linear path (gain, gammatone cascade, low-pass cascade) and a
nonlinear path (gammatone cascade, broken-stick compression, gammatone cascade,
low-pass cascade). Every channel parameter follows ``10^p0 · fc^p1`` of the channel
centre frequency. The input is first rescaled by ``gaindb(x, dboffset - 100)``
(AMT reads ``dboffset = dbspl(1) = 93.98``) and filtered by a middle-ear FIR.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from torch_amt import _checks
from torch_amt.dsp import libm
from torch_amt.dsp.design import butter
from torch_amt.dsp.streaming import lfilter
from torch_amt.functional.ears import ear_filter, middleearfilter
from torch_amt.functional.gammatone import (
    GammatoneDesign,
    cast_design,
    direct_form_ok,
    filter_channels,
    gammatone_design,
)
from torch_amt.levels import DBSPL_AMT
from torch_amt.scales import audfiltbw, erbspacebw

__all__ = [
    "DRNLParams",
    "DRNL_PRESETS",
    "resolve_preset",
    "CHANNEL_QUANTITIES",
    "DRNLDesign",
    "drnl_channel_values",
    "drnl_highest_fc",
    "drnl_design",
    "broken_stick",
    "drnl",
    "lopezpoveda2001",
]

PATHS = ("bothparts", "linonly", "nlinonly")


@dataclass(frozen=True)
class DRNLParams:
    """Parameters of ``lopezpoveda2001`` (AMT ``arg_lopezpoveda2001`` key-values).

    Every ``(p0, p1)`` pair gives the channel value ``10^p0 · fc^p1``.

    Attributes
    ----------
    lin_ngt, lin_nlp : int
        Order of the linear-path gammatone and number of cascaded 2nd-order
        Butterworth low-passes.
    lin_fc, lin_bw, lin_gain, lin_lp_cutoff : (float, float)
        Linear-path gammatone centre frequency and bandwidth (Hz), gain, low-pass
        cut-off (Hz).
    nlin_ngt_before, nlin_ngt_after : int or None
        Nonlinear-path gammatone orders before/after the compression (``None``: same as
        before).
    nlin_nlp : int
        Number of nonlinear-path low-passes.
    nlin_fc_before, nlin_fc_after, nlin_bw_before, nlin_bw_after, nlin_lp_cutoff
        Nonlinear-path gammatone centre frequencies/bandwidths and low-pass cut-off
        (``None`` for the "after" values: same as before).
    nlin_a, nlin_b, nlin_c : (float, float)
        Broken-stick compression ``sign(y)·min(a|y|^d, b|y|^c)``; ``a`` and ``b`` are
        evaluated at ``min(fc, compresslimit)``.
    nlin_d : float
        Exponent of the linear segment (1).
    compresslimit : float or None
        Frequency above which ``a`` and ``b`` stop changing (Hz).
    middleear : str or None
        Middle-ear FIR applied first (``'lopezpoveda2001'``, ``'jepsen2008'``, ``None``:
        AMT flags ``'middleear'``, ``'jepsen2008'``, ``'no_middleear'``).
    """

    lin_ngt: int = 2
    lin_nlp: int = 4
    lin_fc: tuple[float, float] = (-0.06762, 1.01679)
    lin_bw: tuple[float, float] = (0.03728, 0.78563)
    lin_gain: tuple[float, float] = (4.20405, -0.47909)
    lin_lp_cutoff: tuple[float, float] = (-0.06762, 1.01679)
    nlin_ngt_before: int = 3
    nlin_ngt_after: int | None = None
    nlin_nlp: int = 3
    nlin_fc_before: tuple[float, float] = (-0.05252, 1.01650)
    nlin_fc_after: tuple[float, float] | None = None
    nlin_bw_before: tuple[float, float] = (-0.03193, 0.77426)
    nlin_bw_after: tuple[float, float] | None = None
    nlin_lp_cutoff: tuple[float, float] = (-0.05252, 1.01650)
    nlin_a: tuple[float, float] = (1.40298, 0.81916)
    nlin_b: tuple[float, float] = (1.61912, -0.81867)
    nlin_c: tuple[float, float] = (math.log10(0.25), 0.0)
    nlin_d: float = 1.0
    compresslimit: float | None = None
    middleear: str | None = "lopezpoveda2001"

    def resolved(self) -> DRNLParams:
        """Copy with the empty "after" settings expanded, as AMT does."""
        return dataclasses.replace(
            self,
            nlin_ngt_after=self.nlin_ngt_before if self.nlin_ngt_after is None
            else self.nlin_ngt_after,
            nlin_fc_after=self.nlin_fc_before if self.nlin_fc_after is None
            else self.nlin_fc_after,
            nlin_bw_after=self.nlin_bw_before if self.nlin_bw_after is None
            else self.nlin_bw_after)


#: AMT parameter sets: the defaults (Lopez-Poveda & Meddis 2001, human) and the group
#: ``jepsen2008`` of ``arg_lopezpoveda2001`` (Jepsen et al. 2008). AMT 1.x's own
#: ``lopezpoveda2001(x, fs, 'jepsen2008')`` never returns (the group contains its own
#: name as a flag, which ``ltfatarghelper`` re-expands forever); these are its values.
DRNL_PRESETS: dict[str, DRNLParams] = {
    "lopezpoveda2001": DRNLParams(),
    "jepsen2008": DRNLParams(lin_bw=(0.03728, 0.75), lin_lp_cutoff=(-0.06762, 1.01),
                             nlin_bw_before=(-0.03193, 0.77), compresslimit=1500.0,
                             nlin_ngt_before=2, middleear="jepsen2008"),
}

def resolve_preset(preset: str | DRNLParams) -> DRNLParams:
    """The parameters of a preset name (:data:`DRNL_PRESETS`), or ``preset`` itself."""
    if isinstance(preset, DRNLParams):
        return preset
    return DRNL_PRESETS[_checks.check_choice(preset, "preset", tuple(DRNL_PRESETS))]


#: Per-channel quantities derived from the parameters (and made learnable by the module).
CHANNEL_QUANTITIES = ("lin_fc", "lin_bw", "lin_gain", "lin_lp_cutoff", "nlin_fc_before",
                      "nlin_fc_after", "nlin_bw_before", "nlin_bw_after", "nlin_lp_cutoff",
                      "nlin_a", "nlin_b", "nlin_c")


def _polfun(par: tuple[float, float], f: torch.Tensor) -> torch.Tensor:
    """AMT ``polfun``: ``10^par(1) · f^par(2)`` (C-library ``pow`` values)."""
    return math.pow(10.0, par[0]) * libm.pow(f, float(par[1]))


def drnl_channel_values(fc: torch.Tensor, params: DRNLParams) -> dict[str, torch.Tensor]:
    """Evaluate every per-channel DRNL quantity at the centre frequencies ``fc (F,)``."""
    p = params.resolved()
    fclimit = fc if p.compresslimit is None else torch.clamp(fc, max=p.compresslimit)
    values = {name: _polfun(getattr(p, name), fc) for name in CHANNEL_QUANTITIES
              if name not in ("nlin_a", "nlin_b")}
    values["nlin_a"] = _polfun(p.nlin_a, fclimit)
    values["nlin_b"] = _polfun(p.nlin_b, fclimit)
    return values


@dataclass(frozen=True)
class DRNLDesign:
    """All filters and nonlinearity constants of a DRNL filterbank with ``F`` channels."""

    lin_gain: torch.Tensor
    gt_lin: GammatoneDesign
    lp_lin: tuple[torch.Tensor, torch.Tensor]
    gt_before: GammatoneDesign
    gt_after: GammatoneDesign
    lp_nlin: tuple[torch.Tensor, torch.Tensor]
    nlin_a: torch.Tensor
    nlin_b: torch.Tensor
    nlin_c: torch.Tensor


#: The per-channel frequencies that must lie below fs/2.
NYQUIST_QUANTITIES = ("lin_fc", "lin_lp_cutoff", "nlin_fc_before", "nlin_fc_after",
                      "nlin_lp_cutoff")


def drnl_highest_fc(fs: float, preset: str | DRNLParams = "lopezpoveda2001") -> float:
    """The highest centre frequency (Hz) whose DRNL filters all lie below ``fs/2``.

    Every frequency of a channel is ``10^p·fc^q`` (:data:`NYQUIST_QUANTITIES`), so the
    bound is the smallest ``((fs/2)/10^p)^(1/q)``, lowered by one part in 1e9 to stay
    strictly below. With the ``jepsen2008`` parameters it is 7788 Hz at 16 kHz (the
    nonlinear path's centre frequency lies above its channel's ``fc``), above 8000 Hz
    from 22.05 kHz on.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    preset : str or DRNLParams
        Parameter set.
    """
    p = resolve_preset(preset).resolved()
    highest = math.inf
    for name in NYQUIST_QUANTITIES:
        log_gain, exponent = getattr(p, name)
        if exponent > 0:
            highest = min(highest, (fs / 2 / 10.0 ** log_gain) ** (1.0 / exponent))
    return highest * (1 - 1e-9)


def _check_nyquist(values: dict[str, torch.Tensor], fs: float, source: str) -> None:
    advice = ("lower fhigh, or pass fhigh=None for the highest channel computable at this fs"
              if source == "fhigh" else f"lower the highest {source}")
    for name in NYQUIST_QUANTITIES:
        top = float(values[name].detach().max())
        if top >= fs / 2:
            raise ValueError(
                f"{source} is too high for fs = {fs} Hz: the top channel's {name} is "
                f"{top:.1f} Hz, at or above fs/2 = {fs / 2} Hz (AMT lopezpoveda2001 fails "
                f"there too); {advice} or raise fs")


def drnl_design(values: dict[str, torch.Tensor], fs: float, params: DRNLParams, *,
                source: str = "fhigh") -> DRNLDesign:
    """Design the DRNL filters from per-channel values (:func:`drnl_channel_values`).

    Gammatones: AMT ``gammatone(f, fs, n, bw/audfiltbw(f), 'classic')`` (real,
    pole-zero); low-passes: ``butter(2, cutoff/(fs/2))``. A frequency at or above fs/2
    is a ValueError that names ``source``, the argument the channels came from
    (``'fhigh'``, or ``'fc'`` for explicit centre frequencies).
    """
    p = params.resolved()
    _check_nyquist(values, fs, source)

    def gammatone(f: torch.Tensor, bw: torch.Tensor, n: int) -> GammatoneDesign:
        return gammatone_design(f, fs, n, bw / audfiltbw(f), kind="real", filtertype="classic")

    return DRNLDesign(
        lin_gain=values["lin_gain"],
        gt_lin=gammatone(values["lin_fc"], values["lin_bw"], p.lin_ngt),
        lp_lin=butter(2, values["lin_lp_cutoff"], fs, "low"),
        gt_before=gammatone(values["nlin_fc_before"], values["nlin_bw_before"],
                            p.nlin_ngt_before),
        gt_after=gammatone(values["nlin_fc_after"], values["nlin_bw_after"], p.nlin_ngt_after),
        lp_nlin=butter(2, values["nlin_lp_cutoff"], fs, "low"),
        nlin_a=values["nlin_a"], nlin_b=values["nlin_b"], nlin_c=values["nlin_c"])


def broken_stick(y: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
                 d: float = 1.0) -> torch.Tensor:
    """Broken-stick compression ``sign(y) · min(a|y|^d, b|y|^c)`` (Meddis et al. 2001).

    ``a``, ``b``, ``c`` broadcast against ``y`` (per channel: shape ``(F, 1)`` for
    ``y (B, F, T)``). Differentiable in ``y``, ``a``, ``b`` and ``c``, with the
    gradients of the elementwise composition (zero at ``y = 0``; a tie of the two
    segments shares the gradient equally, as :func:`torch.minimum` does).

    One fused operation: the forward keeps only ``y`` for the backward, which
    recomputes the segments; on CPU both run over blocks of time samples, so no
    full-size temporary is allocated (at B = 8 those temporaries were gigabytes of
    freshly mapped memory per forward+backward). The operations are the composition's;
    values can differ in the last bit where a block boundary moves a sample between
    torch's vectorised and scalar ``pow`` (≤ 1e-15 relative).
    """
    return _BrokenStick.apply(y, a, b, c, float(d))


def _segments(y, a, b, c, d):
    """``(sign(y), |y|, safe |y|, linear, compressed)`` of :func:`broken_stick`."""
    mag = y.abs()
    safe = torch.where(mag > 0, mag, torch.ones_like(mag))
    linear = a * (mag if d == 1 else safe ** d * (mag > 0))
    compressed = b * safe ** c
    return torch.sign(y), mag, safe, linear, compressed


def _time_blocks(y: torch.Tensor) -> list[slice]:
    """Slices of the time axis: blocks of about 2^18 samples of ``y`` on CPU, the whole
    axis elsewhere (on a GPU fewer, larger kernels win)."""
    n_t = y.shape[-1]
    rows = max(1, y.numel() // max(n_t, 1))
    step = n_t if y.device.type != "cpu" else max(1, 2**18 // rows)
    return [slice(t, t + step) for t in range(0, max(n_t, 1), step)]


class _BrokenStick(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y, a, b, c, d):
        shape = torch.broadcast_shapes(y.shape, a.shape, b.shape, c.shape)
        out = torch.empty(shape, dtype=torch.result_type(y, a), device=y.device)
        for t in _time_blocks(out):
            sign, _, _, linear, compressed = _segments(y[..., t], a, b, c, d)
            torch.mul(sign, torch.minimum(linear, compressed), out=out[..., t])
        ctx.save_for_backward(y, a, b, c)
        ctx.d = d
        return out

    @staticmethod
    def backward(ctx, g):
        y, a, b, c = ctx.saved_tensors
        d = ctx.d
        need = ctx.needs_input_grad[:4]
        if torch.is_grad_enabled():  # create_graph: differentiate the composition
            with torch.enable_grad():
                sign, _, _, linear, compressed = _segments(y, a, b, c, d)
                out = sign * torch.minimum(linear, compressed)
                wanted = [t for t, n in zip((y, a, b, c), need, strict=True) if n]
                grads = iter(torch.autograd.grad(out, wanted, g, create_graph=True,
                                                 allow_unused=True))
            return (*(next(grads) if n else None for n in need), None)
        gy = torch.empty_like(y) if need[0] else None
        ga, gb, gc = (torch.zeros(t.shape, dtype=torch.float64, device=t.device) if n else None
                      for t, n in zip((a, b, c), need[1:], strict=True))
        for t in _time_blocks(g):
            yt, gt = y[..., t], g[..., t]
            sign, mag, safe, linear, compressed = _segments(yt, a, b, c, d)
            # torch.minimum's gradient: to the smaller segment, half each at a tie
            lower = linear < compressed
            tie = linear == compressed
            tied = bool(tie.any())
            if gy is not None:
                # d out/dy = sign² · (d of the selected segment); sign² is 0 at y = 0
                dcmp = (b * c) * safe ** (c - 1)
                dlin = a if d == 1 else (a * d) * safe ** (d - 1)
                slope = torch.where(lower, dlin, dcmp)
                if tied:
                    slope = torch.where(tie, 0.5 * dlin + 0.5 * dcmp, slope)
                gy[..., t] = torch.where(mag > 0, gt, 0) * slope
            if ga is None and gb is None and gc is None:
                continue
            gs = gt * sign  # d out / d min
            w_lin = lower.to(linear.dtype)
            if tied:
                w_lin = torch.where(tie, 0.5, w_lin)
            w_cmp = 1 - w_lin
            # per-channel sums over the broadcast axes, accumulated in float64
            if ga is not None:
                ga += (gs * w_lin * (mag if d == 1 else safe ** d * (mag > 0))).to(
                    torch.float64).sum_to_size(ga.shape)
            if gb is not None:
                gb += (gs * w_cmp * safe ** c).to(torch.float64).sum_to_size(gb.shape)
            if gc is not None:
                gc += (gs * w_cmp * compressed * torch.log(safe)).to(
                    torch.float64).sum_to_size(gc.shape)
        return (gy, *(None if t is None else t.to(s.dtype)
                      for t, s in zip((ga, gb, gc), (a, b, c), strict=True)), None)


def _lowpass(y: torch.Tensor, ba: tuple[torch.Tensor, torch.Tensor], n: int) -> torch.Tensor:
    """``n`` passes of the low-pass ``ba``; float64 coefficients are kept for any signal.

    The 2nd-order Butterworth low-passes of the low channels have poles within ~1e-3 of
    the unit circle: rounded to float32 their coefficients move the output by ~1e-4
    relative, so only the signal is in the signal's precision (:func:`lfilter`
    accumulates in double precision and keeps double-precision coefficients).
    """
    b, a = (t.to(y.device) for t in ba)
    for _ in range(n):
        y = lfilter(y, b, a)
    return y


def drnl(x: torch.Tensor, fs: float, design: DRNLDesign, params: DRNLParams, *,
         dboffset: float = DBSPL_AMT, path: str = "bothparts",
         middle_ear: torch.Tensor | None = None) -> torch.Tensor:
    """Run the DRNL filterbank: ``(..., T) -> (..., F, T)``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Sound pressure with AMT's level convention: an rms of 1 is ``dboffset`` dB SPL.
    fs : float
        Sampling rate in Hz.
    design : DRNLDesign
        From :func:`drnl_design`.
    params : DRNLParams
        Orders, cascade lengths, ``nlin_d`` and the middle ear.
    dboffset : float
        Level of an rms of 1 (AMT ``dbspl(1)`` = 93.98); the input is scaled by
        ``gaindb(x, dboffset - 100)`` first.
    path : {'bothparts', 'linonly', 'nlinonly'}
        AMT flag: both paths (default) or one of them.
    middle_ear : Tensor, shape (513,), optional
        Precomputed taps of ``middleearfilter(fs, params.middleear)`` (designed here if
        not given).

    Returns
    -------
    Tensor, shape (..., F, T)
        Basilar-membrane velocity (m/s).

    Notes
    -----
    float64 on the CPU kernel filters with AMT's direct-form gammatone polynomials;
    otherwise each gammatone is a cascade of second-order sections (see
    :func:`torch_amt.functional.gammatone.gammatone_filter`).
    """
    p = params.resolved()
    _checks.check_choice(path, "path", PATHS)
    x = x * 10 ** ((dboffset - 100) / 20)
    if p.middleear is not None:
        if middle_ear is None:
            middle_ear = middleearfilter(fs, p.middleear)
        x = ear_filter(x, middle_ear)
    cascade = not direct_form_ok(x)
    x = x.unsqueeze(-2)

    def per_channel(t: torch.Tensor) -> torch.Tensor:
        return t.to(x.dtype)[:, None]

    out = torch.zeros((), dtype=x.dtype, device=x.device)
    if path in ("bothparts", "linonly"):
        y = x * per_channel(design.lin_gain)
        y = filter_channels(y, cast_design(design.gt_lin, x.dtype), cascade)
        out = out + _lowpass(y, design.lp_lin, p.lin_nlp)
    if path in ("bothparts", "nlinonly"):
        y = filter_channels(x, cast_design(design.gt_before, x.dtype), cascade)
        y = broken_stick(y, per_channel(design.nlin_a), per_channel(design.nlin_b),
                         per_channel(design.nlin_c), p.nlin_d)
        y = filter_channels(y, cast_design(design.gt_after, x.dtype), cascade)
        out = out + _lowpass(y, design.lp_nlin, p.nlin_nlp)
    return out


def lopezpoveda2001(x: torch.Tensor, fs: float, flow: float = 80.0, fhigh: float = 8000.0, *,
                    preset: DRNLParams | str = "lopezpoveda2001", bwmul: float = 1.0,
                    basef: float | None = None, dboffset: float = DBSPL_AMT,
                    path: str = "bothparts") -> tuple[torch.Tensor, torch.Tensor]:
    """AMT 1.4.0 ``[outsig, fc] = lopezpoveda2001(x, fs, flow, fhigh, ...)``.

    Parameters
    ----------
    x : Tensor, shape (T,) or (B, T)
        Audio; an rms of 1 is ``dboffset`` dB SPL.
    fs : float
        Sampling rate in Hz.
    flow, fhigh : float
        Range of the 1-ERB-spaced channel centre frequencies (AMT 80, 8000 Hz).
    preset : {'lopezpoveda2001', 'jepsen2008'} or DRNLParams
        Parameter set: AMT's defaults, or its ``jepsen2008`` flag group (a
        :class:`DRNLParams` for any other values).
    bwmul, basef : float
        Channel spacing (ERB) and forced centre frequency (AMT ``bwmul``, ``basef``).
    dboffset : float
        Level convention of ``x`` (AMT reads ``dbspl(1)`` = 93.98).
    path : {'bothparts', 'linonly', 'nlinonly'}
        AMT path flag.

    Returns
    -------
    outsig : Tensor, shape (F, T) or (B, F, T)
    fc : Tensor, shape (F,), float64

    References
    ----------
    E. A. Lopez-Poveda and R. Meddis, "A human nonlinear cochlear filterbank",
    J. Acoust. Soc. Am. 110, 3107-3118, 2001.
    R. Meddis, L. P. O'Mard and E. A. Lopez-Poveda, "A computational algorithm for
    computing nonlinear auditory frequency selectivity", J. Acoust. Soc. Am. 109,
    2852-2861, 2001.
    """
    x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
    fs = _checks.check_fs(fs)
    params = resolve_preset(preset)
    fc = erbspacebw(flow, fhigh, bwmul, basef, dtype=torch.float64)
    design = drnl_design(drnl_channel_values(fc, params), fs, params)
    return drnl(x, fs, design, params, dboffset=dboffset, path=path), fc
