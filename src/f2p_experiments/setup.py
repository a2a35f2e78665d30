from setuptools import find_packages, setup

package_name = "f2p_experiments"

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
    description="The paper's comparison: method registry, typed trial specs and results, one run_trial over the "
                "executive, per-learning-run model stores, a resumable runner (process pool or Ray), configs as "
                "data, tables and plots.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
)
