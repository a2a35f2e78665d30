from setuptools import find_packages, setup

package_name = "f2p_core"

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
    description="The shared vocabulary of the f2p loop, defined once: object classes, skills with their parameters and bounds, goals, skeleton steps, failure events and outcomes (ROS-free, no simulator).",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": []},
)
