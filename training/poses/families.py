"""Named pose families: a template of joint-angle ranges per family, sampled uniformly within the anatomical joint
limits (hkmr_studio.body.joint_limits), with a global orientation that fits the family, and self-penetrating samples
rejected on capsule proxies (hkmr_studio.body.penetration).

Templates are written in the joint angles of `joint_limits` (degrees), for the left side: a `both_` entry gives each
side its own draw from the same ranges, the right side mirrored (angles (x, y, z) -> (x, -y, -z)), so every sign means
the same motion on both sides (hip x: flexion negative; knee x: flexion positive; shoulder z: abduction positive, rest
= arm out to the side, -90 = arm down; shoulder y: the arm forward negative; elbow y: flexion negative; spine x:
flexion positive; ankle x: plantarflexion positive). Joints a template leaves out get a small jitter. Asymmetric
families are written for the left side and mirrored for a random half of their samples.

Global orientation (body frame: Y up, the body faces +Z at rest, left +X): upright families turn by a random yaw and
tilt by a small pitch and roll; `lean` tips the pelvis forward while the hips flex by as much, so the legs keep their
direction (bending forward, squatting). Lying families lie on the back, the front or a side (random), horizontal up
to a small tilt, at a random yaw. Poses are SMPL axis-angle: global_orient (N, 3), body_pose (N, 69).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from hkmr_studio.body.joint_limits import BODY_JOINT_NAMES, clamp_joint_angles, pose_from_joint_angles
from hkmr_studio.body.kinematics import NUM_BODY_JOINTS
from hkmr_studio.body.penetration import MAX_DEPTH, CapsuleBody, default_capsules
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from training.mocap.library import mirror_poses

Range = tuple[float, float]
#: Per joint angle x, y, z: a (low, high) range in degrees, or None for the default jitter.
JointRanges = tuple[Range | None, Range | None, Range | None]
#: Joints not named by a template vary by up to this many degrees about zero, per joint angle.
JITTER_DEG = 5.0
#: Upright families tilt by a pitch and a roll uniform in +-this many degrees; lying ones by half as much.
TILT_DEG = 8.0
#: Sampling draws candidates in rounds until enough pass the penetration test; a family that needs more rounds than
#: this has a template that mostly self-penetrates.
MAX_ROUNDS = 30
_MIRROR = torch.tensor([1.0, -1.0, -1.0])


def _j(x: Range | None = None, y: Range | None = None, z: Range | None = None) -> JointRanges:
    return (x, y, z)


@dataclass(frozen=True)
class PoseFamily:
    """A named family: joint ranges (joint name, or `both_<left joint name>`, -> JointRanges), a forward lean range
    (degrees), how the body lies (None: upright; "back", "front" or "side") and whether a random half is mirrored."""

    name: str
    joints: Mapping[str, JointRanges]
    lean: Range = (0.0, 0.0)
    lying: str | None = None
    mirror: bool = False
    description: str = field(default="", compare=False)


_ARMS_DOWN = {"both_shoulder": _j((-20, 20), (-30, 15), (-85, -60)), "both_elbow": _j(None, (-40, 0))}
#: A still trunk (spine and collars within 2 degrees) for families whose hands rest on the body: with the arm angles
#: fixed, the default jitter of these joints would move a hand by several centimetres, off the hip or the other arm.
_STILL_TRUNK = {name: _j((-2, 2), (-2, 2), (-2, 2)) for name in ("spine1", "spine2", "spine3", "both_collar")}
_FAMILIES: tuple[PoseFamily, ...] = (
    PoseFamily("standing", {
        **_ARMS_DOWN, "both_shoulder": _j((-30, 30), (-40, 20), (-85, -30)), "both_elbow": _j((-20, 40), (-70, 0)),
        "both_hip": _j((-15, 8), (-10, 20), (-5, 12)), "both_knee": _j((0, 12)),
    }, description="standing variants: arms down or loosely held, weight shifts"),
    PoseFamily("walking", {
        "left_hip": _j((-35, 15)), "right_hip": _j((-35, 15)), "both_knee": _j((0, 60)), "both_ankle": _j((-15, 20)),
        "both_shoulder": _j((-10, 10), (-35, 25), (-85, -65)), "both_elbow": _j(None, (-50, -10)),
    }, lean=(0, 6), mirror=True, description="a walking stride"),
    PoseFamily("running", {
        "left_hip": _j((-75, 20)), "right_hip": _j((-75, 20)), "both_knee": _j((20, 115)), "both_ankle": _j((-20, 40)),
        "both_shoulder": _j((-10, 10), (-55, 40), (-80, -55)), "both_elbow": _j(None, (-115, -70)),
    }, lean=(5, 15), mirror=True, description="a running stride, arms bent"),
    PoseFamily("sitting_chair", {
        "both_hip": _j((-100, -75), (-10, 20), (0, 20)), "both_knee": _j((75, 105)), "both_ankle": _j((-15, 15)),
        "both_shoulder": _j((-10, 30), (-45, -5), (-80, -55)), "both_elbow": _j(None, (-70, -20)),
    }, lean=(0, 10), description="sitting on a chair: thighs level, shins down, hands on the thighs"),
    PoseFamily("sitting_cross_legged", {
        "left_hip": _j((-125, -105), (38, 45), (35, 45)), "left_knee": _j((112, 133)),
        "right_hip": _j((-100, -82), (35, 45), (22, 40)), "right_knee": _j((125, 135)),
        "both_ankle": _j((0, 30), None, (-30, -5)), "spine1": _j((0, 15)),
        "both_shoulder": _j((-10, 30), (-45, -20), (-50, -30)), "both_elbow": _j(None, (-30, 0)),
    }, lean=(-20, -3), mirror=True,
        description="sitting on the floor cross-legged, the left shin over the right (mirrored), leaning back a little"),
    PoseFamily("sitting_legs_out", {
        "both_hip": _j((-100, -80), (-5, 15), (0, 15)), "both_knee": _j((0, 15)), "both_ankle": _j((0, 30)),
        "both_shoulder": _j((-20, 20), (-40, 40), (-80, -55)), "both_elbow": _j(None, (-30, 0)),
    }, description="sitting on the floor, legs out, hands on the thighs or behind for support"),
    PoseFamily("kneeling_one_knee", {
        "left_hip": _j((5, 20), (-10, 10), (0, 10)), "left_knee": _j((100, 110)), "left_ankle": _j((-25, -5)),
        "left_foot": _j((-45, -20)), "right_hip": _j((-105, -90), (-10, 10), (-10, 10)), "right_knee": _j((60, 75)),
        "right_ankle": _j((-15, 5)), "both_shoulder": _j((-10, 30), (-45, 0), (-85, -55)),
        "both_elbow": _j(None, (-60, 0)),
    }, mirror=True, description="kneeling on the left knee (mirrored: the right), toes tucked, the other foot flat ahead"),
    PoseFamily("kneeling_both_knees", {
        "both_hip": _j((-10, 10), (-10, 10), (0, 10)), "both_knee": _j((105, 120)), "both_ankle": _j((30, 50)),
        "both_shoulder": _j((-10, 30), (-40, 10), (-85, -40)), "both_elbow": _j(None, (-70, 0)),
    }, description="kneeling upright on both knees, the tops of the feet on the floor"),
    PoseFamily("squatting", {
        "both_hip": _j((-95, -80), (0, 20), (10, 30)), "both_knee": _j((115, 135)), "both_ankle": _j((-40, -20)),
        "both_shoulder": _j((-10, 30), (-80, -30), (-60, -20)), "both_elbow": _j(None, (-60, 0)),
    }, lean=(10, 30), description="a deep squat, arms forward"),
    PoseFamily("lying_back", {
        "both_hip": _j((-50, 5), (-5, 25), (0, 20)), "both_knee": _j((0, 80)), "both_ankle": _j((0, 30)),
        "both_shoulder": _j((-30, 30), (-10, 10), (-85, 80)), "both_elbow": _j(None, (-40, 0)),
        "spine1": _j((-5, 5), (-5, 5), (-5, 5)), "spine2": _j((-5, 5), (-5, 5), (-5, 5)),
    }, lying="back", description="lying on the back, legs straight or knees up, arms anywhere on the floor"),
    PoseFamily("lying_front", {
        "both_hip": _j((-5, 15), (-10, 20), (0, 20)), "both_knee": _j((0, 30)), "both_ankle": _j((10, 45)),
        "both_shoulder": _j((-30, 30), (-10, 10), (-85, 70)), "both_elbow": _j(None, (-30, 0)),
        "neck": _j((-15, 5), (-30, 30)), "spine1": _j((-5, 5), (-5, 5), (-5, 5)), "spine2": _j((-5, 5), (-5, 5), (-5, 5)),
    }, lying="front", description="lying face down, head turned or not"),
    PoseFamily("lying_side", {
        "both_hip": _j((-70, -10), (-10, 20), (-10, 10)), "both_knee": _j((10, 90)), "both_ankle": _j((0, 30)),
        "both_shoulder": _j((-20, 20), (-90, -30), (-60, 0)), "both_elbow": _j(None, (-100, 0)),
        "spine1": _j((-5, 5), (-5, 5), (-5, 5)), "spine2": _j((-5, 5), (-5, 5), (-5, 5)),
    }, lying="side", description="lying on a side (random), hips and knees bent, arms forward"),
    PoseFamily("bending_forward", {
        "both_hip": _j((-10, 5), (-10, 10), (0, 10)), "both_knee": _j((0, 20)), "spine1": _j((0, 20)),
        "spine2": _j((0, 15)), "both_shoulder": _j((-20, 20), (-90, -30), (-70, -20)), "both_elbow": _j(None, (-40, 0)),
    }, lean=(45, 90), description="bending forward at the hips, arms hanging"),
    PoseFamily("lunging", {
        "left_hip": _j((-100, -70), (-10, 10), (0, 15)), "left_knee": _j((70, 100)), "right_hip": _j((10, 30)),
        "right_knee": _j((0, 40)), "right_ankle": _j((-30, 0)), "both_shoulder": _j((-10, 30), (-40, 20), (-85, -40)),
    }, lean=(0, 15), mirror=True, description="a forward lunge on the left leg (mirrored: the right)"),
    PoseFamily("reaching_up", {
        "left_shoulder": _j((-30, 30), (-30, 10), (55, 90)), "left_elbow": _j(None, (-20, 0)),
        "left_collar": _j(None, None, (10, 35)), "spine2": _j(None, None, (-10, 0)), "both_ankle": _j((0, 35)),
        **{k.replace("both_", "right_"): v for k, v in _ARMS_DOWN.items()},
    }, mirror=True, description="reaching up with the left arm (mirrored: the right), maybe on tiptoe"),
    PoseFamily("reaching_forward", {
        "left_shoulder": _j((-30, 30), (-100, -70), (-20, 10)), "left_elbow": _j(None, (-20, 0)),
        "left_collar": _j(None, (-20, 0)), **{k.replace("both_", "right_"): v for k, v in _ARMS_DOWN.items()},
    }, lean=(0, 25), mirror=True, description="reaching forward with the left arm (mirrored: the right)"),
    PoseFamily("reaching_down", {
        "left_shoulder": _j((-30, 30), (-90, -40), (-80, -30)), "left_elbow": _j(None, (-20, 0)),
        "both_knee": _j((0, 60)), "both_hip": _j((-20, 5)), "spine1": _j((0, 20)), "spine2": _j(None, None, (0, 10)),
        **{k.replace("both_", "right_"): v for k, v in _ARMS_DOWN.items()},
    }, lean=(30, 70), mirror=True, description="reaching down towards the floor with the left arm (mirrored)"),
    PoseFamily("arms_overhead", {
        "both_shoulder": _j((-30, 30), (-25, 5), (68, 85)), "both_elbow": _j(None, (-30, 0)),
        "both_collar": _j(None, None, (10, 30)),
    }, description="both arms raised above the head"),
    PoseFamily("arms_crossed", {
        "left_shoulder": _j((15, 25), (-85, -75), (-65, -55)), "left_elbow": _j(None, (-85, -75)),
        "right_shoulder": _j((55, 65), (-85, -75), (-75, -65)), "right_elbow": _j(None, (-75, -65)),
        "both_wrist": _j(None, None, (-40, -20)), **_STILL_TRUNK,
    }, mirror=True, description="forearms folded across the chest, each hand over the other elbow (mirrored)"),
    PoseFamily("hands_on_hips", {
        "both_shoulder": _j((60, 66), (22, 30), (-46, -40)), "both_elbow": _j(None, (-90, -82)),
        "both_wrist": _j(None, (-22, -12), (0, 12)), **_STILL_TRUNK,
    }, description="hands on the hips, elbows out"),
    PoseFamily("hand_to_face", {
        "left_shoulder": _j((-90, -60), (-115, -90), (-25, 5)), "left_elbow": _j(None, (-145, -120)),
        "neck": _j((0, 15)), **{k.replace("both_", "right_"): v for k, v in _ARMS_DOWN.items()},
    }, mirror=True, description="the left hand (mirrored: the right) raised to the face"),
    PoseFamily("jumping", {
        "both_hip": _j((-60, 5), (-5, 20), (0, 20)), "both_knee": _j((10, 90)), "both_ankle": _j((20, 50)),
        "both_shoulder": _j((-20, 20), (-40, 20), (-70, 80)), "both_elbow": _j(None, (-60, 0)),
    }, lean=(-10, 15), description="in the air: legs tucked or stretched, arms anywhere from down to up"),
    PoseFamily("kicking", {
        "left_hip": _j((-100, -50), (-10, 10), (0, 15)), "left_knee": _j((0, 40)), "left_ankle": _j((0, 40)),
        "right_hip": _j((-10, 10)), "right_knee": _j((0, 20)), "both_shoulder": _j((-20, 20), (-40, 20), (-50, 20)),
    }, lean=(-15, 5), mirror=True, description="kicking forward with the left leg (mirrored), arms out for balance"),
    PoseFamily("dancing", {
        "spine1": _j((-10, 15), (-15, 15), (-15, 15)), "spine2": _j((-10, 15), (-15, 15), (-10, 10)),
        "neck": _j((-15, 20), (-30, 30), (-20, 20)), "left_shoulder": _j((-40, 40), (-60, 30), (20, 90)),
        "right_shoulder": _j((-40, 40), (-60, 30), (-80, 0)), "both_elbow": _j((-40, 40), (-90, 0)),
        "left_hip": _j((-60, 20), (-20, 30), (0, 40)), "left_knee": _j((0, 90)), "left_ankle": _j((0, 40)),
        "right_hip": _j((-15, 10), (-10, 20), (0, 10)), "right_knee": _j((0, 30)),
    }, mirror=True, description="asymmetric dance-like poses: one arm up, one leg free"),
)  # fmt: skip
FAMILIES: dict[str, PoseFamily] = {f.name: f for f in _FAMILIES}
_LYING_BASE = {"back": (0, -90.0), "front": (0, 90.0), "side": (2, 90.0)}  # (axis, degrees) from standing


def _ranges(family: PoseFamily) -> tuple[torch.Tensor, torch.Tensor]:
    """The family's (23, 3) lower and upper joint angles, radians, in the joint_limits convention (right mirrored)."""
    lower = torch.full((NUM_BODY_JOINTS, 3), -math.radians(JITTER_DEG))
    upper = -lower
    for key, axes in family.joints.items():
        joint = key.removeprefix("both_")
        names = [f"left_{joint}", f"right_{joint}"] if key.startswith("both_") else [key]
        for name in names:
            if name not in BODY_JOINT_NAMES:
                raise KeyError(f"family {family.name!r}: unknown joint {name!r}")
            i = BODY_JOINT_NAMES.index(name)
            for k, bounds in enumerate(axes):
                if bounds is None:
                    continue
                low, high = (math.radians(b) for b in bounds)
                if name.startswith("right_") and k > 0:
                    low, high = -high, -low
                lower[i, k], upper[i, k] = low, high
    return lower, upper


