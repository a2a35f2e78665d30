"""Launch the simulation graph (MuJoCo world + every f2p node) on a full ROS 2 distro.

    ros2 launch f2p_bringup sim.launch.py [config:=PATH] [set:='node.param=value ...'] [record:=DIR]

The nodes and their parameters come from config/sim.yaml, read by the same loader as
`f2p bringup sim` (f2p_bringup.graph_config), so the two ways of starting the graph cannot drift.
"""

from f2p_bringup.launch_actions import graph_launch_description


def generate_launch_description():
    return graph_launch_description("sim", __file__)
