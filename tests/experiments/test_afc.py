"""Adaptive AFC machinery (AMT amt_emuexp): AMT's counters, convergence on a synthetic
listener with a known threshold, seeded reproducibility, batching, errors."""

from __future__ import annotations

import pytest
import torch

from torch_amt.experiments import AdaptiveProcedure, run_adaptive, run_conditions
from torch_amt.experiments.afc import _Track


class StepListener:
    """Always right above ``threshold``, guessing below (level read from the audio)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.batches: list[int] = []

    def initial_state(self, n_runs):
        return torch.arange(n_runs)

    def select(self, state, keep):
        return state[keep]

    def __call__(self, intervals, state, generator):
        self.batches.append(intervals.shape[0])
        level = intervals[:, 0, 0]
        guess = torch.randint(0, intervals.shape[1], (intervals.shape[0],), generator=generator)
        return torch.where(level > self.threshold, torch.zeros_like(guess), guess), state


def level_signal(offset: float = 0.0):
    def signal(values, n_intervals, generator):
        return (values + offset)[:, None, None].expand(-1, n_intervals, 1).clone()
    return signal


def test_amt_counters_by_hand():
    track = _Track(AdaptiveProcedure(start=0.0, step=8.0))
    for correct in (False, False, True, True, True):
        track.answer(correct)
    # 1st wrong answer does not count (AMT starts the wrong counter at -1); the 2nd is a
    # reversal and raises by 8; two correct: a reversal, the step halves (2 reversals,
    # one correct answer before) and the value drops by 4
    assert track.track == [0.0, 0.0, 8.0, 8.0, 4.0]
    assert track.step == 4.0 and track.final == []


def test_converges_to_a_known_threshold_and_is_reproducible():
    p = AdaptiveProcedure(start=20.0, step=8.0)
    listener = StepListener(threshold=3.0)
    result = run_adaptive(level_signal(), listener, p, n_runs=8, seed=5)
    assert len(result.thresholds) == 8 and all(len(r) == 8 for r in result.reversals)
    assert abs(result.mean - 3.0) < 1.5 and result.std < 2.0
    again = run_adaptive(level_signal(), StepListener(3.0), p, n_runs=8, seed=5)
    assert again.thresholds == result.thresholds and again.tracks == result.tracks
    other = run_adaptive(level_signal(), StepListener(3.0), p, n_runs=8, seed=6)
    assert other.tracks != result.tracks
    # every run of the batch went through one listener call per trial step; the batch
    # shrinks as runs end
    assert listener.batches[0] == 8 and listener.batches == sorted(listener.batches,
                                                                    reverse=True)


def test_conditions_are_batched_together():
    p = AdaptiveProcedure(start=20.0, step=8.0)
    listener = StepListener(threshold=0.0)
    low, high = run_conditions([level_signal(5.0), level_signal(-5.0)], listener, p,
                               n_runs=3, seed=1)
    assert listener.batches[0] == 6
    assert abs(low.mean - -5.0) < 2.0 and abs(high.mean - 5.0) < 2.0


def test_errors():
    with pytest.raises(ValueError, match="n_intervals"):
        AdaptiveProcedure(start=0.0, n_intervals=1)
    with pytest.raises(ValueError, match="never equals min_step"):
        AdaptiveProcedure(start=0.0, step=6.0, min_step=4.0)
    with pytest.raises(ValueError, match="step_factor"):
        AdaptiveProcedure(start=0.0, step_factor=0.0)
    with pytest.raises(TypeError, match="AdaptiveProcedure"):
        run_adaptive(level_signal(), StepListener(0.0), {"start": 0})
    with pytest.raises(TypeError, match="seed"):
        run_adaptive(level_signal(), StepListener(0.0), AdaptiveProcedure(start=0.0), seed=1.5)
    never = StepListener(threshold=1e9)  # always guessing: may not finish quickly
    with pytest.raises(RuntimeError, match="had not ended"):
        run_adaptive(level_signal(), never, AdaptiveProcedure(start=0.0, max_trials=5))


def test_experiment_registry_and_cli_errors(capsys):
    from torch_amt.cli import main
    from torch_amt.experiments.registry import EXPERIMENTS, run_experiment

    assert {"breebaart2001_fig3", "am_detection"} <= set(EXPERIMENTS)
    with pytest.raises(ValueError, match="unknown experiment"):
        run_experiment("nonsense")
    with pytest.raises(ValueError, match="runs"):
        run_experiment("am_detection", runs=0)
    assert main(["experiment", "breebaart2001_fig3", "--runs", "0"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err
