"""The shared vocabulary of the f2p loop, defined once and imported by every package (issue
"One concept, one home"): object classes and what each can do (`classes`), skills with their
parameters, bounds, calls and outcomes (`skills`). ROS-free and simulator-free (numpy only), at the
bottom of the package graph.
"""
