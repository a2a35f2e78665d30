"""ROS 2 adapters shared by every f2p node: the graph contract (`names`, `qos`) and conversions
between the ROS-free libraries' types and messages (`convert`, `markers`, `sync`).

Nothing here holds method logic: a node is parameters in, a library call, messages out, and the
message side of that lives in this package so every node speaks the same contract.
"""
