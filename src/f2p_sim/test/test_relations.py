"""Relations of paper A.9 (f2p_sim.relations): a true and a false case for every relation,
antisymmetry on random boxes, the edge cases of inside / on / boundary, serialisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from f2p_core.relations import BINARY, UNARY
from f2p_sim.relations import (
    ObjectState,
    RelationSet,
    RelationThresholds,
    box_from_points,
    compute_relations,
    relations_from_boxes,
)

# Table top at z = 0.7 over x in [0.2, 1.0], y in [-0.5, 0.5]; the robot is at -x.
TABLE_TOP = 0.7


def obj(name, cls, centre, half, movable=True, **kw) -> ObjectState:
    c = np.asarray(centre, dtype=float)
    h = np.broadcast_to(np.asarray(half, dtype=float), (3,))
    return ObjectState(name=name, cls=cls, box_min=c - h, box_max=c + h, movable=movable, **kw)


def table() -> ObjectState:
    return obj("table_A", "table", (0.6, 0.0, 0.35), (0.4, 0.5, 0.35), movable=False)


def on_table(name, x, y, half=0.025, cls="cuboid") -> ObjectState:
    return obj(name, cls, (x, y, TABLE_TOP + half), half)


def touching(*pairs):
    return {frozenset(p) for p in pairs}


def test_vocabulary_is_the_paper_one():
    assert UNARY == ("movable", "is_drawer", "drawer_open")
    assert BINARY == (
        "left",
        "right",
        "front",
        "behind",
        "above",
        "below",
        "in_contact",
        "boundary",
        "inside",
        "on",
    )
    t = RelationThresholds()
    assert t.boundary_eps == 0.1 and t.bottom_eps == 0.2  # A.9


def test_shapes_and_empty_diagonal():
    objs = [table(), on_table("cube_1", 0.6, 0.0), on_table("cube_2", 0.6, 0.0)]  # identical boxes
    rel = compute_relations(objs, touching(("cube_1", "table_A"), ("cube_2", "table_A")))
    assert rel.unary.shape == (3, len(UNARY)) and rel.unary.dtype == bool
    assert rel.binary.shape == (3, 3, len(BINARY)) and rel.binary.dtype == bool
    assert not rel.binary[np.arange(3), np.arange(3)].any()
    # cube_2 has cube_1's box: inside would hold if cuboids were open boxes, it is not one
    assert not rel.holds("inside", "cube_1", "cube_2")


def test_left_right():
    objs = [on_table("cube_1", 0.6, 0.0), on_table("cube_2", 0.6, 0.3), on_table("cube_3", 0.6, 0.01)]
    rel = compute_relations(objs, set())
    assert rel.holds("left", "cube_2", "cube_1") and rel.holds("right", "cube_1", "cube_2")
    assert not rel.holds("left", "cube_1", "cube_2") and not rel.holds("right", "cube_2", "cube_1")
    # 1 cm apart is inside the 2 cm dead band: neither
    for r in ("left", "right"):
        assert not rel.holds(r, "cube_1", "cube_3") and not rel.holds(r, "cube_3", "cube_1")


def test_front_behind():
    objs = [on_table("cube_1", 0.6, 0.0), on_table("cube_2", 0.4, 0.0)]
    rel = compute_relations(objs, set())
    # cube_2 is closer to the robot (smaller x): in front of cube_1
    assert rel.holds("front", "cube_2", "cube_1") and rel.holds("behind", "cube_1", "cube_2")
    assert not rel.holds("front", "cube_1", "cube_2") and not rel.holds("behind", "cube_2", "cube_1")
    assert not rel.holds("left", "cube_2", "cube_1") and not rel.holds("right", "cube_2", "cube_1")


def test_above_below_and_on_a_stack():
    objs = [table(), on_table("cube_1", 0.6, 0.0), obj("cube_2", "cuboid", (0.61, 0.0, 0.775), 0.025)]
    rel = compute_relations(objs, touching(("cube_1", "table_A"), ("cube_2", "cube_1")))
    assert rel.holds("above", "cube_2", "cube_1") and rel.holds("below", "cube_1", "cube_2")
    assert rel.holds("above", "cube_2", "table_A") and rel.holds("above", "cube_1", "table_A")
    assert not rel.holds("above", "cube_1", "cube_2") and not rel.holds("below", "cube_2", "cube_1")
    assert rel.holds("on", "cube_2", "cube_1") and rel.holds("on", "cube_1", "table_A")
    assert not rel.holds("on", "cube_2", "table_A")  # not touching the table
    assert not rel.holds("on", "cube_1", "cube_2") and not rel.holds("on", "table_A", "cube_1")


def test_above_needs_overlapping_footprints():
    objs = [on_table("cube_1", 0.6, 0.0), obj("cube_2", "cuboid", (0.6, 0.2, 0.9), 0.025)]
    rel = compute_relations(objs, set())
    assert not rel.holds("above", "cube_2", "cube_1") and not rel.holds("below", "cube_1", "cube_2")


def test_in_contact_from_contact_set_is_symmetric():
    objs = [table(), on_table("cube_1", 0.6, 0.0), on_table("cube_2", 0.6, 0.3)]
    rel = compute_relations(objs, touching(("cube_1", "table_A"), ("cube_1", "ghost"), ("cube_2", "cube_2")))
    assert rel.holds("in_contact", "cube_1", "table_A") and rel.holds("in_contact", "table_A", "cube_1")
    assert not rel.holds("in_contact", "cube_2", "table_A")  # not in the set
    assert not rel.binary[..., BINARY.index("in_contact")].diagonal().any()


def test_in_contact_from_boxes_without_contact_set():
    objs = [table(), on_table("cube_1", 0.6, 0.0), obj("cube_2", "cuboid", (0.6, 0.3, 0.74), 0.025)]
    rel = relations_from_boxes(objs, contacts=None)
    assert rel.holds("in_contact", "cube_1", "table_A") and rel.holds("in_contact", "table_A", "cube_1")
    assert not rel.holds("in_contact", "cube_2", "table_A")  # 1.5 cm gap > 5 mm
    assert relations_from_boxes is compute_relations


def test_boundary():
    objs = [
        table(),
        on_table("edge", 0.95, 0.0),  # 5 cm from the far edge
        on_table("middle", 0.6, 0.0),  # 40 cm from any edge
        obj("lifted", "cuboid", (0.95, -0.45, 0.9), 0.025),  # over a corner, 17.5 cm above
        on_table("overhang", 1.01, 0.2),  # centre 1 cm beyond the edge, footprint still overlaps
        obj("on_edge_cube", "cuboid", (0.95, 0.0, 0.775), 0.025),  # on "edge", a 5 cm box
    ]
    rel = compute_relations(objs, touching(("edge", "table_A"), ("middle", "table_A"), ("on_edge_cube", "edge")))
    assert rel.holds("boundary", "edge", "table_A")
    assert rel.holds("boundary", "overhang", "table_A")
    assert not rel.holds("boundary", "middle", "table_A")
    assert not rel.holds("boundary", "lifted", "table_A")  # not resting on the surface
    assert not rel.holds("boundary", "on_edge_cube", "edge")  # B smaller than eps_bottom
    assert not rel.holds("boundary", "table_A", "edge")
    # the thresholds are the paper's: move the cube to 0.11 m from the edge and it is not boundary
    rel2 = compute_relations([table(), on_table("c", 0.89, 0.0)], set())
    assert not rel2.holds("boundary", "c", "table_A")
    rel3 = compute_relations([table(), on_table("c", 0.91, 0.0)], set())
    assert rel3.holds("boundary", "c", "table_A")


def test_boundary_needs_both_dimensions_above_bottom_eps():
    narrow = obj("board", "shelf", (0.6, 0.0, 0.35), (0.4, 0.09, 0.35), movable=False)  # 18 cm deep
    rel = compute_relations([narrow, on_table("c", 0.95, 0.0)], set())
    assert not rel.holds("boundary", "c", "board")


def test_inside_and_on_for_cup_and_capsule():
    cup = obj("cup_1", "cup", (0.6, -0.2, 0.75), (0.04, 0.04, 0.05))  # rim at 0.8
    capsule = obj("capsule_1", "capsule", (0.6, -0.2, 0.74), (0.015, 0.015, 0.035))  # bottom 0.705
    objs = [table(), cup, capsule]
    rel = compute_relations(objs, touching(("cup_1", "table_A"), ("capsule_1", "cup_1")))
    assert rel.holds("inside", "capsule_1", "cup_1")
    assert not rel.holds("on", "capsule_1", "cup_1")  # on the cup's floor: inside, not on
    assert rel.holds("on", "cup_1", "table_A") and not rel.holds("inside", "cup_1", "table_A")
    assert not rel.holds("inside", "cup_1", "capsule_1")
    # the capsule rests 5 mm above the table top but does not touch it: not on the table
    assert not rel.holds("on", "capsule_1", "table_A")


def test_inside_tolerance_and_class():
    box = obj("box_1", "container", (0.6, 0.0, 0.8), (0.15, 0.1, 0.1))  # x in [0.45, 0.75], top 0.9
    slightly_out = obj("a", "cuboid", (0.735, 0.0, 0.75), 0.02)  # sticks out 5 mm along +x
    far_out = obj("b", "cuboid", (0.75, 0.0, 0.75), 0.02)  # sticks out 2 cm
    above_rim = obj("c", "cuboid", (0.6, 0.0, 0.9), 0.02)  # half above the rim
    solid = obj("box_2", "cuboid", (0.6, 0.0, 0.8), (0.15, 0.1, 0.1))  # same box, not open
    rel = compute_relations([box, slightly_out, far_out, above_rim, solid], set())
    assert rel.holds("inside", "a", "box_1")
    assert not rel.holds("inside", "b", "box_1")
    assert not rel.holds("inside", "c", "box_1")
    assert not rel.holds("inside", "a", "box_2")  # a cuboid is not an open box
    assert rel.holds("inside", "box_2", "box_1") and not rel.holds("inside", "box_1", "box_2")


def test_inside_drawer_not_cabinet():
    cabinet = obj("cabinet_1", "cabinet", (0.8, 0.0, 0.3), (0.2, 0.25, 0.3), movable=False)
    drawer = obj("drawer_1", "drawer", (0.75, 0.0, 0.45), (0.18, 0.22, 0.08), movable=False, is_drawer=True)
    cube = obj("cube_1", "cuboid", (0.75, 0.0, 0.42), 0.03)
    rel = compute_relations([cabinet, drawer, cube], touching(("cube_1", "drawer_1")))
    assert rel.holds("inside", "cube_1", "drawer_1")
    assert not rel.holds("inside", "cube_1", "cabinet_1") and not rel.holds("inside", "drawer_1", "cabinet_1")


def test_on_needs_contact_centre_over_footprint_and_surface_height():
    objs = [
        table(),
        on_table("ok", 0.6, 0.0),
        on_table("overhang", 1.01, 0.2),  # touches, but its centre is off the table
        obj("hover", "cuboid", (0.6, 0.3, 0.745), 0.025),  # 2 cm above the top
    ]
    rel = compute_relations(objs, touching(("ok", "table_A"), ("overhang", "table_A"), ("hover", "table_A")))
    assert rel.holds("on", "ok", "table_A")
    assert not rel.holds("on", "overhang", "table_A")
    assert not rel.holds("on", "hover", "table_A")
    rel_no_contact = compute_relations(objs, set())
    assert not rel_no_contact.holds("on", "ok", "table_A")


def test_on_lower_shelf_board_uses_support_z():
    shelf_box = dict(cls="shelf", box_min=(0.5, -0.3, 0.0), box_max=(0.8, 0.3, 1.0), movable=False)
    cup = obj("cup_1", "cup", (0.65, 0.0, 0.55), 0.05)  # standing on the board at 0.5
    contacts = touching(("cup_1", "shelf_1"))
    plain = ObjectState(name="shelf_1", **shelf_box)
    boards = ObjectState(name="shelf_1", support_z=(0.5,), **shelf_box)
    assert not compute_relations([plain, cup], contacts).holds("on", "cup_1", "shelf_1")
    rel = compute_relations([boards, cup], contacts)
    assert rel.holds("on", "cup_1", "shelf_1")
    assert not rel.holds("inside", "cup_1", "shelf_1")  # a shelf is not an open box
    # footprint 0.3 x 0.6 m (> eps_bottom); the cup's centre is 0.15 m from the front edge
    assert not rel.holds("boundary", "cup_1", "shelf_1")
    near_front = obj("cup_2", "cup", (0.55, 0.0, 0.54), 0.04)  # 5 cm from the front edge
    assert compute_relations([boards, near_front], set()).holds("boundary", "cup_2", "shelf_1")


def drawer(name, z, opening) -> ObjectState:
    return obj(name, "drawer", (0.8, 0.0, z), (0.2, 0.2, 0.05), movable=False, is_drawer=True, drawer_opening=opening)


def test_unary():
    objs = [
        table(),
        drawer("drawer_1", 0.4, opening=0.12),
        drawer("drawer_2", 0.2, opening=0.03),
        drawer("drawer_3", 0.0, opening=0.05),
        on_table("cube_1", 0.6, 0.0),
        obj("box_1", "container", (0.3, 0.3, 0.8), 0.1, drawer_opening=0.5),  # not a drawer
    ]
    rel = compute_relations(objs, set())
    assert rel.holds("movable", "cube_1") and not rel.holds("movable", "table_A")
    assert rel.holds("is_drawer", "drawer_1") and not rel.holds("is_drawer", "cube_1")
    assert rel.holds("drawer_open", "drawer_1")
    assert not rel.holds("drawer_open", "drawer_2")
    assert not rel.holds("drawer_open", "drawer_3")  # exactly the threshold: "> 0.05" is false
    assert not rel.holds("drawer_open", "box_1")


def test_antisymmetry_on_random_boxes():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = 8
        centres = rng.uniform(-0.5, 0.5, size=(n, 3))
        halves = rng.uniform(0.01, 0.3, size=(n, 3))
        classes = rng.choice(["cuboid", "container", "table", "cup"], size=n)
        objs = [obj(f"o{i}", str(classes[i]), centres[i], halves[i]) for i in range(n)]
        contacts = {frozenset((f"o{i}", f"o{j}")) for i, j in rng.integers(0, n, size=(6, 2)) if i != j}
        for rel in (compute_relations(objs, contacts), compute_relations(objs, None)):
            b = {name: rel.binary[..., k] for k, name in enumerate(BINARY)}
            np.testing.assert_array_equal(b["left"], b["right"].T)
            np.testing.assert_array_equal(b["front"], b["behind"].T)
            np.testing.assert_array_equal(b["above"], b["below"].T)
            np.testing.assert_array_equal(b["in_contact"], b["in_contact"].T)
            for name in ("left", "front", "above", "on", "boundary"):
                assert not (b[name] & b[name].T).any(), name
            assert not (b["on"] & b["inside"]).any()
            assert not (b["on"] & ~b["in_contact"]).any()
            assert not rel.binary[np.arange(n), np.arange(n)].any()


def test_relation_set_api_and_json_roundtrip():
    objs = [table(), on_table("cube_1", 0.6, 0.0), on_table("cube_2", 0.95, 0.3)]
    rel = compute_relations(objs, touching(("cube_1", "table_A"), ("cube_2", "table_A")))
    triples = rel.as_list()
    assert ("movable", "cube_1", "") in triples and ("on", "cube_1", "table_A") in triples
    assert ("boundary", "cube_2", "table_A") in triples and ("left", "cube_2", "cube_1") in triples
    assert all(rel.holds(*t) for t in triples)
    assert len(triples) == int(rel.unary.sum() + rel.binary.sum())
    back = RelationSet.from_dict(json.loads(json.dumps(rel.to_dict())))
    assert back == rel and back.as_list() == triples
    other = compute_relations(objs, set())
    assert other != rel
    assert RelationSet.from_list(rel.names, triples) == rel
    with pytest.raises(KeyError):
        rel.holds("near", "cube_1", "cube_2")
    with pytest.raises(KeyError):
        rel.holds("left", "cube_1", "cube_9")
    with pytest.raises(ValueError):
        rel.holds("left", "cube_1")
    with pytest.raises(ValueError):
        rel.holds("movable", "cube_1", "table_A")
    bad = rel.to_dict()
    bad["binary_vocab"] = [*BINARY[:-1], "under"]
    with pytest.raises(ValueError):
        RelationSet.from_dict(bad)


def test_empty_scene():
    rel = compute_relations([], set())
    assert rel.unary.shape == (0, len(UNARY)) and rel.binary.shape == (0, 0, len(BINARY))
    assert rel.as_list() == []


def test_invalid_inputs():
    with pytest.raises(ValueError):
        RelationThresholds(boundary_eps=-0.1)
    with pytest.raises(ValueError):
        ObjectState("x", "cuboid", (0, 0, 1), (1, 1, 0), movable=True)
    with pytest.raises(ValueError):
        RelationSet(["a", "a"], np.zeros((2, 3), bool), np.zeros((2, 2, 10), bool))


def test_box_from_points():
    rng = np.random.default_rng(0)
    pts = rng.uniform((0.1, 0.2, 0.3), (0.4, 0.5, 0.6), size=(1000, 3))
    lo, hi = box_from_points(pts)
    np.testing.assert_array_equal(lo, pts.min(0))
    np.testing.assert_array_equal(hi, pts.max(0))
    with_outlier = np.vstack([pts, [[5.0, 5.0, 5.0]]])
    lo1, hi1 = box_from_points(with_outlier, percentile=1.0)
    assert np.all(hi1 < 0.6) and np.all(lo1 > 0.09)
    with pytest.raises(ValueError):
        box_from_points(np.zeros((0, 3)))
