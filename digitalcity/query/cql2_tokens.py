"""The CQL2 text lexer: tokens with their positions in one linear scan, the nesting check
that runs before any recursive parsing, and the cursor the parser reads tokens with."""

from __future__ import annotations

import re

from digitalcity.query.cql2_ast import FilterError
from digitalcity.query.cql2_limits import MAX_DEPTH, depth_error

# One pass of finditer covers the whole text: every character but trailing whitespace belongs to
# a token (with its leading whitespace) or to 'bad' (an error), so scanning is linear in the
# filter's length. Measured on 360 KB (GC paused): 0.075 s; the former scan, which copied the
# rest of the text per token, took 1.37 s (and 61 times its 36 KB time: quadratic).
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
    | (?P<quoted>"(?:[^"]|"")+")
    | (?P<op><>|<=|>=|[=<>(),+\-*/%^\[\]])
    | (?P<word>[^\W\d][\w.:\u0300-\u036f\u203f\u2040]*)
    | (?P<bad>\S)
    )""",
    re.VERBOSE | re.DOTALL,
)
Token = tuple[str, str, int]  # kind, text, position (0-based)


def tokenize(text: str) -> list[Token]:
    """The tokens of a CQL2 text filter, in one linear scan; raises FilterError on a bad one."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "bad"
        value, start = match.group(kind), match.start(kind)
        if kind == "bad":
            what = {"'": "unterminated string", '"': "unterminated quoted property name"}
            raise FilterError(
                f"{what.get(value, 'unexpected character')} at position {start + 1}: "
                f"{text[start : start + 10]!r}"
            )
        tokens.append((kind, value, start))
    return tokens


def _is_prefix(previous: Token | None) -> bool:
    """Whether a NOT or '-' after ``previous`` is a prefix operator (it nests what follows)."""
    if previous is None:
        return True
    kind, value, _ = previous
    if kind == "op":
        return value != ")"
    return kind == "word" and value.upper() in ("AND", "OR", "NOT", "LIKE", "BETWEEN", "DIV")


def check_nesting(tokens: list[Token]) -> None:
    """Refuse more than MAX_DEPTH nested parentheses and prefix operators, without recursion.

    Each open parenthesis counts one level, and so does each NOT or minus sign of a chain of
    prefixes still open at that parenthesis level (AND, OR and ',' close such a chain)."""
    chains = [0]  # per open parenthesis: prefix operators still in force
    depth = 0
    previous: Token | None = None
    for token in tokens:
        kind, value, _ = token
        upper = value.upper() if kind == "word" else value
        if kind == "op" and value == "(":
            chains.append(0)
            depth += 1
        elif kind == "op" and value == ")":
            if len(chains) > 1:
                depth -= 1 + chains.pop()
        elif (upper == "NOT" and kind == "word") or (kind == "op" and value == "-"):
            if _is_prefix(previous):
                chains[-1] += 1
                depth += 1
        elif (kind == "word" and upper in ("AND", "OR")) or (kind == "op" and value == ","):
            depth -= chains[-1]
            chains[-1] = 0
        if depth > MAX_DEPTH:
            raise depth_error()
        previous = token


class Tokens:
    """A cursor over the tokens of one filter (nesting already checked)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.items = tokenize(text)
        check_nesting(self.items)
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.items[j] if j < len(self.items) else None

    def next(self) -> Token:
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

    def op(self) -> str | None:
        token = self.peek()
        return token[1] if token and token[0] == "op" else None

    def accept_op(self, op: str) -> bool:
        if self.op() == op:
            self.i += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            token = self.peek()
            found = f"{token[1]!r} at position {token[2] + 1}" if token else "end of filter"
            raise FilterError(f"expected {op!r} but found {found}")
