"""Skill effect models of f2p (paper A.11): point-cloud encoder, transformer dynamics, relation
decoders, training, versioned model store and relation metrics.
"""
