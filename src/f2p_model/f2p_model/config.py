"""Configuration of the skill effect model (paper A.11), its losses and its training.

One dataclass per component, every default commented with where it comes from. ``to_dict`` /
``from_dict`` turn a config into plain JSON-able data and back, so a checkpoint (see
:mod:`f2p_model.store`) carries the exact config that built its weights. ``from_dict`` refuses
unknown keys: a checkpoint written by a newer schema fails loudly instead of loading half-right.

The model is configured by plain numbers and names only (skill names, relation names, parameter
dimensions); it does not import the simulator.
"""

from __future__ import annotations

import dataclasses
import itertools
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from f2p_core.scene import SEGMENT_POINTS

T = TypeVar("T", bound="ConfigBase")

#: Skill effect model architectures by name (paper §6: Points2Plans [2]; Stow-GNN and Binary-Pred are
#: the other two of Table 1). Today every ModelConfig builds the Points2Plans model of A.11.
ARCHITECTURES: tuple[str, ...] = ("points2plans",)

# Relation vocabularies of the paper (A.9), in the column order of the dataset's ``unary`` /
# ``binary`` arrays. They are repeated here (not imported from f2p_sim) so the model has no
# dependency on the simulator; a dataset whose vocabulary differs is caught by the trainer.
DEFAULT_UNARY: tuple[str, ...] = ("movable", "is_drawer", "drawer_open")
DEFAULT_BINARY: tuple[str, ...] = (
    "left", "right", "front", "behind", "above", "below", "in_contact", "boundary", "inside", "on",
)
DEFAULT_SKILLS: tuple[str, ...] = ("pick_place", "push", "open_drawer", "close_drawer")
# Continuous parameter dimension of each skill (A.10): pick_place (dx, dy, dz, dyaw), push
# (angle, distance), drawers (distance).
DEFAULT_PARAM_DIMS: dict[str, int] = {"pick_place": 4, "push": 2, "open_drawer": 1, "close_drawer": 1}


