"""A recursive-descent parser for CQL2 text (basic, advanced comparison, spatial, temporal,
arithmetic and case-insensitive comparison conformance classes)."""

from __future__ import annotations

import re

import shapely

from digitalcity.query.cql2_ast import (
    ARITHMETIC_OPS,
    FUNCTIONS,
    SPATIAL_OPS,
    TEMPORAL_OPS,
    And,
    Arithmetic,
    Between,
    Comparison,
    Expr,
    FilterError,
    Function,
    GeometryLiteral,
    In,
    Interval,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    Property,
    Spatial,
    Temporal,
    parse_instant,
)

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
    | (?P<quoted>"(?:[^"]|"")+")
    | (?P<op><>|<=|>=|=|<|>|\(|\)|,|\+|-|\*|/|%|\[|\])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.:]*)
    )""",
    re.VERBOSE,
)
_GEOMETRY_WORDS = {
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE", "DIV"}


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise FilterError(
                    f"unexpected character at position {pos + 1}: {text[pos : pos + 10]!r}"
                )
            kind = match.lastgroup or ""
            self.items.append((kind, match.group(kind), match.start(kind)))
            pos = match.end()
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        j = self.i + offset
        return self.items[j] if j < len(self.items) else None

    def next(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise FilterError("unexpected end of filter")
        self.i += 1
        return token

    def word(self, offset: int = 0) -> str | None:
        token = self.peek(offset)
        return token[1].upper() if token and token[0] == "word" else None

    def accept_word(self, *words: str) -> bool:
        if self.word() in words:
            self.i += 1
            return True
        return False

    def accept_op(self, op: str) -> bool:
        token = self.peek()
        if token and token[0] == "op" and token[1] == op:
            self.i += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            token = self.peek()
            found = repr(token[1]) if token else "end of filter"
            raise FilterError(f"expected {op!r} but found {found}")


def parse_text(text: str) -> Expr:
    """Parse a CQL2 text filter; raises FilterError with the position of the problem."""
    if not text or not text.strip():
        raise FilterError("empty filter")
    tokens = _Tokens(text)
    expr = _or(tokens)
    if tokens.peek() is not None:
        raise FilterError(f"unexpected {tokens.peek()[1]!r} at position {tokens.peek()[2] + 1}")  # type: ignore[index]
    return expr


def _or(t: _Tokens) -> Expr:
    args = [_and(t)]
    while t.accept_word("OR"):
        args.append(_and(t))
    return args[0] if len(args) == 1 else Or(tuple(args))


def _and(t: _Tokens) -> Expr:
    args = [_not(t)]
    while t.accept_word("AND"):
        args.append(_not(t))
    return args[0] if len(args) == 1 else And(tuple(args))


def _not(t: _Tokens) -> Expr:
    if t.accept_word("NOT"):
        return Not(_not(t))
    return _predicate(t)


def _predicate(t: _Tokens) -> Expr:
    left = _additive(t)
    negated = t.accept_word("NOT")
    if t.accept_word("LIKE"):
        out: Expr = Like(left, _additive(t))
    elif t.accept_word("BETWEEN"):
        low = _additive(t)
        if not t.accept_word("AND"):
            raise FilterError("BETWEEN needs AND")
        out = Between(left, low, _additive(t))
    elif t.accept_word("IN"):
        t.expect_op("(")
        items = [_additive(t)]
        while t.accept_op(","):
            items.append(_additive(t))
        t.expect_op(")")
        out = In(left, tuple(items))
    elif not negated and t.accept_word("IS"):
        is_not = t.accept_word("NOT")
        if not t.accept_word("NULL"):
            raise FilterError("IS must be followed by [NOT] NULL")
        return Not(IsNull(left)) if is_not else IsNull(left)
    elif negated:
        raise FilterError("NOT must be followed by LIKE, BETWEEN or IN here")
    else:
        token = t.peek()
        if token and token[0] == "op" and token[1] in ("=", "<>", "<", ">", "<=", ">="):
            t.next()
            return Comparison(token[1], left, _additive(t))
        return left
    return Not(out) if negated else out


def _additive(t: _Tokens) -> Expr:
    left = _multiplicative(t)
    while True:
        token = t.peek()
        if token and token[0] == "op" and token[1] in ("+", "-"):
            t.next()
            left = Arithmetic(token[1], left, _multiplicative(t))
        else:
            return left


def _multiplicative(t: _Tokens) -> Expr:
    left = _primary(t)
    while True:
        token = t.peek()
        if token and token[0] == "op" and token[1] in ("*", "/", "%"):
            t.next()
            left = Arithmetic(token[1], left, _primary(t))
        elif t.word() == "DIV":
            t.next()
            left = Arithmetic("div", left, _primary(t))
        else:
            return left


def _geometry(t: _Tokens, start: int) -> GeometryLiteral:
    """Consume a WKT literal (keyword then a balanced parenthesised body)."""
    depth = 0
    while True:
        kind, value, pos = t.next()
        if kind == "op" and value == "(":
            depth += 1
        elif kind == "op" and value == ")":
            depth -= 1
            if depth == 0:
                end = pos + 1
                break
    wkt = t.text[start:end]
    try:
        return GeometryLiteral(shapely.from_wkt(wkt))
    except shapely.errors.GEOSException as exc:
        raise FilterError(f"invalid geometry {wkt[:40]!r}…: {exc}") from None


def _primary(t: _Tokens) -> Expr:
    kind, value, pos = t.next()
    if kind == "string":
        return Literal(value[1:-1].replace("''", "'"))
    if kind == "number":
        number = float(value)
        return Literal(int(number) if re.fullmatch(r"-?\d+", value) else number)
    if kind == "quoted":
        return Property(value[1:-1].replace('""', '"'))
    if kind == "op" and value == "(":
        inner = _or(t)
        t.expect_op(")")
        return inner
    if kind == "op" and value == "-":
        operand = _primary(t)
        if isinstance(operand, Literal) and isinstance(operand.value, int | float):
            return Literal(-operand.value)
        return Arithmetic("-", Literal(0), operand)
    if kind != "word":
        raise FilterError(f"unexpected {value!r} at position {pos + 1}")
    upper = value.upper()
    if upper in ("TRUE", "FALSE"):
        return Literal(upper == "TRUE")
    if upper in _GEOMETRY_WORDS:
        t.i -= 1
        return _geometry(t, pos)
    if upper in ("BBOX", "ENVELOPE") and t.accept_op("("):
        numbers = _numbers(t)
        if len(numbers) not in (4, 6):
            raise FilterError(f"{upper} needs 4 (or 6) numbers")
        w, s, e, n = (
            (numbers[0], numbers[1], numbers[2], numbers[3])
            if len(numbers) == 4
            else (numbers[0], numbers[1], numbers[3], numbers[4])
        )
        return GeometryLiteral(shapely.box(w, s, e, n))
    if upper in ("DATE", "TIMESTAMP") and t.accept_op("("):
        literal = _primary(t)
        t.expect_op(")")
        if not isinstance(literal, Literal) or not isinstance(literal.value, str):
            raise FilterError(f"{upper} needs a quoted string")
        return parse_instant(literal.value, upper.lower())
    if upper == "INTERVAL" and t.accept_op("("):
        start = _interval_end(t)
        t.expect_op(",")
        end = _interval_end(t)
        t.expect_op(")")
        return Interval(start, end)
    lower = value.lower()
    if t.accept_op("("):
        args = [] if t.accept_op(")") else _arguments(t)
        if lower in SPATIAL_OPS | TEMPORAL_OPS:
            if len(args) != 2:
                raise FilterError(f"{upper} takes two arguments")
            cls = Spatial if lower in SPATIAL_OPS else Temporal
            return cls(lower, args[0], args[1])
        if lower.startswith("a_"):
            raise FilterError(f"array operator {upper} is not supported (no array properties)")
        if lower not in FUNCTIONS:
            raise FilterError(f"unknown function {value!r}")
        return Function(lower, tuple(args))
    if upper in _KEYWORDS:
        raise FilterError(f"unexpected keyword {upper} at position {pos + 1}")
    return Property(value)


def _arguments(t: _Tokens) -> list[Expr]:
    args = [_or(t)]
    while t.accept_op(","):
        args.append(_or(t))
    t.expect_op(")")
    return args


def _numbers(t: _Tokens) -> list[float]:
    out: list[float] = []
    while True:
        negative = t.accept_op("-")
        kind, value, _ = t.next()
        if kind != "number":
            raise FilterError(f"expected a number, found {value!r}")
        out.append(-float(value) if negative else float(value))
        if t.accept_op(")"):
            return out
        t.expect_op(",")


def _interval_end(t: _Tokens):  # noqa: ANN202
    expr = _primary(t)
    if isinstance(expr, Literal) and expr.value == "..":
        return None
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        kind = "timestamp" if "T" in expr.value else "date"
        return parse_instant(expr.value, kind)
    from digitalcity.query.cql2_ast import Instant

    if isinstance(expr, Instant | Property):
        return expr
    raise FilterError("INTERVAL bounds must be dates, timestamps, properties or '..'")


__all__ = ["ARITHMETIC_OPS", "parse_text"]
