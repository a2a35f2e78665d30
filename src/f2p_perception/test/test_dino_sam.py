"""dino_sam: the whole code path with tiny random-weight models saved to disk (no downloads)."""

from __future__ import annotations

import numpy as np
import pytest

from f2p_core.scene import PerceivedScene
from f2p_perception.backends import make_backend
from f2p_perception.dino_sam import DinoSamBackend, DinoSamConfig, box_iou, nms, phrase_spans
from f2p_perception.perception import Perception
from f2p_perception.simcam import SimCamera
from f2p_sim import tasks
from f2p_sim.world import World

tf = pytest.importorskip("transformers")  # pinned in requirements.txt; absent on a bare distro install

@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    """A 0.16 M-parameter GroundingDINO and a 25 k-parameter SAM, random weights, seed 0."""
    from f2p_perception.tiny_dino_sam import save_tiny_dino_sam

    return save_tiny_dino_sam(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def organize_obs():
    world = World(tasks.sample("organize", np.random.default_rng(0), 3).scene)
    return SimCamera(world, width=160, height=120).observe()


def test_whole_code_path_gives_disjoint_segments_with_classes(models, organize_obs):
    backend = make_backend("dino_sam", box_threshold=0.0, image_size=96, prompts=["cup", "capsule", "table"],
                           **models)
    seg = backend.segment(organize_obs)
    assert len(seg) > 0 and len(seg.points) == len(organize_obs.flat_points())
    assert set(seg.classes) <= {"cup", "capsule", "table"}
    assert np.all((seg.confidences >= 0) & (seg.confidences <= 1))
    assert np.allclose(seg.points, organize_obs.flat_points(), atol=1e-4)  # back-projected depth = the cloud
    assert seg.info["boxes"].shape == (len(seg), 4)
    scene = Perception(backend, n_points=16).perceive(organize_obs, np.random.default_rng(0))
    assert isinstance(scene, PerceivedScene) and scene.points.shape == (len(seg), 16, 3)
    assert all(n.split("_")[0] in {"cup", "capsule", "table"} for n in scene.names)
    # Nothing passes a threshold of 1: an empty scene, not an error.
    strict = DinoSamBackend(DinoSamConfig(box_threshold=1.0, image_size=96, prompts=("cup",), **models))
    assert len(strict.segment(organize_obs)) == 0


def test_missing_files_name_the_parameter(models, tmp_path):
    with pytest.raises(ValueError, match="'dino_model' is empty"):
        DinoSamBackend(DinoSamConfig(sam_model=models["sam_model"]))
    with pytest.raises(FileNotFoundError, match=r"'sam_model' names .*never downloaded"):
        DinoSamBackend(DinoSamConfig(dino_model=models["dino_model"], sam_model=str(tmp_path / "nope")))
    with pytest.raises(FileNotFoundError, match="'dino_vocab'"):
        DinoSamBackend(DinoSamConfig(dino_vocab=str(tmp_path / "vocab.txt"), **models))


def test_needs_the_camera_image(models, organize_obs):
    backend = DinoSamBackend(DinoSamConfig(image_size=96, prompts=("cup",), **models))
    with pytest.raises(ValueError, match="organised"):
        backend.segment(type(organize_obs)(organize_obs.flat_points()))


def test_meta_segment_anything_checkpoints_where_importable(models, tmp_path):
    try:
        import segment_anything  # noqa: F401
        import torchvision  # noqa: F401
    except Exception:  # torchvision has no CPU build for torch 2.13 here (SIM_NOTES.md)
        ckpt = tmp_path / "sam_vit_b.pth"
        ckpt.write_bytes(b"")
        with pytest.raises(ImportError, match="segment_anything"):
            DinoSamBackend(DinoSamConfig(dino_model=models["dino_model"], sam_model=str(ckpt)))
        pytest.skip("segment_anything / torchvision not importable: the error path is tested instead")


def test_phrases_boxes_and_suppression():
    class Tok:
        def tokenize(self, text):
            return text.split()

    text, spans = phrase_spans(Tok(), ("cup", "coffee mug"))
    assert text == "cup. coffee mug." and spans == [(1, 2), (3, 5)]
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], float)
    assert box_iou(boxes[:1], boxes[1:]).round(2).tolist() == [[0.81, 0.0]]
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 0]), 0.5).tolist() == [0, 2]
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 1, 0]), 0.5).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="prompts"):
        DinoSamConfig(prompts=("a. b",))


def test_the_command_line_scores_local_weights(models, tmp_path, capsys):
    """`f2p eval perception --backend dino_sam --weights DINO SAM` scores local checkpoints like any backend."""
    import json

    from f2p_bringup import cli

    out = tmp_path / "dino_sam.json"
    assert cli.main(["eval", "perception", "--backend", "dino_sam", "--weights", models["dino_model"],
                     models["sam_model"], "--param", "image_size=96", "--param", "box_threshold=0.0", "--task",
                     "organize", "--objects", "3", "--trials", "1", "--width", "160", "--height", "120",
                     "--out", str(out)]) == 0
    assert "organize" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["rows"][0]["observations"] >= 1 and "--backend dino_sam" in data["command"]
