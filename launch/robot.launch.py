"""Launch the Stretch RE2 graph (robot + every f2p node) on a full ROS 2 distro.

    ros2 launch f2p_bringup robot.launch.py [config:=PATH] [set:='node.param=value ...'] [record:=DIR]

The nodes and their parameters come from config/robot.yaml, read by the same loader as
`f2p bringup robot` (f2p_bringup.graph_config), so the two ways of starting the graph cannot drift.
"""

from f2p_bringup.launch_actions import graph_launch_description


def generate_launch_description():
    return graph_launch_description("robot", __file__)
