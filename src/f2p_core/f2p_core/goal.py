"""Goals: conjunctions of (possibly negated) relations, parsed from text (paper §3).

§3 defines a goal as a conjunction of desired relations G = g_1 ∧ … ∧ g_M, g_i ∈ R, with R the
unary and binary relations of A.9 (``f2p_sim.relations.UNARY`` / ``BINARY``). The planner maximises
p(G | O_0, φ_{1:H}, a_{1:H}); with the relations predicted as independent Bernoulli variables this
is the product of the atoms' probabilities (see :mod:`f2p_planner.planner`). We also allow negated
atoms (``not in_contact(book_1, book_2)``), scored with 1 − p; the paper's goals never use them.

Grammar (whitespace is free)::

    goal    := literal (AND literal)*
    literal := NOT literal | '(' goal ')' | atom
    atom    := NAME '(' NAME (',' NAME)* ')'
    AND     := '&' | '&&' | '∧' | 'and'
    NOT     := 'not' | '!' | '¬' | '~'

A negation applies to one atom only (a negated conjunction is a disjunction, which is not a goal
of §3). Unary relations take one object, binary relations two, read ``rel(subject, object)``
("subject is rel object", as in A.9). Every error is a :class:`GoalError` that shows the
expression with a caret line under the offending token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from f2p_core.relations import BINARY, UNARY, RelationLookup, relation_text
from f2p_core.syntax import ParseError, Token, TokenKind, TokenStream, parse_arguments, suggestion


class GoalError(ParseError):
    """A malformed or invalid goal; ``str()`` points at the offending token (see ParseError)."""


@dataclass(frozen=True)
class GoalAtom:
    """One literal of a goal: ``relation(subject[, object])``, negated or not.

    ``object`` is ``""`` for a unary relation.
    """

    relation: str
    subject: str
    object: str = ""
    negated: bool = False

    @property
    def text(self) -> str:
        """The atom in goal syntax, e.g. ``on(cup_1, table_B)`` or ``not drawer_open(drawer_1)``."""
        return f"{'not ' if self.negated else ''}{relation_text(self.relation, self.subject, self.object)}"

    @property
    def key(self) -> tuple[str, str, str]:
        """``(relation, subject, object)`` without the sign."""
        return self.relation, self.subject, self.object


@dataclass(frozen=True)
class GoalIndex:
    """A goal as indices into a model's outputs (object order ``names``, relation vocabularies).

    ``unary_*`` arrays have one entry per unary atom, ``binary_*`` one per binary atom; ``*_negated``
    says whether the atom is scored with 1 − p. ``atom_order`` gives, for the unary atoms followed
    by the binary atoms, the position of each in :attr:`Goal.atoms`.
    """

    unary_object: np.ndarray  # (Mu,) int64 object index
    unary_relation: np.ndarray  # (Mu,) int64 index into the unary vocabulary
    unary_negated: np.ndarray  # (Mu,) bool
    binary_subject: np.ndarray  # (Mb,) int64
    binary_object: np.ndarray  # (Mb,) int64
    binary_relation: np.ndarray  # (Mb,) int64 index into the binary vocabulary
    binary_negated: np.ndarray  # (Mb,) bool
    atom_order: np.ndarray  # (Mu + Mb,) int64

    def atom_probabilities(self, unary: np.ndarray, binary: np.ndarray) -> np.ndarray:
        """p of each atom being satisfied (1 − p for negated ones) in :attr:`Goal.atoms` order.

        ``unary`` (N, U) and ``binary`` (N, N, R) are relation probabilities of one time step.
        """
        pu = unary[self.unary_object, self.unary_relation]
        pb = binary[self.binary_subject, self.binary_object, self.binary_relation]
        pu = np.where(self.unary_negated, 1.0 - pu, pu)
        pb = np.where(self.binary_negated, 1.0 - pb, pb)
        out = np.empty(len(self.atom_order), dtype=np.float64)
        out[self.atom_order] = np.concatenate([pu, pb])
        return out


@dataclass(frozen=True)
class Goal:
    """A conjunction of :class:`GoalAtom` (paper §3: G = g_1 ∧ … ∧ g_M)."""

    atoms: tuple[GoalAtom, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "atoms", tuple(self.atoms))
        if not self.atoms:
            raise GoalError("empty goal: a goal needs at least one relation", "", 0)

    def __iter__(self) -> Iterator[GoalAtom]:
        return iter(self.atoms)

    def __len__(self) -> int:
        return len(self.atoms)

    @property
    def text(self) -> str:
        """The goal in goal syntax; :func:`parse_goal` of it gives this goal back."""
        return " & ".join(atom.text for atom in self.atoms)

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(
        cls,
        expression: str,
        objects: Iterable[str] | None = None,
        unary: Sequence[str] = UNARY,
        binary: Sequence[str] = BINARY,
    ) -> Goal:
        """Same as :func:`parse_goal`."""
        return parse_goal(expression, objects=objects, unary=unary, binary=binary)

    @classmethod
    def from_triples(cls, triples: Iterable[Sequence[str]]) -> Goal:
        """From ``(relation, subject, object)`` triples as in ``f2p_sim.tasks.TaskSample.goal``
        (``object`` ``""`` or missing for unary relations); none is negated."""
        atoms = []
        for triple in triples:
            rel, subj, obj = (*tuple(triple), "")[:3]
            atoms.append(GoalAtom(str(rel), str(subj), str(obj)))
        return cls(tuple(atoms))

    def to_triples(self) -> list[tuple[str, str, str]]:
        """``(relation, subject, object)`` of the atoms; refuses negated atoms (triples cannot hold them)."""
        if any(a.negated for a in self.atoms):
            raise ValueError(f"goal {self.text!r} has negated atoms, which triples cannot express")
        return [a.key for a in self.atoms]

    def validate(
        self, objects: Iterable[str] | None = None, unary: Sequence[str] = UNARY, binary: Sequence[str] = BINARY
    ) -> Goal:
        """Check relations, arities and object names; raises :class:`GoalError` pointing into
        :attr:`text`. Returns ``self`` so calls chain."""
        parse_goal(self.text, objects=objects, unary=unary, binary=binary)
        return self

    def unmet(self, holds: RelationLookup) -> list[GoalAtom]:
        """The atoms not satisfied where `holds` says which relations hold (a negated atom is met when its
        relation does not hold); an atom `holds` cannot tell (None: an object not in the scene) is unmet.
        The one goal check: the executive's over perceived relations (`f2p_core.relations.table_lookup`),
        a trial's over the simulator's ground truth (`f2p_sim.relations.RelationSet.holds`)."""
        out = []
        for atom in self.atoms:
            value = holds(atom.relation, atom.subject, atom.object)
            if value is None or bool(value) == atom.negated:
                out.append(atom)
        return out

    def holds(self, holds: RelationLookup) -> bool:
        """Whether every atom is met (`unmet`)."""
        return not self.unmet(holds)

    def objects(self) -> list[str]:
        """Object names the goal mentions, in order of first mention."""
        seen: dict[str, None] = {}
        for a in self.atoms:
            seen[a.subject] = None
            if a.object:
                seen[a.object] = None
        return list(seen)

    def index(self, names: Sequence[str], unary: Sequence[str] = UNARY, binary: Sequence[str] = BINARY) -> GoalIndex:
        """Indices of the atoms into model outputs whose objects are ordered as ``names``."""
        self.validate([n for n in names if n], unary, binary)
        obj = {n: i for i, n in enumerate(names) if n}
        u_idx = {r: k for k, r in enumerate(unary)}
        b_idx = {r: k for k, r in enumerate(binary)}
        un = [(k, a) for k, a in enumerate(self.atoms) if a.relation in u_idx]
        bi = [(k, a) for k, a in enumerate(self.atoms) if a.relation in b_idx]

        def arr(values: list, dtype: type) -> np.ndarray:
            return np.asarray(values, dtype=dtype).reshape(len(values))

        return GoalIndex(
            unary_object=arr([obj[a.subject] for _, a in un], np.int64),
            unary_relation=arr([u_idx[a.relation] for _, a in un], np.int64),
            unary_negated=arr([a.negated for _, a in un], bool),
            binary_subject=arr([obj[a.subject] for _, a in bi], np.int64),
            binary_object=arr([obj[a.object] for _, a in bi], np.int64),
            binary_relation=arr([b_idx[a.relation] for _, a in bi], np.int64),
            binary_negated=arr([a.negated for _, a in bi], bool),
            atom_order=arr([k for k, _ in un] + [k for k, _ in bi], np.int64),
        )


@dataclass(frozen=True)
class _ParsedAtom:
    """An atom with the tokens it came from, for error messages."""

    atom: GoalAtom
    name: Token
    args: tuple[Token, ...]
    close: Token  # the ')' ending the argument list

    @property
    def span(self) -> tuple[int, int]:
        return self.name.start, self.close.end


class _GoalParser:
    def __init__(self, expression: str) -> None:
        self.ts = TokenStream(expression, GoalError)

    def goal(self) -> list[_ParsedAtom]:
        ts = self.ts
        if ts.empty:
            raise ts.fail("empty goal: expected at least one relation such as on(a, b)", (0, len(ts.expression)))
        atoms = self.conjunction()
        tok = ts.peek()
        if tok.kind is TokenKind.RPAREN:
            raise ts.fail("unbalanced parenthesis: ')' has no matching '('", tok)
        if tok.kind is not TokenKind.END:
            raise ts.fail(f"expected '&' between relations, got {tok.text!r}", tok)
        return atoms

    def conjunction(self) -> list[_ParsedAtom]:
        ts = self.ts
        atoms = self.literal()
        while ts.peek().kind is TokenKind.AND:
            amp = ts.next()
            if ts.peek().kind in (TokenKind.END, TokenKind.RPAREN):
                raise ts.fail(f"expected a relation after {amp.text!r}", amp)
            atoms += self.literal()
        return atoms

    def literal(self) -> list[_ParsedAtom]:
        ts = self.ts
        tok = ts.peek()
        if tok.kind is TokenKind.NOT:
            ts.next()
            if ts.peek().kind is TokenKind.END:
                raise ts.fail(f"expected a relation after {tok.text!r}", tok)
            inner = self.literal()
            if len(inner) != 1:
                raise ts.fail(f"{tok.text!r} negates one relation, not a conjunction", tok)
            p = inner[0]
            a = p.atom
            return [_ParsedAtom(GoalAtom(a.relation, a.subject, a.object, not a.negated), p.name, p.args, p.close)]
        if tok.kind is TokenKind.LPAREN:
            ts.next()
            if ts.peek().kind is TokenKind.RPAREN:
                raise ts.fail("empty parentheses: expected a relation", (tok.start, ts.peek().end))
            atoms = self.conjunction()
            close = ts.peek()
            if close.kind is TokenKind.END:
                raise ts.fail("unbalanced parenthesis: '(' is never closed", tok)
            if close.kind is not TokenKind.RPAREN:
                raise ts.fail(f"expected '&' or ')', got {close.text!r}", close)
            ts.next()
            return atoms
        if tok.kind is TokenKind.NAME:
            return [self.atom()]
        if tok.kind is TokenKind.END:
            raise ts.fail("expected a relation at the end of the goal", tok)
        raise ts.fail(f"expected a relation such as on(a, b), got {tok.text!r}", tok)

    def atom(self) -> _ParsedAtom:
        ts = self.ts
        name = ts.next()
        args, close = parse_arguments(ts, name, "relation", f"{name.text}(a, b)")
        obj = args[1].text if len(args) > 1 else ""
        return _ParsedAtom(GoalAtom(name.text, args[0].text, obj), name, tuple(args), close)


def parse_goal(
    expression: str,
    objects: Iterable[str] | None = None,
    unary: Sequence[str] = UNARY,
    binary: Sequence[str] = BINARY,
) -> Goal:
    """Parse and validate a goal expression (grammar in the module docstring).

    ``objects``: the scene's object names; ``None`` skips the object check. ``unary`` /
    ``binary``: the relation vocabularies (arity 1 / 2). Raises :class:`GoalError` for a syntax
    error, an unknown relation, a wrong number of objects, an unknown object, a binary relation of
    an object with itself, and a repeated or contradicting atom.
    """
    parser = _GoalParser(expression)
    parsed = parser.goal()
    fail = parser.ts.fail
    unary, binary = tuple(unary), tuple(binary)
    known_objects = None if objects is None else tuple(objects)
    seen: dict[tuple[str, str, str], _ParsedAtom] = {}
    for p in parsed:
        rel = p.name.text
        if rel in unary:
            arity = 1
        elif rel in binary:
            arity = 2
        else:
            raise fail(
                f"unknown relation {rel!r}{suggestion(rel, unary + binary)} (unary: {', '.join(unary)}; "
                f"binary: {', '.join(binary)})",
                p.name,
            )
        kind = "unary" if arity == 1 else "binary"
        if len(p.args) > arity:
            raise fail(f"{rel!r} is {kind} and takes {arity} object(s), got {len(p.args)}", p.args[arity])
        if len(p.args) < arity:
            raise fail(f"{rel!r} is {kind} and takes {arity} objects (subject, object), got {len(p.args)}", p.close)
        if known_objects is not None:
            for arg in p.args:
                if arg.text not in known_objects:
                    raise fail(
                        f"unknown object {arg.text!r}{suggestion(arg.text, known_objects)} "
                        f"(objects: {', '.join(known_objects)})",
                        arg,
                    )
        if arity == 2 and p.args[0].text == p.args[1].text:
            raise fail(f"{rel!r} relates an object with itself, which never holds (A.9)", p.args[1])
        first = seen.get(p.atom.key)
        if first is not None:
            what = "repeats" if first.atom.negated == p.atom.negated else "contradicts"
            raise fail(f"this relation {what} {first.atom.text!r}", p.span)
        seen[p.atom.key] = p
    return Goal(tuple(p.atom for p in parsed))
