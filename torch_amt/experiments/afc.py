"""Adaptive n-interval forced-choice experiments with a model as the listener
(AMT 1.4.0 ``amt_emuexp``).

Each trial presents ``n_intervals`` intervals; interval 0 holds the target (AMT's
convention: the signal generator is called with ``'target'`` for interval 1 and
``'reference'`` for the others), the listener answers with an interval index and the
experimental variable (a level in dB, a modulation depth in dB ...) follows an
n-down-1-up rule with a step-size schedule; a run ends after a number of reversals at the
smallest step and its threshold is their median. All intervals of a trial and all
independent runs still going are generated and passed through the listener as *one*
batch, so a model runs once per trial step for the whole experiment.

The track is AMT's, counter for counter (:class:`AdaptiveProcedure`), including its
quirks: the wrong-answer counter starts at -1 (the very first wrong answer does not
count towards a step up), reversals are counted *before* the counters are updated, the
step size shrinks after ``reversals_per_step`` reversals only on a trial that follows
exactly one correct answer, and only the reversals at the smallest step size enter the
threshold (median, spread = population standard deviation, AMT ``std(.,1)``).

References
----------
H. Levitt (1971). Transformed up-down methods in psychoacoustics. J. Acoust. Soc. Am.
49(2), 467-477.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from torch_amt import _checks

__all__ = ["AdaptiveProcedure", "Listener", "RunResult", "SignalGenerator", "run_adaptive",
           "run_conditions"]


@dataclass(frozen=True)
class AdaptiveProcedure:
    """Settings of an adaptive track (AMT ``amt_emuexp('expinit', ...)`` keys in brackets).

    Parameters
    ----------
    start : float
        Initial value of the experimental variable (``expvarstart``).
    step : float
        Initial step size (``expvarstepstart``), > 0.
    n_intervals : int
        Intervals per trial (``intnum``), >= 2.
    down : int
        Correct answers in a row that lower the variable (``rule(1)``).
    up : int
        Wrong answers in a row that raise it (``rule(2)``).
    step_factor : float
        Factor applied to the step size (``expvarsteprule(1)``), in (0, 1].
    reversals_per_step : int
        Reversals after which the step size changes (``expvarsteprule(2)``).
    min_step : float
        Smallest step size (``stepmin(1)``); reached exactly by the schedule
        (``step * step_factor**k == min_step``) as in AMT, else the run never ends.
    n_reversals : int
        Reversals at the smallest step that end a run (``stepmin(2)``).
    max_trials : int
        Safety limit: a run still going after this many trials raises ``RuntimeError``
        (AMT loops forever).
    maximum : float, optional
        Upper limit of the variable (e.g. 0 dB for a modulation depth); not in AMT.
    """

    start: float
    step: float = 8.0
    n_intervals: int = 3
    down: int = 2
    up: int = 1
    step_factor: float = 0.5
    reversals_per_step: int = 2
    min_step: float = 1.0
    n_reversals: int = 8
    max_trials: int = 1000
    maximum: float | None = None

    def __post_init__(self) -> None:
        _checks.check_number(self.start, "start")
        _checks.check_positive(self.step, "step")
        if _checks.check_positive(self.n_intervals, "n_intervals", integer=True) < 2:
            raise ValueError(f"n_intervals must be at least 2, got {self.n_intervals}")
        for name in ("down", "up", "reversals_per_step", "n_reversals", "max_trials"):
            _checks.check_positive(getattr(self, name), name, integer=True)
        _checks.check_number(self.step_factor, "step_factor", minimum=0.0, maximum=1.0,
                             strict=False)
        if self.step_factor <= 0:
            raise ValueError(f"step_factor must lie in (0, 1], got {self.step_factor}")
        _checks.check_positive(self.min_step, "min_step")
        steps, s = [self.step], self.step
        while s > self.min_step and self.step_factor < 1 and len(steps) < 64:
            s *= self.step_factor
            steps.append(s)
        if not any(math.isclose(v, self.min_step, rel_tol=0, abs_tol=0) for v in steps):
            raise ValueError(f"the step schedule {steps[:6]} never equals min_step "
                             f"{self.min_step}: the run could not end (AMT compares exactly)")
        if self.maximum is not None:
            _checks.check_number(self.maximum, "maximum")


class SignalGenerator(Protocol):
    """Makes the intervals of one trial step for every run.

    Called as ``signal(values, n_intervals, generator)`` with ``values`` the
    experimental variable per run (shape ``(R,)``); returns the audio
    ``(R, n_intervals, channels..., T)`` with the target in interval 0.
    """

    def __call__(self, values: torch.Tensor, n_intervals: int,
                 generator: torch.Generator) -> torch.Tensor: ...


class Listener(Protocol):
    """A model plus a decision stage answering forced-choice trials.

    ``initial_state(n_runs)`` gives the per-run state before the first trial;
    ``__call__(intervals, state, generator)`` answers one trial for every run
    (``intervals (R, I, ...)``) with the chosen interval indices ``(R,)`` and the new
    state; ``select(state, keep)`` keeps the runs of the boolean mask ``keep``.
    """

    def initial_state(self, n_runs: int) -> Any: ...

    def __call__(self, intervals: torch.Tensor, state: Any,
                 generator: torch.Generator) -> tuple[torch.Tensor, Any]: ...

    def select(self, state: Any, keep: torch.Tensor) -> Any: ...


@dataclass
class RunResult:
    """Outcome of the independent runs of one condition.

    Attributes
    ----------
    thresholds : list of float
        Threshold of each run (median of its final reversals).
    spreads : list of float
        Population standard deviation of each run's final reversals.
    tracks : list of list of float
        The variable's value on every trial of each run.
    reversals : list of list of float
        The final reversal values of each run.
    seconds : float
        Wall-clock time of the whole experiment.
    """

    thresholds: list[float]
    spreads: list[float]
    tracks: list[list[float]] = field(default_factory=list)
    reversals: list[list[float]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mean(self) -> float:
        """Mean threshold over the runs."""
        return sum(self.thresholds) / len(self.thresholds)

    @property
    def std(self) -> float:
        """Population standard deviation of the thresholds over the runs (AMT
        ``std(., 1)``)."""
        m = self.mean
        return math.sqrt(sum((t - m) ** 2 for t in self.thresholds) / len(self.thresholds))


def _median(values: list[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _pstd(values: list[float]) -> float:
    m = sum(values) / len(values)
    return math.sqrt(sum((x - m) ** 2 for x in values) / len(values))


class _Track:
    """One run's adaptive track, AMT's counters."""

    def __init__(self, p: AdaptiveProcedure) -> None:
        self.p = p
        self.value = float(p.start)
        self.step = float(p.step)
        self.right, self.wrong = 0, -1
        self.downturn, self.upturn = 0, 1
        self.turns = 0
        self.final: list[float] = []
        self.track: list[float] = []

    def answer(self, correct: bool) -> bool:
        """Update with one answer; True when the run has ended."""
        p = self.p
        self.track.append(self.value)
        if not correct and self.wrong == p.up - 1 and self.downturn == 0:
            self.turns, self.downturn, self.upturn = self.turns + 1, 1, 0
            if self.step == p.min_step:
                self.final.append(self.value)
        elif correct and self.right == p.down - 1 and self.upturn == 0:
            self.turns, self.downturn, self.upturn = self.turns + 1, 0, 1
            if self.step == p.min_step:
                self.final.append(self.value)
        if (self.turns == p.reversals_per_step and self.right == 1
                and self.step != p.min_step):
            self.step *= p.step_factor
            self.turns = 0
        if correct:
            self.wrong, self.right = 0, self.right + 1
        else:
            self.right, self.wrong = 0, self.wrong + 1
        if self.right == p.down:
            self.value -= self.step
            self.right = 0
        if self.wrong == p.up:
            self.value += self.step
            self.wrong = 0
        if p.maximum is not None:
            self.value = min(self.value, p.maximum)
        return len(self.final) == p.n_reversals


def run_adaptive(signal: SignalGenerator | Callable, listener: Listener,
                 procedure: AdaptiveProcedure, n_runs: int = 1, seed: int = 0) -> RunResult:
    """Run ``n_runs`` independent adaptive tracks of one condition, batched.

    Parameters
    ----------
    signal : SignalGenerator
        Interval generator (target in interval 0).
    listener : Listener
        Model plus decision stage.
    procedure : AdaptiveProcedure
        Track settings.
    n_runs : int
        Independent runs, computed together as one batch.
    seed : int
        Seed of the (CPU) ``torch.Generator`` from which every random number of the
        experiment (signals, internal noise) is drawn: the same seed gives the same
        result. The listener moves the intervals to its model's device.

    Returns
    -------
    RunResult

    Raises
    ------
    RuntimeError
        If a run has not ended after ``procedure.max_trials`` trials.
    """
    return run_conditions([signal], listener, procedure, n_runs, seed)[0]


def run_conditions(signals: Sequence[SignalGenerator | Callable], listener: Listener,
                   procedure: AdaptiveProcedure, n_runs: int = 1,
                   seed: int = 0) -> list[RunResult]:
    """Run ``n_runs`` tracks of every condition (one signal generator each) with one
    listener, all conditions and runs still going batched through the model together.

    Parameters
    ----------
    signals : sequence of SignalGenerator
        One interval generator per condition; all must give intervals of one shape.
    listener, procedure, n_runs, seed
        As in :func:`run_adaptive` (``seed`` seeds the whole experiment).

    Returns
    -------
    list of RunResult
        One per condition, in order.

    Raises
    ------
    RuntimeError
        If a run has not ended after ``procedure.max_trials`` trials.
    """
    if not isinstance(procedure, AdaptiveProcedure):
        raise TypeError(f"procedure must be an AdaptiveProcedure, got "
                        f"{type(procedure).__name__}")
    signals = list(signals)
    if not signals or not all(callable(s) for s in signals):
        raise ValueError("signals must be a non-empty sequence of signal generators")
    n_runs = _checks.check_positive(n_runs, "n_runs", integer=True)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    generator = torch.Generator().manual_seed(seed)
    tracks = {(c, r): _Track(procedure) for c in range(len(signals)) for r in range(n_runs)}
    active = list(tracks)
    state = listener.initial_state(len(active))
    start = time.perf_counter()
    for _ in range(procedure.max_trials):
        parts = []
        for c, signal in enumerate(signals):
            runs = [key for key in active if key[0] == c]
            if runs:
                values = torch.tensor([tracks[k].value for k in runs], dtype=torch.float64)
                parts.append(signal(values, procedure.n_intervals, generator))
        decisions, state = listener(torch.cat(parts), state, generator)
        done = [tracks[k].answer(int(d) == 0) for k, d in zip(active, decisions.tolist(),
                                                               strict=True)]
        if any(done):
            keep = torch.tensor([not d for d in done])
            active = [k for k, d in zip(active, done, strict=True) if not d]
            if not active:
                break
            state = listener.select(state, keep)
    else:
        raise RuntimeError(f"{len(active)} run(s) had not ended after "
                           f"{procedure.max_trials} trials")
    seconds = time.perf_counter() - start
    results = []
    for c in range(len(signals)):
        ts = [tracks[(c, r)] for r in range(n_runs)]
        results.append(RunResult(thresholds=[_median(t.final) for t in ts],
                                 spreads=[_pstd(t.final) for t in ts],
                                 tracks=[t.track for t in ts],
                                 reversals=[t.final for t in ts], seconds=seconds))
    return results
