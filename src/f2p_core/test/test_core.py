"""The shared vocabulary holds together: every skill has bounds of its parameters' width, labels read
back as their enums, malformed values are rejected with the reason."""

import numpy as np
import pytest

from f2p_core.classes import MOVABLE_CLASSES, OPEN_BOX_CLASSES, STATIC_CLASSES, ObjectClass, can_repose
from f2p_core.failure import FailureClass, FailureEvent
from f2p_core.relations import BINARY, UNARY
from f2p_core.scene import SEGMENT_POINTS, PerceivedScene
from f2p_core.skills import PARAM_BOUNDS, PARAM_NAMES, ParamBounds, SkillCall, SkillType
from f2p_core.task import SkeletonStep


def test_every_skill_has_bounds_as_wide_as_its_parameters():
    assert set(PARAM_BOUNDS) == set(SkillType) == set(PARAM_NAMES)
    for skill, bounds in PARAM_BOUNDS.items():
        assert len(bounds.low) == len(bounds.high) == len(PARAM_NAMES[skill])
    with pytest.raises(ValueError, match="low <= high"):
        ParamBounds((0.0, 1.0), (1.0, 0.5))


def test_class_sets_partition_what_can_move():
    assert not STATIC_CLASSES & MOVABLE_CLASSES
    assert {c.value for c in ObjectClass} >= STATIC_CLASSES | MOVABLE_CLASSES | OPEN_BOX_CLASSES
    assert can_repose("cup") and not can_repose(ObjectClass.DRAWER) and not can_repose("table")


def test_a_skeleton_step_reads_like_the_call_that_executes_it():
    step = SkeletonStep("pick_place", ["cup_1", "table_B"])
    assert step.type is SkillType.PICK_PLACE and step.object_ids == ("cup_1", "table_B")
    assert (step.acted, step.target, step.n_params, step.text) == ("cup_1", "table_B", 4, "pick_place(cup_1, table_B)")
    assert SkeletonStep(SkillType.PUSH, ("book_3",)).target == ""


def _event(classification) -> FailureEvent:
    n = 2
    scene = PerceivedScene(["a", "b"], ["cup", "table"], np.zeros((n, SEGMENT_POINTS, 3), np.float32),
                           np.ones(n, bool), np.zeros((n, 3), np.float32), np.ones((n, 3), np.float32),
                           [np.zeros((4, 3))] * n)
    u, b = np.zeros((n, len(UNARY)), bool), np.zeros((n, n, len(BINARY)), bool)
    return FailureEvent("t", 0, scene, u, b, SkillCall(SkillType.PUSH, ("a",), [0.0, 0.1]), u, b,
                        u.astype(float), b.astype(float), [], "v0001", classification=classification)


def test_a_stored_label_reads_back_as_its_enum_and_an_unknown_one_is_refused():
    event = _event("incorrect_prediction")
    assert event.classification is FailureClass.INCORRECT_PREDICTION
    assert f"{event.classification}" == "incorrect_prediction" and event.classification == "incorrect_prediction"
    event.validate()
    with pytest.raises(ValueError, match="not_a_label"):
        _event("not_a_label")
