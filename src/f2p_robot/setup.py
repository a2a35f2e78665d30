from setuptools import find_packages, setup

package_name = "f2p_robot"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="f2p maintainers",
    maintainer_email="maintainers@f2p-robotics.org",
    description="The robot behind the ExecuteSkill action: the simulated world and the Hello Robot Stretch RE2.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": [
        "sim_robot = f2p_robot.sim_robot_node:main",
        "stretch_robot = f2p_robot.stretch_robot_node:main",
    ]},
)
