"""The MATLAB constructs of the ``breebaart2001__*`` reference files: indexed assignment
``x(:, :, k) = v`` (growing from ``[]``), comparisons and ``&``, ``size``, ``squeeze``,
``cat``, ``fliplr``, ``find``, ``zeros(size(x))``, trailing singleton dimensions, and the
generator's stored parameters (read by ``call``, assigned by none) as inputs."""

from __future__ import annotations

import numpy as np
import scipy.io
import torch

from torch_amt.validation import run_validation
from torch_amt.validation.functions import load_all
from torch_amt.validation.interpreter import Interpreter, assigned_names, statement_io
from torch_amt.validation.registry import Context
from torch_amt.validation.syntax import parse
from torch_amt.validation.values import Checked, unwrap

CTX = Context(file="test.mat", variables={}, dtype=torch.float64)

load_all()


def run(text: str, env: dict | None = None) -> dict:
    statements = parse(text)
    env = dict(env or {})
    Interpreter(CTX, env, frozen=set()).run(statements, assigned_names(statements) | set(env))
    return env


def test_indexed_assignment_grows_from_empty_like_matlab():
    env = run("m = []; for k = 1:3, m(:, :, k) = [k k; 2*k 2*k]; end; "
              "z = zeros(size(m)); z(2, 1, 3) = 7; c = m(:, :, 2); r = []; r(2, 3) = 1;")
    m = env["m"]
    assert m.shape == (2, 2, 3)
    np.testing.assert_array_equal(m[:, :, 1], [[2, 2], [4, 4]])
    assert env["z"].shape == (2, 2, 3) and env["z"][1, 0, 2] == 7 and env["z"].sum() == 7
    assert env["c"].shape == (2, 2)  # trailing singleton dimension dropped
    np.testing.assert_array_equal(env["r"], [[0, 0, 0], [0, 0, 1]])
    reads, full, partial = statement_io(parse("x(:, k) = f(y);")[0], {"x", "k", "y"})
    assert reads == {"x", "k", "y"} and not full and partial == {"x"}


def test_indexed_assignment_keeps_the_assigned_tolerance():
    value = Checked(np.ones((3, 2)), tol=np.array([1e-8, 2e-8]), reason=("a", "b"),
                    split_axis=1)
    env = run("m = []; m(:, :, 1) = v; m(:, :, 2) = v;", {"v": value})
    assert isinstance(env["m"], Checked) and unwrap(env["m"]).shape == (3, 2, 2)
    assert env["m"].split_axis == 1 and list(env["m"].tol) == [1e-8, 2e-8]


def test_comparisons_logical_and_find():
    env = run("t = [0 5 -5 0]; i = [0 0 1 0]; k = find(t == 0 & i == 0, 1); "
              "a = find(t ~= 0); b = (t > 0) | (t < -1); c = 2 >= 1;")
    assert env["k"] == 1.0
    np.testing.assert_array_equal(env["a"], [[2, 3]])
    np.testing.assert_array_equal(env["b"], [[0, 1, 1, 0]])
    assert env["c"] == 1.0


def test_size_squeeze_cat_fliplr():
    x = np.arange(12.0).reshape(3, 2, 2, order="F")
    env = run("s = size(x); [r, c] = size(x); n = size(x, 2); q = squeeze(x(:, 1, :)); "
              "v = squeeze(x(1, 1, :)); y = cat(3, x(:, :, 1), fliplr(x(:, :, 1)));",
              {"x": x})
    np.testing.assert_array_equal(env["s"], [[3, 2, 2]])
    assert (env["r"], env["c"], env["n"]) == (3.0, 4.0, 2.0)
    np.testing.assert_array_equal(env["q"], x[:, 0, :])
    assert env["v"].shape == (2, 1)
    np.testing.assert_array_equal(env["y"][:, :, 1], x[:, ::-1, 0])


def test_stored_parameters_read_by_call_are_inputs(tmp_path):
    path = tmp_path / "toy__params.mat"
    scipy.io.savemat(path, {"call": "y = stimulus * gain; z = stimulus;", "amt_version": "x",
                            "stimulus": np.ones((4, 1)), "gain": 3.0, "y": 3 * np.ones((4, 1)),
                            "z": np.ones((4, 1)), "unused": 1.0}, format="5")
    result = run_validation(tmp_path)
    assert sorted(c.quantity for c in result.passed) == ["y", "z"] and not result.failed
    assert [n.key.split(":")[-1] for n in result.not_covered] == ["unused"]
