"""Fail2Progress inference (paper §5, A.13): SVGD over states, then over actions.

States (Eq. 4/5). A state particle s is a planar pose offset (dx, dy, dyaw) of every *movable*
object, applied segment-wise to the failure observation: ξ(s)O^F (`model.transform_segments`,
rotation about each segment's centroid). Static furniture never moves. The log target is

    log Γ(R^F | ξ(s)O^F) + log P(s)

where the first term is the model's detection (no action) log-likelihood of the failure's
relations before the skill — every relation type the event compares, true ones through log p and
false ones through log(1 − p), summed over the entries as in Eq. 4 (`InferenceConfig.likelihood`)
— and P(s) is uniform over feasible states, implemented as a **soft barrier** (not a projection):
a quadratic penalty on (a) the overlap of
movable objects' footprints that did not overlap in O^F and (b) footprint centres leaving the
support they stood on, plus a projection of the offsets onto ±`max_offset` (the uniform prior's
box). Gradients flow through the encoder to the offsets.

Failure relations. The mismatches of the event between the relations the plan predicted after the
skill and those observed. A mismatch on a relation whose observed value the skill did not change
and that the model already gets wrong when it *detects* relations in O^F (no action) is a
detection error, not a mispredicted effect: no action changes it, so it is left out of the failure
relations (Eq. 6's entropy and the validation of `finetune.failure_accuracy`). On a transport
failure of a small pre-trained model (`tiny_model_config`, 600 transitions, detection F1 0.75) 21
of 37 mismatches were such errors (e.g. front/behind between a table and a marker, which nothing
moved); the better the detector, the fewer there are. Likewise, where the event holds the scene
perceived after the skill (O^F'), a mismatch the model makes again when it detects relations in O^F'
is its decoders misreading the outcome, not a wrong effect: the dynamics predicted what happened and
the decoders read it as they read the prediction, so no D+ of this skill teaches it, and it is left
out too (`LearnerConfig.skip_misread`). And a prediction near the threshold (within
`LearnerConfig.contradiction_margin` of it, e.g. 0.61 for a capsule left of its cup's centre by 2 cm)
is a model unsure of the outcome, which the observation does not contradict (§4: a failure is the
observation contradicting the prediction). Both come from HTO (experiments/RESULTS.md, "What HTO's
failures teach"): the parent reads a capsule in a cup as also on the table, before and after placing
it there, and is unsure where in the cup it lands, so four of five failure searches found a capsule
placement to learn from instead of a cup carrying its capsules, the interaction HTO needs (§6).

Actions (Eq. 6/7). With the states fixed, an action particle a is the failed skill's parameter
vector; the log target is ln H(Γ(R | ξ(s)O^F, φ^F, a)), the entropy of the model's prediction of a
set R of relations after the skill, over a uniform prior on the skill's parameter bounds
(projection), β = 1. Which relations R holds is `InferenceConfig.action_relations`
(`ActionRelations`): the *failure relations* (those whose prediction was wrong), or every relation
the skill can change, those of the moved objects (the acted one and its contents) with every other
object. The paper's Eq. 6 takes R^F, which §5 defines as the relations of the whole failure
scene; its unchanged pairs (static furniture among itself) have an entropy no action moves, so the
moved objects' relations are that set less its constant terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from f2p_core.classes import can_repose
from f2p_core.relations import BINARY, THRESHOLD, UNARY
from f2p_core.skills import MAX_PARAMS, PARAM_BOUNDS, SKILL_NAMES, YAW_CHANGE_MAX
from f2p_learner.names import parse_name
from f2p_learner.svgd import SVGD, RBFKernel, SVGDResult, gradient_ascent
from f2p_model.model import SkillEffectModel, segment_centroids, transform_segments, yaw_rotation
from f2p_model.pointconv import tile_groupings
from f2p_sim.tasks import SPAWN_MARGIN, SPAWN_X, TABLE_CENTERS, TABLE_SIZE


class Kernel(str, Enum):
    """The kernel k(s_j, s_i) of the particle update (Eq. 5): RBF is SVGD (Fail2Progress); NONE drops the
    kernel, so each particle ascends its own gradient alone (the Gradient baseline, Sec. 6)."""

    RBF = "rbf"
    NONE = "none"

    @classmethod
    def parse(cls, name: str | Kernel) -> Kernel:
        return parse_name(cls, name, "kernel")


class Likelihood(str, Enum):
    """How Eq. 4's log-likelihood combines relation values: SUM, every value one term as written; MEAN,
    averaged (`InferenceConfig.likelihood`)."""

    SUM = "sum"
    MEAN = "mean"

    @classmethod
    def parse(cls, name: str | Likelihood) -> Likelihood:
        return parse_name(cls, name, "likelihood")


class ActionRelations(str, Enum):
    """The relations whose predicted entropy the action particles raise (Eq. 6/7, module docstring).

    FAILURE: the failure relations only (the mismatches less detection errors). On the transport
    failures of the full-scale model they are front/behind among the carried items and the bag,
    above(item, table) and inside: none relates an item to the markers the goal names, so the
    entropy peaks between the tables or at dx ±0.15–0.2 m and D+ rarely shows items between the
    markers (experiments/RESULTS.md, "Why D+ misses the band").
    MOVED: every relation (unary and both directions of each binary) of the objects the skill moves
    (the acted object and, transitively, what is inside it in R^F) with every other visible object.
    ALL: every relation of every visible object, Eq. 6 as written (R^F = R̂_{k-1}, Sec. 4): MOVED
    plus the pairs no skill parameter changes (furniture among itself), near-constant terms that
    only dilute ln Σ_r H_r."""

    FAILURE = "failure"
    MOVED = "moved"
    ALL = "all"

    @classmethod
    def parse(cls, name: str | ActionRelations) -> ActionRelations:
        return parse_name(cls, name, "action relations")


class StateInit(str, Enum):
    """Where the state particles start, and what the prior-drawing baselines draw (`prior_states`).

    LOCAL: SVGD and Gradient start as Gaussian offsets of `init_spread` around O^F; Sampling, Small
    and Large draw every movable object's offset independently and uniformly in the prior's box (the
    behaviour until 2026-12-06).
    PRIOR: every method draws from the uniform prior over *feasible* states of A.13.1 (P(S)):
    each free movable object anywhere its centre stays over its support within ±`max_offset`, and
    contents moved rigidly with their container (a state with an item out of its box is not the
    failure's situation; `_container_of`); SVGD and Gradient start each particle at the best of
    `state_starts` such draws by the state posterior (Eq. 4's likelihood and the barrier). Tried
    because on the full transport run Sampling, whose states were uniform draws, was the best
    learner; on the development scenes PRIOR solved 31 of 60 against LOCAL's 39, within what the
    fine-tuning seed alone changes (experiments/RESULTS.md, "Where the particles start, the anchors,
    and how much of a learning run is chance"), so LOCAL stays the default."""

    LOCAL = "local"
    PRIOR = "prior"

    @classmethod
    def parse(cls, name: str | StateInit) -> StateInit:
        return parse_name(cls, name, "state init")


class StateRelations(str, Enum):
    """The relations of R^F the state particles must keep (Eq. 4's likelihood).

    ALL: every relation of the failure scene before the skill, Eq. 4 as written (R^F = R̂_{k-1}).
    MOVED: the relations among the objects the failed skill moves (the acted object and its contents,
    `moved_objects`), their unary ones included: the failure's own situation (Fig. 2: "the state
    posterior distribution captures failure relations (e.g., objects inside the box)"), while where
    that group stands relative to everything else is left to the prior P(S).

    Why MOVED: under ALL the front/behind relations (A.9: centres compared along x) between a
    transport failure's box or items and the markers and tables pin the box's start x to within a
    few cm of O^F, so every D+ row starts the box where the failure did, and the children predicted
    the contents to travel only for boxes starting near there: on the full run's test scenes every
    child believed its plan (p(goal) > 1e-5) for boxes starting at x < 0.40 and for none starting
    beyond (experiments/RESULTS.md, "D+ starts every box where the failure did")."""

    ALL = "all"
    MOVED = "moved"

    @classmethod
    def parse(cls, name: str | StateRelations) -> StateRelations:
        return parse_name(cls, name, "state relations")


#: the planar offset bound (m) of a coordinate the prior leaves free (`InferenceConfig.unmoved_anywhere`)
UNBOUNDED_M = 2.0


@dataclass
class InferenceConfig:
    particles: int = 20  # M (A.5)
    # State iterations and step size (the paper gives neither). What they are measured by: the share of
    # the relations Eq. 4 keeps that the model still detects under the particles (`state_satisfaction`),
    # and their spread against Gradient's (the kernel's work). On the five failures of Table 4 (transport,
    # the order-free parent `experiments/parent_slots16`, particles from the feasible prior, M = 20;
    # experiments/RESULTS.md "SVGD stopped before it converged"), (iterations, step) -> R^F kept, mean
    # pairwise distance of the particles (Gradient's), state inference on 2 cores:
    # (8, 0.04) 0.85-0.86, 0.57-0.60 m (0.43-0.49), 0.8 s; (12, 0.04) 0.94-0.96; (16, 0.04) 0.97-0.98;
    # (30, 0.04) 0.98-0.99, 0.50-0.54 (0.39-0.46), 2.8 s; (8, 0.01) 0.98-1.00; (12, 0.02) 0.985-0.994,
    # 0.55-0.59 (0.41-0.46), 1.1 s; (20, 0.02) 0.996-0.998, 0.54-0.58 (0.39-0.45), 2.0 s. The prior draws
    # themselves keep 0.93-0.94: Adam moves every coordinate by about its step whatever the size of its
    # gradient, so at (8, 0.04) the particles were still in the transient that shakes the contents out
    # of their box, and D+ kept 83 % of these relations in simulation against Sampling's 99 %. Until
    # 2026-12-06 (session 20) the defaults were (8, 0.04), chosen when particles started within 3 cm of
    # O^F (`StateInit.LOCAL`), where the first steps have little to undo.
    state_iterations: int = 20
    state_lr: float = 0.02  # Adam step of the state particles (m, rad); `lr` is the action particles'
    # Action iterations, measured on the demo's failure with its action-sensitive child v0002 (the
    # pre-trained v0001 predicts nearly the same relations whatever the parameters: its entropy is flat
    # to 4 digits under any iteration count; fine-tuning on D+ teaches the effect), iterations (lr) ->
    # mean entropy of the failure relations (start 0.396 nats), action std: 8 (0.06) 0.457, 0.096; 10
    # (0.04) 0.457, 0.109; 12 (0.04) 0.457, 0.102; 15 (0.04) 0.459, 0.100; 20 (0.04) 0.462, 0.107; 30
    # (0.04) 0.465, 0.113. Ten give 92 % of twenty's rise at half the cost, with the same spread. The
    # child of a later demo run (same failure, 10 iterations in its D+): start 0.361, 10 -> 0.445, 20 ->
    # 0.460 (85 %), 30 -> 0.472.
    action_iterations: int = 10
    # Where each action particle starts: the best, by Eq. 7's objective on its own state, of this many
    # uniform draws (1: a single uniform draw). The paper does not say where its particles start. The
    # pre-trained model's entropy over the placement is flat but for narrow ridges (the placements
    # that put the contents at a relation's boundary), so gradient steps from one uniform draw stay
    # near where they start: on two transport failures of the committed parent, ten SVGD iterations
    # from uniform draws reached a mean entropy of 0.14 / 0.17 nats, a hundred 0.17-0.19 / 0.18-0.20,
    # while the Sampling baseline's rejection of up to 20,000 draws reached 0.29 / 0.30 in 50-70 s.
    action_starts: int = 1
    lr: float = 0.04  # Adam step size of the action particles (A.13.3; the states': `state_lr`)
    max_offset: float = 0.25  # |dx|, |dy| of a state particle (m); |dyaw| ≤ π/4 (0.15 before 2026-12-06)
    init_spread: float = 0.03  # particles start as small random offsets around O^F (m), StateInit.LOCAL
    # The defaults of 2026-12-06 (PRIOR, MOVED, 0.25 m, reachable, Eq. 7 over MOVED): before them
    # (LOCAL, ALL, 0.15 m, not reachable, FAILURE) Eq. 4 over every relation of R^F pinned the box's start
    # within 2.5 cm of O^F, so each child learned the effect for boxes starting where its failure's did
    # and believed none of its plans for boxes far from it (experiments/RESULTS.md, "D+ starts every box
    # where the failure did"): on the full run's seed-0 failure, 100 fresh scenes, five fine-tuning seeds
    # of the old settings solved 17-61 % (mean 37), three of these 91 % each.
    state_init: str = StateInit.PRIOR.value  # where the state particles start (`StateInit`)
    state_starts: int = 1  # StateInit.PRIOR: each state particle starts at the best of this many prior draws
    state_relations: str = StateRelations.MOVED.value  # the relations of R^F Eq. 4 keeps (`StateRelations`)
    # Particles kept in the robot's workspace (`action_bounds`, `prior_states`): a prior draw starts a free
    # object on a table within tasks.SPAWN_X (where the arm reaches it), and a pick-place particle's
    # placement bounds follow its own state's acted object, so the placement stays over the tables
    # (the bounds of `_placement_bounds` are displacements from the object's place in O^F). Off, a state
    # that moved the box by 0.25 m moved its placement box with it: on dev failure 1 (box at x 0.42) 10 of
    # 18 D+ states started the box beyond reach and 1 of 18 placed it on table B (experiments/RESULTS.md).
    reachable: bool = True
    # Contents move rigidly with their container in the posterior as in the prior (`attach_contents`).
    # Off by default: SVGD's Adam steps move every coordinate about lr whatever its gradient, so contents
    # stepped on their own drift within their box and some of the moved group's relations are lost (the
    # end-to-end test's failure: kept 0.795 of them, rigid 0.950, O^F 0.970) -- yet the children learned
    # from the drifting D+ solved more fresh scenes: on the full run's seed-0 failure, fine-tuning seeds
    # 0/1, 91/91 % of test scenes 1000-1099 off against 83/74 % on (transport.yaml `diag-reach`,
    # `diag-rigid`). Fresh scenes place their items anywhere in the box; the drift shows the model
    # items at more places in it than the failure's (experiments/RESULTS.md, 2026-12-06).
    rigid_contents: bool = False
    # The objects the failed skill does not move (`moved_objects`) may stand on any static support of
    # the scene at the height of their own (both tables), chosen uniformly per particle at the prior
    # draw (`Supports`, `prior_states`); the barrier then keeps each on the support nearest to it. The
    # paper's P(S) is uniform over feasible states (A.13.1); with StateRelations.MOVED where the rest
    # stands is the prior's. Off, a particle moved every object only within ±max_offset of O^F, on its
    # own table: every D+ row of an HTO step-1 cup carry had the other cup on table A, and its child
    # placed cup_2 on the wrong side of cup_1 on table B in 12 of 15 fresh scenes (experiments/RESULTS.md,
    # "What HTO's failures teach"). Off by default (the transport runs were made without it).
    other_supports: bool = False
    # The objects the failed skill does not move (`Supports.unmoved`) drawn uniformly over the whole
    # footprint of the support they stand on (within reach), their contents with them, instead of within
    # ±max_offset of where they stood in O^F; SVGD does not bound them (the barrier keeps them feasible).
    # The paper's P(S) is uniform over all feasible states. Why: with ±max_offset the other cup of an HTO
    # carry stayed on the side of the carried cup it had in O^F (17 of 20 D+ rows of the second development
    # failure), and the children predicted the other cup to travel with the carried one from 1-step
    # predictions on fresh scenes where it stood on the other side (experiments/RESULTS.md, "Rollouts drift").
    unmoved_anywhere: bool = False
    # With other_supports, what sits inside an object that may stand on another support gets SVGD bounds
    # around every allowed support too (its container's, widened by how far the container's turn swings
    # it), as the prior draws it there with its container (`attach_contents`). Without it (as the
    # other_supports runs of session 23 were made) the contents kept their own ±max_offset box: on HTO's
    # development failures the other cup's capsule was clamped at y +0.02 / +0.06, off its cup and
    # between the tables, in every D+ row that put the cup on table B, so no row showed a capsule in
    # the other cup staying where it stood (experiments/RESULTS.md, "The other cup's capsule"). Off by
    # default as other_supports is (a learning record's settings say which it was made with).
    relocated_contents: bool = False
    barrier_weight: float = 200.0  # soft feasibility barrier (1/m²)
    kernel: str = Kernel.RBF.value  # `Kernel`: "rbf" (Fail2Progress) or "none" (the Gradient baseline)
    action_objective: str = "joint"  # Eq. 7's ln H: "joint" or "per_relation" (`action_log_prob`)
    # "sum": the log-likelihood summed over relation values as in Eq. 4; "mean": averaged. Measured
    # on a transport failure of v0002 (M = 20, 20 iterations): mean -> the model keeps 0.928 of R^F,
    # items stay inside their container in 57 % of particles, diversity 0.50 m (the kernel's repulsion
    # outweighs a likelihood divided by ~700 values); sum -> 0.978, 100 %, 0.10 m. The barrier is
    # scaled alike.
    likelihood: str = Likelihood.SUM.value  # `Likelihood`
    action_relations: str = ActionRelations.MOVED.value  # the relations of Eq. 7's entropy (`ActionRelations`)
    seed: int = 0


@dataclass
class FailureTensors:
    """What inference needs from a failure event, as tensors."""

    points: Tensor  # (N, P, 3) O^F segments
    mask: Tensor  # (N,) visible segments
    movable: Tensor  # (N,) bool
    box_lo: Tensor  # (N, 3)
    box_hi: Tensor  # (N, 3)
    unary_before: Tensor  # (N, U) bool, R^F
    binary_before: Tensor  # (N, N, R) bool
    relation_types: tuple[str, ...]  # relation names the failure compares
    failure_relations: list[tuple[int, int, int]]  # (relation index in UNARY+BINARY, i, j or -1)
    skill: int  # model skill index
    acted: int
    param_low: Tensor  # (A,) uniform prior box of the skill's parameters (padded dims 0)
    param_high: Tensor
    params: Tensor  # (A,) the failed parameters
    relative_xy: bool = False  # params[:2] displace the acted object from its place in O^F (pick_place)

    @cached_property
    def containers(self) -> Tensor:
        """(N,) the movable object each visible movable object sits inside in R^F, -1 if none
        (`_container_of`); computed once per failure, read by every prior draw and posterior step."""
        return _container_of(self, self.movable & self.mask)


def _support_of(lo: Tensor, hi: Tensor, static: Tensor) -> Tensor:
    """Index of the static object each object stands on (its footprint centre over it, the
    highest top below its bottom), -1 if none: lo/hi (N, 3), static (N,) bool -> (N,)."""
    c = (lo + hi) / 2
    over = ((c[:, None, :2] >= lo[None, :, :2]) & (c[:, None, :2] <= hi[None, :, :2])).all(-1)  # (N, N)
    below = hi[None, :, 2] <= lo[:, None, 2] + 0.02
    ok = over & below & static[None, :]
    ok.fill_diagonal_(False)
    height = torch.where(ok, hi[None, :, 2].expand_as(ok), torch.full_like(ok, -1e9, dtype=lo.dtype))
    best = height.argmax(dim=1)
    return torch.where(ok.any(dim=1), best, torch.full_like(best, -1))


@dataclass
class Supports:
    """Where each object of a failure may stand in a state particle (`InferenceConfig.other_supports`).

    `own` (N,): the static support each object stands on in O^F (`_support_of`), -1 if none.
    `allowed` (N, N): allowed[i, j] when object i may stand on static object j: its own support, and with
    other_supports every static support whose top is within 2 cm of its own's for a free movable object
    the failed skill does not move (`moved_objects`; contents follow their container). `shift` (N, N, 2):
    the planar offset that takes object i to the same place on support j as it has on its own (the
    supports' footprint centres' difference; 0 for its own), the centre of i's ±max_offset box there."""

    own: Tensor
    allowed: Tensor
    shift: Tensor
    unmoved: Tensor  # (N,) free movable objects on a support that the failed skill does not move

    @property
    def relocatable(self) -> Tensor:
        """(N,) objects that may stand on a support other than their own."""
        return self.allowed.sum(1) > 1

    def nearest(self, ft: FailureTensors, centre: Tensor) -> Tensor:
        """(M, N) the allowed support nearest each object's footprint centre `centre` (M, N, 2) (the one
        the barrier keeps it on; 0 m from a footprint it is over), `own` where only one is allowed."""
        lo, hi = ft.box_lo[:, :2], ft.box_hi[:, :2]  # (N, 2) of every object as a support
        gap = (torch.relu(lo[None, None] - centre[:, :, None]) + torch.relu(centre[:, :, None] - hi[None, None]))
        dist = gap.norm(dim=-1).masked_fill(~self.allowed[None], float("inf"))  # (M, N, N)
        near = dist.argmin(-1)
        return torch.where(self.relocatable[None], near, self.own[None].expand_as(near))


def supports(ft: FailureTensors, other_supports: bool) -> Supports:
    """The supports each object of `ft` may stand on in a state particle (`Supports`)."""
    n = ft.points.shape[0]
    static = ~ft.movable & ft.mask
    own = _support_of(ft.box_lo, ft.box_hi, static)
    allowed = torch.zeros(n, n, dtype=torch.bool)
    has = own >= 0
    allowed[has.nonzero(as_tuple=True)[0], own[has]] = True
    centre = (ft.box_lo + ft.box_hi)[:, :2] / 2
    shift = torch.zeros(n, n, 2)
    free = ft.movable & ft.mask & (ft.containers < 0) & ~moved_objects(ft) & has
    if other_supports:
        top = ft.box_hi[:, 2]
        level = (top[None, :] - top[own.clamp_min(0)][:, None]).abs() <= 0.02  # (N, N)
        allowed = allowed | (free[:, None] & static[None, :] & level)
        shift = centre[None, :, :] - centre[own.clamp_min(0)][:, None, :]
        shift = shift * allowed[..., None]
    return Supports(own, allowed, shift, free)


def _container_of(ft: FailureTensors, movable: Tensor) -> Tensor:
    """(N,): for each object, the movable object it is inside of in R^F (the first if several), -1 if
    none. Contents and their container are one feasibility constraint of the prior P(s): a state in
    which an item has left its box is not the failure's situation. Without it the support barrier
    only kept every item over the table the box stands on, and on a transport failure the items left
    their container in most D+ scenes (the particles move objects independently; the likelihood's few
    `inside` entries are outweighed by the hundreds of others), so D+ taught items that sometimes
    travel with their box and sometimes do not."""
    inside = ft.binary_before[..., BINARY.index("inside")] & movable[None, :] & movable[:, None]  # (N, N) i in j
    inside = inside & ~torch.eye(inside.shape[0], dtype=torch.bool)
    first = inside.float().argmax(dim=1)
    return torch.where(inside.any(dim=1), first, torch.full_like(first, -1))


def moved_objects(ft: FailureTensors) -> Tensor:
    """(N,) bool: the objects the failed skill moves, by R^F: the acted object and, transitively,
    the movable objects inside it (a bag's items travel with it)."""
    container = ft.containers
    moved = torch.zeros_like(ft.mask)
    moved[ft.acted] = True
    for _ in range(len(moved)):  # contents of contents: at most N rounds
        grown = moved | ((container >= 0) & moved[container.clamp_min(0)])
        if bool((grown == moved).all()):
            break
        moved = grown
    return moved & ft.mask


def action_relations(ft: FailureTensors, which: str | ActionRelations) -> list[tuple[int, int, int]]:
    """The relations (r, i, j or -1) of Eq. 7's entropy for `which` (`ActionRelations`)."""
    which = ActionRelations.parse(which)
    if which is ActionRelations.FAILURE:
        return list(ft.failure_relations)
    visible = ft.mask.tolist()
    moved = visible if which is ActionRelations.ALL else moved_objects(ft).tolist()
    n_u = len(UNARY)
    rels = [(r, i, -1) for i in range(len(moved)) if moved[i] for r in range(n_u)]
    for i in range(len(moved)):
        for j in range(len(moved)):
            if i != j and visible[i] and visible[j] and (moved[i] or moved[j]):
                rels.extend((n_u + k, i, j) for k in range(len(BINARY)))
    return rels


def kept_relations(ft: FailureTensors, which: str | StateRelations) -> tuple[Tensor, Tensor]:
    """The relations of R^F a state particle is meant to keep (`StateRelations`): (N,) the objects whose
    unary relations count, (N, N) the ordered pairs whose binary relations count. ALL: every visible
    object and pair; MOVED: the moved group (`moved_objects`) and the pairs inside it."""
    mask = ft.mask
    n = mask.shape[0]
    pair = mask[:, None] & mask[None, :] & ~torch.eye(n, dtype=torch.bool)
    if StateRelations.parse(which) is StateRelations.MOVED:
        kept = moved_objects(ft)
        return kept, pair & kept[:, None] & kept[None, :]
    return mask, pair


def state_log_prob(model: SkillEffectModel, ft: FailureTensors, config: InferenceConfig):
    """log Γ(R^F | ξ(s)O^F) + log P(s) for state particles s (M, N, 3) = (dx, dy, dyaw)."""
    types = [t for t in ft.relation_types]
    u_idx = [UNARY.index(t) for t in types if t in UNARY]
    b_idx = [BINARY.index(t) for t in types if t in BINARY]
    mask = ft.mask
    kept, pair = kept_relations(ft, config.state_relations)
    movable = ft.movable & mask
    stands = supports(ft, config.other_supports)
    container = ft.containers  # (N,) the movable object each one sits inside in O^F, -1 if none
    held = container >= 0
    support = torch.where(held, container, stands.own)
    relocating = bool(stands.relocatable.any())
    half = (ft.box_hi - ft.box_lo)[:, :2] / 2  # (N, 2)
    centre = (ft.box_hi + ft.box_lo)[:, :2] / 2
    overlap0 = _overlap(centre[None], half) > 0  # (1, N, N) pairs already overlapping in O^F (contents)

    likelihood = Likelihood.parse(config.likelihood)

    encode = ParticleEncoder(model, ft)

    def log_prob(s: Tensor) -> Tensor:
        m = s.shape[0]
        off = s * movable[None, :, None]  # (M, N, 3) static objects never move
        msk = mask.expand(m, -1)
        latent = encode(s)
        pu, pb = model.relation_probs(latent, msk)  # (M, N, U), (M, N, N, R)
        eps = 1e-6
        terms = []
        if u_idx:
            p = pu[..., u_idx].clamp(eps, 1 - eps)
            t = ft.unary_before[:, u_idx].to(p.dtype)
            ll = t * p.log() + (1 - t) * (1 - p).log()
            terms.append((ll * kept[None, :, None]).sum((1, 2)) / (kept.sum().clamp_min(1) * len(u_idx)))
        if b_idx:
            p = pb[..., b_idx].clamp(eps, 1 - eps)
            t = ft.binary_before[..., b_idx].to(p.dtype)
            ll = t * p.log() + (1 - t) * (1 - p).log()
            terms.append((ll * pair[None, ..., None]).sum((1, 2, 3)) / (pair.sum().clamp_min(1) * len(b_idx)))
        log_lik = sum(terms) if terms else torch.zeros(m)
        # soft feasibility barrier (the uniform prior over feasible states)
        c = centre[None] + off[..., :2]  # (M, N, 2)
        ov = _overlap(c, half) * (~overlap0) * (movable[None, :, None] & movable[None, None, :])
        # the support's footprint where the particle put it (static supports do not move); contents
        # must keep their whole footprint inside their container's, other objects their centre on
        # their support (InferenceConfig.other_supports: the allowed one nearest to where the particle put them)
        sup = support[None].expand(m, -1)
        if relocating:
            sup = torch.where(stands.relocatable[None], stands.nearest(ft, c.detach()), sup)
        sup = sup.clamp_min(0)  # (M, N)
        off_sup = off[..., :2].gather(1, sup[..., None].expand(-1, -1, 2))  # (M, N, 2) the support's offset
        inset = half * held[:, None]  # (N, 2)
        lo_s = ft.box_lo[sup, :2] + off_sup + inset
        hi_s = ft.box_hi[sup, :2] + off_sup - inset
        off_support = (torch.relu(lo_s - c) + torch.relu(c - hi_s)).pow(2).sum(-1)  # (M, N)
        off_support = off_support * (movable & (support >= 0))[None]
        barrier = ov.pow(2).sum((1, 2)) / 2 + off_support.sum(1)
        if likelihood is Likelihood.SUM:  # Eq. 4 as written: every relation value one term
            scale = float(kept.sum() * len(u_idx) + pair.sum() * len(b_idx))
            return scale * (log_lik - config.barrier_weight * barrier)
        return log_lik - config.barrier_weight * barrier

    return log_prob


class ParticleEncoder:
    """Enc(ξ(s)O^F) for state particles (M, N, 3) -> latents (M, N, D), for one failure and a model whose
    weights stay fixed while it is used (inference). What no particle changes is computed once, when
    the encoder is made, not once per particle or per SVGD iteration (the encoder dominates the cost):
    the static objects' features (they never move) and the moving segments' neighbourhoods, densities
    and DensityNet outputs (invariant under the rigid motion a particle applies,
    `PointConvEncoder.groupings`). None of these carry gradients; the moving segments' features do,
    to the particles."""

    def __init__(self, model: SkillEffectModel, ft: FailureTensors) -> None:
        self.model, self.ft = model, ft
        self.moving, self.fixed = ft.movable & ft.mask, ~ft.movable & ft.mask
        with torch.no_grad():
            self.fixed_feats = model.encoder(ft.points[self.fixed]) if bool(self.fixed.any()) else None
            self.groupings = model.encoder.groupings(ft.points[self.moving]) if bool(self.moving.any()) else None

    def __call__(self, states: Tensor) -> Tensor:
        model, ft, moving = self.model, self.ft, self.moving
        m = states.shape[0]
        feats = ft.points.new_zeros(m, ft.points.shape[0], model.config.feat_dim)
        if self.fixed_feats is not None:
            feats[:, self.fixed] = self.fixed_feats.unsqueeze(0)
        if self.groupings is not None:
            off = states[:, moving]  # (M, K, 3)
            pts = transform_segments(ft.points[moving].expand(m, -1, -1, -1), translation=torch.cat(
                [off[..., :2], torch.zeros_like(off[..., :1])], dim=-1), yaw=off[..., 2])
            feats[:, moving] = model.encoder(pts.flatten(0, 1), tile_groupings(self.groupings, m)).reshape(
                m, off.shape[1], -1)
        return model.with_identity(feats)


def encode_particles(model: SkillEffectModel, ft: FailureTensors, states: Tensor) -> Tensor:
    """Enc(ξ(s)O^F) for state particles (M, N, 3) -> latents (M, N, D), once (`ParticleEncoder`)."""
    return ParticleEncoder(model, ft)(states)


def particle_centroids(ft: FailureTensors, states: Tensor) -> Tensor:
    """The segment centroids of ξ(s)O^F for state particles (M, N, 3) (dx, dy, yaw of the movable
    objects; a yaw turns a segment about its own centroid) -> (M, N, 3), what Dyn's relative-geometry
    bias reads (`ModelConfig.dyn_relative_bias`)."""
    base = segment_centroids(ft.points.unsqueeze(0), ft.mask.unsqueeze(0))  # (1, N, 3)
    shift = torch.cat([states[..., :2], torch.zeros_like(states[..., :1])], dim=-1)  # (M, N, 3)
    return base + shift * (ft.movable & ft.mask)[None, :, None]


@torch.no_grad()
def state_satisfaction(model: SkillEffectModel, ft: FailureTensors, states: Tensor,
                       which: str | StateRelations = StateRelations.ALL) -> Tensor:
    """Per state particle (M, N, 3): the share of R^F that the model detects correctly in ξ(s)O^F ->
    (M,) in [0, 1], over the relations `which` keeps (`kept_relations`; ALL: every relation before
    the failed skill over the visible objects), the ones Eq. 4 asks the particle to keep."""
    kept, pair = kept_relations(ft, which)
    pu, pb = model.relation_probs(encode_particles(model, ft, states), ft.mask.expand(states.shape[0], -1))
    ok_u = ((pu >= THRESHOLD) == ft.unary_before[None]) & kept[None, :, None]
    ok_b = ((pb >= THRESHOLD) == ft.binary_before[None]) & pair[None, ..., None]
    total = kept.sum() * pu.shape[-1] + pair.sum() * pb.shape[-1]
    return (ok_u.sum((1, 2)) + ok_b.sum((1, 2, 3))).float() / total


def failure_entropy(model: SkillEffectModel, ft: FailureTensors, latent: Tensor, pos: Tensor, actions: Tensor,
                    relations: list[tuple[int, int, int]] | None = None) -> Tensor:
    """Binary entropy (nats) of the model's prediction of each of `relations` (default: the failure
    relations) after φ^F(a), for action particles (M, A) on state latents (M, N, D) whose segment
    centroids are `pos` (M, N, 3) (`particle_centroids`) -> (M, F)."""
    m = actions.shape[0]
    skill = torch.full((m,), ft.skill, dtype=torch.long)
    acted = torch.full((m,), ft.acted, dtype=torch.long)
    msk = ft.mask.expand(m, -1)
    x_next, _ = model.dynamics(latent, msk, skill, acted, actions, pos)
    eps = 1e-6
    rels = ft.failure_relations if relations is None else relations
    p = failure_relation_probs(*model.relation_probs(x_next, msk), rels).clamp(eps, 1 - eps)
    return -(p * p.log() + (1 - p) * (1 - p).log())


def failure_relation_probs(unary: Tensor, binary: Tensor, failure_relations: list[tuple[int, int, int]]) -> Tensor:
    """The probability of each failure relation (r, i, j) (`FailureTensors.failure_relations`) from
    relation probabilities unary (M, N, U), binary (M, N, N, R) -> (M, F), in one gather."""
    r, i, j = torch.tensor(failure_relations, dtype=torch.long).reshape(-1, 3).unbind(1)
    n_u = unary.shape[-1]
    is_unary = r < n_u
    pu = unary[:, i, r.clamp(max=n_u - 1)]  # (M, F), used where the relation is unary
    pb = binary[:, i, j.clamp(min=0), (r - n_u).clamp(min=0)]  # (M, F), where it is binary
    return torch.where(is_unary, pu, pb)


@torch.no_grad()
def action_objective(model: SkillEffectModel, ft: FailureTensors, states: Tensor, actions: Tensor,
                     relations: list[tuple[int, int, int]] | None = None) -> Tensor:
    """Mean entropy (nats, at most ln 2) of the predictions of `relations` (default: the failure
    relations) -> (M,): what the action particles raise (Eq. 6), on one scale for every method."""
    return failure_entropy(model, ft, encode_particles(model, ft, states), particle_centroids(ft, states), actions,
                           relations).mean(1)


def _overlap(c: Tensor, half: Tensor) -> Tensor:
    """Footprint overlap area proxy: product of the per-axis overlaps (m²) for every pair,
    c (M, N, 2) centres, half (N, 2) half extents -> (M, N, N), 0 on the diagonal."""
    d = (c[:, :, None, :] - c[:, None, :, :]).abs()  # (M, N, N, 2)
    over = torch.relu(half[None, :, None, :] + half[None, None, :, :] - d)
    area = over.prod(-1)
    return area * (1 - torch.eye(c.shape[1], dtype=area.dtype))


def prior_limits(config: InferenceConfig) -> Tensor:
    """(3,) the box of the uniform prior over a movable object's (dx, dy, dyaw): ±max_offset, and the yaw a
    placement may turn an object by (`f2p_core.skills.YAW_CHANGE_MAX`, ±π/4)."""
    return torch.tensor([config.max_offset, config.max_offset, YAW_CHANGE_MAX])


def prior_states(ft: FailureTensors, m: int, config: InferenceConfig, generator: torch.Generator) -> Tensor:
    """m draws (m, N, 3) from the uniform prior P(S) of `config.state_init` (`StateInit`).

    PRIOR: a free movable object (inside no other) draws its planar offset uniformly where its
    footprint centre stays over its support (the barrier's rule) and within ±max_offset (anywhere over it
    for an object the skill does not move with `InferenceConfig.unmoved_anywhere`; with
    `InferenceConfig.other_supports`, an object the skill does not move first draws which of its allowed
    supports it stands on, uniformly, and the box is centred at the same place on that one), its yaw in
    ±π/4; what is inside it in R^F turns and moves with it rigidly (about the container's centre:
    each segment turns about its own centroid, so its offset takes the container's turn of the
    centroid's lever arm), transitively. LOCAL: every movable object independently uniform in the box."""
    n = ft.points.shape[0]
    lim = prior_limits(config)
    u = torch.rand(m, n, 3, generator=generator)
    if StateInit.parse(config.state_init) is StateInit.LOCAL:
        return (u * 2 - 1) * lim * ft.movable[None, :, None]
    stands = supports(ft, config.other_supports)
    chosen = stands.own[None].expand(m, n)  # (m, N) the support each object stands on in each draw
    if bool(stands.relocatable.any()):  # InferenceConfig.other_supports: one of its allowed, uniformly
        score = torch.rand(m, n, n, generator=generator).masked_fill(~stands.allowed[None], -1.0)
        chosen = torch.where(stands.relocatable[None], score.argmax(-1), chosen)
    centre = (ft.box_lo + ft.box_hi)[:, :2] / 2  # (N, 2)
    sup = chosen.clamp_min(0)
    on = (chosen >= 0)[..., None]  # (m, N, 1)
    shift = stands.shift[torch.arange(n)[None], sup]  # (m, N, 2) the centre of the ±max_offset box there
    lo = torch.where(on, torch.maximum(ft.box_lo[sup, :2] - centre, shift - lim[:2]), -lim[:2])  # (m, N, 2)
    hi = torch.where(on, torch.minimum(ft.box_hi[sup, :2] - centre, shift + lim[:2]), lim[:2])
    if config.reachable:  # a free object on a table starts where the arm reaches it (tasks.SPAWN_X)
        lo[..., 0] = torch.where(on[..., 0], torch.maximum(lo[..., 0], SPAWN_X[0] - centre[:, 0]), lo[..., 0])
        hi[..., 0] = torch.where(on[..., 0], torch.minimum(hi[..., 0], SPAWN_X[1] - centre[:, 0]), hi[..., 0])
    # a container keeps what it carries inside ±max_offset too (`content_swing`)
    swing = content_swing(ft, config)[:, None]
    lo, hi = torch.maximum(lo, shift - lim[:2] + swing), torch.minimum(hi, shift + lim[:2] - swing)
    if config.unmoved_anywhere:  # the whole footprint of the support each unmoved object stands on, within reach
        wide = (stands.unmoved[None, :] & (chosen >= 0))[..., None]
        lo_w, hi_w = ft.box_lo[sup, :2] - centre, ft.box_hi[sup, :2] - centre
        if config.reachable:
            lo_w[..., 0] = torch.maximum(lo_w[..., 0], SPAWN_X[0] - centre[:, 0])
            hi_w[..., 0] = torch.minimum(hi_w[..., 0], SPAWN_X[1] - centre[:, 0])
        lo, hi = torch.where(wide, lo_w, lo), torch.where(wide, hi_w, hi)
    hi = torch.maximum(hi, lo)  # an object already off its support's footprint: stays where it is
    s = torch.cat([lo + (hi - lo) * u[..., :2], (u[..., 2:] * 2 - 1) * lim[2]], dim=-1)  # (m, N, 3)
    return attach_contents(ft, s)


def _swung(ft: FailureTensors, config: InferenceConfig) -> Tensor:
    """(N,) for each content, the farthest its container's turn within ±π/4 can swing its centre
    (|arm| · 2 sin(π/8)); 0 for an object inside none."""
    container = ft.containers
    centre = (ft.box_lo + ft.box_hi)[:, :2] / 2
    arm = (centre - centre[container.clamp_min(0)]).norm(dim=-1)
    return torch.where(container >= 0, arm * 2 * np.sin(float(prior_limits(config)[2]) / 2), torch.zeros_like(arm))


def content_swing(ft: FailureTensors, config: InferenceConfig) -> Tensor:
    """(N,) for each container, the farthest its turn can swing a content's centre (`_swung`): its planar
    range shrinks by this much so that what it carries stays inside ±max_offset too; 0 for every other object."""
    container = ft.containers
    held = container >= 0
    return torch.zeros(ft.points.shape[0]).scatter_reduce(0, container[held], _swung(ft, config)[held], "amax")


def attach_contents(ft: FailureTensors, s: Tensor) -> Tensor:
    """State particles (m, N, 3) with every content of a movable container (R^F's `inside`,
    transitively) turned and moved rigidly with it, whatever the particle said for the content itself
    (each segment turns about its own centroid, so its offset takes the container's turn of the
    centroid's lever arm); static objects zero. The feasible prior draws this way (`prior_states`),
    and with `InferenceConfig.rigid_contents` the posterior keeps it (`infer_states`)."""
    n = ft.points.shape[0]
    movable = ft.movable & ft.mask
    container = ft.containers
    centre = (ft.box_lo + ft.box_hi)[:, :2] / 2  # (N, 2)
    placed = movable & (container < 0)
    cols = list(s.unbind(1))  # per object (m, 3): no in-place writes, so gradients flow to the containers
    for _ in range(n):  # contents of contents: at most N rounds
        todo = movable & ~placed & (container >= 0) & placed[container.clamp_min(0)]
        if not bool(todo.any()):
            break
        for i in todo.nonzero(as_tuple=True)[0].tolist():
            c = int(container[i])
            arm = centre[i] - centre[c]  # (2,)
            rot = yaw_rotation(cols[c][:, 2])[:, :2, :2]  # (m, 2, 2)
            cols[i] = torch.cat([cols[c][:, :2] + (rot @ arm) - arm, cols[c][:, 2:]], dim=-1)
        placed = placed | todo
    return torch.stack(cols, dim=1) * movable[None, :, None]


def initial_states(model: SkillEffectModel, ft: FailureTensors, config: InferenceConfig) -> Tensor:
    """Where `infer_states` starts its particles (M, N, 3), seeded by config.seed (`StateInit`)."""
    g = torch.Generator().manual_seed(config.seed)
    m, n = config.particles, ft.points.shape[0]
    if StateInit.parse(config.state_init) is StateInit.LOCAL:
        init = torch.randn(m, n, 3, generator=g) * config.init_spread
        init[..., 2] = init[..., 2] * 2.0  # yaw spread in rad, about ±0.06
        return init * ft.movable[None, :, None]
    k = config.state_starts
    if k < 1:
        raise ValueError(f"state_starts must be >= 1, got {k}")
    draws = prior_states(ft, m * k, config, g)
    if k == 1:
        return draws
    with torch.no_grad():
        score = state_log_prob(model, ft, config)(draws).reshape(k, m)
    best = score.argmax(0)  # (m,)
    return draws.reshape(k, m, n, 3)[best, torch.arange(m)]


def infer_states(model: SkillEffectModel, ft: FailureTensors, config: InferenceConfig,
                 callback=None) -> SVGDResult:
    """SVGD (or the Gradient baseline) over state particles (M, N, 3), Eq. 4/5, from `initial_states`."""
    n = ft.points.shape[0]
    lim = prior_limits(config)
    low, high = -lim.expand(n, 3).clone(), lim.expand(n, 3).clone()
    stands = supports(ft, config.other_supports)
    if bool(stands.relocatable.any()):  # every allowed support's ±max_offset box (the barrier picks the nearest)
        ok = stands.allowed[..., None]
        box_lo = torch.where(ok, stands.shift - lim[:2], torch.full_like(stands.shift, float("inf"))).amin(1)
        box_hi = torch.where(ok, stands.shift + lim[:2], torch.full_like(stands.shift, -float("inf"))).amax(1)
        low[:, :2] = torch.where(stands.relocatable[:, None], box_lo, low[:, :2])
        high[:, :2] = torch.where(stands.relocatable[:, None], box_hi, high[:, :2])
        if config.relocated_contents:  # contents go where their container may (`relocated_contents`)
            low, high = _contents_bounds(ft, config, stands.relocatable, low, high)
    if config.unmoved_anywhere:  # unmoved objects and their contents: no box (the barrier keeps them feasible)
        wide = stands.unmoved.clone()
        for _ in range(n):  # contents of contents: at most N rounds
            wide = wide | ((ft.containers >= 0) & wide[ft.containers.clamp_min(0)])
        low[wide, :2], high[wide, :2] = -UNBOUNDED_M, UNBOUNDED_M
    if config.rigid_contents:  # a container's range keeps its contents within ±max_offset (`content_swing`)
        swing = content_swing(ft, config)
        low[:, :2] += swing[:, None]
        high[:, :2] -= swing[:, None]
    bounds = (low, high)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        init = initial_states(model, ft, config)
        log_prob = state_log_prob(model, ft, config)
        if config.rigid_contents:  # the posterior on the prior's support: contents follow their container
            init = attach_contents(ft, init)
            free_log_prob = log_prob

            def log_prob(s: Tensor) -> Tensor:
                return free_log_prob(attach_contents(ft, s))
        algo = _algorithm(log_prob, config, bounds, config.state_lr)
        result = algo.run(init, config.state_iterations, callback=callback)
        if config.rigid_contents:
            result.particles = attach_contents(ft, result.particles)
        return result
    finally:
        for p in model.parameters():
            p.requires_grad_(True)


def action_log_prob(model: SkillEffectModel, ft: FailureTensors, states: Tensor, objective: str = "joint",
                    relations: list[tuple[int, int, int]] | None = None):
    """The log target of the action particles (M, A) paired with fixed states (M, N, 3), Eq. 7, over
    `relations` (default: the failure relations; `action_relations`):

    * "joint": ln H(Γ(R^F | ξ(s)O^F, φ^F, a)), the entropy of the prediction of the failure relations
      together; relations are independent binary outputs, so H(R^F) = Σ_r H(r) and the target is
      ln Σ_r H(r);
    * "per_relation": Σ_r ln H(Γ(r | ...)), the log of the product of the relations' entropies (a
      reading of Eq. 6's ∏). Its gradient weighs each relation by 1/H(r): the relations the model
      is surest of pull hardest, towards the few actions where every one of them is uncertain. On a
      transport failure the particles' dx (what decides front/behind of the items) collapsed from
      std 0.098 to 0.046 m and their dy to table A; the "joint" reading keeps them spread
      (`InferenceConfig.action_objective`).
    """
    if objective not in ("joint", "per_relation"):
        raise ValueError(f"unknown action objective {objective!r}: 'joint' or 'per_relation'")
    with torch.no_grad():
        latent = encode_particles(model, ft, states)  # (M, N, D): states fixed, encode once
        pos = particle_centroids(ft, states)

    def log_prob(a: Tensor) -> Tensor:
        h = failure_entropy(model, ft, latent, pos, a, relations)  # (M, F)
        if objective == "joint":
            return h.sum(1).clamp_min(1e-9).log()
        return h.clamp_min(1e-9).log().sum(1)

    return log_prob


def action_bounds(ft: FailureTensors, states: Tensor, config: InferenceConfig) -> tuple[Tensor, Tensor]:
    """The uniform action prior's box for each state particle (M, N, 3) -> low, high (M, A): the failed
    skill's parameter bounds, with `config.reachable` a pick-place's (dx, dy) shifted back by the
    particle's own offset of the acted object, so the placement's target stays where it was allowed."""
    m = states.shape[0]
    low, high = ft.param_low.expand(m, -1).clone(), ft.param_high.expand(m, -1).clone()
    if config.reachable and ft.relative_xy:
        shift = states[:, ft.acted, :2].detach()
        low[:, :2] -= shift
        high[:, :2] -= shift
    return low, high


def uniform_actions(ft: FailureTensors, m: int, generator: torch.Generator,
                    bounds: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """m draws (m, A) from the uniform prior over the failed skill's parameter bounds (or per-draw
    `bounds` (m, A), `action_bounds`)."""
    low, high = bounds if bounds is not None else (ft.param_low, ft.param_high)
    return low + (high - low) * torch.rand(m, ft.params.shape[0], generator=generator)


def initial_actions(ft: FailureTensors, m: int, config: InferenceConfig, model: SkillEffectModel | None = None,
                    states: Tensor | None = None) -> Tensor:
    """Where `infer_actions` starts its m particles, seeded by config.seed: uniform draws, or with
    `config.action_starts` K > 1 for each particle the best of K uniform draws by the entropy of
    `config.action_relations` on its own state (`states` (m, N, 3), scored with `model`)."""
    g = torch.Generator().manual_seed(config.seed + 1)
    k = config.action_starts
    if k < 1:
        raise ValueError(f"action_starts must be >= 1, got {k}")
    bounds = action_bounds(ft, states, config) if states is not None and states.shape[0] == m else None
    if config.reachable and bounds is None:
        raise ValueError(f"reachable action bounds follow each state: give the m = {m} state particles")
    if k == 1:
        return uniform_actions(ft, m, g, bounds)
    if model is None or states is None or states.shape[0] != m:
        raise ValueError(f"action_starts {k} > 1 scores the draws: give the model and the m = {m} state particles")
    draws = uniform_actions(ft, m * k, g, tuple(b.repeat(k, 1) for b in bounds)).reshape(k, m, -1)
    with torch.no_grad():
        latent = encode_particles(model, ft, states)  # (m, N, D) once, shared by the K draws of a particle
        tiled = latent[None].expand(k, *latent.shape).reshape(k * m, *latent.shape[1:])
        pos = particle_centroids(ft, states).repeat(k, 1, 1)  # (k·m, N, 3) as `tiled`
        score = failure_entropy(model, ft, tiled, pos, draws.reshape(k * m, -1),
                                action_relations(ft, config.action_relations)).mean(1).reshape(k, m)
    best = score.argmax(0)  # (m,)
    return draws[best, torch.arange(m)]


def infer_actions(model: SkillEffectModel, ft: FailureTensors, states: Tensor, config: InferenceConfig,
                  callback=None) -> SVGDResult:
    """SVGD over the failed skill's parameters with the states fixed, Eq. 6/7, raising the entropy of
    `config.action_relations`."""
    if not ft.failure_relations:
        raise ValueError("the failure has no failure relations to maximise the entropy of")
    relations = action_relations(ft, config.action_relations)
    model.eval()
    a = initial_actions(ft, states.shape[0], config, model, states)
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        algo = _algorithm(action_log_prob(model, ft, states, config.action_objective, relations), config,
                          action_bounds(ft, states, config), config.lr)
        return algo.run(a, config.action_iterations, callback=callback)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)


def _contents_bounds(ft: FailureTensors, config: InferenceConfig, relocatable: Tensor, low: Tensor,
                     high: Tensor) -> tuple[Tensor, Tensor]:
    """SVGD's (N, 3) bounds with every content of a `relocatable` container (transitively) given its
    container's planar range, widened by the farthest the container's turn swings it, besides its own
    (`InferenceConfig.relocated_contents`)."""
    low, high = low.clone(), high.clone()
    container = ft.containers
    swing = _swung(ft, config)
    widened = relocatable.clone()
    for _ in range(ft.points.shape[0]):  # contents of contents: at most N rounds
        todo = ~widened & (container >= 0) & widened[container.clamp_min(0)]
        if not bool(todo.any()):
            break
        for i in todo.nonzero(as_tuple=True)[0].tolist():
            c = int(container[i])
            low[i, :2] = torch.minimum(low[i, :2], low[c, :2] - swing[i])
            high[i, :2] = torch.maximum(high[i, :2], high[c, :2] + swing[i])
        widened = widened | todo
    return low, high


def _algorithm(log_prob, config: InferenceConfig, bounds, lr: float) -> SVGD:
    if Kernel.parse(config.kernel) is Kernel.RBF:
        return SVGD(log_prob, RBFKernel(), lr=lr, bounds=bounds)
    return gradient_ascent(log_prob, lr=lr, bounds=bounds)


__all__ = [
    "MAX_PARAMS",
    "SKILL_NAMES",
    "ActionRelations",
    "FailureTensors",
    "InferenceConfig",
    "Kernel",
    "Likelihood",
    "ParticleEncoder",
    "StateInit",
    "Supports",
    "action_log_prob",
    "action_objective",
    "action_relations",
    "attach_contents",
    "effect_relations",
    "encode_particles",
    "failure_entropy",
    "failure_relation_probs",
    "infer_actions",
    "infer_states",
    "initial_actions",
    "initial_states",
    "kept_relations",
    "moved_objects",
    "particle_centroids",
    "prior_limits",
    "prior_states",
    "state_log_prob",
    "state_satisfaction",
    "supports",
    "uniform_actions",
]


def _placement_bounds(scene, k: int, low, high):
    """pick_place (dx, dy) bounds that keep the placement in the robot's workspace: the object's
    centre may go anywhere over the tables' reachable region (tasks.SPAWN_X, the tables' y span),
    so the uniform prior does not waste particles on unreachable placements."""
    cx, cy = (scene.box_lo[k][:2] + scene.box_hi[k][:2]) / 2
    x0, x1 = SPAWN_X
    y0 = min(c[1] for c in TABLE_CENTERS.values()) - TABLE_SIZE[1] / 2 + SPAWN_MARGIN
    y1 = max(c[1] for c in TABLE_CENTERS.values()) + TABLE_SIZE[1] / 2 - SPAWN_MARGIN
    low = (float(x0 - cx), float(y0 - cy), *low[2:])
    high = (float(x1 - cx), float(y1 - cy), *high[2:])
    return low, high


def effect_relations(event, model: SkillEffectModel, *, skip_misread: bool = False,
                     contradiction_margin: float = 0.0) -> list[tuple[int, int, int]]:
    """The event's failure relations for `model`: (relation index in UNARY+BINARY, i, j or -1) of its
    mismatches, less the detection errors the skill did not cause, judged by `model`'s own detection
    of relations in O^F; with `skip_misread`, where the event holds O^F', less the misreadings of the
    outcome; less the predictions within `contradiction_margin` of the threshold, which the observation
    does not contradict (module docstring, "Failure relations"; `LearnerConfig` sets both)."""
    scene = event.scene_before
    names = scene.names

    def detect(points, visible):
        points, visible = torch.as_tensor(points, dtype=torch.float32), torch.as_tensor(visible)
        with torch.no_grad():
            return model.relation_probs(model.encode(points[None], visible[None]), visible[None])

    det_u, det_b = detect(scene.points, scene.visible)
    after = detect(event.points_after, event.visible_after) if skip_misread and event.points_after is not None \
        else None
    rels = []
    for m in event.mismatched:
        if m.subject not in names or (m.object and m.object not in names):
            continue
        if abs(m.predicted - THRESHOLD) < contradiction_margin:
            continue  # an unsure prediction: the observation does not contradict it
        i, j = names.index(m.subject), (names.index(m.object) if m.object else -1)
        if not m.object:
            r = UNARY.index(m.relation)
            was, seen = bool(event.unary_before[i, r]), bool(det_u[0, i, r] >= THRESHOLD)
            read = None if after is None else bool(after[0][0, i, r] >= THRESHOLD)
        else:
            k = BINARY.index(m.relation)
            r = len(UNARY) + k
            was, seen = bool(event.binary_before[i, j, k]), bool(det_b[0, i, j, k] >= THRESHOLD)
            read = None if after is None else bool(after[1][0, i, j, k] >= THRESHOLD)
        if was == m.observed and seen == (m.predicted >= THRESHOLD):
            continue  # unchanged by the skill and already wrong in detection
        if read is not None and read == (m.predicted >= THRESHOLD):
            continue  # the outcome itself is read so: a decoder's error, not the effect's
        rels.append((r, i, j))
    return rels


def failure_tensors(event, model: SkillEffectModel,
                    failure_relations: list[tuple[int, int, int]] | None = None) -> FailureTensors:
    """The tensors inference needs from an `f2p_monitor.failure.FailureEvent`. The failure relations
    are `failure_relations` if given (e.g. those of the model that failed, to score a child on), else
    `effect_relations(event, model)`; R^F compares every relation type (A.13.1: the transformed
    clouds must keep the relations of the failure case)."""
    scene = event.scene_before
    names = scene.names
    if scene.points.shape[1] != model.config.n_points:
        raise ValueError(f"the event's segments have {scene.points.shape[1]} points, the model expects "
                         f"{model.config.n_points}")
    skill_name = event.skill.type.value
    if skill_name not in model.config.skill_types:
        raise ValueError(f"the model has no skill '{skill_name}'")
    rels = list(failure_relations) if failure_relations is not None else effect_relations(event, model)
    low, high = PARAM_BOUNDS[event.skill.type].low, PARAM_BOUNDS[event.skill.type].high
    if skill_name == "pick_place":
        low, high = _placement_bounds(scene, names.index(event.skill.object_ids[0]), low, high)
    a = len(low)
    pad = MAX_PARAMS - a
    params = np.zeros(MAX_PARAMS)
    params[:a] = event.skill.params[:a]
    return FailureTensors(
        points=torch.as_tensor(scene.points, dtype=torch.float32), mask=torch.as_tensor(scene.visible),
        movable=torch.tensor([can_repose(c) for c in scene.classes]),
        box_lo=torch.as_tensor(scene.box_lo, dtype=torch.float32), box_hi=torch.as_tensor(scene.box_hi,
                                                                                       dtype=torch.float32),
        unary_before=torch.as_tensor(event.unary_before), binary_before=torch.as_tensor(event.binary_before),
        relation_types=tuple(UNARY) + tuple(BINARY), failure_relations=rels,
        skill=model.config.skill_types.index(skill_name), acted=names.index(event.skill.object_ids[0]),
        param_low=torch.tensor([*low, *([0.0] * pad)], dtype=torch.float32),
        param_high=torch.tensor([*high, *([0.0] * pad)], dtype=torch.float32),
        params=torch.as_tensor(params, dtype=torch.float32), relative_xy=skill_name == "pick_place")
