"""Perception for f2p: point cloud to segmented scene (simulation ground truth, geometric,
GroundingDINO + SAM) with stable object identities.
"""
