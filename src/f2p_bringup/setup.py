from glob import glob

from setuptools import find_packages, setup

package_name = "f2p_bringup"

# config/ and launch/ live at the top of the repository (shared by the launch files and the
# pip-only bringup); the symlinks of the same names in this package let colcon install them to
# share/f2p_bringup/{config,launch}, where `ros2 launch f2p_bringup sim.launch.py` finds them.

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/config", sorted(glob("config/*.yaml") + glob("config/*.rviz"))),
        ("share/" + package_name + "/launch", sorted(glob("launch/*.launch.py"))),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="f2p maintainers",
    maintainer_email="maintainers@f2p-robotics.org",
    description="The f2p command line (doctor, data, model, demo, bench), the pip-only bringup of the node graph, and the launch and config files.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": ['f2p = f2p_bringup.cli:main']},
)
