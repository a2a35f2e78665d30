"""Hand-built example scenes, one per situation the paper's tasks (A.2) need.

Registered as one-line factories in `EXAMPLE_SCENES` (dm_control style) so tests can check
invariants over all of them and task distributions can start from them. Layout shared by all:
ground at z = 0, robot base at (-0.45, 0) facing +x, a 0.7 × 1.0 m table whose top is at
z = 0.45 spanning x 0.05–0.75 (the near half is within reach without moving the base).
"""
from __future__ import annotations

from collections.abc import Callable

from f2p_core.classes import ObjectClass

from .scene import ObjectSpec, Scene, default_camera

TABLE_TOP_Z = 0.45
TABLE_CENTER_XY = (0.40, 0.0)
TABLE_SIZE = (0.70, 1.00, TABLE_TOP_Z)


def ground(name: str = "ground") -> ObjectSpec:
    """A 4 × 4 m floor whose top surface is z = 0."""
    return ObjectSpec(name, ObjectClass.GROUND, (4.0, 4.0, 0.02), (0.0, 0.0, -0.01))


def table(name: str = "table") -> ObjectSpec:
    """The standard table: top at TABLE_TOP_Z, standing on the ground."""
    x, y = TABLE_CENTER_XY
    return ObjectSpec(name, ObjectClass.TABLE, TABLE_SIZE, (x, y, TABLE_TOP_Z / 2))


def on_surface(name: str, cls: ObjectClass, size, xy, surface_z: float = TABLE_TOP_Z,
               **kw) -> ObjectSpec:
    """An object standing upright with its bottom on a horizontal surface at `surface_z`."""
    return ObjectSpec(name, cls, tuple(size), (xy[0], xy[1], surface_z + size[2] / 2), **kw)


def inside(name: str, cls: ObjectClass, size, box: ObjectSpec, dxy=(0.0, 0.0),
           **kw) -> ObjectSpec:
    """An object standing on the inner bottom of open box `box`, offset `dxy` from its centre."""
    floor = box.pos[2] - box.size[2] / 2 + box.wall
    xy = (box.pos[0] + dxy[0], box.pos[1] + dxy[1])
    return on_surface(name, cls, size, xy, surface_z=floor, **kw)


def example_container_scene() -> Scene:
    """Multi-object transport (A.2): a container holding three cubes, plus a loose cylinder."""
    box = on_surface("container_1", ObjectClass.CONTAINER, (0.20, 0.16, 0.08), (0.30, -0.25))
    cube = (0.04, 0.04, 0.04)
    objects = [
        ground(), table(), box,
        inside("cube_1", ObjectClass.CUBOID, cube, box, (-0.05, -0.03)),
        inside("cube_2", ObjectClass.CUBOID, cube, box, (0.05, -0.03), rgba=(0.2, 0.3, 0.9, 1)),
        inside("cube_3", ObjectClass.CUBOID, cube, box, (0.0, 0.035), rgba=(0.9, 0.8, 0.2, 1)),
        on_surface("cylinder_1", ObjectClass.CYLINDER, (0.05, 0.05, 0.10), (0.55, 0.0)),
    ]
    return Scene(objects=objects, cameras=[default_camera()])


def example_cups_scene() -> Scene:
    """Hierarchical organisation (A.2): a capsule in one cup, an empty cup, a loose cuboid."""
    cup_1 = on_surface("cup_1", ObjectClass.CUP, (0.08, 0.08, 0.10), (0.30, -0.20))
    cup_2 = on_surface("cup_2", ObjectClass.CUP, (0.08, 0.08, 0.10), (0.30, 0.20),
                       rgba=(0.6, 0.8, 0.95, 1))
    objects = [
        ground(), table(), cup_1, cup_2,
        inside("capsule_1", ObjectClass.CAPSULE, (0.03, 0.03, 0.09), cup_1),
        on_surface("cuboid_1", ObjectClass.CUBOID, (0.05, 0.05, 0.05), (0.45, 0.0)),
    ]
    return Scene(objects=objects, cameras=[default_camera()])


def example_push_scene() -> Scene:
    """Two cubes touching along y (pushing one moves the other) and a bystander cylinder."""
    cube = (0.06, 0.06, 0.06)
    objects = [
        ground(), table(),
        on_surface("cube_1", ObjectClass.CUBOID, cube, (0.35, -0.10)),
        on_surface("cube_2", ObjectClass.CUBOID, cube, (0.35, -0.04), rgba=(0.2, 0.3, 0.9, 1)),
        on_surface("cylinder_1", ObjectClass.CYLINDER, (0.05, 0.05, 0.10), (0.50, 0.25)),
    ]
    return Scene(objects=objects, cameras=[default_camera()])


def example_drawer_scene() -> Scene:
    """A cabinet on the floor whose drawer (closed) holds a cube; a cube on the cabinet top."""
    wall = 0.02
    cab = ObjectSpec("cabinet_1", ObjectClass.CABINET, (0.40, 0.50, 0.40), (0.35, 0.0, 0.20),
                     wall=wall)
    # Drawer: fills the cabinet's inner width and depth with 5 mm play; front flush with the
    # cabinet's open face at x = 0.15.
    size = (0.36, 0.44, 0.15)
    drawer = ObjectSpec("drawer_1", ObjectClass.DRAWER, size,
                        (0.15 + size[0] / 2, 0.0, wall + 0.005 + size[2] / 2), parent=cab.name)
    objects = [
        ground(), cab, drawer,
        inside("cube_1", ObjectClass.CUBOID, (0.05, 0.05, 0.05), drawer, (-0.05, 0.0)),
        on_surface("cube_2", ObjectClass.CUBOID, (0.05, 0.05, 0.05), (0.30, 0.1),
                   surface_z=0.40, rgba=(0.2, 0.3, 0.9, 1)),
    ]
    return Scene(objects=objects, cameras=[default_camera()])


def example_shelf_scene() -> Scene:
    """Constrained packing (A.2): a shelf bay on the table with three books and one to pack."""
    shelf = on_surface("shelf_1", ObjectClass.SHELF, (0.22, 0.60, 0.25), (0.55, 0.0))
    board_top = TABLE_TOP_Z + shelf.wall
    book = (0.15, 0.04, 0.18)
    objects = [
        ground(), table(), shelf,
        on_surface("book_1", ObjectClass.CUBOID, book, (0.54, -0.22), surface_z=board_top),
        on_surface("book_2", ObjectClass.CUBOID, book, (0.54, -0.12), surface_z=board_top,
                   rgba=(0.2, 0.3, 0.9, 1)),
        on_surface("book_3", ObjectClass.CUBOID, book, (0.54, 0.05), surface_z=board_top,
                   rgba=(0.9, 0.8, 0.2, 1)),
        on_surface("book_4", ObjectClass.CUBOID, book, (0.25, -0.30), rgba=(0.3, 0.8, 0.3, 1)),
    ]
    return Scene(objects=objects, cameras=[default_camera()])


EXAMPLE_SCENES: dict[str, Callable[[], Scene]] = {
    "container": example_container_scene,
    "cups": example_cups_scene,
    "push": example_push_scene,
    "drawer": example_drawer_scene,
    "shelf": example_shelf_scene,
}
