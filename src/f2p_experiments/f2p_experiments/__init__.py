"""The paper's comparison (§6, A.3, A.5, A.6, A.14–A.16), ROS-free: see experiments/README.md."""
