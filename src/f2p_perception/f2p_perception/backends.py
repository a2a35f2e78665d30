"""The registry of perception backends: one interface, the backend chosen by a parameter (issue 8).

Every backend has a `name` and a `segment(observation) -> Segmentation` method: it turns one
`CameraObservation` (a world-frame cloud, organised or not, plus what the camera delivered) into
per-point segment labels with a class and a confidence per segment. `perception.Perception` adds
identities and the fixed-size samples and returns the `PerceivedScene` the stack reads.

| name        | needs                                                  | for |
|-------------|--------------------------------------------------------|-----|
| `sim_gt`    | simulator labels                                       | simulation experiments (A.7) |
| `geometric` | a cloud (organised is better)                          | a robot without a GPU |
| `dino_sam`  | organised cloud, RGB, depth, intrinsics, pose, weights | open-vocabulary models (§3) |

Factories import their backend lazily: choosing `sim_gt` never imports open3d or transformers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from f2p_perception.observation import CameraObservation
from f2p_perception.segmentation import Segmentation


class Backend(Protocol):
    name: str

    def segment(self, obs: CameraObservation) -> Segmentation: ...


def _sim_gt(**params) -> Backend:
    from f2p_perception.sim_gt import SimGroundTruthBackend

    if params:
        raise TypeError(f"sim_gt takes no parameters, got {sorted(params)}")
    return SimGroundTruthBackend()


def _geometric(**params) -> Backend:
    from f2p_perception.geometric import GeometricBackend, GeometricConfig

    return GeometricBackend(GeometricConfig(**params))


def _dino_sam(**params) -> Backend:
    from f2p_perception.dino_sam import DinoSamBackend, DinoSamConfig

    return DinoSamBackend(DinoSamConfig(**params))


#: name -> factory(**params) -> Backend
BACKENDS: dict[str, Callable[..., Backend]] = {
    "sim_gt": _sim_gt,
    "geometric": _geometric,
    "dino_sam": _dino_sam,
}


def make_backend(name: str, **params) -> Backend:
    """The backend called `name`, configured by `params` (its config dataclass's fields)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown perception backend {name!r}; accepted: {', '.join(sorted(BACKENDS))}")
    try:
        return BACKENDS[name](**params)
    except TypeError as exc:  # an unknown keyword: say which backend refused it
        raise ValueError(f"perception backend {name!r}: {exc}") from exc
