"""Self-penetration of a posed body, measured on capsule proxies placed by forward kinematics (no mesh).

Each body segment is a capsule: a line segment between two points that ride on joints, and a radius. The capsules
are fixed on the rest body: an end is a joint plus an offset in that joint's frame (rest-body coordinates), and a
capsule's radius is the median distance from its axis of the rest-mesh vertices nearest to it, so a capsule holds
about the segment's volume. The depth of a pose is the deepest overlap r_a + r_b - distance(axis_a, axis_b) over the
pairs of capsules that do not already overlap in the rest pose (those meet at a joint, e.g. thigh and pelvis, upper
arm and chest); touching (depth 0) is allowed, passing through is not. Body frame: metres, Y up, facing +Z, left +X.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from hkmr_studio.body.kinematics import JOINT_INDEX, JOINT_NAMES, MIRROR_PERMUTATION, NUM_JOINTS
from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.geometry.rotations import axis_angle_to_matrix

#: An end of a capsule: a joint; (joint, offset) a point at a fixed offset (metres, rest-body axes) from the joint; or
#: (joint, child, t) the point t of the way along the rest bone from the joint to its child. Each rides on its joint.
End = str | tuple[str, tuple[float, float, float]] | tuple[str, str, float]
#: (name, end, end). Names starting with "left_" are mirrored into "right_" ones. Thighs and shins taper, so each is
#: two capsules.
_CAPSULES: tuple[tuple[str, End, End], ...] = (
    ("pelvis", ("pelvis", (-0.075, -0.04, 0.0)), ("pelvis", (0.075, -0.04, 0.0))),
    ("belly", ("spine1", (-0.045, 0.02, 0.055)), ("spine1", (0.045, 0.02, 0.055))),
    ("lower_chest", ("spine2", (-0.045, 0.068, 0.054)), ("spine2", (0.045, 0.068, 0.054))),
    ("upper_chest", ("spine3", (-0.07, 0.073, 0.043)), ("spine3", (0.07, 0.073, 0.043))),
    ("head", ("head", (0.0, 0.027, 0.027)), ("head", (0.0, 0.097, 0.017))),
    ("left_thigh", "left_hip", ("left_hip", "left_knee", 0.5)),
    ("left_lower_thigh", ("left_hip", "left_knee", 0.5), "left_knee"),
    ("left_calf", "left_knee", ("left_knee", "left_ankle", 0.5)),
    ("left_lower_leg", ("left_knee", "left_ankle", 0.5), "left_ankle"),
    ("left_foot", ("left_ankle", (0.003, -0.033, -0.011)), ("left_foot", (-0.002, -0.003, 0.018))),
    ("left_upper_arm", "left_shoulder", "left_elbow"),
    ("left_forearm", "left_elbow", "left_wrist"),
    ("left_hand", "left_wrist", ("left_hand", (0.056, -0.014, 0.009))),
)  # fmt: skip
#: Pairs that meet at a crease and press together in normal poses (a thigh on the belly in a deep squat, the chin on
#: the chest, the upper arm on the side of the chest below the armpit when the arm hangs), not tested, besides the
#: pairs that overlap at rest. Each second name stands for itself and its mirror.
_CREASES = (("belly", "left_thigh"), ("belly", "left_lower_thigh"), ("upper_chest", "head"), ("lower_chest", "left_upper_arm"))
#: The depth (metres) beyond which a pose counts as self-penetrating.
MAX_DEPTH = 0.02


def _mirror(name: str) -> str:
    return "right_" + name[len("left_") :]


def _mirror_end(end: End) -> End:
    if isinstance(end, str):
        return JOINT_NAMES[MIRROR_PERMUTATION[JOINT_INDEX[end]]]
    if len(end) == 3:
        return _mirror_end(end[0]), _mirror_end(end[1]), end[2]
    return _mirror_end(end[0]), (-end[1][0], end[1][1], end[1][2])


def _resolve(end: End, rest: torch.Tensor) -> tuple[int, torch.Tensor]:
    """An end -> its joint and its offset from that joint (3,), for rest joints (24, 3)."""
    if isinstance(end, str):
        return JOINT_INDEX[end], torch.zeros(3)
    joint = JOINT_INDEX[end[0]]
    if len(end) == 3:
        return joint, end[2] * (rest[JOINT_INDEX[end[1]]] - rest[joint])
    return joint, torch.tensor(end[1])


def _capsule_table() -> tuple[list[str], list[End]]:
    """Capsule names (left and right) and their ends, two per capsule."""
    names, ends = [], []
    for name, *pair in _CAPSULES:
        names.append(name)
        ends += pair
        if name.startswith("left_"):
            names.append(_mirror(name))
            ends += [_mirror_end(e) for e in pair]
    return names, ends


def segment_distances(p0: torch.Tensor, p1: torch.Tensor, q0: torch.Tensor, q1: torch.Tensor) -> torch.Tensor:
    """Shortest distances between segments p0-p1 and q0-q1, each (..., 3) with non-zero length -> (...)."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a, e = (d1 * d1).sum(-1), (d2 * d2).sum(-1)
    b, c, f = (d1 * d2).sum(-1), (d1 * r).sum(-1), (d2 * r).sum(-1)
    denom = a * e - b * b
    # closest point parameters: s on p, t on q; the infinite lines' solution, clamped, then re-solved once per side
    s = torch.where(denom > 1e-12 * a * e, ((b * f - c * e) / denom.clamp_min(1e-30)).clamp(0.0, 1.0), 0.0 * a)
    t = (b * s + f) / e
    s = torch.where(t < 0, (-c / a).clamp(0.0, 1.0), torch.where(t > 1, ((b - c) / a).clamp(0.0, 1.0), s))
    t = t.clamp(0.0, 1.0)
    return (p0 + s[..., None] * d1 - q0 - t[..., None] * d2).norm(dim=-1)


