"""Shooting and CEM planners over the skill effect model, goal and skeleton parsing, and the
PlanTask action server.
"""
