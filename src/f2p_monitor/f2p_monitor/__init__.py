"""Execution monitor of f2p: relation comparison, failure events and their store, failure
classification, the task executive and rviz markers.
"""
