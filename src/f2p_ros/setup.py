from setuptools import find_packages, setup

package_name = "f2p_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml", "README.md"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="f2p maintainers",
    maintainer_email="maintainers@f2p-robotics.org",
    description="The ROS 2 adapter layer of f2p: the graph contract (topic, service and action names, QoS) and conversions between the ROS-free libraries' types and f2p_msgs, sensor_msgs and visualization_msgs.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": ["recorder = f2p_ros.recorder:main"]},
)
