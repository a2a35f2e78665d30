"""Real2Sim (A.12) from observed segments, and the measured Sim2Real gap."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.classes import ObjectClass
from f2p_sim import gap, tasks
from f2p_sim.real2sim import real2sim
from f2p_sim.scene import SceneError, default_physics
from f2p_sim.transitions import world_relations
from f2p_sim.world import World


def _observed(distribution: str, seed: int, n: int = 3, noise: float = 0.002):
    sample = tasks.sample(distribution, np.random.default_rng(seed), n, real=True)
    world = World(sample.scene)
    segments, classes = gap.observed_segments(world, noise, np.random.default_rng(seed))
    return world, segments, classes


def test_reconstruction_keeps_objects_and_containment():
    world, segments, classes = _observed("transport", 1)
    scene = real2sim(segments, classes)
    assert set(scene.names) == set(segments) | {"ground"}
    assert scene.object("table_A").cls is ObjectClass.TABLE
    # real cylinders come back as boxes: the shape prior, not the true shape
    assert all(o.cls is not ObjectClass.CYLINDER for o in scene.objects)
    # class-default physics, not the real world's
    box = next(n for n, c in classes.items() if c in ("bag", "container"))
    assert scene.object(box).mass == default_physics(classes[box])[0] != world.spec(box).mass
    rebuilt = World(scene)
    real_rel, sim_rel = world_relations(world), world_relations(rebuilt)
    items = [n for n in segments if n.startswith("item_")]
    assert items
    for item in items:
        assert real_rel.holds("inside", item, box) and sim_rel.holds("inside", item, box)


def test_reconstruction_of_every_task_is_valid():
    for dist in ("pretrain", "organize", "packing"):
        for seed in range(3):
            _, segments, classes = _observed(dist, seed)
            World(real2sim(segments, classes))  # validates and settles


def test_bad_input_is_named():
    _, segments, classes = _observed("organize", 0)
    name = next(iter(segments))
    with pytest.raises(SceneError, match="different objects"):
        real2sim(segments, {**classes, "ghost": "cuboid"})
    with pytest.raises(SceneError, match=f"object '{name}'.*no shape prior for class 'drawer'"):
        real2sim(segments, {**classes, name: "drawer"})
    with pytest.raises(SceneError, match=f"object '{name}'.*non-empty finite"):
        real2sim({**segments, name: np.zeros((0, 3))}, classes)
    bad = segments[name].copy()
    bad[0, 0] = np.nan
    with pytest.raises(SceneError, match=f"object '{name}'"):
        real2sim({**segments, name: bad}, classes)


def test_gap_is_measured_and_deterministic():
    a = gap.measure_gap("transport", 3, seed=4)
    b = gap.measure_gap("transport", 3, seed=4)
    assert a == b
    assert 0.0 <= a.same_relations <= 1.0 and 0.9 < a.relation_accuracy <= 1.0
