"""Tokens and caret-pointing errors shared by the goal and skeleton languages.

Goals (paper §3: a conjunction of relations g_1 ∧ … ∧ g_M) and plan skeletons (§3: the skill
sequence φ_{1:H}) are written by people and by other nodes as short text such as
``on(cup_1, table_B) & inside(capsule_1, cup_1)`` or ``pick_place(cup_1, table_B); push(book_3)``.
When such a text is wrong, the error names the problem and shows the expression with a caret line
under the offending token::

    unknown object 'cup_9'; did you mean 'cup_1'?
      on(cup_9, table_B) & inside(capsule_1, cup_1)
         ^^^^^
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import Enum


class TokenKind(str, Enum):
    """Lexical categories of both languages."""

    NAME = "name"  # relation, skill or object name
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    AND = "&"  # '&', '&&', '∧' or the keyword 'and'
    NOT = "not"  # '!', '¬', '~' or the keyword 'not'
    SEMI = ";"  # separates skeleton steps
    END = "end"  # after the last character


@dataclass(frozen=True)
class Token:
    """One token: its kind, its text and its span ``[start, end)`` in the expression."""

    kind: TokenKind
    text: str
    start: int
    end: int


# Names: letters, digits, '_', '.', '-', '/' (object names such as ``table_B`` or ``cup_1``).
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*"
_TOKEN_RE = re.compile(
    rf"(?P<space>\s+)|(?P<name>{_NAME})|(?P<and>&&|&|∧)|(?P<not>!|¬|~)"
    r"|(?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)|(?P<semi>;)"
)
_KEYWORDS = {"and": TokenKind.AND, "not": TokenKind.NOT}
_GROUP_KINDS = {
    "and": TokenKind.AND,
    "not": TokenKind.NOT,
    "lparen": TokenKind.LPAREN,
    "rparen": TokenKind.RPAREN,
    "comma": TokenKind.COMMA,
    "semi": TokenKind.SEMI,
}
RESERVED_WORDS = frozenset(_KEYWORDS)
"""Words that are operators, so they cannot name a relation, skill or object."""


class ParseError(ValueError):
    """A malformed expression; ``str()`` shows the reason and a caret line under the bad token.

    ``start``/``end`` delimit the offending token in ``expression`` (``end == start`` points at a
    position, e.g. the end of a truncated expression); ``reason`` is the message without the
    caret lines.
    """

    def __init__(self, reason: str, expression: str, start: int, end: int | None = None) -> None:
        self.reason = reason
        self.expression = expression
        self.start = max(0, min(start, len(expression)))
        self.end = max(self.start, min(end if end is not None else start, len(expression)))
        super().__init__(f"{reason}\n{caret_lines(expression, self.start, self.end)}")

    @property
    def token(self) -> str:
        """The offending text (empty when the error points at a position)."""
        return self.expression[self.start : self.end]


def caret_lines(expression: str, start: int, end: int, indent: str = "  ") -> str:
    """The line of ``expression`` holding ``start`` and, below it, carets under ``[start, end)``.

    Tabs in front of the token are repeated in the caret line so the carets stay aligned.
    """
    line_start = expression.rfind("\n", 0, start) + 1
    line_end = expression.find("\n", start)
    line_end = len(expression) if line_end < 0 else line_end
    line = expression[line_start:line_end]
    col = start - line_start
    width = max(1, min(end, line_end) - start)
    pad = "".join("\t" if c == "\t" else " " for c in line[:col])
    return f"{indent}{line}\n{indent}{pad}{'^' * width}"


def tokenize(expression: str, error: type[ParseError] = ParseError) -> list[Token]:
    """Tokens of ``expression`` followed by one END token; raises ``error`` at a stray character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(expression):
        m = _TOKEN_RE.match(expression, pos)
        if m is None:
            raise error(f"unexpected character {expression[pos]!r}", expression, pos, pos + 1)
        group = m.lastgroup
        assert group is not None
        if group == "name":
            kind = _KEYWORDS.get(m.group().lower(), TokenKind.NAME)
            tokens.append(Token(kind, m.group(), m.start(), m.end()))
        elif group != "space":
            tokens.append(Token(_GROUP_KINDS[group], m.group(), m.start(), m.end()))
        pos = m.end()
    tokens.append(Token(TokenKind.END, "", len(expression), len(expression)))
    return tokens


class TokenStream:
    """A cursor over tokens for the recursive-descent parsers of goals and skeletons."""

    def __init__(self, expression: str, error: type[ParseError]) -> None:
        self.expression = expression
        self.error = error
        self.tokens = tokenize(expression, error)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind is not TokenKind.END:
            self.pos += 1
        return tok

    def fail(self, reason: str, at: Token | tuple[int, int]) -> ParseError:
        """The error to raise, pointing at a token or a ``(start, end)`` span."""
        start, end = (at.start, at.end) if isinstance(at, Token) else at
        return self.error(reason, self.expression, start, end)

    @property
    def empty(self) -> bool:
        """Whether the expression holds nothing but whitespace."""
        return self.tokens[0].kind is TokenKind.END


def suggestion(name: str, known: tuple[str, ...] | list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def parse_arguments(ts: TokenStream, name: Token, what: str, example: str) -> tuple[list[Token], Token]:
    """``'(' NAME (',' NAME)* ')'`` after ``name`` (a relation or a skill): the object tokens and
    the closing ')'. ``what``/``example`` word the error when the parenthesis is missing."""
    open_ = ts.peek()
    if open_.kind is not TokenKind.LPAREN:
        raise ts.fail(f"{what} {name.text!r} needs its objects in parentheses, e.g. {example}", name)
    ts.next()
    args: list[Token] = []
    while True:
        tok = ts.peek()
        if tok.kind is TokenKind.END:
            raise ts.fail("unbalanced parenthesis: '(' is never closed", open_)
        if tok.kind is not TokenKind.NAME:
            raise ts.fail(f"expected an object name, got {tok.text!r}", tok)
        args.append(ts.next())
        sep = ts.next()
        if sep.kind is TokenKind.COMMA:
            continue
        if sep.kind is TokenKind.RPAREN:
            return args, sep
        if sep.kind is TokenKind.END:
            raise ts.fail("unbalanced parenthesis: '(' is never closed", open_)
        raise ts.fail(f"expected ',' or ')', got {sep.text!r}", sep)
