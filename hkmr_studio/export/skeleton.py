"""Bone geometry of a joint tree for rigged exports (numpy only: Blender's child process imports it too)."""

from __future__ import annotations

import numpy as np

#: Length given to a bone without a child (head, hands, feet), metres.
LEAF_LENGTH_M = 0.08


def bone_tails(rest_joints: np.ndarray, parents: list[int] | tuple[int, ...]) -> np.ndarray:
    """(J, 3) rest joints (metres) -> (J, 3) bone tails: towards the first child; a leaf, or a bone whose child sits
    on it, continues its parent's direction for LEAF_LENGTH_M (the root: +Z)."""
    tails = np.array(rest_joints, dtype=np.float64)
    for j in range(len(parents)):
        children = [c for c, p in enumerate(parents) if p == j]
        if children:
            tails[j] = rest_joints[children[0]]
        if not children or np.linalg.norm(tails[j] - rest_joints[j]) < 1e-4:
            p = parents[j]
            direction = rest_joints[j] - rest_joints[p] if p >= 0 else np.array([0.0, 0.0, 1.0])
            direction = direction / max(np.linalg.norm(direction), 1e-9)
            tails[j] = rest_joints[j] + LEAF_LENGTH_M * direction
    return tails
