"""Headless rendering for the f2p_sim tests: EGL unless the caller chose a GL backend."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