@dataclass(frozen=True)
class _Tables:
    """Every family's settings as tensors indexed by family number (FAMILIES order), so one batch can mix families:
    lower, upper (F, 23, 3) joint angles in radians; lean (F, 2) radians; mirror (F,) bool; lying_axis (F,) body axis
    and lying_angle (F,) radians that lay the body down from standing (0 for upright families); lying_side (F,) bool:
    the side is picked at random; tilt (F,) radians of random pitch and roll."""

    lower: torch.Tensor
    upper: torch.Tensor
    lean: torch.Tensor
    mirror: torch.Tensor
    lying_axis: torch.Tensor
    lying_angle: torch.Tensor
    lying_side: torch.Tensor
    tilt: torch.Tensor


@functools.cache
def _tables() -> _Tables:
    families = list(FAMILIES.values())
    ranges = [_ranges(f) for f in families]
    lying = [_LYING_BASE.get(f.lying, (0, 0.0)) for f in families]
    return _Tables(
        lower=torch.stack([low for low, _ in ranges]),
        upper=torch.stack([high for _, high in ranges]),
        lean=torch.deg2rad(torch.tensor([f.lean for f in families])),
        mirror=torch.tensor([f.mirror for f in families]),
        lying_axis=torch.tensor([axis for axis, _ in lying]),
        lying_angle=torch.deg2rad(torch.tensor([degrees for _, degrees in lying])),
        lying_side=torch.tensor([f.lying == "side" for f in families]),
        tilt=torch.deg2rad(torch.tensor([TILT_DEG / (2.0 if f.lying else 1.0) for f in families])),
    )


