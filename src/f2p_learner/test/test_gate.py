"""The publication gate's relations (`finetune.gated_relations`): WORLD leaves out only the arrangement
of objects that end up in one container; every relation with the rest of the world, containment and
unary relations still count."""

from types import SimpleNamespace

import numpy as np
import pytest

from f2p_core.relations import BINARY, UNARY
from f2p_learner.finetune import FinetuneConfig, GateRelations, gated_relations


def _rel(name: str, i: int, j: int = -1) -> tuple[int, int, int]:
    return (UNARY.index(name), i, -1) if j < 0 else (len(UNARY) + BINARY.index(name), i, j)


def test_world_leaves_out_only_the_arrangement_inside_one_container():
    bag, item_1, item_2, marker, table = range(5)
    after = np.zeros((5, 5, len(BINARY)), bool)
    after[item_1, bag, BINARY.index("inside")] = after[item_2, bag, BINARY.index("inside")] = True
    event = SimpleNamespace(binary_after=after)
    arrangement = [_rel("front", item_1, item_2), _rel("behind", item_2, item_1), _rel("left", item_2, bag),
                   _rel("right", bag, item_1)]
    world = [_rel("front", item_1, marker), _rel("behind", marker, item_2), _rel("left", bag, marker),
             _rel("inside", item_1, bag), _rel("above", item_2, table), _rel("movable", item_1)]
    relations = arrangement + world
    assert gated_relations(event, relations, "all") == relations
    assert gated_relations(event, relations, GateRelations.WORLD) == world


def test_an_unknown_gate_is_refused_by_name():
    with pytest.raises(ValueError, match="gate relations 'some'"):
        FinetuneConfig(gate_relations="some")
