"""Central processor of Breebaart et al. (2001a) (AMT 1.4.0 ``breebaart2001_centralproc``).

An artificial observer for n-interval forced-choice trials that learns, from the trials
it has seen, the mean and variance of the masker-alone internal representation and the
mean signal-interval representation. For each interval it computes the weighted
distance

    U = sum(w * (x - m)) + n * sqrt(sum(w**2)),    w = (s - m) / (var + 1),

(``m``, ``var``: masker template mean and variance, ``s``: mean signal interval, ``n``
a standard-normal internal-noise draw per interval, internal-noise variance 1) and
chooses the interval with the largest ``U``. After each trial it is told which interval
held the signal (always the first one, AMT's convention) and updates its templates.

AMT keeps the templates in ``persistent`` variables, reset with
``clear breebaart2001_centralproc``. Here the state is explicit: an immutable
:class:`CentralProcState` goes in and the updated one comes out, so independent
experiment runs (a batch dimension) and reproducible tests need no hidden globals.

AMT 1.4.0 behaviour reproduced (``templatesq='amt'``, the default):

* the templates are created (zeros) only when the cumulative masker-interval count
  reaches exactly 2, i.e. on a first call with 3 intervals; any other start leaves them
  empty and AMT stops with a size error (here :class:`ValueError`);
* the "mean square" template accumulates the *square of the sum of squares* of the
  masker intervals of a trial (``(sum x_i^2)^2``), not the sum of squares, so the
  "variance" ``templatesq - template^2`` is not a variance; ``templatesq='mean_square'``
  accumulates the sum of squares instead (the evident intent, Breebaart et al. 2001a);
* on the first trial all templates are zero, every ``U`` is 0 and interval 1 is chosen;
* one noise draw per interval is shared by the binaural and monaural channels;
* with all three channels (``'blr'`` ...) and lower-case ``'b'``, a trial whose
  binaural ``U`` are all exactly 0 is decided by the monaural channels alone (from the
  second trial on); upper-case ``'B'`` always averages all channels;
* the monaural representations are multiplied by ``monofactor`` before use.

References
----------
J. Breebaart, S. van de Par, A. Kohlrausch (2001a). Binaural processing model based on
contralateral inhibition. I. Model structure. J. Acoust. Soc. Am. 110(2), 1074-1088.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from torch_amt import _checks

__all__ = ["CentralProcState", "breebaart2001_centralproc", "centralproc_channels"]

_CHANNEL_ORDER = ("b", "l", "r")
_MAP_NDIM = 2  # every representation is a 2-D map (AMT: time x channel)


@dataclass(frozen=True)
class CentralProcState:
    """Everything AMT's ``breebaart2001_centralproc`` keeps between calls.

    Attributes
    ----------
    n_masker : int
        Masker intervals seen so far (AMT ``maskernumber``); 0 for a fresh observer.
    n_signal : int
        Trials (signal intervals) seen so far (AMT ``signalnumber``).
    templates : dict
        Per channel (``'b'`` binaural, ``'l'``/``'r'`` monaural) a tuple
        ``(masker mean, masker "mean square", signal mean)`` of tensors shaped like one
        interval's map (with the batch dimensions), or absent while not created.
    """

    n_masker: int = 0
    n_signal: int = 0
    templates: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = field(
        default_factory=dict)

    @property
    def fresh(self) -> bool:
        """Whether no trial has been seen (AMT: the persistent variables are empty)."""
        return self.n_signal == 0

    def counted(self, n_intervals: int) -> CentralProcState:
        """The counters after a call with ``n_intervals`` intervals (AMT updates them
        first, before anything can fail)."""
        n_intervals = _checks.check_positive(n_intervals, "n_intervals", integer=True)
        if self.fresh:
            return replace(self, n_masker=n_intervals - 1, n_signal=1)
        return replace(self, n_masker=self.n_masker + n_intervals - 1,
                       n_signal=self.n_signal + 1)


def centralproc_channels(bimono: str) -> tuple[str, ...]:
    """The channels a ``bimonostring`` selects (AMT: ``'b'``/``'B'``, ``'l'``, ``'r'``,
    case-insensitive), in the order ``('b', 'l', 'r')``.

    Raises
    ------
    ValueError
        If it selects none.
    """
    if not isinstance(bimono, str):
        raise TypeError(f"bimono must be a string of 'b', 'B', 'l', 'r', got "
                        f"{type(bimono).__name__}")
    chosen = tuple(c for c in _CHANNEL_ORDER if c in bimono.lower())
    if not chosen:
        raise ValueError(f"bimono must contain 'b'/'B' (binaural), 'l' or 'r' (monaural), "
                         f"got {bimono!r}")
    return chosen


def _check_maps(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    _checks.check_not_meta(x, name)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a real floating-point tensor, got {x.dtype}")
    if x.ndim < _MAP_NDIM + 1 or x.shape[-3] < 1:
        raise ValueError(f"{name} must have shape (..., intervals, A, B) with at least one "
                         f"interval, got {tuple(x.shape)}")
    return x


def _sum_map(x: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=(-2, -1))


def breebaart2001_centralproc(
    ei_map: torch.Tensor | None,
    monol: torch.Tensor | None,
    monor: torch.Tensor | None,
    state: CentralProcState,
    bimono: str = "b",
    *,
    monofactor: float = 0.0003,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    templatesq: str = "amt",
) -> tuple[torch.Tensor, CentralProcState]:
    """One forced-choice trial of the Breebaart et al. (2001a) central processor.

    Parameters
    ----------
    ei_map : Tensor, shape (..., I, A, B), or None
        Binaural (EI) representation of each of the ``I`` intervals (any 2-D map layout,
        e.g. AMT's time x channel or torch_amt's channel x time); interval 0 holds the
        signal. Needed when ``bimono`` selects the binaural channel.
    monol, monor : Tensor, shape (..., I, A, B), or None
        Left/right monaural representations (needed for ``'l'`` / ``'r'``).
    state : CentralProcState
        The observer's state before the trial (``CentralProcState()`` for a fresh one).
    bimono : str
        AMT ``bimonostring``: ``'b'`` binaural (monaural decision if its ``U`` are all 0,
        with ``'l'`` and ``'r'``), ``'B'`` binaural always, ``'l'``, ``'r'`` monaural;
        combinations such as ``'blr'`` average the channels' ``U``.
    monofactor : float
        Gain on the monaural representations (AMT default 0.0003).
    noise : Tensor, shape (..., I), optional
        Standard-normal internal-noise draws, one per interval (shared by the
        channels). Drawn with ``generator`` when omitted; pass them to reproduce a
        given random stream (e.g. AMT's Octave ``randn``).
    generator : torch.Generator, optional
    templatesq : {'amt', 'mean_square'}
        How the masker "mean square" template accumulates (see the module docstring).

    Returns
    -------
    decision : LongTensor, shape (...)
        The chosen interval, 0-based (AMT returns it 1-based): 0 is correct.
    state : CentralProcState
        The state after the trial (templates updated with this trial's intervals).

    Raises
    ------
    ValueError
        If the maps' shapes disagree with each other, ``noise`` or the templates, a
        needed representation is missing, or AMT would stop (templates never created:
        the observer's first trial must have 3 intervals).
    """
    channels = centralproc_channels(bimono)
    templatesq = _checks.check_choice(templatesq, "templatesq", ("amt", "mean_square"))
    monofactor = _checks.check_number(monofactor, "monofactor")
    if not isinstance(state, CentralProcState):
        raise TypeError(f"state must be a CentralProcState, got {type(state).__name__}")
    given = {"b": ei_map, "l": monol, "r": monor}
    names = {"b": "ei_map", "l": "monol", "r": "monor"}
    inputs: dict[str, torch.Tensor] = {}
    for c in channels:
        if given[c] is None:
            raise ValueError(f"bimono {bimono!r} uses {names[c]}, which is None")
        x = _check_maps(given[c], names[c])
        inputs[c] = x * monofactor if c in ("l", "r") else x
    shapes = {tuple(x.shape) for x in inputs.values()}
    if len(shapes) > 1:
        raise ValueError(f"the representations must have one shape, got "
                         f"{sorted(shapes)}")
    x0 = next(iter(inputs.values()))
    n_intervals = x0.shape[-3]
    batch = tuple(x0.shape[:-3])
    if noise is None:
        noise = torch.randn(batch + (n_intervals,), generator=generator, dtype=x0.dtype,
                            device=x0.device)
    elif not isinstance(noise, torch.Tensor) or tuple(noise.shape) != batch + (n_intervals,):
        raise ValueError(f"noise must be a tensor of shape {batch + (n_intervals,)}, got "
                         f"{tuple(getattr(noise, 'shape', ()))}")

    state = state.counted(n_intervals)
    templates = dict(state.templates)
    one_map = x0[..., 0, :, :]
    for c in channels:
        if state.n_masker == 2:
            zero = torch.zeros_like(one_map)
            templates[c] = (zero, zero, zero)
        if c not in templates:
            raise ValueError(
                "the central processor's templates were never created: AMT creates them "
                "only when its masker-interval count reaches exactly 2, i.e. the first "
                f"trial after a reset must have 3 intervals (this one has {n_intervals})")
        if tuple(templates[c][0].shape) != tuple(one_map.shape):
            raise ValueError(f"{names[c]} maps of shape {tuple(one_map.shape)} do not match "
                             f"the templates of shape {tuple(templates[c][0].shape)}")

    u = {}
    for c in channels:
        mean, meansq, signal = templates[c]
        weight = (signal - mean) / (meansq - mean.square() + 1.0)
        nuvar = _sum_map(weight.square())
        u[c] = (_sum_map(weight.unsqueeze(-3) * (inputs[c] - mean.unsqueeze(-3)))
                + noise * nuvar.sqrt().unsqueeze(-1))
    stacked = torch.stack([u[c] for c in channels])
    total = stacked.sum(dim=0) / len(channels)
    if len(channels) == 3 and state.n_signal > 1 and "b" in bimono:
        mono = (u["l"] + u["r"]) / 2
        silent = (u["b"] == 0).all(dim=-1, keepdim=True)
        total = torch.where(silent, mono, total)
    decision = torch.argmax(total, dim=-1)

    n_sig, n_mask, prev = state.n_signal, state.n_masker, state.n_masker - (n_intervals - 1)
    for c in channels:
        mean, meansq, signal = templates[c]
        x = inputs[c]
        maskers = x[..., 1:, :, :]
        added = maskers.sum(dim=-3)
        added_sq = maskers.square().sum(dim=-3)
        if templatesq == "amt":
            added_sq = added_sq.square()
        templates[c] = ((mean * prev + added) / n_mask,
                        (meansq * prev + added_sq) / n_mask,
                        (signal * (n_sig - 1) + x[..., 0, :, :]) / n_sig)
    return decision, replace(state, templates=templates)
