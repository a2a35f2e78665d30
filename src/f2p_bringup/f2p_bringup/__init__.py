"""The f2p command line (doctor, data, model, demo, bench), the pip-only bringup of the node graph,
and the launch and config files.
"""
