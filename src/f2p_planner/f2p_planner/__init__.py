"""Shooting and CEM planners over the skill effect model, goal and skeleton parsing, and the
PlanTask action server.

The ROS-free library (paper §3 and A.11 "Planning Details"):

* goals G = g_1 ∧ … ∧ g_M are parsed by :mod:`f2p_core.goal` (:func:`parse_goal`, shared with every package);
* :mod:`f2p_planner.skeleton` -- plan skeletons φ_{1:H} as data (:func:`parse_skeleton`);
* :mod:`f2p_planner.sampling` -- parameters a_{1:H} sampled from the robot's workspace;
* :mod:`f2p_planner.planner` -- ``ShootingPlanner`` (A.11) and ``CEMPlanner``.

Import from the modules; the package itself imports nothing, so parsing a goal does not load torch.
"""
