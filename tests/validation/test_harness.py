"""The validation harness: MATLAB-subset interpreter, comparison logic, file handling,
command line, and the run on the AMT reference set."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.signal
import torch

from torch_amt.validation import run_validation
from torch_amt.validation.__main__ import main
from torch_amt.validation.compare import Origin, compare
from torch_amt.validation.functions import load_all
from torch_amt.validation.harness import INPUT_NAMES, METADATA_NAMES, from_mat
from torch_amt.validation.interpreter import Interpreter, assigned_names, plan
from torch_amt.validation.registry import HANDLERS, Context, NotCovered, call_function
from torch_amt.validation.syntax import (
    Apply,
    Assign,
    BinOp,
    ForLoop,
    MatlabSyntaxError,
    Name,
    Neg,
    Num,
    Str,
    parse,
)
from torch_amt.validation.tolerances import (
    DEFAULT_RTOL,
    FLOAT32_RTOL,
    checked_by_frequency,
    conditioning_tolerance,
    effective_tolerance,
    undetermined_in_float32,
)
from torch_amt.validation.values import ArgBundle, Checked, merge_tolerances, parse_ltfat_args

CTX = Context(file="test.mat", variables={}, dtype=torch.float64)
ORIGIN = Origin("test.mat", "stage", "end-to-end")


load_all()  # the real handlers first, so tests can add their own next to them


def run(text: str, env: dict | None = None) -> dict:
    """Execute statements; return the environment."""
    statements = parse(text)
    env = dict(env or {})
    Interpreter(CTX, env, frozen=set()).run(statements, assigned_names(statements) | set(env))
    return env


def value(text: str, env: dict | None = None):
    return run(f"result__ = {text};", env)["result__"]


@pytest.fixture
def handlers(monkeypatch):
    """Register test handlers for the duration of a test."""

    def register(name, fn):
        monkeypatch.setitem(HANDLERS, name, fn)

    return register


# --------------------------------------------------------------------------- parser


STATEMENTS = [
    "[afb_outsig, afb_fc] = auditoryfilterbank(stimulus, fs); insig = ihcenvelope("
    "afb_outsig(:, insig_channels), fs, 'ihc_dau1996'); insig_fc = afb_fc(insig_channels);",
    "[b_classic_n2_bw1p2, a_classic_n2_bw1p2] = gammatone(fc, fs, 2, 1.2, 'classic');",
    "[flags, kv] = amtref_lopezpoveda2001_jepsen2008_flags('fhigh', 7000); [out_jepsen2008, "
    "fc_jepsen2008] = lopezpoveda2001(insig, fs, 'argimport', flags, kv);",
    "[out_jepsen2008_linonly, ~] = lopezpoveda2001(insig, fs, 'argimport', flags, kv);",
    "[~, king_fc, ~, king_step] = king2019(stimulus, fs, 1000, 'dboffset', 100); insig = "
    "king_step.adapted_response(:, insig_channels); insig_fc = king_fc(insig_channels);",
    "definput = struct(); definput.import = {'auditoryfilterbank', 'ihcenvelope', 'king2019'}; "
    "[flags, kv] = ltfatarghelper({'basef'}, definput, {1000, 'dboffset', 100, 'LP_150_Hz'}); "
    "[out_default, mfc_default, step_default] = king2019_modfilterbank(insig, fs, 'argimport', "
    "flags, kv); step_default = rmfield(step_default, 'E_phase_ins');",
    "insig = stimulus * 10^((100 - dbspl(1))/20);",
    "me_jepsen2008_maxgain_db = max(20*log10(abs(freqz(me_jepsen2008_b, 1, 8192))));",
    "mfc_per_channel = cell(numel(fc), 1); for ich = 1:numel(fc), [~, mfc_per_channel{ich}] = "
    "modfilterbank(zeros(8, 1), fs, fc(ich), 'mfb_jepsen2008'); end",
    "[outsig, fc, mfc, step] = king2019(stimulus, fs, 1000); step_compressed_response = "
    "step.compressed_response;",
    "step5_expansion = step4_ihc.^2;",
    "hp_data_pralong1996 = headphonefilter();",
]


@pytest.mark.parametrize("text", STATEMENTS)
def test_parse_statement_shapes(text):
    statements = parse(text)
    assert statements and all(isinstance(s, (Assign, ForLoop)) for s in statements)


def test_parse_every_reference_call(amt_reference_dir):
    for path in sorted(amt_reference_dir.glob("*.mat")):
        if path.name != "stimuli.mat":
            assert parse(str(scipy.io.loadmat(path, variable_names=["call"])["call"][0]))


def test_parse_structure():
    (multi,) = parse("[a, ~, b] = f(x, 'y');")
    assert multi.multi and multi.targets[1] is None and multi.targets[0] == Name("a")
    assert multi.value == Apply(Name("f"), (Name("x"), Str("y")))
    (loop,) = parse("for k = 1:3, c{k} = k; end")
    assert loop.var == "k" and len(loop.body) == 1
    assert parse("y = -2^2;")[0].value == Neg(BinOp("^", Num(2.0), Num(2.0)))
    assert len(parse("a = 1, b = 2\nc = 3;")) == 3


@pytest.mark.parametrize("text", ["x = [1 2", "x = 'abc", "x = a == ;", "s(1).f = 1;",
                                  "f(x)(2) = 1;", "x = a && ;", "while x, y = 1; end",
                                  "end", "for k = 1:2, x = k;", "x = end;", "x = 1 2;",
                                  "try, x = 1;", "catch", "x = @(a b) a;", "if x, y = 1;",
                                  "else", "x = a <;"])
def test_unsupported_syntax(text):
    with pytest.raises(MatlabSyntaxError):
        parse(text)


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("-2^2", -4.0),
        ("2^-1", 0.5),
        ("2 * -3", -6.0),
        ("(1 + 2) / 4", 0.75),
        ("2^3^2", 64.0),
        ("10^((100 - 93.98)/20)", 10 ** ((100 - 93.98) / 20)),
        ("numel([1 2 3; 4 5 6])", 6.0),
        ("max([3 -1 7])", 7.0),
        ("abs(-4)", 4.0),
        ("log10(1000)", 3.0),
    ],
)
def test_arithmetic(text, expected):
    assert value(text) == pytest.approx(expected, rel=1e-15)


def test_matrices_ranges_and_indexing():
    m = np.arange(1.0, 13.0).reshape(3, 4, order="F")
    env = {"m": m, "row": np.array([[10.0, 20.0, 30.0]]), "col": np.array([[1.0], [2.0]])}
    np.testing.assert_array_equal(value("[1 2; 3 4]"), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(value("[1 -2]"), [[1, -2]])
    np.testing.assert_array_equal(value("[1 - 2]"), -1.0)
    np.testing.assert_array_equal(value("1:4"), [[1, 2, 3, 4]])
    np.testing.assert_array_equal(value("0:0.5:1.5"), [[0, 0.5, 1, 1.5]])
    np.testing.assert_array_equal(value("m(:, [1 3])", env), m[:, [0, 2]])
    np.testing.assert_array_equal(value("m(2, :)", env), m[[1], :])
    assert value("m(5)", env) == 5.0
    np.testing.assert_array_equal(value("m(:)", env), m.reshape(-1, 1, order="F"))
    np.testing.assert_array_equal(value("row([3 1])", env), [[30, 10]])
    np.testing.assert_array_equal(value("col([2 1])", env), [[2], [1]])
    difference = value("m .* 2 - m", env)  # a difference records its operands' magnitude
    np.testing.assert_array_equal(difference.value, m)
    assert difference.scale == 24.0
    np.testing.assert_array_equal(value("row * col(1)", env), [[10, 20, 30]])
    # kept by a magnitude (abs, max), so not a cancellation yet
    assert value("max(abs(m .* 2 - m))", env).cancellation == 1.0
    assert value("zeros(2, 3)", env).shape == (2, 3)
    np.testing.assert_array_equal(value("max(m)", env), [[3, 6, 9, 12]])


def test_comparisons_if_transpose_and_indexed_assignment():
    env = run("x = 1:4; y = x >= 3; z = x(2) == 2; w = x ~= 1; t = x';"
              "m = zeros(2, 3); m(:, 2) = [5 6]; m(2, 4) = 7; v = 0;"
              "for k = 1:4, if x(k) <= 1, v = v + 1; elseif x(k) < 3, v = v + 10; "
              "else v = v + 100; end; end;"
              "c = zeros(2, 2, 2); for k = 1:2, c(:, :, k) = k * [1 2; 3 4]; end;"
              "r = zeros(1, 3); r(5) = 2;")
    np.testing.assert_array_equal(env["y"], [[0, 0, 1, 1]])
    assert env["z"] == 1.0
    np.testing.assert_array_equal(env["w"], [[0, 1, 1, 1]])
    np.testing.assert_array_equal(env["t"], [[1], [2], [3], [4]])
    np.testing.assert_array_equal(env["m"], [[0, 5, 0, 0], [0, 6, 0, 7]])
    assert env["v"] == 1 + 10 + 200
    np.testing.assert_array_equal(env["c"][:, :, 1], [[2, 4], [6, 8]])
    np.testing.assert_array_equal(env["r"], [[0, 0, 0, 0, 2]])
    bad = run("m = zeros(2, 2); m(:, 1) = [1 2 3];")
    assert bad["m"].failed and "nonconformant" in bad["m"].reason


def test_logicals_masks_and_short_circuit():
    env = run("x = [4 1 NaN 3]; m = x > 2; y = x(m); z = x; z(~m) = 0; "
              "k = ~isnan(x) & x < 4; w = x(k); a = zeros(2, 3, 2); a(:, 4) = 7; "
              "t = 1 < 2 || undefined_function(1); f = 0 && undefined_function(1); "
              "n = not([1 0]);")
    assert env["m"].dtype == bool
    np.testing.assert_array_equal(env["y"], [[4, 3]])
    np.testing.assert_array_equal(env["z"], [[4, 0, 0, 3]])  # NaN > 2 is false
    np.testing.assert_array_equal(env["w"], [[1, 3]])
    assert env["a"].shape == (2, 3, 2) and np.all(env["a"][:, 0, 1] == 7)  # 4 = (1, 2)
    assert env["t"] is True and env["f"] is False
    np.testing.assert_array_equal(env["n"], [[False, True]])
    assert run("x = [1 2] && 1;")["x"].failed


def test_command_syntax_and_chained_indexing_parse():
    (stmt, remove) = parse("pkg load image; rmpath(fullfile(pkg('list', 's'){1}.dir, 'x'));")
    assert stmt.expr == Apply(Name("pkg"), (Str("load"), Str("image")))
    assert isinstance(remove.expr, Apply)


def test_octave_randn_state_flows_through_the_statements(handlers):
    """randn('state', s) is replayed before the draws that need it, whatever was drawn in
    between; a repeated draw from the same state is cached with the state it leaves."""
    from torch_amt.validation.octave_rng import OctaveRandn

    text = ("randn('state', 3); a = randn(2, 3); b = randn(1, 2); randn('state', 3); "
            "c = randn(3, 2);")
    statements = parse(text)
    env: dict = {}
    needed = plan(statements, {"c"}, set(), assigned_names(statements))
    assert len(needed) == 2  # the reseed and the draw; a and b are not needed
    Interpreter(CTX, env, frozen=set()).run(needed, assigned_names(statements))
    reference = OctaveRandn(3)
    np.testing.assert_array_equal(env["c"], reference.randn(3, 2))
    env = run(text)
    np.testing.assert_array_equal(env["a"].reshape(-1, order="F"), env["c"].reshape(-1, order="F"))
    assert not np.array_equal(env["b"], env["a"][:, :2].reshape(1, -1))
    # a cached draw (same arguments, same state) leaves the state the first call left
    cached = parse("randn('state', 3); a = randn(2, 1); randn('state', 3); b = randn(2, 1); "
                   "c = randn(1, 1);")
    env, cache = {}, {}
    Interpreter(CTX, env, frozen=set(), cache=cache).run(cached, assigned_names(cached))
    reference.seed(3)
    draws = reference.randn(3, 1)
    np.testing.assert_array_equal(env["b"], draws[:2])
    assert env["c"] == draws[2, 0] and any(k.endswith(b"/state") for k in cache)


def test_octave_randn_first_draws():
    """The first of Octave 7's randn('state', 4242) draws (the relanoiborra2019 family
    files store 52920 of them, checked bit for bit by the family validation)."""
    from torch_amt.validation.octave_rng import OctaveRandn

    g = OctaveRandn()
    with pytest.raises(RuntimeError, match="not seeded"):
        g.randn(1, 1)
    g.seed(4242.0)
    first = g.randn(1, 3)
    np.testing.assert_allclose(first, [[1.51422994, 1.76560957, -0.3972567]], atol=1e-8)
    copy = g.copy()
    np.testing.assert_array_equal(copy.randn(4, 1), g.randn(4, 1))


def test_indexing_errors():
    env = run("x = [1 2 3];")
    for bad in ("x(4)", "x(0)", "x(1.5)"):
        env2 = run(f"y = {bad};", env)
        assert env2["y"].failed and "IndexError" in env2["y"].reason


def test_cells_structs_and_loops():
    env = run("c = cell(3, 1); for k = 1:3, c{k} = k^2; end; d = c{2};"
              "s = struct(); s.import = {'a', 'b'}; s.n = 2; t = rmfield(s, 'import');"
              "names = s.import; n = numel(names);")
    assert env["c"] == [1.0, 4.0, 9.0] and env["d"] == 4.0
    assert env["s"] == {"import": ["a", "b"], "n": 2.0} and env["t"] == {"n": 2.0}
    assert env["n"] == 2.0


def test_function_calls_multiple_outputs_and_tilde(handlers):
    handlers("three", lambda ctx, args, nargout: (args[0] + 1, args[0] + 2, args[0] + 3))
    env = run("[a, ~, c] = three(10); b = three(1); [p, q] = three(0);")
    assert (env["a"], env["c"], env["b"], env["p"], env["q"]) == (11, 13, 2, 1, 2)
    assert "~" not in env


def test_missing_function_and_missing_output(handlers):
    handlers("one", lambda ctx, args, nargout: (1.0,))
    env = run("x = no_such_function(1); y = x + 1; [a, b] = one(); c = b * 2; z = 5;")
    assert not env["x"].failed and "no_such_function" in env["x"].reason
    assert not env["y"].failed and env["y"].via == "x"
    assert env["a"] == 1.0 and not env["b"].failed and "only 1 output" in env["b"].reason
    assert env["c"].via == "b" and env["z"] == 5.0


def test_errors_are_failures_and_propagate(handlers):
    def broken(ctx, args, nargout):
        raise ZeroDivisionError("boom")

    handlers("broken", broken)
    env = run("x = broken(1); y = x + 1;")
    assert env["x"].failed and "ZeroDivisionError: boom" in env["x"].reason
    assert env["y"].failed and env["y"].via == "x"


def test_handler_must_not_return_tensors(handlers):
    handlers("tensor", lambda ctx, args, nargout: (torch.ones(2),))
    env = run("x = tensor();")
    assert env["x"].failed and "torch.Tensor" in env["x"].reason


def test_ltfatarghelper_bundles_and_argimport():
    env = run("definput = struct(); definput.import = {'auditoryfilterbank', 'king2019'};"
              "[flags, kv] = ltfatarghelper({'basef'}, definput, {1000, 'dboffset', 100, "
              "'LP_150_Hz'}); [f2, k2] = amtref_lopezpoveda2001_jepsen2008_flags('fhigh', 7000);")
    bundle = env["flags"]
    assert isinstance(bundle, ArgBundle) and bundle is env["kv"]
    assert bundle.posnames == ("basef",) and bundle.imports == ("auditoryfilterbank", "king2019")
    parsed = parse_ltfat_args(["argimport", bundle, bundle, "no_phase_insens", "dboffset", 93.98],
                              keys=("dboffset",))
    assert parsed.keyvals == {"basef": 1000.0, "dboffset": 93.98}
    assert parsed.flags == ["LP_150_Hz", "no_phase_insens"]
    assert parsed.sources == ["ltfatarghelper"] and "king2019" in parsed.imports
    jep = parse_ltfat_args(["argimport", env["f2"], env["k2"]], keys=("fhigh",))
    assert jep.sources == ["amtref_lopezpoveda2001_jepsen2008_flags"]
    assert jep.get("fhigh") == 7000.0 and jep.get("flow", 80) == 80


def test_parse_ltfat_args_positional_and_errors():
    parsed = parse_ltfat_args([870.0, 1150.0, "no_mfb", "limit", 5.0],
                              posnames=("flow", "fhigh"), keys=("limit",))
    assert parsed.keyvals == {"flow": 870.0, "fhigh": 1150.0, "limit": 5.0}
    assert parsed.flags == ["no_mfb"]
    assert parse_ltfat_args([np.zeros((0, 0)), 100.0], ("dim", "dboffset")).get("dim", 7) == 7
    with pytest.raises(ValueError, match="too many positional"):
        parse_ltfat_args([1.0, 2.0], posnames=("a",))
    with pytest.raises(ValueError, match="has no value"):
        parse_ltfat_args(["limit"], keys=("limit",))


def test_filter_and_freqz_builtins():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 2))
    b, a = np.array([[0.2, 0.3]]), np.array([[1.0, -0.5]])
    env = run("y = filter(b, a, x); r = filter(b, 1, row); [h, w] = freqz(b, a, 64);"
              "g = max(20*log10(abs(freqz(b, 1, 8192))));",
              {"x": x, "b": b, "a": a, "row": x[:, :1].T})
    np.testing.assert_allclose(env["y"], scipy.signal.lfilter(b[0], a[0], x, axis=0),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(env["r"], scipy.signal.lfilter(b[0], [1.0], x[:, :1].T),
                               rtol=1e-13, atol=1e-15)
    w_ref, h_ref = scipy.signal.freqz(b[0], a[0], 64)
    np.testing.assert_allclose(env["h"][:, 0], h_ref, rtol=1e-13)
    np.testing.assert_allclose(env["w"][:, 0], w_ref, rtol=1e-15)
    assert env["g"] == pytest.approx(20 * np.log10(0.5), rel=1e-12)


def test_freqz_folds_long_filters():
    b = np.random.default_rng(1).standard_normal((1, 50))
    (h, _) = call_function("freqz", CTX, [b, 1.0, 8.0], 2)
    np.testing.assert_allclose(h[:, 0], scipy.signal.freqz(b[0], 1, 8)[1], rtol=1e-12)


def test_plan_is_lazy_and_respects_frozen_inputs():
    statements = parse("a = f(x); insig = g(a); b = h(insig); c = k(x); d = b + 1;")
    variables = assigned_names(statements) | {"x"}
    needed = plan(statements, {"d"}, frozen={"x", "insig"}, variables=variables)
    assert [s.text for s in needed] == ["b = h(insig)", "d = b + 1"]
    needed = plan(statements, {"d"}, frozen={"x"}, variables=variables)
    assert [s.text for s in needed][0] == "a = f(x)"


# --------------------------------------------------------------------------- tolerances


def test_checked_tolerance_follows_indexing_and_powers():
    out = np.ones((4, 3))
    tol = np.array([1e-6, 1e-7, 1e-8])
    env = {"y": Checked(out, tol=tol, reason="r", split_axis=1, labels=("a", "b", "c"))}
    picked = value("y(:, [3 1])", env)
    assert isinstance(picked, Checked) and list(picked.tol) == [1e-8, 1e-6]
    assert picked.labels == ("c", "a")
    squared = value("y.^2", env)
    np.testing.assert_allclose(squared.tol, 2 * tol)
    assert value("y(2, 2)", env).tol == 1e-7


def test_tolerance_is_inherited_through_handlers(handlers):
    handlers("double_it", lambda ctx, args, nargout: (args[0] * 2,))
    env = {"y": Checked(np.ones((5, 2)), tol=np.array([1e-6, 1e-8]), reason="r", split_axis=1)}
    out = value("double_it(y)", env)
    assert isinstance(out, Checked) and list(out.tol) == [1e-6, 1e-8] and out.split_axis == 1
    cell = merge_tolerances([np.ones((3, 1)), np.ones((3, 1))], [env["y"]])
    assert list(cell.tol) == [1e-6, 1e-8]


def test_conditioning_tolerance_table():
    tol, reasons = conditioning_tolerance("auditoryfilterbank", [87.0, 1000.0, 7819.0, 40.0])
    assert tol[0] == pytest.approx(3.6e-7) and tol[2] == DEFAULT_RTOL
    assert DEFAULT_RTOL < tol[1] < 10 * 5.8e-10 and tol[3] >= tol[0]
    assert "87 Hz" in reasons[0] and "default" in reasons[2]
    checked = checked_by_frequency(np.zeros((10, 2)), "king2019_mfc", [2.0, 94.0], 1)
    assert checked.labels == ("mfc 2 Hz", "mfc 94 Hz")


# --------------------------------------------------------------------------- comparison


def _one(value_, reference, dtype=torch.float64):
    (check,) = compare(ORIGIN, "q", value_, reference, dtype)
    return check


def test_exact_value_passes_and_wrong_value_fails():
    ref = np.linspace(-1, 1, 20).reshape(10, 2)
    ok = _one(ref.copy(), ref)
    assert ok.passed and ok.rel_err == 0.0 and ok.max_abs_ref == 1.0
    bad = _one(ref * (1 + 1e-6), ref)
    assert not bad.passed and bad.rel_err == pytest.approx(1e-6, rel=1e-6)
    assert bad.tolerance == DEFAULT_RTOL


def test_comparison_edge_cases():
    zeros = np.zeros((3, 1))
    assert _one(zeros, zeros).rel_err == 0.0
    assert _one(zeros + 1e-20, zeros).rel_err == np.inf and not _one(zeros + 1e-20, zeros).passed
    shape = _one(np.zeros((1, 3)), zeros)
    assert not shape.passed and "shape" in shape.reason
    nan_ref = np.array([[1.0], [np.nan]])
    assert _one(nan_ref.copy(), nan_ref).passed
    moved = _one(np.array([[np.nan], [1.0]]), nan_ref)
    assert not moved.passed and "NaN positions" in moved.reason
    cplx = np.array([[1 + 1j], [2 - 1j]])
    check = _one(cplx + 3e-9j, cplx)
    assert check.max_abs_err == pytest.approx(3e-9) and not check.passed
    assert _one(5.0, np.array([[5.0]])).passed
    assert _one("abc", np.array(["abc"])).passed and not _one("abd", np.array(["abc"])).passed
    assert not _one([1.0], np.array([[1.0]])).passed


def test_split_checks_cells_and_float32_policy():
    ref = np.ones((4, 2))
    value_ = Checked(ref * [1 + 1e-7, 1 + 1e-7], tol=np.array([1e-6, 1e-8]), reason=("w", "t"),
                     split_axis=1, labels=("fc 87 Hz", "fc 1000 Hz"))
    first, second = compare(ORIGIN, "out", value_, ref, torch.float64)
    assert first.quantity == "out[fc 87 Hz]" and first.passed and first.reason == "w"
    assert second.quantity == "out[fc 1000 Hz]" and not second.passed
    cell = np.empty((2, 1), dtype=object)
    cell[0, 0], cell[1, 0] = np.ones((3, 2)), np.ones((3, 1))
    checks = compare(ORIGIN, "outsig", [np.ones((3, 2)), np.ones((3, 1)) * 2], cell,
                     torch.float64)
    assert [c.quantity for c in checks] == ["outsig[1]", "outsig[2]"]
    assert [c.passed for c in checks] == [True, False]
    loose = _one(ref * (1 + 1e-5), ref, torch.float32)
    assert loose.passed and loose.tolerance == FLOAT32_RTOL


def test_from_mat_conversions():
    cell = np.empty((2, 1), dtype=object)
    cell[0, 0], cell[1, 0] = np.array(["x"]), np.array([[1.0, 2.0]])
    assert from_mat(cell)[0] == "x" and from_mat(np.array([[4.0]])) == 4.0
    assert from_mat(np.array([[1 + 2j]])) == 1 + 2j


# --------------------------------------------------------------------------- whole files


def _write_reference(directory: Path, name: str, call: str, **variables) -> Path:
    path = directory / name
    data = {"call": call, "amt_version": "AMT test", "note": "a note",
            "stimulus_level_db_spl": np.nan, **variables}
    scipy.io.savemat(path, data, format="5")
    return path


@pytest.fixture
def toy_reference(tmp_path, handlers):
    handlers("double_it", lambda ctx, args, nargout: (np.asarray(args[0]) * 2,))
    handlers("wrong", lambda ctx, args, nargout: (np.asarray(args[0]) * 2.001,))
    handlers("with_step", lambda ctx, args, nargout: (
        np.asarray(args[0]), {"E": np.asarray(args[0]) + 1, "extra": 0.0}))

    def broken(ctx, args, nargout):
        raise RuntimeError("kaputt")

    handlers("broken", broken)
    stimulus = np.arange(6.0).reshape(6, 1)
    _write_reference(
        tmp_path, "toy__a.mat",
        "insig = missing_prep(stimulus);\n"
        "y = double_it(insig);\nz = y.^2;\nw = missing_fn(y);\nv = broken(insig);\n"
        "u = wrong(insig);\n[o, step] = with_step(insig); s_field = step.E;\n"
        "a = missing_fn(insig); b = double_it(a);",
        stimulus=stimulus, insig=stimulus + 1, fs=1000.0, y=(stimulus + 1) * 2,
        z=((stimulus + 1) * 2) ** 2, w=stimulus, v=stimulus, u=(stimulus + 1) * 2,
        o=stimulus + 1, step_E=stimulus + 2, step_missing=1.0, s_field=stimulus + 2,
        a=stimulus * 5, b=stimulus * 10, extra_number=3.0, extra_text="metadata")
    return tmp_path


def test_file_classification_and_outcomes(toy_reference):
    result = run_validation(toy_reference)
    checks = {c.quantity: c for c in result.checks}
    missing = {n.quantity: n for n in result.not_covered}
    for name in ("y", "z", "o", "step_E", "s_field", "b (stage-isolated)"):
        assert checks[name].passed, checks[name]
    assert not checks["u"].passed and not checks["v"].passed
    assert "kaputt" in checks["v"].reason
    assert "missing_fn" in missing["w"].reason and "missing_fn" in missing["a"].reason
    assert missing["b"].reason.endswith("(needs a)")
    assert "no field" in missing["step_missing"].reason
    assert "no statement" in missing["extra_number"].reason
    assert "missing_prep" in missing["insig (input)"].reason
    stored = set(scipy.io.loadmat(toy_reference / "toy__a.mat")) - {"__header__", "__version__",
                                                                     "__globals__"}
    outputs = stored - INPUT_NAMES - METADATA_NAMES - {"extra_text"}
    accounted = {q.split("[")[0].split(" ")[0] for q in [*checks, *missing]}
    assert outputs <= accounted
    assert not any(q.startswith(("stimulus", "fs", "note", "call", "extra_text"))
                   for q in [*checks, *missing])
    assert checks["y"].stage == "double_it" and checks["s_field"].stage == "with_step"
    assert checks["z"].stage == "(expression)"
    assert not result.ok


def test_json_and_report_from_the_command_line(toy_reference, tmp_path, capsys):
    out_json, out_md = tmp_path / "v.json", tmp_path / "v.md"
    code = main(["--reference", str(toy_reference), "--json", str(out_json),
                 "--report", str(out_md)])
    assert code == 1
    data = json.loads(out_json.read_text())
    assert data["reference"] == str(toy_reference)
    assert set(data["checks"][0]) >= {"file", "quantity", "max_abs_err", "max_abs_ref",
                                      "rel_err", "tolerance", "passed", "reason"}
    assert "toy__a.mat:w" in data["not_covered"]
    report = out_md.read_text()
    assert "## Summary by stage" in report and "`double_it`" in report and "FAIL" in report
    assert "checks:" in capsys.readouterr().out


def test_command_line_exit_status(tmp_path, monkeypatch, capsys):
    """``python -m torch_amt.validation``: 1 when a check fails, 2 for a missing directory."""
    stimulus = np.ones((4, 1))
    _write_reference(tmp_path, "ok.mat", "fc = erbspacebw(80, 8000);", stimulus=stimulus,
                     fs=16000.0, fc=np.zeros((1, 31)))
    for argv, status in (([str(tmp_path)], 1), ([str(tmp_path / "nowhere")], 2)):
        monkeypatch.setattr(sys, "argv", ["torch_amt.validation", "--reference", *argv])
        monkeypatch.delitem(sys.modules, "torch_amt.validation.__main__", raising=False)
        with pytest.raises(SystemExit) as exit_:
            runpy.run_module("torch_amt.validation", run_name="__main__")
        assert exit_.value.code == status
    output = capsys.readouterr()
    assert "1 failed" in output.out and "does not exist" in output.err


def test_unparsable_call_is_a_failure(tmp_path):
    _write_reference(tmp_path, "bad.mat", "x = y === 1;", stimulus=np.ones((2, 1)), x=1.0)
    result = run_validation(tmp_path)
    assert not result.ok and result.failed[0].quantity == "call"


# --------------------------------------------------------------------------- reference set


def test_reference_set_in_float32(amt_reference_dir):
    """The whole reference set in single precision: 1e-4 relative, or the conditioning
    floors where those are larger (see ``tolerances``); nothing undetermined."""
    result = run_validation(amt_reference_dir, dtype=torch.float32)
    failures = [f"{c.file}:{c.quantity} rel {c.rel_err} > {c.tolerance} ({c.reason})"
                for c in result.failed]
    assert not failures, "\n".join(failures[:30])
    assert not result.not_covered and not result.undetermined
    assert len(result.passed) > 3000


def test_reference_set(amt_reference_dir):
    """Every check on the AMT reference set passes; every stored output is accounted for;
    the scales/levels checks are among them."""
    result = run_validation(amt_reference_dir)
    failures = [f"{c.file}:{c.quantity} rel {c.rel_err} > {c.tolerance} ({c.reason})"
                for c in result.failed]
    assert not failures, "\n".join(failures[:30])
    passed = {(c.file, c.quantity) for c in result.passed}
    for fs in (16000, 22050, 44100, 48000):
        for q in ("fc", "fc_basef1000", "erb_bw", "aud", "fc_back"):
            assert (f"gammatone__fs{fs}.mat", q) in passed
    assert ("lopezpoveda2001__tone1k_60dB_fs44k.mat", "insig (input)") in passed
    assert ("jepsen2008chain__tone1k_60dB_fs44k__narrow.mat",
            "step3_gain (stage-isolated)") in passed
    keys = {(c.file, c.quantity.split("[")[0].split(" ")[0]) for c in result.checks}
    keys |= {(n.file, n.quantity.split(" ")[0]) for n in result.not_covered}
    gammatone = set(scipy.io.loadmat(amt_reference_dir / "gammatone__fs44100.mat"))
    for name in gammatone - INPUT_NAMES - METADATA_NAMES:
        if not name.startswith("__"):
            assert ("gammatone__fs44100.mat", name) in keys, name


def test_reference_subset_in_float32(amt_reference_dir):
    result = run_validation(amt_reference_dir, dtype=torch.float32, only="gammatone__fs16000")
    assert result.ok and result.checks
    assert all(c.tolerance >= FLOAT32_RTOL for c in result.checks)


def test_not_covered_is_never_counted_as_passed(amt_reference_dir):
    result = run_validation(amt_reference_dir, only="filters__fs16000")
    for n in result.not_covered:
        assert n.reason
        assert not any(c.quantity == n.quantity and c.file == n.file for c in result.checks)
    with pytest.raises(NotCovered):
        call_function("no_such_amt_function", CTX, [], 1)


# --------------------------------------------------------------------------- cancellation


def test_cancellation_of_a_normalised_difference():
    """A difference that is then rescaled (its ``scale`` dropped) carries the ratio of its
    operands' magnitude to its own as ``cancellation``, multiplied along the chain; a
    magnitude of the difference keeps ``scale`` instead."""
    a = np.array([[1.0], [2.0], [4.0]])
    env = {"a": a, "b": a + np.array([[1e-6], [-2e-6], [1e-6]])}
    d = value("b - a", env)
    assert d.scale == pytest.approx(4.0 + 1e-6) and d.cancellation == 1.0
    normalised = value("(b - a) ./ sqrt(mean((b - a).^2))", env)
    assert normalised.scale == 0.0
    assert normalised.cancellation == pytest.approx((4.0 + 1e-6) / 2e-6, rel=1e-6)
    assert value("20 * log10(sqrt(mean((b - a).^2))) + 100", env).cancellation == \
        pytest.approx((4.0 + 1e-6) / 2e-6, rel=1e-6)
    assert value("max(abs(b - a))", env).cancellation == 1.0
    plain = merge_tolerances(np.ones(3), [Checked(np.ones(3), tol=1e-6)])
    assert plain.cancellation == 1.0


def test_cancellation_tolerance_in_float32_only():
    tol, reason = effective_tolerance(0.0, "", torch.float32, cancellation=50.0)
    assert tol == pytest.approx(50 * FLOAT32_RTOL) and "cancellation 50" in reason
    assert effective_tolerance(0.0, "", torch.float64, cancellation=50.0)[0] == DEFAULT_RTOL
    assert effective_tolerance(0.0, "", torch.float32)[0] == FLOAT32_RTOL
    assert not undetermined_in_float32(torch.float32, 9.9e3)
    assert undetermined_in_float32(torch.float32, 1e4)
    assert not undetermined_in_float32(torch.float64, 1e12)


def test_undetermined_checks_are_neither_passed_nor_failed():
    origin = Origin("f.mat", "stage", "end-to-end")
    reference = np.array([[1.0, 2.0]])
    far_off = Checked(np.array([[1.5, 2.5]]), cancellation=1e8)
    (record,) = compare(origin, "q", far_off, reference, torch.float32)
    assert record.undetermined and not record.passed
    assert "undetermined in float32" in record.reason
    (record,) = compare(origin, "q", far_off, reference, torch.float64)
    assert not record.undetermined and not record.passed  # float64 checks it: fails
    close = Checked(np.array([[1.0 + 1e-3, 2.0]]), cancellation=100.0)
    (record,) = compare(origin, "q", close, reference, torch.float32)
    assert record.passed and record.tolerance == pytest.approx(100 * FLOAT32_RTOL)
    (record,) = compare(origin, "q", Checked(np.array([[1.05, 2.0]]), cancellation=100.0),
                        reference, torch.float32)
    assert not record.passed and not record.undetermined
