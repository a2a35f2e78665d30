"""Simulation world of f2p: scenes from shape priors, MuJoCo world building, skills with physics,
partial-view point clouds, relation ground truth (paper A.9), task distributions (A.2), Real2Sim
and dataset generation.
"""
