"""The MATLAB constructs of the model-family reference files: ``end`` in an index,
anonymous functions with ``cellfun``, ``try``/``catch``, ``[c{:}]``, the builtins they
call, and the operand scale of differences (the generators' ``check_*`` values)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_amt.validation.compare import Origin, compare
from torch_amt.validation.functions import load_all
from torch_amt.validation.interpreter import Interpreter, assigned_names, plan, statement_io
from torch_amt.validation.registry import HANDLERS, AmtError, Context
from torch_amt.validation.syntax import End, Lambda, MatlabSyntaxError, TryCatch, parse
from torch_amt.validation.values import Checked, unwrap

CTX = Context(file="test.mat", variables={}, dtype=torch.float64)
ORIGIN = Origin("test.mat", "stage", "end-to-end")

load_all()


def run(text: str, env: dict | None = None) -> dict:
    statements = parse(text)
    env = dict(env or {})
    Interpreter(CTX, env, frozen=set()).run(statements, assigned_names(statements) | set(env))
    return env


def test_parse_end_lambda_try():
    (stmt,) = parse("y = x(Nd+1:end, end);")
    assert stmt.value.args[0].stop == End() and stmt.value.args[1] == End()
    (stmt,) = parse("c = cellfun(@(p, q) max(abs(p(:) - q(:))), a, b);")
    fn = stmt.value.args[0]
    assert isinstance(fn, Lambda) and fn.params == ("p", "q")
    (block,) = parse("try, f(1); e = '(no error)'; catch err, e = err.message; end")
    assert isinstance(block, TryCatch) and block.var == "err"
    assert len(block.body) == 2 and len(block.handler) == 1
    (block,) = parse("try\n f(1)\ncatch\n g(2)\nend")
    assert block.var is None and len(block.handler) == 1
    for bad in ("x = end;", "try, x = 1;", "catch", "x = @(a b) a;", "for k = 1:2, catch, end"):
        with pytest.raises(MatlabSyntaxError):
            parse(bad)


def test_end_indexing():
    x = np.arange(1.0, 13.0).reshape(4, 3, order="F")
    env = run("a = x(2:end, 1); b = x(end); c = x(end, end); d = x(end - 1, :); n = 2;"
              "e = x(n+1:end, [1 end]); c1 = {1, 2, 3}; f = c1{end};", {"x": x})
    np.testing.assert_array_equal(env["a"], x[1:, :1])
    assert env["b"] == 12.0 and env["c"] == 12.0 and env["f"] == 3.0
    np.testing.assert_array_equal(env["d"], x[2:3, :])
    np.testing.assert_array_equal(env["e"], x[2:, [0, 2]])


def test_anonymous_functions_and_cellfun():
    env = run("k = 10; f = @(a) a + k; k = 0; y = f(1);"
              "c1 = {[1 2], [3 -7]}; c2 = {[1 1], [3 4]};"
              "m = max(cellfun(@(p, q) max(abs(p(:) - q(:))), c1, c2));")
    assert env["y"] == 11.0  # captured when made, as in MATLAB
    assert unwrap(env["m"]) == 11.0
    assert env["m"].scale == 7.0  # the largest operand magnitude of the differences


def test_comma_list_concatenation_keeps_cell_tolerances():
    cell = [np.ones((3, 2)), 2 * np.ones((3, 1))]
    env = run("z = [o{:}]; w = [o{2}, o{1}];", {"o": Checked(cell, tol=np.array([1e-8, 1e-7]))})
    np.testing.assert_array_equal(unwrap(env["z"]), np.hstack(cell))
    assert env["z"].slice_tol() == 1e-7
    assert unwrap(env["w"]).shape == (3, 3)
    bad = run("v = o{:};", {"o": cell})["v"]
    assert bad.failed and "comma-separated" in bad.reason


def test_try_catch(monkeypatch):
    def fails(ctx, args, nargout):
        raise AmtError("'subfs' undefined near line 131, column 55")

    monkeypatch.setitem(HANDLERS, "fails", fails)
    monkeypatch.setitem(HANDLERS, "works", lambda ctx, args, nargout: (1.0,))
    env = run("try, fails(1); e = '(no error)'; catch err, e = err.message; end\n"
              "try, works(1); f = '(no error)'; catch err2, f = err2.message; end")
    assert env["e"] == "'subfs' undefined near line 131, column 55"
    assert env["f"] == "(no error)" and "err2" not in env
    statements = parse("try, fails(x); e = 1; catch err, e = err.message; end; y = e;")
    reads, full, partial = statement_io(statements[0], {"x", "e", "err", "y"})
    assert reads == {"x"} and not full and partial == {"e", "err"}
    assert plan(statements, {"y"}, {"x"}, {"x", "e", "err", "y"}) == list(statements)


def test_errors_other_than_amt_errors_are_not_caught(monkeypatch):
    def broken(ctx, args, nargout):
        raise RuntimeError("a bug")

    monkeypatch.setitem(HANDLERS, "broken", broken)
    env = run("try, broken(1); e = 1; catch err, e = 2; end")
    assert env["e"].failed and "a bug" in env["e"].reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ceil(2.5)", 3.0), ("exp(0)", 1.0), ("sqrt(16)", 4.0), ("length([1 2 3; 4 5 6])", 3.0),
     ("length(zeros(0, 3))", 0.0), ("sum([1 2 3])", 6.0)],
)
def test_builtins(text, expected):
    assert run(f"r = {text};")["r"] == expected


def test_sum_and_reshape_are_column_major():
    env = run("s = sum([1 2; 3 4]); r = reshape([1 2; 3 4], [], 1); q = reshape(1:6, 2, 3);")
    np.testing.assert_array_equal(env["s"], [[4, 6]])
    np.testing.assert_array_equal(env["r"], [[1], [3], [2], [4]])
    np.testing.assert_array_equal(env["q"], [[1, 3, 5], [2, 4, 6]])


def test_difference_checked_relative_to_its_operands():
    a = np.array([[1.0], [-3.0]])
    env = run("d = max(abs(reshape(a - b, [], 1))); e = max(abs(a(:) - b(:))) * 2;",
              {"a": a, "b": a + np.array([[0.0], [3e-16]])})
    assert env["d"].scale == 3.0
    assert not isinstance(env["e"], Checked) or env["e"].scale == 0  # arithmetic drops it
    (check,) = compare(ORIGIN, "d", env["d"], np.zeros((1, 1)), torch.float64)
    assert check.passed and 0 < check.rel_err == unwrap(env["d"]) / 3.0
    assert "operands of a difference" in check.reason
    (check,) = compare(ORIGIN, "e", env["e"], np.zeros((1, 1)), torch.float64)
    assert not check.passed and check.rel_err == float("inf")