class ConfigBase:
    """``to_dict`` / ``from_dict`` for the config dataclasses (nested dataclasses and tuples)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (dicts, lists, numbers, strings): ``json.dumps`` takes it as is."""
        return _to_plain(self)

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Inverse of :meth:`to_dict`. Missing keys take their defaults; unknown keys are an error."""
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}.from_dict expects a dict, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown keys {unknown}; known are {sorted(names)}")
        return cls(**{k: _from_plain(hints[k], v) for k, v in data.items()})


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    return value


def _from_plain(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, ConfigBase):
        return hint.from_dict(value)
    if origin is tuple:
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_from_plain(item, v) for v in value)
    if origin is dict:
        return dict(value)
    return value


# ----------------------------------------------------------------------------------------------
# Encoder (PointConv, Wu et al. 2019), A.11 "Encoder"
# ----------------------------------------------------------------------------------------------


@dataclass
class SetAbstractionConfig(ConfigBase):
    """One PointConv set abstraction layer."""

    npoint: int = 128  # points kept by farthest point sampling (must be 1 when group_all)
    nsample: int = 8  # neighbours per sampled point, found by kNN (unused when group_all: all points)
    bandwidth: float = 0.1  # Gaussian kernel density bandwidth, metres
    mlp: tuple[int, ...] = (32,)  # widths of the shared per-point MLP (1x1 convs in the paper)
    group_all: bool = False  # one output point (the centroid) that groups every input point

    def __post_init__(self) -> None:
        if self.group_all and self.npoint != 1:
            raise ValueError(f"a group_all layer has npoint 1, got {self.npoint}")
        if self.npoint < 1:
            raise ValueError(f"npoint must be >= 1, got {self.npoint}")
        if not self.group_all and self.nsample < 1:
            raise ValueError(f"nsample must be >= 1, got {self.nsample}")
        if self.bandwidth <= 0:
            raise ValueError(f"bandwidth must be > 0, got {self.bandwidth}")
        if len(self.mlp) == 0 or min(self.mlp) < 1:
            raise ValueError(f"mlp needs at least one positive width, got {self.mlp}")


def _default_set_abstractions() -> tuple[SetAbstractionConfig, ...]:
    return (
        SetAbstractionConfig(npoint=128, nsample=8, bandwidth=0.1, mlp=(32,)),  # A.11: 6 -> 32 channels
        # A.11 says 16 points; the public Points2Plans code samples 64. We follow the paper.
        SetAbstractionConfig(npoint=16, nsample=16, bandwidth=0.2, mlp=(64,)),  # A.11: 35 -> 64
        SetAbstractionConfig(npoint=1, nsample=0, bandwidth=0.4, mlp=(128,), group_all=True),  # A.11: 67 -> 128
    )


@dataclass
class EncoderConfig(ConfigBase):
    """PointConv encoder: (M, P, 3) segment clouds -> (M, out_dim) features."""

    set_abstractions: tuple[SetAbstractionConfig, ...] = field(default_factory=_default_set_abstractions)
    weightnet_hidden: tuple[int, ...] = (8, 8)  # PointConv WeightNet 3 -> 8 -> 8 -> weightnet_out (Wu et al.)
    weightnet_out: int = 16  # PointConv's C_mid: weights per neighbour and feature channel
    densitynet_hidden: tuple[int, ...] = (16, 8)  # PointConv DensityNet 1 -> 16 -> 8 -> 1 (Wu et al.)
    gn_groups: int = 1  # GroupNorm groups of the feature MLPs (Points2Plans uses GroupNorm(1, C))
    centroid_embedding: bool = True  # add Linear(centroid) to the feature; not in A.11, see pointconv.py

    def __post_init__(self) -> None:
        sas = self.set_abstractions
        if len(sas) < 1:
            raise ValueError("the encoder needs at least one set abstraction layer")
        if not sas[-1].group_all:
            raise ValueError("the last set abstraction layer must be group_all (one feature per segment)")
        if any(sa.group_all for sa in sas[:-1]):
            raise ValueError("only the last set abstraction layer may be group_all")
        for prev, sa in itertools.pairwise(sas):
            if not sa.group_all and (sa.npoint > prev.npoint or sa.nsample > prev.npoint):
                raise ValueError(
                    f"layer with npoint {sa.npoint}, nsample {sa.nsample} cannot draw from {prev.npoint} points"
                )
        if self.gn_groups < 1:
            raise ValueError(f"gn_groups must be >= 1, got {self.gn_groups}")
        for sa in sas:
            for width in sa.mlp:
                if width % self.gn_groups:
                    raise ValueError(f"mlp width {width} is not divisible by gn_groups {self.gn_groups}")
        if self.weightnet_out < 1 or min(self.weightnet_hidden, default=1) < 1:
            raise ValueError("weight net widths must be positive")
        if min(self.densitynet_hidden, default=1) < 1:
            raise ValueError("density net widths must be positive")

    @property
    def out_dim(self) -> int:
        """Feature size per segment (128 in A.11)."""
        return self.set_abstractions[-1].mlp[-1]


# ----------------------------------------------------------------------------------------------
# Whole model, A.11 "Dynamics" and "Decoder"
# ----------------------------------------------------------------------------------------------


@dataclass
class ModelConfig(ConfigBase):
    """Skill effect model: encoder, identity encoding, per-skill dynamics, three decoders."""

    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    n_points: int = SEGMENT_POINTS  # points per object segment P (the dataset's resampling size)
    id_dim: int = 128  # object identity (sinusoidal positional encoding) size, A.11
    max_objects: int = 32  # rows of the identity table: object indices 0..max_objects-1
    id_base: float = 10000.0  # wavelength base of the sinusoidal encoding (PyTorch tutorial value)
    param_hidden: int = 128  # MLP_para: 2 layers of 128 with ReLU, A.11
    dyn_layers: int = 2  # transformer encoder layers of Dyn, A.11
    dyn_heads: int = 2  # attention heads of Dyn, A.11
    dyn_ff: int = 512  # feed-forward width of Dyn; not in the paper, 2x d_model as in Points2Plans configs
    dyn_dropout: float = 0.1  # not in the paper; PyTorch's default, which Points2Plans keeps
    # δX = W·Transformer(tokens) with W zero-initialised: not in the paper. A post-norm transformer's
    # output carries its (layer-normed) input, so without W "δX" starts near X itself and the model
    # must learn to cancel it for every object the skill does not touch; with W, X_{t+1} = X_t at
    # initialisation (prediction = detection) and training learns only the change.
    dyn_out_proj: bool = True
    # Relative-geometry attention bias in Dyn: not in A.11. Each head's attention logit of token q on
    # token k gets + MLP(s·(c_q − c_k)), c the segment centroids and the skill token placed at its acted
    # object's centroid; the MLP's last layer starts at zero (the transformer of A.11 until training says
    # otherwise). Without it a token learns where the others are only through one linear centroid
    # embedding among its PointConv features, and "what is inside the acted object moves with it" takes
    # more than one failure's data: with it, 28 carries teach the rule exactly (experiments/RESULTS.md,
    # "The position loss's power decides what a child can learn").
    dyn_relative_bias: bool = False
    dyn_bias_hidden: int = 64  # width of the two hidden layers of that MLP (one MLP per skill type)
    dyn_bias_scale: float = 10.0  # s: offsets in decimetres, so the MLP's ReLUs resolve centimetres
    dec_hidden: int = 64  # width of every decoder layer, A.11
    dec_p_layers: int = 3  # Dec_p linear layers, A.11
    dec_u_layers: int = 2  # Dec_u linear layers, A.11
    dec_b_layers: int = 3  # Dec_b linear layers, A.11
    skill_types: tuple[str, ...] = DEFAULT_SKILLS  # index i of `skill` tensors means skill_types[i]
    param_dims: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PARAM_DIMS))  # name -> dim of a
    unary_names: tuple[str, ...] = DEFAULT_UNARY  # column order of unary outputs
    binary_names: tuple[str, ...] = DEFAULT_BINARY  # last-axis order of binary outputs

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """As :meth:`ConfigBase.from_dict`; a config saved before ``dyn_out_proj`` existed describes
        a model without the projection, so its checkpoint keeps loading."""
        if isinstance(data, dict) and "dyn_out_proj" not in data:
            data = {**data, "dyn_out_proj": False}
        return super().from_dict(data)

    def __post_init__(self) -> None:
        sa1 = self.encoder.set_abstractions[0]
        if not sa1.group_all and (sa1.npoint > self.n_points or sa1.nsample > self.n_points):
            raise ValueError(
                f"n_points {self.n_points} is fewer than the first layer's npoint {sa1.npoint} / nsample {sa1.nsample}"
            )
        if self.id_dim < 2 or self.id_dim % 2:
            raise ValueError(f"id_dim must be even and >= 2 (sin/cos pairs), got {self.id_dim}")
        if self.max_objects < 1:
            raise ValueError(f"max_objects must be >= 1, got {self.max_objects}")
        if self.latent_dim % self.dyn_heads:
            raise ValueError(f"latent dim {self.latent_dim} is not divisible by dyn_heads {self.dyn_heads}")
        if not 0.0 <= self.dyn_dropout < 1.0:
            raise ValueError(f"dyn_dropout must be in [0, 1), got {self.dyn_dropout}")
        if self.dyn_bias_scale <= 0:
            raise ValueError(f"dyn_bias_scale must be > 0, got {self.dyn_bias_scale}")
        for name in ("param_hidden", "dyn_layers", "dyn_ff", "dec_hidden", "dyn_bias_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("dec_p_layers", "dec_u_layers", "dec_b_layers"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be >= 2 (hidden + output layer), got {getattr(self, name)}")
        if len(self.skill_types) == 0 or len(set(self.skill_types)) != len(self.skill_types):
            raise ValueError(f"skill_types must be non-empty and unique, got {self.skill_types}")
        if set(self.param_dims) != set(self.skill_types):
            raise ValueError(f"param_dims keys {sorted(self.param_dims)} != skill_types {sorted(self.skill_types)}")
        bad = {k: v for k, v in self.param_dims.items() if int(v) < 1}
        if bad:
            raise ValueError(f"param dims must be >= 1, got {bad}")
        for name in ("unary_names", "binary_names"):
            names = getattr(self, name)
            if len(names) == 0 or len(set(names)) != len(names):
                raise ValueError(f"{name} must be non-empty and unique, got {names}")

    @property
    def feat_dim(self) -> int:
        """PointConv feature per segment P_t^i (128)."""
        return self.encoder.out_dim

    @property
    def latent_dim(self) -> int:
        """X_t^i = P_t^i ⊕ ID_i (256); also the transformer's d_model."""
        return self.feat_dim + self.id_dim

    @property
    def n_unary(self) -> int:
        return len(self.unary_names)

    @property
    def n_binary(self) -> int:
        return len(self.binary_names)

    @property
    def n_skills(self) -> int:
        return len(self.skill_types)

    @property
    def max_param_dim(self) -> int:
        """A: width of the padded ``params`` tensors."""
        return max(self.param_dims.values())


