"""The `dino_sam` backend: open-vocabulary detection + promptable masks + depth (paper §3: the
method assumes "open-source segmentation and detection models"; issue 8).

GroundingDINO finds boxes for text prompts (the task's object classes: "cup. capsule. table."),
SAM turns each box into a pixel mask, and the depth image back-projects each mask to a world-frame
segment. Both models run through `transformers` (`GroundingDinoForObjectDetection`, `SamModel`) on
the CPU build of torch; a Meta `segment_anything` checkpoint (a `.pth` file) is accepted instead of
a transformers SAM directory where that package and torchvision import.

Models load from local files named by parameters and nothing is ever downloaded: a missing file is
an error that names the parameter. GroundingDINO's text side needs a BERT tokenizer; it is built
from a local `vocab.txt` with `BertTokenizer(vocab=...)` (transformers 5 silently ignores
`vocab_file=`, which turns every word into [UNK], SIM_NOTES.md).

Decisions, each with its reason:
* a detection's class is the prompt whose tokens GroundingDINO scores highest (mean sigmoid over
  the phrase's tokens), its confidence that score: no string matching of decoded text;
* overlapping masks: a pixel belongs to the highest-scoring detection that claims it, so the
  segments are disjoint like every other backend's;
* masks bleed over depth edges (background pixels next to an object's outline): each segment keeps
  its largest spatially connected part (`connect_radius`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from f2p_perception.observation import CameraObservation, backproject, check_observation
from f2p_perception.segmentation import Segmentation, empty_segmentation

#: Object classes of f2p_sim (README "Classes") a robot would look for, the ground left out.
DEFAULT_PROMPTS = ("table", "shelf", "cabinet", "drawer", "container", "cup", "bag", "cuboid", "cylinder", "capsule")


@dataclass(frozen=True)
class DinoSamConfig:
    """Parameters of the dino_sam backend. Paths are local; empty ones are an error at load time."""

    dino_model: str = ""  # directory of a transformers GroundingDINO checkpoint (config.json + weights)
    sam_model: str = ""  # directory of a transformers SAM checkpoint, or a Meta segment_anything .pth file
    dino_vocab: str = ""  # BERT vocab.txt of GroundingDINO's text encoder; empty: <dino_model>/vocab.txt
    sam_type: str = "vit_b"  # model type of a Meta checkpoint (segment_anything.sam_model_registry key)
    prompts: tuple[str, ...] = DEFAULT_PROMPTS  # classes to look for, each its own text phrase
    box_threshold: float = 0.3  # GroundingDINO's default box threshold (IDEA-Research demo: 0.35/0.25)
    image_size: int = 800  # GroundingDINO input: shortest image edge after resizing (its training size)
    max_detections: int = 30
    nms_iou: float = 0.7  # boxes of one class overlapping more than this are one detection
    connect_radius: float = 0.02  # m; a segment keeps its largest part connected at this radius
    min_points: int = 3  # smaller segments are dropped
    device: str = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "prompts", tuple(str(p).strip().lower() for p in self.prompts))
        if not self.prompts or any(not p or "." in p for p in self.prompts):
            raise ValueError(f"prompts must be non-empty phrases without '.', got {self.prompts}")
        if not 0.0 <= self.box_threshold <= 1.0 or not 0.0 < self.nms_iou <= 1.0:
            raise ValueError("box_threshold must lie in [0, 1] and nms_iou in (0, 1]")
        if self.image_size <= 0 or self.max_detections <= 0 or self.connect_radius <= 0:
            raise ValueError("image_size, max_detections and connect_radius must be positive")


def _local(path: str, parameter: str) -> Path:
    if not path:
        raise ValueError(f"dino_sam: parameter '{parameter}' is empty; name a local file or directory "
                         "(models are never downloaded)")
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"dino_sam: parameter '{parameter}' names {str(p)!r}, which does not exist "
                                "(models are never downloaded; copy the checkpoint there first)")
    return p


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) IoU of xyxy boxes a (A, 4) and b (B, 4)."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=-1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy per-class non-maximum suppression, best first."""
    keep: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        same = [k for k in keep if classes[k] == classes[i]]
        if not same or box_iou(boxes[i: i + 1], boxes[same]).max() <= iou:
            keep.append(int(i))
    return np.array(keep, np.int64)


