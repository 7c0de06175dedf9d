"""SMPL's 24-joint kinematic tree and HKMR's six kinematic chains.

Everything in the project indexes joints in SMPL order; this module is the one place that order is written down.
Body frame: metres, Y up, the body faces +Z, the person's left is +X.
"""

from __future__ import annotations

from dataclasses import dataclass

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
NUM_JOINTS = len(JOINT_NAMES)
NUM_BODY_JOINTS = NUM_JOINTS - 1  # the 23 joints below the root: body_pose has 23 * 3 = 69 values
NUM_BETAS = 10

#: PARENTS[j] is the parent joint of j; -1 for the pelvis.
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}


def _mirror_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[len("left_") :]
    if name.startswith("right_"):
        return "left_" + name[len("right_") :]
    return name


#: MIRROR_PERMUTATION[j] is the joint that j becomes under a left/right mirror.
MIRROR_PERMUTATION: tuple[int, ...] = tuple(JOINT_INDEX[_mirror_name(n)] for n in JOINT_NAMES)


@dataclass(frozen=True)
class Chain:
    """One HKMR kinematic chain: joints ordered from the chain's first joint (nearest the root) to its last."""

    name: str
    joints: tuple[int, ...]

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(JOINT_NAMES[j] for j in self.joints)

    @property
    def size(self) -> int:
        return len(self.joints)


ROOT_CHAIN = Chain("root", tuple(JOINT_INDEX[n] for n in ("pelvis", "spine1", "spine2", "spine3")))
HEAD_CHAIN = Chain("head", tuple(JOINT_INDEX[n] for n in ("neck", "head")))
LEFT_ARM_CHAIN = Chain(
    "left_arm", tuple(JOINT_INDEX[n] for n in ("left_collar", "left_shoulder", "left_elbow", "left_wrist", "left_hand"))
)
RIGHT_ARM_CHAIN = Chain(
    "right_arm",
    tuple(JOINT_INDEX[n] for n in ("right_collar", "right_shoulder", "right_elbow", "right_wrist", "right_hand")),
)
LEFT_LEG_CHAIN = Chain("left_leg", tuple(JOINT_INDEX[n] for n in ("left_hip", "left_knee", "left_ankle", "left_foot")))
RIGHT_LEG_CHAIN = Chain(
    "right_leg", tuple(JOINT_INDEX[n] for n in ("right_hip", "right_knee", "right_ankle", "right_foot"))
)

#: The root chain first, then its five children; together they cover each of the 24 joints exactly once.
CHAINS: tuple[Chain, ...] = (ROOT_CHAIN, HEAD_CHAIN, LEFT_ARM_CHAIN, RIGHT_ARM_CHAIN, LEFT_LEG_CHAIN, RIGHT_LEG_CHAIN)
CHILD_CHAINS: tuple[Chain, ...] = CHAINS[1:]
CHAIN_BY_NAME: dict[str, Chain] = {c.name: c for c in CHAINS}

#: CHAIN_OF_JOINT[j] is the name of the chain that holds joint j.
CHAIN_OF_JOINT: tuple[str, ...] = tuple(next(c.name for c in CHAINS if j in c.joints) for j in range(NUM_JOINTS))


def _depth(j: int) -> int:
    return 0 if PARENTS[j] < 0 else 1 + _depth(PARENTS[j])


@dataclass(frozen=True)
class DepthLevel:
    """Joints at one depth of the tree; parent_slots index their parents in the depth-ordered joint list."""

    joints: tuple[int, ...]
    parent_slots: tuple[int, ...]


def _depth_levels() -> tuple[tuple[DepthLevel, ...], tuple[int, ...]]:
    depths = [_depth(j) for j in range(NUM_JOINTS)]
    ordered: list[int] = []
    levels = []
    for d in range(max(depths) + 1):
        joints = tuple(j for j in range(NUM_JOINTS) if depths[j] == d)
        slots = tuple(ordered.index(PARENTS[j]) if PARENTS[j] >= 0 else -1 for j in joints)
        levels.append(DepthLevel(joints, slots))
        ordered += joints
    inverse = tuple(ordered.index(j) for j in range(NUM_JOINTS))
    return tuple(levels), inverse


#: The tree by depth (pelvis first) for batched forward kinematics, and the permutation from depth order back to
#: SMPL order.
DEPTH_LEVELS, DEPTH_ORDER_INVERSE = _depth_levels()
#: PARENTS with the root mapped to itself, for gathering parent positions.
PARENTS_OR_SELF: tuple[int, ...] = tuple(max(p, 0) for p in PARENTS)
