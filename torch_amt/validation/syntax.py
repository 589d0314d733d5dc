"""Tokenizer and parser for the MATLAB subset of the reference files' ``call`` statements.

Supported: numbers, ``'strings'``, identifiers, ``f(...)`` (call or 1-based indexing,
decided at run time), ``c{...}``, ``s.field``, ``:`` ranges and bare ``:`` subscripts,
matrix ``[..]`` and cell ``{..}`` literals (``,``/blank and ``;``/newline separators),
the operators ``+ - * / ^ .* ./ .^`` with MATLAB precedence, unary minus, ``end``
inside an index, anonymous functions ``@(a, b) expr``, assignments (also to ``c{i}`` and
``s.f``), multi-assignments ``[a, ~, b] = f(...)``, ``for v = expr, ...; end`` and
``try, ...; catch err, ...; end``. Statements are separated by ``,``, ``;`` or newlines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Apply",
    "Assign",
    "BinOp",
    "CellLit",
    "CellRef",
    "Colon",
    "End",
    "ExprStmt",
    "FieldRef",
    "ForLoop",
    "Lambda",
    "MatlabSyntaxError",
    "MatrixLit",
    "Name",
    "Neg",
    "Num",
    "RangeExpr",
    "Str",
    "TryCatch",
    "parse",
]


class MatlabSyntaxError(ValueError):
    """The statement text is outside the supported MATLAB subset."""


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Colon:
    """A bare ``:`` subscript (all indices)."""


@dataclass(frozen=True)
class End:
    """``end`` inside an index: the last index of the dimension it subscripts."""


@dataclass(frozen=True)
class Lambda:
    """An anonymous function ``@(params) body``."""

    params: tuple[str, ...]
    body: object


@dataclass(frozen=True)
class Apply:
    """``target(args)``: a function call or indexing."""

    target: object
    args: tuple


@dataclass(frozen=True)
class CellRef:
    """``target{args}``."""

    target: object
    args: tuple


@dataclass(frozen=True)
class FieldRef:
    """``target.name``."""

    target: object
    name: str


@dataclass(frozen=True)
class BinOp:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Neg:
    operand: object


@dataclass(frozen=True)
class RangeExpr:
    start: object
    step: object | None
    stop: object


@dataclass(frozen=True)
class MatrixLit:
    rows: tuple


@dataclass(frozen=True)
class CellLit:
    rows: tuple


@dataclass(frozen=True)
class Assign:
    """``targets = value``; a ``None`` target is ``~``. ``multi``: bracketed left side."""

    targets: tuple
    value: object
    multi: bool
    text: str


@dataclass(frozen=True)
class ExprStmt:
    expr: object
    text: str


@dataclass(frozen=True)
class ForLoop:
    var: str
    iterable: object
    body: tuple
    text: str


@dataclass(frozen=True)
class TryCatch:
    """``try, body; catch var, handler; end`` (``var`` ``None`` without an identifier)."""

    body: tuple
    var: str | None
    handler: tuple
    text: str


# --------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class _Token:
    kind: str  # 'num', 'str', 'name', 'op', 'sep', 'eof'
    text: str
    pos: int


_NUMBER = re.compile(r"(?:\d+(?:\.(?![*/^])\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_]\w*")
_OPERATORS = (".^", ".*", "./", "+", "-", "*", "/", "^", "(", ")", "[", "]",
              "{", "}", "=", ":", ".", "~", ",", ";", "@")
_KEYWORDS = ("end", "for", "if", "while", "function", "try", "catch")
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def _ends_value(tok: _Token) -> bool:
    return tok.kind in ("num", "str", "name") or tok.text in (")", "]", "}")


def _starts_value(text: str, j: int) -> bool:
    """Whether ``text[j:]`` starts a new element after a blank inside ``[]``/``{}``."""
    if j >= len(text):
        return False
    c = text[j]
    if c.isalnum() or c in "_([{'~@" or (c == "." and text[j + 1:j + 2].isdigit()):
        return True
    return c in "+-" and j + 1 < len(text) and text[j + 1] not in " \t="


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in " \t\r":
            j = i
            while j < len(text) and text[j] in " \t\r":
                j += 1
            if (stack and stack[-1] in "[{" and tokens and _ends_value(tokens[-1])
                    and _starts_value(text, j)):
                tokens.append(_Token("op", ",", i))
            i = j
        elif c == "%" or text.startswith("...", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else (end if c == "%" else end + 1)
        elif c == "\n":
            if not stack:
                tokens.append(_Token("sep", "\n", i))
            elif stack[-1] in "[{":
                tokens.append(_Token("op", ";", i))
            i += 1
        elif c == "'":
            j, chars = i + 1, []
            while True:
                if j >= len(text) or text[j] == "\n":
                    raise MatlabSyntaxError(f"unterminated string at {i}: {text!r}")
                if text[j] == "'":
                    if text.startswith("''", j):
                        chars.append("'")
                        j += 2
                        continue
                    break
                chars.append(text[j])
                j += 1
            tokens.append(_Token("str", "".join(chars), i))
            i = j + 1
        elif m := _NUMBER.match(text, i):
            tokens.append(_Token("num", m.group(), i))
            i = m.end()
        elif m := _NAME.match(text, i):
            tokens.append(_Token("name", m.group(), i))
            i = m.end()
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise MatlabSyntaxError(f"unsupported character {c!r} at {i} in {text!r}")
            if op in _CLOSING:
                stack.append(op)
            elif op in (")", "]", "}"):
                if not stack or _CLOSING[stack.pop()] != op:
                    raise MatlabSyntaxError(f"unbalanced {op!r} at {i} in {text!r}")
            kind = "sep" if op in (",", ";") and not stack else "op"
            tokens.append(_Token(kind, op, i))
            i += len(op)
    if stack:
        raise MatlabSyntaxError(f"unclosed {stack[-1]!r} in {text!r}")
    tokens.append(_Token("eof", "", len(text)))
    return tokens


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.index_depth = 0  # > 0 inside f(...) / c{...}, where 'end' is an index

    # helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def error(self, message: str) -> MatlabSyntaxError:
        return MatlabSyntaxError(f"{message} at position {self.tok.pos} in {self.text!r}")

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "sep") and self.tok.text in texts

    def at_keyword(self, *names: str) -> bool:
        return self.tok.kind == "name" and self.tok.text in names

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise self.error(f"expected {text!r}, found {self.tok.text!r}")
        self.i += 1

    def skip_separators(self) -> None:
        while self.tok.kind == "sep":
            self.i += 1

    # statements
    def program(self) -> tuple:
        statements = self.statements(closers=())
        if self.tok.kind != "eof":
            raise self.error(f"unexpected {self.tok.text!r}")
        return statements

    def statements(self, closers: tuple[str, ...]) -> tuple:
        """Statements up to one of the keywords ``closers`` (not consumed) or the end."""
        out = []
        self.skip_separators()
        while self.tok.kind != "eof":
            if self.at_keyword("end", "catch"):
                if self.tok.text not in closers:
                    raise self.error(f"{self.tok.text!r} without "
                                     f"{'try' if self.tok.text == 'catch' else 'for or try'}")
                break
            out.append(self.statement())
            if self.tok.kind not in ("sep", "eof") and not self.at_keyword(*closers):
                raise self.error(f"expected a statement separator, found {self.tok.text!r}")
            self.skip_separators()
        return tuple(out)

    def statement(self) -> object:
        start = self.tok.pos
        if self.at_keyword("for"):
            return self.for_loop(start)
        if self.at_keyword("try"):
            return self.try_catch(start)
        if self.at("[") and self.is_multi_assignment():
            targets = self.lhs_list()
            self.expect("=")
            value = self.expr()
            return Assign(targets, value, True, self.source(start))
        expr = self.expr()
        if self.at("="):
            self.i += 1
            self.check_target(expr)
            value = self.expr()
            return Assign((expr,), value, False, self.source(start))
        return ExprStmt(expr, self.source(start))

    def source(self, start: int) -> str:
        return self.text[start:self.tok.pos].strip()

    def for_loop(self, start: int) -> ForLoop:
        self.i += 1
        if self.tok.kind != "name":
            raise self.error("expected the loop variable")
        var = self.tok.text
        self.i += 1
        self.expect("=")
        iterable = self.expr()
        body = self.statements(closers=("end",))
        self.expect_keyword("end", "'for' without 'end'")
        return ForLoop(var, iterable, body, self.source(start))

    def try_catch(self, start: int) -> TryCatch:
        self.i += 1
        body = self.statements(closers=("catch", "end"))
        var, handler = None, ()
        if self.at_keyword("catch"):
            self.i += 1
            nxt = self.tokens[self.i + 1]
            if self.tok.kind == "name" and nxt.kind in ("sep", "eof"):
                var = self.tok.text
                self.i += 1
            handler = self.statements(closers=("end",))
        self.expect_keyword("end", "'try' without 'end'")
        return TryCatch(body, var, handler, self.source(start))

    def expect_keyword(self, name: str, message: str) -> None:
        if not self.at_keyword(name):
            raise self.error(message)
        self.i += 1

    def is_multi_assignment(self) -> bool:
        depth, j = 0, self.i
        while self.tokens[j].kind != "eof":
            text = self.tokens[j].text
            if self.tokens[j].kind == "op" and text in "([{":
                depth += 1
            elif self.tokens[j].kind == "op" and text in ")]}":
                depth -= 1
                if depth == 0:
                    nxt = self.tokens[j + 1]
                    return nxt.kind == "op" and nxt.text == "="
            j += 1
        return False

    def lhs_list(self) -> tuple:
        self.expect("[")
        targets = []
        while not self.at("]"):
            if self.at("~"):
                self.i += 1
                targets.append(None)
            else:
                target = self.postfix()
                self.check_target(target)
                targets.append(target)
            if self.at(","):
                self.i += 1
            elif not self.at("]"):
                raise self.error("expected ',' or ']' in the output list")
        self.i += 1
        return tuple(targets)

    def check_target(self, expr: object) -> None:
        base = expr
        while isinstance(base, (CellRef, FieldRef)):
            base = base.target
        if not isinstance(base, Name) or isinstance(expr, Apply):
            raise self.error("can only assign to a name, name{i} or name.field")

    # expressions, lowest precedence first
    def expr(self) -> object:
        start = self.additive()
        if not self.at(":"):
            return start
        self.i += 1
        second = self.additive()
        if not self.at(":"):
            return RangeExpr(start, None, second)
        self.i += 1
        return RangeExpr(start, second, self.additive())

    def additive(self) -> object:
        left = self.multiplicative()
        while self.at("+", "-"):
            op = self.tok.text
            self.i += 1
            left = BinOp(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> object:
        left = self.unary()
        while self.at("*", "/", ".*", "./"):
            op = self.tok.text
            self.i += 1
            left = BinOp(op, left, self.unary())
        return left

    def unary(self) -> object:
        if self.at("-"):
            self.i += 1
            return Neg(self.unary())
        if self.at("~"):  # logical not: MATLAB's ~x is not(x)
            self.i += 1
            return Apply(Name("not"), (self.unary(),))
        if self.at("+"):
            self.i += 1
            return self.unary()
        return self.power()

    def power(self) -> object:
        left = self.postfix()
        while self.at("^", ".^"):
            op = self.tok.text
            self.i += 1
            if self.at("-", "+"):
                negative = self.tok.text == "-"
                self.i += 1
                right = self.postfix()
                right = Neg(right) if negative else right
            else:
                right = self.postfix()
            left = BinOp(op, left, right)
        return left

    def postfix(self) -> object:
        node = self.primary()
        while True:
            if self.at("("):
                node = Apply(node, self.arguments(")"))
            elif self.at("{"):
                node = CellRef(node, self.arguments("}"))
            elif self.at("."):
                self.i += 1
                if self.tok.kind != "name":
                    raise self.error("expected a field name after '.'")
                node = FieldRef(node, self.tok.text)
                self.i += 1
            else:
                return node

    def arguments(self, closing: str) -> tuple:
        self.i += 1
        self.index_depth += 1
        args = []
        while not self.at(closing):
            nxt = self.tokens[self.i + 1]
            if self.at(":") and nxt.kind == "op" and nxt.text in (",", closing):
                self.i += 1
                args.append(Colon())
            else:
                args.append(self.expr())
            if self.at(","):
                self.i += 1
            elif not self.at(closing):
                raise self.error(f"expected ',' or {closing!r}")
        self.i += 1
        self.index_depth -= 1
        return tuple(args)

    def primary(self) -> object:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            return Num(float(tok.text))
        if tok.kind == "str":
            self.i += 1
            return Str(tok.text)
        if tok.kind == "name":
            if tok.text == "end" and self.index_depth > 0:
                self.i += 1
                return End()
            if tok.text in _KEYWORDS:
                raise self.error(f"keyword {tok.text!r} is not supported here")
            self.i += 1
            return Name(tok.text)
        if self.at("@"):
            return self.anonymous_function()
        if self.at("("):
            self.i += 1
            inner = self.expr()
            self.expect(")")
            return inner
        if self.at("["):
            return MatrixLit(self.rows("]"))
        if self.at("{"):
            return CellLit(self.rows("}"))
        raise self.error(f"unexpected {tok.text!r}")

    def anonymous_function(self) -> Lambda:
        self.i += 1
        self.expect("(")
        params = []
        while not self.at(")"):
            if self.tok.kind != "name":
                raise self.error("expected a parameter name")
            params.append(self.tok.text)
            self.i += 1
            if self.at(","):
                self.i += 1
            elif not self.at(")"):
                raise self.error("expected ',' or ')' in the parameter list")
        self.i += 1
        depth, self.index_depth = self.index_depth, 0
        body = self.expr()
        self.index_depth = depth
        return Lambda(tuple(params), body)

    def rows(self, closing: str) -> tuple:
        self.i += 1
        rows, row = [], []
        while not self.at(closing):
            if self.at(";"):
                self.i += 1
                rows.append(tuple(row))
                row = []
                continue
            row.append(self.expr())
            if self.at(","):
                self.i += 1
            elif not self.at(";", closing):
                raise self.error(f"expected ',', ';' or {closing!r}")
        self.i += 1
        if row or not rows:
            rows.append(tuple(row))
        return tuple(r for r in rows if r)


def parse(text: str) -> tuple:
    """Parse MATLAB statements.

    Parameters
    ----------
    text : str
        One or more statements (a reference file's ``call``).

    Returns
    -------
    tuple of Assign, ExprStmt, ForLoop and TryCatch
        The statements in order.

    Raises
    ------
    MatlabSyntaxError
        If ``text`` is outside the supported subset.
    """
    return _Parser(text).program()