def phrase_spans(tokenizer, prompts: tuple[str, ...]) -> tuple[str, list[tuple[int, int]]]:
    """GroundingDINO's text ("cup. capsule.") and each phrase's token span in its input ids
    ([CLS] phrase_1 . phrase_2 . ... [SEP])."""
    spans, start = [], 1
    for p in prompts:
        n = len(tokenizer.tokenize(p))
        spans.append((start, start + n))
        start += n + 1
    return " ".join(f"{p}." for p in prompts), spans


class DinoSamBackend:
    """GroundingDINO boxes -> SAM masks -> depth back-projection (module docstring)."""

    name = "dino_sam"

    def __init__(self, config: DinoSamConfig | None = None, **params) -> None:
        if config is not None and params:
            raise ValueError("pass either a DinoSamConfig or keyword parameters, not both")
        self.config = config if config is not None else DinoSamConfig(**params)
        self._load()

    # --- models ----------------------------------------------------------------------------
    def _load(self) -> None:
        import torch  # noqa: F401  (fail here, not mid-segmentation, if torch is missing)
        from transformers import (
            BertTokenizer,
            GroundingDinoForObjectDetection,
            GroundingDinoImageProcessorPil,
            GroundingDinoProcessor,
        )
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars in a perception node's log
        c = self.config
        dino_dir = _local(c.dino_model, "dino_model")
        vocab = _local(c.dino_vocab or str(dino_dir / "vocab.txt"), "dino_vocab")
        self.tokenizer = BertTokenizer(vocab=str(vocab))
        if self.tokenizer.unk_token_id is None or not len(self.tokenizer):
            raise ValueError(f"dino_sam: dino_vocab {str(vocab)!r} is not a BERT vocabulary")
        image_processor = GroundingDinoImageProcessorPil(size={"shortest_edge": c.image_size,
                                                               "longest_edge": int(c.image_size * 1333 / 800)})
        self.processor = GroundingDinoProcessor(image_processor=image_processor, tokenizer=self.tokenizer)
        self.dino = GroundingDinoForObjectDetection.from_pretrained(str(dino_dir), local_files_only=True)
        self.dino.to(c.device).eval()
        self.text, self.spans = phrase_spans(self.tokenizer, c.prompts)
        if self.spans[-1][1] + 1 > self.dino.config.max_text_len:
            raise ValueError(f"dino_sam: {len(c.prompts)} prompts need {self.spans[-1][1] + 1} tokens, "
                             f"GroundingDINO takes {self.dino.config.max_text_len}")
        sam_path = _local(c.sam_model, "sam_model")
        if sam_path.is_dir():
            from transformers import SamImageProcessorPil, SamModel, SamProcessor

            self.sam = SamModel.from_pretrained(str(sam_path), local_files_only=True).to(c.device).eval()
            s = int(self.sam.config.vision_config.image_size)
            self.sam_processor = SamProcessor(image_processor=SamImageProcessorPil(
                size={"longest_edge": s}, pad_size={"height": s, "width": s}))
            self.meta_sam = None
        else:
            try:
                from segment_anything import SamPredictor, sam_model_registry
            except ImportError as exc:  # needs torchvision, which has no CPU build for torch 2.13 here
                raise ImportError(f"dino_sam: sam_model {str(sam_path)!r} is a Meta segment_anything checkpoint, "
                                  f"but segment_anything cannot be imported ({exc}); use a transformers SAM "
                                  "directory instead") from exc
            if c.sam_type not in sam_model_registry:
                raise ValueError(f"dino_sam: unknown sam_type {c.sam_type!r}; accepted: {sorted(sam_model_registry)}")
            self.meta_sam = SamPredictor(sam_model_registry[c.sam_type](checkpoint=str(sam_path)).to(c.device))
            self.sam = self.sam_processor = None

    # --- the pipeline ----------------------------------------------------------------------
    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (N, 4) xyxy pixels, scores (N,), prompt indices (N,), best first."""
        import torch

        c = self.config
        h, w = rgb.shape[:2]
        inputs = self.processor(images=rgb, text=self.text, return_tensors="pt").to(c.device)
        with torch.no_grad():
            out = self.dino(**inputs)
        prob = out.logits[0].sigmoid().float().cpu().numpy()  # (Q, max_text_len)
        phrase = np.stack([prob[:, a:b].mean(axis=1) for a, b in self.spans], axis=1)  # (Q, P)
        cls = phrase.argmax(axis=1)
        score = phrase.max(axis=1)
        cx, cy, bw, bh = out.pred_boxes[0].float().cpu().numpy().T  # normalised centre and size
        boxes = np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h], axis=1)
        boxes = np.clip(boxes, 0, [w, h, w, h])
        ok = (score >= c.box_threshold) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, score, cls = boxes[ok], score[ok], cls[ok]
        keep = nms(boxes, score, cls, c.nms_iou)[: c.max_detections]
        return boxes[keep], score[keep], cls[keep]

    def masks(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, H, W) bool SAM masks, one per box."""
        h, w = rgb.shape[:2]
        if len(boxes) == 0:
            return np.zeros((0, h, w), bool)
        if self.meta_sam is not None:
            self.meta_sam.set_image(rgb)
            return np.stack([self.meta_sam.predict(box=b, multimask_output=False)[0][0] for b in boxes]).astype(bool)
        import torch

        inputs = self.sam_processor(images=rgb, input_boxes=[boxes.tolist()], return_tensors="pt")
        inputs = inputs.to(self.config.device)
        with torch.no_grad():
            out = self.sam(**inputs, multimask_output=False)
        masks = self.sam_processor.post_process_masks(out.pred_masks.cpu(), inputs["original_sizes"].cpu(),
                                                      inputs["reshaped_input_sizes"].cpu())[0]  # (N, 1, H, W)
        return masks[:, 0].numpy().astype(bool)

    def segment(self, obs: CameraObservation) -> Segmentation:
        check_observation(obs, organised=True, image=True)
        c = self.config
        valid = obs.valid_mask() & (np.asarray(obs.depth) > 0)
        world = backproject(np.asarray(obs.depth), obs.intrinsics, obs.cam_to_world)  # (H, W, 3)
        points = np.where(valid[..., None], world, np.nan_to_num(np.asarray(obs.points, np.float32)))
        flat = points[obs.valid_mask()].astype(np.float32)  # same order as obs.flat_points()
        rgb = np.asarray(obs.rgb, np.uint8)
        boxes, scores, cls = self.detect(rgb)
        masks = self.masks(rgb, boxes)
        owner = np.full(valid.shape, -1, np.int64)
        for k in range(len(masks)):  # best first: a pixel stays with the first detection claiming it
            owner[masks[k] & valid & (owner < 0)] = k
        labels = owner[obs.valid_mask()]
        labels = self._largest_parts(flat, labels, len(masks))
        present = [k for k in range(len(masks)) if np.count_nonzero(labels == k) >= c.min_points]
        if not present:
            return empty_segmentation(flat)
        remap = np.full(len(masks) + 1, -1, np.int64)
        remap[present] = np.arange(len(present))
        return Segmentation(flat, remap[labels], [c.prompts[cls[k]] for k in present], scores[present],
                            info={"boxes": boxes[present]})

    def _largest_parts(self, pts: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
        out = labels.copy()
        for s in range(k):
            idx = np.flatnonzero(labels == s)
            if len(idx) < 2:
                continue
            pairs = cKDTree(pts[idx]).query_pairs(self.config.connect_radius, output_type="ndarray")
            g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(idx), len(idx)))
            _, comp = connected_components(g, directed=False)
            out[idx[comp != np.bincount(comp).argmax()]] = -1
        return out