# ----------------------------------------------------------------------------------------------
# Losses and training, A.11 "Training Details"
# ----------------------------------------------------------------------------------------------


@dataclass
class LossConfig(ConfigBase):
    """L = w_d L_detection + w_r L_regularization + w_p L_pos + w_q L_prediction (A.11: all weights 1)."""

    pos_a: float = 12.0  # a in L_pos = b·sqrt(a·||δp − Δp||), A.11 (from Points2Plans)
    pos_b: float = 5.0  # b in L_pos, A.11
    pos_eps: float = 1e-12  # added under the norm's square root: finite gradient at a perfect prediction
    # The power p of L_pos = b·(a·||δp − Δp||)^p; A.11's 0.5 is concave in the error: its gradient grows
    # without bound as an object's error goes to 0 and shrinks on large errors, so a model that cannot yet
    # tell which objects move is pulled hardest to predict that nothing does (fine-tuning only sets
    # another: `f2p_learner.finetune.FinetuneConfig.position_power`).
    pos_power: float = 0.5
    w_detection: float = 1.0  # A.11 sums the four terms unweighted
    w_regularization: float = 1.0
    w_position: float = 1.0
    w_prediction: float = 1.0
    # Stop the gradient through the regularisation target Enc(O_{t+1}). Points2Plans does not; we do
    # by default so that the term trains Dyn towards the encoder and not the encoder towards the
    # (initially poor) prediction (the BYOL/SPR argument). False reproduces Points2Plans.
    stop_grad_target: bool = True
    # Relation balancing (departure from A.11's plain CE): `inside` and `boundary` hold for about 1 %
    # of object pairs in our data, and with plain CE the model never predicted them (F1 0 after 20
    # epochs on 2k transitions). Positive terms of relation r are weighted by min(neg_r/pos_r,
    # max_pos_weight), counted on the training split by the trainer and stored here (empty: 1).
    balance_relations: bool = True
    max_pos_weight: float = 10.0
    unary_pos_weight: tuple[float, ...] = ()
    binary_pos_weight: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        self.unary_pos_weight = tuple(float(v) for v in self.unary_pos_weight)
        self.binary_pos_weight = tuple(float(v) for v in self.binary_pos_weight)
        if self.max_pos_weight < 1 or any(v <= 0 for v in (*self.unary_pos_weight, *self.binary_pos_weight)):
            raise ValueError("max_pos_weight must be >= 1 and relation pos weights > 0")
        if self.pos_a <= 0 or self.pos_b <= 0:
            raise ValueError(f"pos_a and pos_b must be > 0, got {self.pos_a}, {self.pos_b}")
        if not 0 < self.pos_power <= 2:
            raise ValueError(f"pos_power must be in (0, 2], got {self.pos_power}")
        if self.pos_eps <= 0:
            raise ValueError(f"pos_eps must be > 0 (it keeps the sqrt differentiable), got {self.pos_eps}")
        for name in ("w_detection", "w_regularization", "w_position", "w_prediction"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


#: Learning-rate schedules of `TrainConfig.schedule` (and of fine-tuning, FinetuneConfig.schedule).
SCHEDULES = ("cosine", "constant")


@dataclass
class TrainConfig(ConfigBase):
    """Optimiser and schedule (A.11 "Training Details")."""

    # Adam peak learning rate. A.11 uses 1e-4 for 40,000 transitions on a GPU; at the 12,000 of the
    # default scale here 3e-4 reaches in 10 epochs what 1e-4 does not (measured on 2,000 transitions,
    # 4 epochs, both constant: validation detection F1 0.878 vs 0.696); the cosine decay is on top.
    lr: float = 3e-4
    schedule: str = "cosine"  # "cosine": lr decays to lr * lr_final_ratio over the run; "constant"
    lr_final_ratio: float = 0.05
    batch_size: int = 16  # transitions per step; not in the paper, sized for 2 CPU cores
    epochs: int = 10  # pre-training epochs, A.11
    finetune_epochs: int = 200  # fine-tuning epochs on D ∪ D+, A.11
    seed: int = 0  # torch / numpy seed of a run

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not 0.0 <= self.lr_final_ratio <= 1.0:
            raise ValueError(f"lr_final_ratio must be in [0, 1], got {self.lr_final_ratio}")
        for name in ("batch_size", "epochs", "finetune_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def tiny_model_config(**overrides) -> ModelConfig:
    """The A.11 architecture at toy widths (16 points per segment, latent 32): for tests, examples
    and smoke runs where the full model's 4.7 M parameters would only cost time."""
    enc = EncoderConfig(
        set_abstractions=(
            SetAbstractionConfig(npoint=16, nsample=4, bandwidth=0.1, mlp=(8,)),
            SetAbstractionConfig(npoint=4, nsample=4, bandwidth=0.2, mlp=(16,)),
            SetAbstractionConfig(npoint=1, nsample=0, bandwidth=0.4, mlp=(16,), group_all=True),
        ),
        weightnet_hidden=(4,), weightnet_out=4, densitynet_hidden=(4,),
    )
    kw = dict(encoder=enc, n_points=16, id_dim=16, max_objects=16, param_hidden=16, dyn_ff=32, dyn_dropout=0.0,
              dec_hidden=16)
    kw.update(overrides)
    return ModelConfig(**kw)
