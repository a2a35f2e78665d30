from setuptools import find_packages, setup

package_name = "f2p_sim"

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
    description="Simulation world of f2p: scenes from shape priors, MuJoCo world building, skills with physics, partial-view point clouds, relation ground truth (paper A.9), task distributions (A.2), Real2Sim and dataset generation.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": []},
)
