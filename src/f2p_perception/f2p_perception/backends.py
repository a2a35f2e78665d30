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

import dataclasses
import importlib
import typing
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import yaml

from f2p_perception.observation import CameraObservation
from f2p_perception.segmentation import Segmentation


class Backend(Protocol):
    name: str

    def segment(self, obs: CameraObservation) -> Segmentation: ...


#: name -> "module:Config" of the dataclass of the backend's parameters (None: it takes none)
CONFIGS: dict[str, str | None] = {
    "sim_gt": None,
    "geometric": "f2p_perception.geometric:GeometricConfig",
    "dino_sam": "f2p_perception.dino_sam:DinoSamConfig",
}


def _sim_gt(config: None) -> Backend:
    from f2p_perception.sim_gt import SimGroundTruthBackend

    return SimGroundTruthBackend()


def _geometric(config) -> Backend:
    from f2p_perception.geometric import GeometricBackend

    return GeometricBackend(config)


def _dino_sam(config) -> Backend:
    from f2p_perception.dino_sam import DinoSamBackend

    return DinoSamBackend(config)


#: name -> factory(config) -> Backend, the config being `backend_config(name, params)`
BACKENDS: dict[str, Callable[..., Backend]] = {
    "sim_gt": _sim_gt,
    "geometric": _geometric,
    "dino_sam": _dino_sam,
}


def _check_name(name: str) -> None:
    if name not in BACKENDS:
        raise ValueError(f"unknown perception backend {name!r}; accepted: {', '.join(sorted(BACKENDS))}")


def _typed(key: str, hint: Any, value: Any) -> Any:
    """`value` (as YAML or a command line gives it) as the field type `hint`; ValueError naming `key`."""
    args = typing.get_args(hint)
    if type(None) in args:  # Optional[X]
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"parameter {key!r} must be a list, got {value!r}")
        if args and args[-1] is not Ellipsis and len(value) != len(args):
            raise ValueError(f"parameter {key!r} must have {len(args)} items, got {len(value)}")
        item = args[0] if args else Any
        return tuple(_typed(key, item, v) for v in value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (bool, int, str) and isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    if hint is Any:
        return value
    raise ValueError(f"parameter {key!r} must be {getattr(hint, '__name__', hint)}, got {value!r}")


def backend_config(name: str, params: Mapping[str, Any] | None = None):
    """The parameters of backend `name` as its config dataclass (`CONFIGS`), filled from `params` (field ->
    value, as YAML gives them; missing fields keep their defaults). ValueError naming the backend and an
    unknown key, a value of the wrong type or one the dataclass refuses. None for a backend without any."""
    _check_name(name)
    params = dict(params or {})
    ref = CONFIGS[name]
    if ref is None:
        if params:
            raise ValueError(f"perception backend {name!r} takes no parameters, got {sorted(params)}")
        return None
    module, _, cls_name = ref.partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(fields))
    try:
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; known: {', '.join(fields)}")
        return cls(**{k: _typed(k, hints[k], v) for k, v in params.items()})
    except ValueError as exc:
        raise ValueError(f"perception backend {name!r}: {exc}") from None


def parse_backend_params(text: str) -> dict[str, Any]:
    """A YAML mapping written as one string (a node parameter: `backend_params: "{eps: 0.012}"`); "" is {}."""
    if not text.strip():
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"backend_params is not YAML: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"backend_params must be a mapping of parameter names to values, got {text!r}")
    return value


def make_backend(name: str, **params) -> Backend:
    """The backend called `name`, configured by `params` (its config dataclass's fields, `backend_config`)."""
    config = backend_config(name, params)  # ValueError naming an unknown backend first
    return BACKENDS[name](config)
