"""breebaart2001_centralproc with explicit state (AMT 1.4.0 behaviour)."""

from __future__ import annotations

import pytest
import torch

from torch_amt.decision import CentralProcState, breebaart2001_centralproc

D = torch.float64


def maps(*values: float, shape=(5, 2)) -> torch.Tensor:
    """One trial: one constant map per interval, (I, *shape)."""
    return torch.stack([torch.full(shape, v, dtype=D) for v in values])


def test_first_trial_chooses_interval_one_and_updates_templates():
    x = maps(2.0, 1.0, 3.0)
    decision, state = breebaart2001_centralproc(x, None, None, CentralProcState(), "b",
                                                noise=torch.tensor([0.5, -1.0, 2.0], dtype=D))
    assert int(decision) == 0  # all templates 0: U = 0 everywhere (noise * sqrt(0))
    assert (state.n_masker, state.n_signal) == (2, 1)
    mean, meansq, signal = state.templates["b"]
    assert torch.all(mean == 2.0) and torch.all(signal == 2.0)
    assert torch.all(meansq == (1.0 + 9.0) ** 2 / 2)  # AMT squares the sum of squares
    _, fixed = breebaart2001_centralproc(x, None, None, CentralProcState(), "b",
                                         noise=torch.zeros(3, dtype=D),
                                         templatesq="mean_square")
    assert torch.all(fixed.templates["b"][1] == (1.0 + 9.0) / 2)


def test_second_trial_by_hand():
    state = CentralProcState()
    _, state = breebaart2001_centralproc(maps(2.0, 1.0, 3.0), None, None, state, "b",
                                         noise=torch.zeros(3, dtype=D), templatesq="mean_square")
    # masker mean 2, variance 1, signal mean 2 -> weight 0: U = noise * 0 -> interval 0
    x = maps(0.0, 5.0, 1.0)
    decision, state = breebaart2001_centralproc(x, None, None, state, "b",
                                                noise=torch.tensor([0.0, 0.0, 1.0], dtype=D),
                                                templatesq="mean_square")
    assert int(decision) == 0 and state.n_masker == 4 and state.n_signal == 2
    mean, meansq, signal = state.templates["b"]
    assert torch.allclose(mean, torch.full((5, 2), (1 + 3 + 5 + 1) / 4, dtype=D))
    assert torch.allclose(meansq, torch.full((5, 2), (1 + 9 + 25 + 1) / 4, dtype=D))
    assert torch.allclose(signal, torch.full((5, 2), 1.0, dtype=D))
    # third trial: w = (1 - 2.5) / (9 - 6.25 + 1) = -0.4 per element, 10 elements
    x = maps(0.0, 2.5, 5.0)
    noise = torch.tensor([0.0, 0.1, 0.0], dtype=D)
    decision, _ = breebaart2001_centralproc(x, None, None, state, "b", noise=noise,
                                            templatesq="mean_square")
    u = [-0.4 * 10 * (v - 2.5) for v in (0.0, 2.5, 5.0)]
    u = [ui + n * (10 * 0.16) ** 0.5 for ui, n in zip(u, noise.tolist(), strict=True)]
    assert int(decision) == max(range(3), key=lambda k: u[k]) == 0


def test_learns_a_clear_signal():
    g = torch.Generator().manual_seed(1)
    state, correct = CentralProcState(), 0
    for _ in range(30):
        x = torch.randn(3, 4, 6, generator=g, dtype=D)
        x[0] += 3.0
        decision, state = breebaart2001_centralproc(x, None, None, state, "b", generator=g)
        correct += int(decision) == 0
    assert correct >= 27


def test_batch_of_runs_equals_runs_one_by_one():
    g = torch.Generator().manual_seed(2)
    trials = [torch.randn(4, 3, 3, 2, generator=g, dtype=D) for _ in range(4)]
    noises = [torch.randn(4, 3, generator=g, dtype=D) for _ in range(4)]
    batch_state, single = CentralProcState(), [CentralProcState() for _ in range(4)]
    for x, n in zip(trials, noises, strict=True):
        xl = 2000 * x.flip(-1)
        d, batch_state = breebaart2001_centralproc(x, xl, xl, batch_state, "blr", noise=n)
        for r in range(4):
            dr, single[r] = breebaart2001_centralproc(x[r], xl[r], xl[r], single[r], "blr",
                                                      noise=n[r])
            assert int(dr) == int(d[r])


def test_lower_case_b_falls_back_to_monaural_when_binaural_is_silent():
    zeros = maps(0.0, 0.0, 0.0)
    mono = maps(1.0, 0.0, 0.0) * 1e4
    results = {}
    for bimono in ("blr", "Blr"):
        state = CentralProcState()
        for _ in range(3):
            d, state = breebaart2001_centralproc(zeros, mono, mono, state, bimono,
                                                 noise=torch.tensor([0.0, 0.0, 3.0], dtype=D))
        results[bimono] = int(d)
    # binaural U are all 0: 'b' decides on the monaural channels (signal interval);
    # 'B' averages in the binaural noise term too
    assert results["blr"] == 0


def test_errors():
    x = maps(1.0, 2.0)
    with pytest.raises(ValueError, match="3 intervals"):
        breebaart2001_centralproc(x, None, None, CentralProcState(), "b")
    with pytest.raises(ValueError, match="uses monol"):
        breebaart2001_centralproc(maps(1.0, 2.0, 3.0), None, None, CentralProcState(), "bl")
    with pytest.raises(ValueError, match="must contain"):
        breebaart2001_centralproc(maps(1.0, 2.0, 3.0), None, None, CentralProcState(), "x")
    with pytest.raises(ValueError, match="noise must be"):
        breebaart2001_centralproc(maps(1.0, 2.0, 3.0), None, None, CentralProcState(), "b",
                                  noise=torch.zeros(2, dtype=D))
    with pytest.raises(ValueError, match="templatesq"):
        breebaart2001_centralproc(maps(1.0, 2.0, 3.0), None, None, CentralProcState(), "b",
                                  templatesq="var")
    with pytest.raises(TypeError, match="CentralProcState"):
        breebaart2001_centralproc(maps(1.0, 2.0, 3.0), None, None, None, "b")
    _, state = breebaart2001_centralproc(maps(1.0, 2.0, 3.0), None, None, CentralProcState(),
                                         "b")
    with pytest.raises(ValueError, match="do not match"):
        breebaart2001_centralproc(maps(1.0, 2.0, 3.0, shape=(4, 2)), None, None, state, "b")
