"""The learner and the simulator agree on what each object class can do (`f2p_core.classes`): a state
particle re-poses exactly the objects the simulator gives a free joint, and leaves the static ones and
the drawers (which only slide in their cabinet) where the failure saw them."""

import mujoco
import numpy as np

from f2p_core.classes import STATIC_CLASSES, ObjectClass, can_repose
from f2p_sim import scenes, tasks
from f2p_sim.world import World


def _free_bodies(world: World) -> set[str]:
    """Objects of `world` whose body has a free joint (the simulator's answer)."""
    m = world.model
    free = set()
    for j in range(m.njnt):
        if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            free.add(m.body(m.jnt_bodyid[j]).name)
    return free


def test_a_particle_moves_exactly_what_the_simulator_lets_move_for_every_class():
    seen: dict[str, bool] = {}
    scenes_ = [scenes.example_drawer_scene(), scenes.example_shelf_scene(), scenes.example_cups_scene(),
               scenes.example_container_scene()]
    for k, name in enumerate(tasks.DISTRIBUTIONS):
        scenes_.append(tasks.sample(name, np.random.default_rng(k), 3).scene)
    for scene in scenes_:
        free = _free_bodies(World(scene))
        for o in scene.objects:
            assert can_repose(o.cls) == (o.name in free), (o.name, o.cls)
            assert o.cls.is_static == (o.cls.value in STATIC_CLASSES)
            seen[o.cls.value] = o.name in free
    assert set(seen) == {c.value for c in ObjectClass}, f"classes never built: {set(ObjectClass) - set(seen)}"
    assert not seen["drawer"] and not seen["table"] and seen["cup"]