def _about(axis: torch.Tensor | int, radians: torch.Tensor) -> torch.Tensor:
    """(N,) angles about body axes `axis` ((N,) or one for all) -> (N, 3, 3) rotations."""
    axis = torch.as_tensor(axis).expand(radians.shape)
    return axis_angle_to_matrix(torch.nn.functional.one_hot(axis, 3).to(radians) * radians[:, None])


def _uniform(low: torch.Tensor | float, high: torch.Tensor | float, shape: tuple[int, ...], g: torch.Generator):
    return low + (high - low) * torch.rand(shape, generator=g)


def _candidates(family: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Unchecked draws, one per entry of `family` (N,) family numbers: global_orient (N, 3), body_pose (N, 69)."""
    t, count = _tables(), len(family)
    angles = _uniform(t.lower[family], t.upper[family], (count, NUM_BODY_JOINTS, 3), g)
    lean = _uniform(t.lean[family, 0], t.lean[family, 1], (count,), g)
    for side in ("left_hip", "right_hip"):  # the hips flex by the lean so the legs keep their direction
        angles[:, BODY_JOINT_NAMES.index(side), 0] -= lean
    pose = torch.cat([torch.zeros(count, 1, 3), pose_from_joint_angles(clamp_joint_angles(angles))], dim=1)
    flip = t.mirror[family] & (torch.rand(count, generator=g) < 0.5)
    pose = torch.where(flip[:, None, None], mirror_poses(pose), pose)
    tilt = t.tilt[family]
    pitch, roll = _uniform(-tilt, tilt, (count,), g), _uniform(-tilt, tilt, (count,), g)
    yaw = _uniform(-math.pi, math.pi, (count,), g)
    side = torch.where(t.lying_side[family] & (torch.rand(count, generator=g) < 0.5), -1.0, 1.0)
    lie = _about(t.lying_axis[family], side * t.lying_angle[family])
    rotation = _about(1, yaw) @ lie @ _about(2, roll) @ _about(0, pitch + lean)
    return matrix_to_axis_angle(rotation), pose[:, 1:].flatten(1)


def _sample(family: torch.Tensor, generator: torch.Generator, capsules: CapsuleBody) -> tuple[torch.Tensor, torch.Tensor]:
    """One accepted pose per entry of `family` (N,) family numbers, in that order: draws in rounds, each redrawing
    the poses that self-penetrate."""
    orient, pose = torch.zeros(len(family), 3), torch.zeros(len(family), 3 * NUM_BODY_JOINTS)
    pending = torch.arange(len(family))
    for _ in range(MAX_ROUNDS):
        if len(pending) == 0:
            return orient, pose
        drawn_orient, drawn_pose = _candidates(family[pending], generator)
        keep = capsules.depth(drawn_pose) <= MAX_DEPTH
        orient[pending[keep]], pose[pending[keep]] = drawn_orient[keep], drawn_pose[keep]
        pending = pending[~keep]
    if len(pending) == 0:
        return orient, pose
    names = sorted({list(FAMILIES)[i] for i in family[pending].tolist()})
    raise RuntimeError(f"pose families {names}: poses still self-penetrated after {MAX_ROUNDS} draws; their templates "
                       "mostly self-penetrate, narrow their ranges")


def sample_family(
    name: str, count: int, generator: torch.Generator, capsules: CapsuleBody | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` poses of family `name`: global_orient (count, 3), body_pose (count, 69), float32 axis-angle, body
    frame; every joint angle within the joint limits and no two capsules deeper than MAX_DEPTH into each other."""
    if name not in FAMILIES:
        raise KeyError(f"unknown pose family {name!r}; choose from {', '.join(FAMILIES)}")
    family = torch.full((count,), list(FAMILIES).index(name))
    return _sample(family, generator, capsules or default_capsules())


def family_counts(count: int, generator: torch.Generator, weights: Mapping[str, float] | None = None) -> torch.Tensor:
    """How many of `count` poses each family gets (FAMILIES order), drawn with `weights` (family name -> weight,
    unnamed families weigh 0; default: all equal)."""
    weights = weights or dict.fromkeys(FAMILIES, 1.0)
    unknown = [n for n in weights if n not in FAMILIES]
    if unknown or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"family weights must be non-negative, not all zero, over {', '.join(FAMILIES)}; got {weights}")
    probabilities = torch.tensor([float(weights.get(n, 0.0)) for n in FAMILIES])
    picks = torch.multinomial(probabilities, count, replacement=True, generator=generator) if count else torch.zeros(0)
    return torch.bincount(picks.long(), minlength=len(FAMILIES))


def sample_families(
    count: int, generator: torch.Generator, weights: Mapping[str, float] | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`count` poses from the families mixed by `weights` (see `family_counts`), in random order, drawn together in
    one batch: global_orient (count, 3), body_pose (count, 69) and each pose's family (count,) int64, its index in
    FAMILIES."""
    counts = family_counts(count, generator, weights)
    family = torch.repeat_interleave(torch.arange(len(FAMILIES)), counts)
    family = family[torch.randperm(count, generator=generator)]
    return (*_sample(family, generator, default_capsules()), family)
