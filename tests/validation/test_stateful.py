"""Harness features for stateful AMT calls: Octave's randn stream, ``clear f``, 2-D cells,
indexed assignment, and the breebaart2001_centralproc reference file stage by stage."""

from __future__ import annotations

import numpy as np
import scipy.io
import torch

from torch_amt.validation.functions import load_all
from torch_amt.validation.interpreter import Interpreter, assigned_names, plan
from torch_amt.validation.octave_rng import OctaveRandn
from torch_amt.validation.registry import Context
from torch_amt.validation.syntax import parse
from torch_amt.validation.values import Cell

load_all()
CTX = Context(file="test.mat", variables={}, dtype=torch.float64)
CENTRALPROC = "breebaart2001_centralproc__*.mat"


def run(text: str, env: dict | None = None) -> dict:
    statements = parse(text)
    env = dict(env or {})
    Interpreter(CTX, env, frozen=set()).run(statements, assigned_names(statements) | set(env))
    return env


def test_octave_randn_is_a_mersenne_twister_with_init_by_array():
    # the uniform words equal NumPy's legacy MT19937 seeded with the same key array
    generator = OctaveRandn(7)
    words = [int(w) for w in generator._take(1000)]
    raw = np.random.RandomState([7])._bit_generator.random_raw(1000)
    assert words == [int(w) for w in raw]
    x = OctaveRandn(3).randn(20000, 1)
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1) < 0.03


def test_randn_clear_cells_and_indexed_assignment():
    env = run("randn('state', 5); a = randn(2, 3); b = randn(1, 1); randn('state', 5); "
              "c = randn(1, 6); x = zeros(1, 2); x(2) = 7; x(4) = 1; "
              "e = cell(2, 3); e{2, 3} = 5; f = e(2, :); n = [rows(e), columns(f)]; "
              "s = size(e); q = double(isequal(f{3}, 5)); clear somefunction")
    assert np.array_equal(env["a"].reshape(1, -1, order="F"), env["c"])
    assert env["b"] != env["c"][0, 0]
    assert np.array_equal(env["x"], [[0, 7, 0, 1]])
    assert isinstance(env["f"], Cell) and env["f"].shape == (1, 3)
    assert env["n"].tolist() == [[2, 3]] and env["s"].tolist() == [[2, 3]] and env["q"] == 1
    assert env["%persistent:somefunction"] is None


def test_unseeded_randn_is_not_covered():
    env = run("a = randn(2, 1);")
    assert not env["a"].failed and "start-up state" in env["a"].reason


def test_plan_orders_seeding_and_clear_before_their_users():
    statements = parse("clear f; randn('state', 1); u = randn(1, 2); v = 3; "
                       "randn('state', 2); w = randn(1, 1);")
    needed = plan(statements, {"u"}, set(), assigned_names(statements))
    assert [s.text for s in needed] == ["randn('state', 1)", "u = randn(1, 2)"]


def test_octave_randn_reproduces_the_stored_draws(amt_reference_family_dir):
    # the whole breebaart2001_centralproc file is checked by test_family.py
    path = next(amt_reference_family_dir.glob(CENTRALPROC))
    stored = scipy.io.loadmat(path)
    for key in ("b", "blr"):
        draws = OctaveRandn(float(stored[f"seed_{key}"].squeeze())).randn(
            *stored[f"noise_draws_{key}"].shape)
        assert np.array_equal(draws, stored[f"noise_draws_{key}"])
