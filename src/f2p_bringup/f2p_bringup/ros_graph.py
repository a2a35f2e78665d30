"""Is a node in the ROS graph yet? A readiness probe for ``Supervisor.wait_ready``.

A live process is not a working node: a node is "up" for ``f2p bringup`` once DDS discovery
shows its name. The probe owns a private rclpy context with rclpy's signal handlers off, so a
Ctrl-C still reaches the supervisor as KeyboardInterrupt and stops the graph in order (with
rclpy's handlers the context would shut down first and the Ctrl-C be swallowed). rclpy is
imported here only, so ``supervisor`` stays ROS-free.
"""

from __future__ import annotations

import contextlib


class RosGraphProbe:
    """``with RosGraphProbe() as probe: supervisor.wait_ready(probe=probe.has_node)``."""

    def __init__(self, node_name: str = "f2p_bringup_probe"):
        self.node_name = node_name
        self._context = None
        self._node = None

    def __enter__(self) -> RosGraphProbe:
        import rclpy
        from rclpy.signals import SignalHandlerOptions

        self._context = rclpy.Context()
        rclpy.init(args=[], context=self._context, signal_handler_options=SignalHandlerOptions.NO)
        self._node = rclpy.create_node(self.node_name, context=self._context,
                                       start_parameter_services=False, enable_rosout=False)
        return self

    def __exit__(self, *exc) -> None:
        if self._node is not None:
            with contextlib.suppress(Exception):
                self._node.destroy_node()
        if self._context is not None:
            import rclpy

            with contextlib.suppress(Exception):
                rclpy.try_shutdown(context=self._context)
        self._node = self._context = None

    def node_names(self) -> set[str]:
        """Fully qualified names (``/planner``) of every node discovered so far."""
        assert self._node is not None, "use RosGraphProbe as a context manager"
        return {f"{ns.rstrip('/')}/{name}" for name, ns in self._node.get_node_names_and_namespaces()}

    def has_node(self, name: str) -> bool:
        """True once a node called ``name`` (root namespace unless ``name`` has one) is discovered."""
        return (name if name.startswith("/") else "/" + name) in self.node_names()
