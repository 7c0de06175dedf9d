"""Which part of the body a keypoint edit may move: the kinematic chain of each edited keypoint, nothing else.

A keypoint belongs to the chain whose joints carry it: the face to the head chain (neck, head), a shoulder, elbow,
wrist or hand landmark to that side's arm chain (collar to hand), a hip, knee, ankle, heel or toe to that side's leg
chain. A refit after edits frees the chains of the keypoints that were moved, hidden, shown or pinned, and holds every
other joint (the root chain included) where it started, so a dragged wrist moves its arm and nothing else. A moved
keypoint carries its hand, foot or face along, and counts as pinned: it is where the user wants it.
"""

from __future__ import annotations

import numpy as np

from hkmr_studio.body import kinematics
from hkmr_studio.body.keypoint_sets import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.pipeline.keypoints import Keypoints2D

_ARM_PARTS = ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")
_LEG_PARTS = ("hip", "knee", "ankle", "heel", "foot_index")
#: Keypoints at most this far (pixels) from where they were count as not moved.
MOVED_PX = 0.5


def _chain_of(name: str) -> str:
    for side in ("left", "right"):
        if name.startswith(f"{side}_"):
            part = name.removeprefix(f"{side}_")
            if part in _ARM_PARTS:
                return f"{side}_arm"
            if part in _LEG_PARTS:
                return f"{side}_leg"
    return "head"  # the nose, eyes, ears and mouth


#: LANDMARK_CHAIN[i]: the name of the kinematic chain that carries MediaPipe landmark i.
LANDMARK_CHAIN: tuple[str, ...] = tuple(_chain_of(name) for name in MEDIAPIPE_LANDMARK_NAMES)


def _carried(names: dict[str, tuple[str, ...]]) -> dict[int, tuple[int, ...]]:
    index = MEDIAPIPE_LANDMARK_NAMES.index
    return {index(lead): tuple(index(n) for n in rest) for lead, rest in names.items()}


#: MediaPipe index -> the indices that move with it (same hand, foot or face), so that they do not hold the body
#: back where it was.
CARRIED_ALONG = _carried({
    **{f"{side}_wrist": tuple(f"{side}_{n}" for n in ("pinky", "index", "thumb")) for side in ("left", "right")},
    **{f"{side}_ankle": (f"{side}_heel", f"{side}_foot_index") for side in ("left", "right")},
    "nose": tuple(n for n in MEDIAPIPE_LANDMARK_NAMES[1:11]),
})


def moved_keypoints(keypoints: Keypoints2D, index: int, xy: tuple[float, float]) -> Keypoints2D:
    """The keypoints with keypoint `index` put at pixel `xy` and the present ones it carries along (CARRIED_ALONG)
    shifted as much; a keypoint the user placed counts as seen (visibility 1). Source "user"."""
    points, visibility, present = keypoints.xy.copy(), keypoints.visibility.copy(), keypoints.present.copy()
    carried = [i for i in CARRIED_ALONG.get(index, ()) if present[i]]
    points[carried] += np.asarray(xy) - points[index]
    points[index], visibility[index], present[index] = xy, 1.0, True
    return Keypoints2D(xy=points, visibility=visibility, present=present, source="user", world=keypoints.world)


def moved_landmarks(before: Keypoints2D, after: Keypoints2D) -> list[int]:
    """MediaPipe indices more than MOVED_PX from where they were: the user's own placements, which a refit weighs
    like pinned keypoints."""
    return np.flatnonzero(np.linalg.norm(after.xy - before.xy, axis=1) > MOVED_PX).tolist()


def edited_landmarks(before: Keypoints2D, after: Keypoints2D, pinned: frozenset[int] = frozenset()) -> list[int]:
    """MediaPipe indices moved (more than MOVED_PX), made visible or not, given or taken away between two keypoint
    sets of one photo, and the `pinned` ones."""
    seen = before.visible() != after.visible()
    given = before.present != after.present
    return sorted(set(np.flatnonzero(seen | given).tolist()) | set(moved_landmarks(before, after)) | set(pinned))


def held_joints(edited: list[int]) -> tuple[int, ...]:
    """The SMPL joints outside the chains of the `edited` landmarks: those a refit keeps where they start."""
    free = {j for i in edited for j in kinematics.CHAIN_BY_NAME[LANDMARK_CHAIN[i]].joints}
    return tuple(j for j in range(kinematics.NUM_JOINTS) if j not in free)
