"""Argument types of the ``f2p`` subcommands: a bad number or name is an argparse error (one line
naming the option and what it accepts, exit code 2), not a traceback from deep inside a run."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _number(kind: type, low: float, strict: bool, what: str) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    parse.__name__ = what.replace(" ", "_")  # argparse names the type in some messages
    return parse


positive_int = _number(int, 0, True, "a positive integer")
nonnegative_int = _number(int, 0, False, "an integer >= 0")
positive_float = _number(float, 0.0, True, "a number > 0")
nonnegative_float = _number(float, 0.0, False, "a number >= 0")


def fraction(text: str) -> float:
    """A share in [0, 1)."""
    value = nonnegative_float(text)
    if value >= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in [0, 1)")
    return value


def camera(text: str) -> str:
    """A camera name `f2p_sim.stretch_world.scene_camera` resolves: default, view1, view2, a user-defined
    pose:x,y,z,roll,pitch,yaw, or head (the Stretch's, with --robot stretch)."""
    from f2p_sim.stretch_world import scene_camera

    try:
        scene_camera(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def camera_pose(text: str) -> str:
    """--camera-pose x,y,z,roll,pitch,yaw (m, rad) as the camera name that stands for it."""
    from f2p_sim.scene import CAMERA_POSE_PREFIX

    return camera(CAMERA_POSE_PREFIX + text)


def add_camera_arguments(parser: argparse.ArgumentParser) -> None:
    """--camera NAME or --camera-pose X,Y,Z,ROLL,PITCH,YAW, one of them; both set `camera`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--camera", type=camera, default="default",
                       help="default, view1, view2 (A.14), pose:x,y,z,roll,pitch,yaw, or head (robot stretch)")
    group.add_argument("--camera-pose", dest="camera", type=camera_pose, metavar="X,Y,Z,ROLL,PITCH,YAW",
                       help="a camera at this pose in the world frame (m, rad; REP 103: looks along its x, "
                       "positive pitch looks down)")


#: Exit code of a subcommand given input it cannot use (argparse's own for a bad option).
EXIT_USAGE = 2