def _point_segment_distances(points: torch.Tensor, p0: torch.Tensor, p1: torch.Tensor) -> torch.Tensor:
    """(V, 3) points, (C, 3) segment ends -> (V, C) distances."""
    d = p1 - p0
    s = (((points[:, None] - p0) * d).sum(-1) / (d * d).sum(-1)).clamp(0.0, 1.0)
    return (points[:, None] - p0 - s[..., None] * d).norm(dim=-1)


@dataclass(frozen=True)
class CapsuleBody:
    """Capsules on a body: ends as joints (C, 2) and offsets (C, 2, 3) in the joint's frame, radii (C,) metres, and
    the capsule pairs (P, 2) that are tested."""

    names: tuple[str, ...]
    end_joints: torch.Tensor
    end_offsets: torch.Tensor
    radii: torch.Tensor
    pairs: torch.Tensor
    rest_joints: torch.Tensor  # (24, 3)
    body: BodyModel

    @classmethod
    def build(cls, body: BodyModel) -> CapsuleBody:
        """Capsules fitted to the body's mean shape (betas 0) in its rest pose."""
        names, ends = _capsule_table()
        rest = body.joint_template.detach().float()
        resolved = [_resolve(e, rest) for e in ends]
        joints = torch.tensor([j for j, _ in resolved])
        offsets = torch.stack([o for _, o in resolved]).float()
        points = (rest[joints] + offsets).reshape(-1, 2, 3)
        offsets = offsets.reshape(-1, 2, 3)
        distances = _point_segment_distances(body.smpl.v_template.detach().float(), points[:, 0], points[:, 1])
        nearest = distances.argmin(dim=1)
        radii = torch.stack([distances[nearest == c, c].median() for c in range(len(names))])
        capsule_pairs = torch.combinations(torch.arange(len(names)), 2)
        rest_gap = segment_distances(*points[capsule_pairs[:, 0]].unbind(1), *points[capsule_pairs[:, 1]].unbind(1))
        creases = {frozenset((a, b)) for a, left in _CREASES for b in (left, _mirror(left))}
        crease = torch.tensor([frozenset((names[i], names[j])) in creases for i, j in capsule_pairs.tolist()])
        apart = (rest_gap > radii[capsule_pairs].sum(-1)) & ~crease
        return cls(tuple(names), joints.reshape(-1, 2), offsets, radii, capsule_pairs[apart], rest, body)

    def axes(self, body_pose: torch.Tensor) -> torch.Tensor:
        """(B, 69) axis-angle body poses (zero global orientation) -> (B, C, 2, 3) capsule ends, body frame."""
        batch = body_pose.shape[0]
        pose = torch.cat([torch.zeros(batch, 3, dtype=body_pose.dtype), body_pose], dim=1).reshape(batch, NUM_JOINTS, 3)
        rest = self.rest_joints.to(body_pose).expand(batch, NUM_JOINTS, 3)
        rotations, positions = self.body.forward_kinematics(axis_angle_to_matrix(pose), rest)
        joints = self.end_joints
        offsets = (rotations[:, joints] @ self.end_offsets.to(body_pose)[None, ..., None])[..., 0]
        return positions[:, joints] + offsets

    def depth(self, body_pose: torch.Tensor) -> torch.Tensor:
        """(B, 69) axis-angle body poses -> (B,) deepest overlap of two tested capsules, metres (<= 0: none)."""
        return self.pair_depths(body_pose).amax(dim=1)

    def pair_depths(self, body_pose: torch.Tensor) -> torch.Tensor:
        """(B, 69) -> (B, P) overlap r_a + r_b - axis distance of each tested capsule pair, metres."""
        ends = self.axes(body_pose)
        a, b = ends[:, self.pairs[:, 0]], ends[:, self.pairs[:, 1]]
        gap = segment_distances(a[:, :, 0], a[:, :, 1], b[:, :, 0], b[:, :, 1])
        return self.radii[self.pairs].sum(-1).to(gap) - gap

    def pair_names(self) -> list[tuple[str, str]]:
        """The tested pairs by capsule name, in `pair_depths` order."""
        return [(self.names[i], self.names[j]) for i, j in self.pairs.tolist()]



@functools.cache
def default_capsules() -> CapsuleBody:
    """Capsules on the default body model (built once per process)."""
    return CapsuleBody.build(load_body_model())
