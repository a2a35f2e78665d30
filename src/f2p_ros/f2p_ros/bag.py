"""Recording the graph the ROS way: MCAP bags in the rosbag2 layout, written and read without rclpy.

A bag is a directory (what ``ros2 bag record -s mcap`` writes)::

    <dir>/
      metadata.yaml        # rosbag2 bag information (version 5): topics, types, counts, times
      <dir name>_0.mcap    # MCAP, profile "ros2": one schema per message type (encoding
                           # "ros2msg", the full message definition with its dependencies), one
                           # channel per topic (message encoding "cdr", its QoS as rosbag2 writes
                           # it), messages as the CDR bytes the publisher sent

so ``ros2 bag info/play`` reads it on a distro, Foxglove and the PyPI ``mcap`` reader open it, and
every message decodes from the bag alone (``mcap_ros2.decoder``): the message definitions travel
with the data. Messages are written as received (serialized, never converted), so recording costs
one copy per message.

Little is lost on a crash: the writer closes a chunk every `CHUNK_BYTES` and whenever `flush` is
called (the recorder node does every second), so a recorder killed outright leaves every closed
chunk readable (``read_bag`` then scans
the file, without its summary) and no ``metadata.yaml``; ``bag_info`` says so.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: rosbag2's metadata version this module writes (Humble writes 5, Jazzy 8 and reads every older one).
METADATA_VERSION = 5
METADATA_FILE = "metadata.yaml"
#: bytes of messages per MCAP chunk: what a crash can lose at most (one cloud is ~5 kB here).
CHUNK_BYTES = 256 * 1024
#: chunk compressions a bag can be written with (every MCAP reader decodes the three)
COMPRESSIONS = ("zstd", "lz4", "none")
#: LZ4: with zstd the recorder slowed planning by up to 7 % on 2 cores, with lz4 by none beyond
#: the noise (`f2p bench graph`, src/f2p_bringup/README.md)
DEFAULT_COMPRESSION = "lz4"
PRIMITIVES = frozenset({"bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32",
                        "uint32", "int64", "uint64", "string", "wstring"})
SEPARATOR = "=" * 80


class BagError(ValueError):
    """A bag that cannot be written or read; the message names the path and what is wrong."""


# ---------------------------------------------------------------------------------------------
# message definitions (the "ros2msg" schema encoding)


def share_dirs() -> list[Path]:
    """``<prefix>/share`` of every ament prefix (AMENT_PREFIX_PATH), where ``.msg`` files live."""
    return [Path(p) / "share" for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]


def _msg_file(pkg: str, name: str, dirs: Sequence[Path]) -> Path:
    for d in dirs:
        path = d / pkg / "msg" / f"{name}.msg"
        if path.is_file():
            return path
    raise BagError(f"no definition of {pkg}/msg/{name} under {', '.join(map(str, dirs)) or '(no AMENT_PREFIX_PATH)'}")


def _field_types(text: str, pkg: str) -> list[tuple[str, str]]:
    """(package, name) of every non-primitive field type of one ``.msg`` text, in order."""
    out: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        base = re.split(r"[\[<]", line.split()[0], maxsplit=1)[0]  # strip arrays and string bounds
        if base in PRIMITIVES:  # constants are primitives too
            continue
        if base == "Header":  # ROS 1 shorthand, still accepted by rosidl
            out.append(("std_msgs", "Header"))
        elif "/" in base:
            parts = base.split("/")
            out.append((parts[0], parts[-1]))
        else:
            out.append((pkg, base))
    return out


def message_definition(type_name: str, dirs: Sequence[Path] | None = None) -> str:
    """The concatenated definition of ``pkg/msg/Name`` as rosbag2 stores it: the type's own
    ``.msg`` text, then every type it uses (depth first, once each) after a separator line and
    ``MSG: pkg/Name``."""
    dirs = share_dirs() if dirs is None else list(dirs)
    pkg, _, name = _split_type(type_name)
    parts = [_msg_file(pkg, name, dirs).read_text()]
    seen = {(pkg, name)}
    stack = list(reversed(_field_types(parts[0], pkg)))
    while stack:
        dep = stack.pop()
        if dep in seen:
            continue
        seen.add(dep)
        text = _msg_file(*dep, dirs).read_text()
        parts.append(f"{SEPARATOR}\nMSG: {dep[0]}/{dep[1]}\n{text}")
        stack.extend(reversed(_field_types(text, dep[0])))
    return "\n".join(p.rstrip("\n") for p in parts) + "\n"


def _split_type(type_name: str) -> tuple[str, str, str]:
    parts = type_name.split("/")
    if len(parts) != 3 or parts[1] != "msg" or not all(parts):
        raise BagError(f"message type must be 'pkg/msg/Name', got {type_name!r}")
    return parts[0], parts[1], parts[2]


# ---------------------------------------------------------------------------------------------
# QoS as rosbag2 writes it (the `offered_qos_profiles` YAML of a topic)


def qos_yaml(*, reliable: bool, transient_local: bool, depth: int) -> str:
    """One offered QoS profile in rosbag2's YAML, so ``ros2 bag play`` offers what was recorded
    (a latched topic is replayed latched)."""
    profile = {"history": 1, "depth": depth, "reliability": 1 if reliable else 2,
               "durability": 1 if transient_local else 2,
               "deadline": {"sec": 0, "nsec": 0}, "lifespan": {"sec": 0, "nsec": 0},
               "liveliness": 1, "liveliness_lease_duration": {"sec": 0, "nsec": 0},
               "avoid_ros_namespace_conventions": False}
    return yaml.safe_dump([profile], sort_keys=False)


# ---------------------------------------------------------------------------------------------
# writing


@dataclass
class TopicStats:
    """What a bag holds of one topic."""

    name: str
    type: str
    count: int = 0
    qos: str = ""


@dataclass
class BagInfo:
    """A bag's contents: ``f2p bag info`` prints it; ``complete`` is False for a bag whose recorder
    did not close it (no summary or no metadata.yaml: counts come from scanning the file)."""

    path: Path
    mcap: Path
    topics: dict[str, TopicStats] = field(default_factory=dict)
    start_ns: int = 0
    end_ns: int = 0
    complete: bool = True

    @property
    def message_count(self) -> int:
        return sum(t.count for t in self.topics.values())

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9 if self.message_count else 0.0


class BagWriter:
    """Writes one bag directory; messages arrive as CDR bytes with their topic's type.

    Topics are added as they are first seen (`add_topic`); `close` writes the MCAP summary and
    ``metadata.yaml``. Use as a context manager so a failure still closes the bag."""

    def __init__(self, directory: str | os.PathLike, dirs: Sequence[Path] | None = None,
                 compression: str = DEFAULT_COMPRESSION):
        from mcap.writer import CompressionType, Writer

        if compression not in COMPRESSIONS:
            raise BagError(f"unknown compression {compression!r}; known: {', '.join(COMPRESSIONS)}")
        self.path = Path(directory)
        if self.path.exists() and any(self.path.iterdir()):
            raise BagError(f"{self.path}: exists and is not empty (a bag is written to a new directory)")
        self.path.mkdir(parents=True, exist_ok=True)
        self.mcap_path = self.path / f"{self.path.name}_0.mcap"
        self._dirs = share_dirs() if dirs is None else list(dirs)
        self._file = open(self.mcap_path, "wb")
        self._writer = Writer(self._file, chunk_size=CHUNK_BYTES, compression={
            "zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}[compression])
        self._writer.start(profile="ros2", library="f2p_ros.bag")
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self.info = BagInfo(self.path, self.mcap_path)
        self._sequence = 0
        self._closed = False

    def add_topic(self, topic: str, type_name: str, qos: str = "") -> None:
        """Register `topic` (once) with its message type and offered-QoS YAML."""
        if topic in self._channels:
            return
        if type_name not in self._schemas:
            self._schemas[type_name] = self._writer.register_schema(
                name=type_name, encoding="ros2msg", data=message_definition(type_name, self._dirs).encode())
        self._channels[topic] = self._writer.register_channel(
            topic=topic, message_encoding="cdr", schema_id=self._schemas[type_name],
            metadata={"offered_qos_profiles": qos})
        self.info.topics[topic] = TopicStats(topic, type_name, 0, qos)

    def write(self, topic: str, data: bytes, log_time_ns: int, publish_time_ns: int | None = None) -> None:
        """Append one serialized message of a registered topic."""
        if topic not in self._channels:
            raise BagError(f"{self.path}: topic {topic} was not added")
        self._sequence += 1
        self._writer.add_message(channel_id=self._channels[topic], log_time=log_time_ns, data=bytes(data),
                                 publish_time=log_time_ns if publish_time_ns is None else publish_time_ns,
                                 sequence=self._sequence)
        stats = self.info.topics[topic]
        stats.count += 1
        if self.info.message_count == 1 or log_time_ns < self.info.start_ns:
            self.info.start_ns = log_time_ns
        self.info.end_ns = max(self.info.end_ns, log_time_ns)

    def flush(self) -> None:
        """Close the chunk in progress and write it out: a crash after this loses none of it."""
        if not self._closed:
            self._writer.flush()

    def close(self) -> BagInfo:
        """Finish the MCAP file (summary, indexes) and write ``metadata.yaml``."""
        if not self._closed:
            self._closed = True
            self._writer.finish()
            self._file.close()
            write_metadata(self.info)
        return self.info

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_metadata(info: BagInfo) -> None:
    """``metadata.yaml`` as rosbag2 writes it for an MCAP bag (one file, uncompressed)."""
    duration = info.end_ns - info.start_ns if info.message_count else 0
    topics = [{"topic_metadata": {"name": t.name, "type": t.type, "serialization_format": "cdr",
                                  "offered_qos_profiles": t.qos},
               "message_count": t.count} for t in info.topics.values()]
    meta = {"rosbag2_bagfile_information": {
        "version": METADATA_VERSION, "storage_identifier": "mcap",
        "duration": {"nanoseconds": duration}, "starting_time": {"nanoseconds_since_epoch": info.start_ns},
        "message_count": info.message_count, "topics_with_message_count": topics,
        "compression_format": "", "compression_mode": "",
        "relative_file_paths": [info.mcap.name],
        "files": [{"path": info.mcap.name, "starting_time": {"nanoseconds_since_epoch": info.start_ns},
                   "duration": {"nanoseconds": duration}, "message_count": info.message_count}]}}
    tmp = info.path / (METADATA_FILE + ".tmp")
    tmp.write_text(yaml.safe_dump(meta, sort_keys=False))
    tmp.replace(info.path / METADATA_FILE)


# ---------------------------------------------------------------------------------------------
# reading


def _mcap_file(path: Path) -> Path:
    if path.is_file() and path.suffix == ".mcap":
        return path
    if not path.is_dir():
        raise BagError(f"{path}: no such bag (a directory with metadata.yaml and an .mcap file)")
    files = sorted(path.glob("*.mcap"))
    if len(files) != 1:
        raise BagError(f"{path}: expected one .mcap file, found {len(files)}")
    return files[0]


@dataclass(frozen=True)
class BagMessage:
    """One recorded message: topic, type, receive time (ns), the decoded ROS message (an object
    with the message's fields as attributes, from the bag's own definitions) and its CDR bytes as
    received (what a raw subscriber got: compare or republish them without decoding)."""

    topic: str
    type: str
    log_time_ns: int
    message: Any
    data: bytes = b""


def read_bag(path: str | os.PathLike, topics: Iterable[str] | None = None) -> Iterator[BagMessage]:
    """Every message of a bag, in file order, decoded with the schema stored in the bag. A bag
    whose recorder was killed (no summary) is read by scanning; a truncated last chunk is skipped."""
    from mcap.exceptions import EndOfFile
    from mcap.reader import NonSeekingReader
    from mcap_ros2.decoder import DecoderFactory

    wanted = set(topics) if topics is not None else None
    with open(_mcap_file(Path(path)), "rb") as f:
        reader = NonSeekingReader(f, decoder_factories=[DecoderFactory()])
        try:
            for schema, channel, message, decoded in reader.iter_decoded_messages(
                    topics=sorted(wanted) if wanted is not None else None, log_time_order=False):
                yield BagMessage(channel.topic, schema.name if schema else "", message.log_time, decoded,
                                 bytes(message.data))
        except EndOfFile:  # the end of a file whose writer died: what came before stands
            return


def bag_info(path: str | os.PathLike) -> BagInfo:
    """Topics, types, counts and times of a bag: from its MCAP summary when the recorder closed
    it, else by scanning every message (``complete`` False)."""
    from mcap.exceptions import McapError
    from mcap.reader import NonSeekingReader, make_reader

    root = Path(path)
    mcap = _mcap_file(root)
    info = BagInfo(root if root.is_dir() else root.parent, mcap)
    with open(mcap, "rb") as f:
        try:
            summary = make_reader(f).get_summary()
        except McapError:
            summary = None
        if summary is not None and summary.statistics is not None:
            stats = summary.statistics
            for cid, channel in summary.channels.items():
                schema = summary.schemas.get(channel.schema_id)
                info.topics[channel.topic] = TopicStats(channel.topic, schema.name if schema else "",
                                                        stats.channel_message_counts.get(cid, 0),
                                                        channel.metadata.get("offered_qos_profiles", ""))
            info.start_ns, info.end_ns = stats.message_start_time, stats.message_end_time
        else:
            f.seek(0)
            info.complete = False
            _scan(NonSeekingReader(f), info)
    if not (info.path / METADATA_FILE).is_file():
        info.complete = False
    return info


def _scan(reader, info: BagInfo) -> None:
    from mcap.exceptions import EndOfFile

    first = True
    try:
        for schema, channel, message in reader.iter_messages(log_time_order=False):  # streaming
            stats = info.topics.setdefault(channel.topic, TopicStats(
                channel.topic, schema.name if schema else "", 0, channel.metadata.get("offered_qos_profiles", "")))
            stats.count += 1
            info.start_ns = message.log_time if first else min(info.start_ns, message.log_time)
            info.end_ns = max(info.end_ns, message.log_time)
            first = False
    except EndOfFile:
        pass  # the unfinished end of a killed recorder's file: what came before stands


def format_info(info: BagInfo) -> str:
    """``f2p bag info``'s text: like ``ros2 bag info``, one line per topic."""
    lines = [f"Files:             {info.mcap}",
             f"Bag size:          {info.mcap.stat().st_size / 1024:.1f} KiB",
             "Storage id:        mcap",
             f"Duration:          {info.duration_s:.3f} s",
             f"Messages:          {info.message_count}"]
    if not info.complete:
        lines.append("Closed:            no (the recorder did not finish it; counts from scanning the file)")
    width = max((len(t) for t in info.topics), default=0)
    lines.append(f"Topics ({len(info.topics)}):")
    for name in sorted(info.topics):
        t = info.topics[name]
        lines.append(f"  {name:<{width}}  {t.count:>6}  {t.type}")
    return "\n".join(lines)


__all__ = ["BagError", "BagInfo", "BagMessage", "BagWriter", "TopicStats", "bag_info", "format_info",
           "message_definition", "qos_yaml", "read_bag", "share_dirs", "write_metadata"]
