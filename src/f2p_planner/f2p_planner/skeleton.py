"""Plan skeletons φ_{1:H}: skill types and the objects they act on, as data (paper §3, A.10).

§3: "The plan skeleton φ_{1:H} is defined as a sequence of feasible primitives"; the planner only
chooses the continuous parameters a_{1:H}. A skeleton comes from a task sample
(``f2p_sim.tasks.TaskSample.skeleton``), from JSON (the same step dicts as
``f2p_core.task.SkeletonStep.to_dict``) or from a compact text form::

    pick_place(cup_1, table_B); push(book_3); open_drawer(drawer_1)

Objects per skill (A.10): ``pick_place(object, target_support)`` -- the planner needs the support
to sample placements on it --, ``push(object)``, ``open_drawer(drawer)``, ``close_drawer(drawer)``.
Errors are :class:`SkeletonError` with a caret line under the offending token of the text form
(a skeleton from JSON is checked through its text form).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch

from f2p_core.classes import ObjectClass
from f2p_core.skills import SKILL_NAMES, SkillType
from f2p_core.syntax import ParseError, TokenKind, TokenStream, parse_arguments, suggestion
from f2p_core.task import SkeletonStep
from f2p_sim.tasks import TaskSample


class SkeletonError(ParseError):
    """A malformed or invalid skeleton; ``str()`` points at the offending token (see ParseError)."""


# Object arguments the planner needs per skill (A.10). f2p_sim lets pick_place omit the support;
# the planner cannot: it samples the placement on the support's top or inside its walls.
OBJECT_ARGS: dict[SkillType, tuple[str, ...]] = {
    SkillType.PICK_PLACE: ("object", "target support"),
    SkillType.PUSH: ("object",),
    SkillType.OPEN_DRAWER: ("drawer",),
    SkillType.CLOSE_DRAWER: ("drawer",),
}


@dataclass(frozen=True)
class Skeleton:
    """A plan skeleton φ_{1:H} (§3)."""

    steps: tuple[SkeletonStep, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))

    def __iter__(self) -> Iterator[SkeletonStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, t: int) -> SkeletonStep:
        return self.steps[t]

    @property
    def text(self) -> str:
        """Compact text form; :func:`parse_skeleton` of it gives this skeleton back."""
        return "; ".join(step.text for step in self.steps)

    def __str__(self) -> str:
        return self.text

    # --- conversions ---------------------------------------------------------------------------

    @classmethod
    def parse(
        cls, text: str, objects: Iterable[str] | None = None, classes: Mapping[str, str] | None = None
    ) -> Skeleton:
        """Same as :func:`parse_skeleton`."""
        return parse_skeleton(text, objects=objects, classes=classes)

    @classmethod
    def from_steps(cls, steps: Iterable[SkeletonStep]) -> Skeleton:
        """From `SkeletonStep` items (checked through the text form)."""
        return cls.from_dicts([s.to_dict() for s in steps])

    @classmethod
    def from_task(cls, sample: TaskSample) -> Skeleton:
        """The skeleton of a task sample, checked against the sample's objects and classes."""
        names = [o.name for o in sample.scene.objects]
        classes = {o.name: o.cls.value for o in sample.scene.objects}
        return cls.from_steps(sample.skeleton).validate(names, classes)

    def to_steps(self) -> list[SkeletonStep]:
        """As `SkeletonStep` items."""
        return list(self.steps)

    def to_dicts(self) -> list[dict]:
        return [s.to_dict() for s in self.steps]

    @classmethod
    def from_dicts(cls, steps: Iterable[Mapping]) -> Skeleton:
        """From ``[{"type": "pick_place", "object_ids": ["cup_1", "table_B"]}, ...]``."""
        parts = []
        for k, step in enumerate(steps):
            if not isinstance(step, Mapping) or "type" not in step or "object_ids" not in step:
                raise ValueError(f"skeleton step {k} must be a dict with 'type' and 'object_ids', got {step!r}")
            ids = step["object_ids"]
            if isinstance(ids, str) or not isinstance(ids, Sequence):
                raise ValueError(f"skeleton step {k}: 'object_ids' must be a list of names, got {ids!r}")
            parts.append(f"{step['type']}({', '.join(str(o) for o in ids)})")
        return parse_skeleton("; ".join(parts))

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dicts(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Skeleton:
        """Inverse of :meth:`to_json`."""
        return cls.from_dicts(json.loads(text))

    def validate(self, objects: Iterable[str] | None = None, classes: Mapping[str, str] | None = None) -> Skeleton:
        """Check objects (and, given ``classes`` name -> ``ObjectClass`` value, that the acted objects
        can be moved by the skill); raises :class:`SkeletonError` pointing into :attr:`text`."""
        parse_skeleton(self.text, objects=objects, classes=classes)
        return self

    def to_tensors(
        self, names: Sequence[str], skill_names: Sequence[str] = SKILL_NAMES, device: torch.device | str = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Model inputs: ``skills`` (H,) long indices into ``skill_names`` (the model's skill order,
        ``f2p_sim.transitions.SKILL_NAMES``) and ``acted`` (H,) long indices into ``names`` (the
        scene's object order, the model's rows)."""
        self.validate([n for n in names if n])
        index = {n: i for i, n in enumerate(names) if n}
        skill_names = list(skill_names)
        missing = [s.type.value for s in self.steps if s.type.value not in skill_names]
        if missing:
            raise ValueError(f"skills {missing} are not in the model's skill types {skill_names}")
        skills = torch.tensor([skill_names.index(s.type.value) for s in self.steps], dtype=torch.long, device=device)
        acted = torch.tensor([index[s.acted] for s in self.steps], dtype=torch.long, device=device)
        return skills, acted  # (H,), (H,)


# Classes a skill may act on (A.10): pick-and-place and push move free objects, the drawer skills
# slide drawers.
_ACTS_ON: dict[SkillType, str] = {
    SkillType.PICK_PLACE: "movable",
    SkillType.PUSH: "movable",
    SkillType.OPEN_DRAWER: "drawer",
    SkillType.CLOSE_DRAWER: "drawer",
}


def _class_fits(skill: SkillType, cls: str) -> bool:
    kind = ObjectClass(cls)
    return kind.is_movable if _ACTS_ON[skill] == "movable" else kind is ObjectClass.DRAWER


def parse_skeleton(
    text: str, objects: Iterable[str] | None = None, classes: Mapping[str, str] | None = None
) -> Skeleton:
    """Parse ``skill(obj, ...); skill(obj, ...)`` and validate it.

    ``objects``: the scene's object names (``None`` skips the check); ``classes``: name ->
    ``f2p_sim.scene.ObjectClass`` value, to check that pick_place/push act on movable objects and
    drawer skills on drawers. Raises :class:`SkeletonError` for a syntax error, an empty skeleton,
    an unknown skill type, a wrong number of objects, an unknown object, a placement of an object
    on itself, or an acted object the skill cannot move.
    """
    ts = TokenStream(text, SkeletonError)
    if ts.empty:
        raise ts.fail("empty skeleton: expected at least one step such as pick_place(cup_1, table_B)", (0, len(text)))
    known = None if objects is None else tuple(objects)
    skill_values = tuple(s.value for s in SkillType)
    steps: list[SkeletonStep] = []
    while True:
        name = ts.peek()
        if name.kind is not TokenKind.NAME:
            raise ts.fail(f"expected a skill such as pick_place(cup_1, table_B), got {name.text!r}", name)
        ts.next()
        if name.text not in skill_values:
            raise ts.fail(
                f"unknown skill type {name.text!r}{suggestion(name.text, skill_values)} "
                f"(known: {', '.join(skill_values)})",
                name,
            )
        skill = SkillType(name.text)
        args, close = parse_arguments(ts, name, "skill", f"{name.text}(obj)")
        wanted = OBJECT_ARGS[skill]
        if len(args) > len(wanted):
            raise ts.fail(f"{skill.value} takes {len(wanted)} object(s) ({', '.join(wanted)}), got {len(args)}",
                          args[len(wanted)])
        if len(args) < len(wanted):
            raise ts.fail(f"{skill.value} takes {len(wanted)} objects ({', '.join(wanted)}), got {len(args)}", close)
        for arg in args:
            if known is not None and arg.text not in known:
                raise ts.fail(f"unknown object {arg.text!r}{suggestion(arg.text, known)} (objects: {', '.join(known)})",
                              arg)
        if skill is SkillType.PICK_PLACE and args[0].text == args[1].text:
            raise ts.fail("pick_place cannot place an object on itself", args[1])
        if classes is not None and args[0].text in classes and not _class_fits(skill, classes[args[0].text]):
            raise ts.fail(
                f"{skill.value} acts on a {_ACTS_ON[skill]} object; {args[0].text!r} is a {classes[args[0].text]}",
                args[0],
            )
        steps.append(SkeletonStep(skill, tuple(a.text for a in args)))
        sep = ts.next()
        if sep.kind is TokenKind.END:
            break
        if sep.kind is TokenKind.RPAREN:
            raise ts.fail("unbalanced parenthesis: ')' has no matching '('", sep)
        if sep.kind is not TokenKind.SEMI:
            raise ts.fail(f"expected ';' between steps, got {sep.text!r}", sep)
        if ts.peek().kind is TokenKind.END:
            raise ts.fail("expected a step after ';'", sep)
    return Skeleton(tuple(steps))

