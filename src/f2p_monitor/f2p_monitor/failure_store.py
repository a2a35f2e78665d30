"""The failure store: every failure event on disk *before* anything else happens (paper §4).

Layout (schema version 1)::

    ROOT/events/<event_id>/event.json   scalars, names, classes, the skill, the mismatches
    ROOT/events/<event_id>/arrays.npz   points (N,P,3), visible, boxes, relations before/after,
                                        predictions, and the full segments (seg_0, seg_1, ...);
                                        optional (since 2026-12-07; absent in older events):
                                        points_after (N,P,3), visible_after (N,), the scene after

An event is written into a temporary directory inside ROOT and renamed into place in one step,
so a kill at any moment leaves either the complete event or none (stale temporary directories are
ignored by readers and removed by the next write). `update_classification` rewrites event.json
atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from f2p_core.failure import FailureClass, FailureEvent, Mismatch
from f2p_core.scene import PerceivedScene
from f2p_core.skills import SkillCall, SkillType
from f2p_sim.fileio import atomic_write_bytes

FAILURE_SCHEMA_VERSION = 1
_TMP = ".tmp-event-"


class FailureStoreError(RuntimeError):
    pass


class FailureStore:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.events = self.root / "events"
        self.events.mkdir(parents=True, exist_ok=True)

    def path(self, event_id: str) -> Path:
        if not event_id or "/" in event_id or event_id.startswith("."):
            raise FailureStoreError(f"invalid event id {event_id!r}")
        return self.events / event_id

    def save(self, event: FailureEvent) -> Path:
        """Validate and persist `event`; returns its directory. Refuses to overwrite an event."""
        event.validate()
        final = self.path(event.event_id)
        if final.exists():
            raise FailureStoreError(f"event {event.event_id} already exists in {self.events}")
        for stale in self.root.glob(f"{_TMP}*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=_TMP, dir=self.root))
        try:
            s = event.scene_before
            arrays = {"points": s.points, "visible": s.visible, "box_lo": s.box_lo, "box_hi": s.box_hi,
                      "unary_before": event.unary_before, "binary_before": event.binary_before,
                      "unary_after": event.unary_after, "binary_after": event.binary_after,
                      "predicted_unary": event.predicted_unary, "predicted_binary": event.predicted_binary,
                      "params": np.asarray(event.skill.params, dtype=np.float64)}
            if event.points_after is not None:
                arrays.update({"points_after": event.points_after, "visible_after": event.visible_after})
            arrays.update({f"seg_{i}": seg for i, seg in enumerate(s.segments)})
            with open(tmp / "arrays.npz", "wb") as f:
                np.savez_compressed(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            (tmp / "event.json").write_bytes(self._json(event))
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    @staticmethod
    def _json(event: FailureEvent) -> bytes:
        s = event.scene_before
        doc = {"schema_version": FAILURE_SCHEMA_VERSION, "event_id": event.event_id, "task_id": event.task_id,
               "step_index": event.step_index, "goal": event.goal, "model_version": event.model_version,
               "classification": event.classification, "created": event.created,
               "names": s.names, "classes": s.classes, "frame_id": s.frame_id,
               "skill": {"type": event.skill.type.value, "object_ids": list(event.skill.object_ids)},
               "mismatched": [asdict(m) for m in event.mismatched]}
        return (json.dumps(doc, indent=1) + "\n").encode()

    def list(self) -> list[str]:
        """Ids of complete events, oldest first."""
        ids = [p.name for p in self.events.iterdir() if (p / "event.json").is_file()]
        return sorted(ids, key=lambda i: (json.loads((self.events / i / "event.json").read_text())["created"], i))

    def load(self, event_id: str) -> FailureEvent:
        d = self.path(event_id)
        try:
            doc = json.loads((d / "event.json").read_text())
            with np.load(d / "arrays.npz") as z:
                a = {k: z[k] for k in z.files}
        except FileNotFoundError as exc:
            raise FailureStoreError(f"no event {event_id} in {self.events}") from exc
        except (json.JSONDecodeError, ValueError, OSError) as exc:
            raise FailureStoreError(f"event {event_id} in {self.events} is corrupt: {exc}") from exc
        if doc.get("schema_version") != FAILURE_SCHEMA_VERSION:
            raise FailureStoreError(f"event {event_id}: schema {doc.get('schema_version')} != {FAILURE_SCHEMA_VERSION}")
        names = doc["names"]
        scene = PerceivedScene(names=names, classes=doc["classes"], points=a["points"], visible=a["visible"],
                               box_lo=a["box_lo"], box_hi=a["box_hi"],
                               segments=[a[f"seg_{i}"] for i in range(len(names))], frame_id=doc["frame_id"])
        skill = SkillCall(SkillType(doc["skill"]["type"]), tuple(doc["skill"]["object_ids"]), a["params"])
        return FailureEvent(
            task_id=doc["task_id"], step_index=doc["step_index"], scene_before=scene,
            unary_before=a["unary_before"], binary_before=a["binary_before"], skill=skill,
            unary_after=a["unary_after"], binary_after=a["binary_after"], predicted_unary=a["predicted_unary"],
            predicted_binary=a["predicted_binary"], mismatched=[Mismatch(**m) for m in doc["mismatched"]],
            model_version=doc["model_version"], goal=doc["goal"], classification=doc["classification"],
            created=doc["created"], event_id=doc["event_id"], points_after=a.get("points_after"),
            visible_after=a.get("visible_after"))

    def update_classification(self, event_id: str, classification: FailureClass) -> None:
        event = self.load(event_id)
        event.classification = FailureClass(classification)
        event.validate()
        atomic_write_bytes(self.path(event_id) / "event.json", self._json(event))
