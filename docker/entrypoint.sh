#!/bin/bash
# Entry point of the f2p image: the distro, then the f2p workspace, then the command
# (default: ros2 launch f2p_bringup sim.launch.py).
set -e
# shellcheck disable=SC1090
source "/opt/ros/${ROS_DISTRO}/setup.bash"
# shellcheck disable=SC1091
source /f2p/install/setup.bash
exec "$@"
