"""MCAP bags in the rosbag2 layout (f2p_ros.bag), written from real CDR bytes (rclpy's serializer,
what a raw subscription delivers) and read back with the bag's own message definitions."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml
from mcap.reader import make_reader
from rclpy.serialization import serialize_message
from std_msgs.msg import String

from f2p_msgs.msg import Relation, SymbolicState
from f2p_ros.bag import (
    COMPRESSIONS,
    BagError,
    BagWriter,
    bag_info,
    format_info,
    message_definition,
    qos_yaml,
    read_bag,
)
from f2p_ros.convert import cloud_to_msg
from f2p_ros.names import GRAPH


def state(i: int) -> SymbolicState:
    msg = SymbolicState()
    msg.relations = [Relation(name="above", subject="cup_1", object="box_1", probability=0.25 * i)]
    return msg


def write_bag(path, n: int = 3) -> list[np.ndarray]:
    clouds = [np.random.default_rng(i).normal(size=(20, 3)).astype(np.float32) for i in range(n)]
    with BagWriter(path) as bag:
        bag.add_topic("/f2p/task", "std_msgs/msg/String", qos_yaml(reliable=True, transient_local=True, depth=1))
        bag.add_topic("/f2p/state", "f2p_msgs/msg/SymbolicState")
        bag.add_topic("/f2p/points", "sensor_msgs/msg/PointCloud2")
        bag.write("/f2p/task", serialize_message(String(data='{"goal": []}')), 1_000)
        for i, xyz in enumerate(clouds):
            bag.write("/f2p/state", serialize_message(state(i)), 2_000 + i)
            bag.write("/f2p/points", serialize_message(cloud_to_msg(xyz, frame_id="world")), 3_000 + i)
    return clouds


def test_every_graph_type_has_a_definition_that_the_mcap_decoder_parses():
    from mcap_ros2._dynamic import generate_dynamic

    for e in GRAPH:
        if e.kind == "topic":
            text = message_definition(e.type)
            decoders = generate_dynamic(e.type, text)
            assert e.type.replace("/msg/", "/") in {k.replace("/msg/", "/") for k in decoders}
            assert text.count("MSG: ") == len(set(text.split("MSG: ")[1:]))  # each dependency once


def test_definitions_carry_every_dependency():
    text = message_definition("f2p_msgs/msg/SegmentedScene")
    for dep in ("std_msgs/Header", "builtin_interfaces/Time", "f2p_msgs/ObjectSegment", "sensor_msgs/PointCloud2",
                "sensor_msgs/PointField", "geometry_msgs/Pose", "geometry_msgs/Vector3"):
        assert f"MSG: {dep}\n" in text


def test_a_bag_reads_back_decoded_with_its_own_definitions(tmp_path):
    clouds = write_bag(tmp_path / "bag")
    msgs = list(read_bag(tmp_path / "bag"))
    assert [m.topic for m in msgs].count("/f2p/state") == 3 and len(msgs) == 7
    states = [m.message for m in msgs if m.topic == "/f2p/state"]
    assert [s.relations[0].probability for s in states] == [0.0, 0.25, 0.5]
    assert states[1].relations[0].subject == "cup_1" and states[1].relations[0].name == "above"
    pts = [m.message for m in msgs if m.topic == "/f2p/points"]
    assert pts[2].width == 20 and np.frombuffer(bytes(pts[2].data), np.float32).reshape(20, -1)[:, :3].tolist() \
        == clouds[2].tolist()
    assert next(m for m in msgs if m.topic == "/f2p/task").message.data == '{"goal": []}'
    task = next(m for m in msgs if m.topic == "/f2p/task")
    assert task.data == serialize_message(String(data='{"goal": []}'))  # the bytes as written, undecoded


def test_metadata_and_summary_agree_with_what_was_written(tmp_path):
    write_bag(tmp_path / "bag")
    meta = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["storage_identifier"] == "mcap" and meta["message_count"] == 7
    assert {t["topic_metadata"]["name"]: t["message_count"] for t in meta["topics_with_message_count"]} == {
        "/f2p/task": 1, "/f2p/state": 3, "/f2p/points": 3}
    assert meta["relative_file_paths"] == ["bag_0.mcap"] and meta["duration"]["nanoseconds"] == 3_002 - 1_000
    task_qos = yaml.safe_load(next(t for t in meta["topics_with_message_count"]
                                   if t["topic_metadata"]["name"] == "/f2p/task")["topic_metadata"]
                              ["offered_qos_profiles"])
    assert task_qos[0]["durability"] == 1 and task_qos[0]["reliability"] == 1  # transient local, reliable
    with open(tmp_path / "bag" / "bag_0.mcap", "rb") as f:
        reader = make_reader(f)
        assert reader.get_header().profile == "ros2"
        assert {s.encoding for s in reader.get_summary().schemas.values()} == {"ros2msg"}
        assert {c.message_encoding for c in reader.get_summary().channels.values()} == {"cdr"}
    info = bag_info(tmp_path / "bag")
    assert info.complete and info.message_count == 7 and info.topics["/f2p/points"].count == 3
    assert "/f2p/state" in format_info(info) and "sensor_msgs/msg/PointCloud2" in format_info(info)


def test_a_killed_recorder_leaves_its_flushed_messages_readable(tmp_path):
    bag = BagWriter(tmp_path / "bag")
    bag.add_topic("/f2p/state", "f2p_msgs/msg/SymbolicState")
    for i in range(4):
        bag.write("/f2p/state", serialize_message(state(i)), 10 + i)
    bag.flush()
    bag.write("/f2p/state", serialize_message(state(9)), 99)  # not flushed: lost with the process
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(bag.mcap_path, crashed / "crashed_0.mcap")  # the file as a SIGKILL leaves it
    assert [m.message.relations[0].probability for m in read_bag(crashed)] == [0.0, 0.25, 0.5, 0.75]
    info = bag_info(crashed)
    assert not info.complete and info.message_count == 4 and "Closed:            no" in format_info(info)
    bag.close()


def test_bad_bags_are_refused_with_the_path(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(BagError, match="not empty"):
        BagWriter(tmp_path / "full")
    with pytest.raises(BagError, match="pkg/msg/Name"):
        message_definition("SymbolicState")
    with pytest.raises(BagError, match="no definition"):
        message_definition("f2p_msgs/msg/NoSuchThing")
    with pytest.raises(BagError, match="no such bag"):
        bag_info(tmp_path / "missing")
    with BagWriter(tmp_path / "ok") as bag, pytest.raises(BagError, match="not added"):
        bag.write("/f2p/unknown", b"", 0)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_every_compression_reads_back(tmp_path, compression):
    with BagWriter(tmp_path / "bag", compression=compression) as bag:
        bag.add_topic("/f2p/task", "std_msgs/msg/String", qos_yaml(reliable=True, transient_local=True, depth=1))
        bag.write("/f2p/task", serialize_message(String(data="x" * 1000)), 1_000)
    assert [m.message.data for m in read_bag(tmp_path / "bag")] == ["x" * 1000]


def test_an_unknown_compression_is_refused(tmp_path):
    with pytest.raises(BagError, match="unknown compression 'gzip'; known: zstd, lz4, none"):
        BagWriter(tmp_path / "bag", compression="gzip")
