"""Does the body face the way the keypoints say? Evidence from MediaPipe's landmarks scored against the body.

Each cue compares one piece of evidence with the body (camera frame, OpenCV: x right, y down, z forward, metres; its
landmarks projected to pixels) and gives an agreement in [-1, 1] and a weight in [0, 1]:
  left_foot, right_foot  heel -> toe in the photo against the body's projected heel -> toe (feet point forward)
  nose                   nose -> midpoint of the ears in the photo against the body's (the nose points forward)
  shoulders, hips, ears  the photo's left -> right order against the body's projected order
  world                  the torso forward direction of MediaPipe's world landmarks against the body's
  nose_depth             the nose nearer the camera than the shoulders, in the world landmarks and in the body
2D cues weigh by their landmarks' visibility and by their length (full weight from a tenth of the torso's length).
The agreement is the weighted mean; below 0 the evidence on balance says the body faces the other way, and the check
is `flagged`. The feet and the nose read the photo's geometry, the others MediaPipe's left/right labels, so a view
where MediaPipe swapped left and right throughout (and the body followed) looks consistent to every cue but the feet
and the nose: the check catches bodies that turned away from their evidence, and swaps only where those two see them.

`swap_sides` gives the other reading of the same keypoints: left and right exchanged and the world landmarks
mirrored in depth, which is the same 2D picture of a person facing the other way (`Pipeline.flip`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.body.facing import torso_forward
from hkmr_studio.body.keypoint_sets import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.body.landmarks import LANDMARK_MIRROR
from hkmr_studio.pipeline.keypoints import Keypoints2D

_I = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARK_NAMES)}
#: (cue, from, to): 2D vectors compared between the photo and the body's projection.
_VECTOR_CUES: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("left_foot", (_I["left_heel"],), (_I["left_foot_index"],)),
    ("right_foot", (_I["right_heel"],), (_I["right_foot_index"],)),
    ("nose", (_I["left_ear"], _I["right_ear"]), (_I["nose"],)),
    ("shoulders", (_I["right_shoulder"],), (_I["left_shoulder"],)),
    ("hips", (_I["right_hip"],), (_I["left_hip"],)),
    ("ears", (_I["right_ear"],), (_I["left_ear"],)),
)
#: A 2D cue weighs fully from this fraction of the torso's length (shoulders' to hips' midpoint) on.
FULL_WEIGHT_LENGTH = 0.1
#: The world landmarks' nose weighs fully from this far (metres) in front of or behind the shoulders.
NOSE_DEPTH_M = 0.05
FLAGGED_MESSAGE = ("The body may face the wrong way: the keypoints say it faces the other way ({cues} disagree). "
                   "Flip shows the body turned round, with left and right swapped.")


@dataclass(frozen=True)
class FacingCheck:
    """agreement: weighted mean of the cues, in [-1, 1]; cues: name -> (agreement, weight); flagged: agreement < 0."""

    agreement: float
    cues: dict[str, tuple[float, float]]

    @property
    def flagged(self) -> bool:
        return self.agreement < 0.0

    @property
    def message(self) -> str:
        """For the user when flagged, else ""."""
        if not self.flagged:
            return ""
        against = [name.replace("_", " ") for name, (a, w) in self.cues.items() if a < 0 and w > 0]
        return FLAGGED_MESSAGE.format(cues=", ".join(against))

    def to_json(self) -> dict[str, object]:
        return {"flagged": self.flagged, "agreement": round(self.agreement, 3), "message": self.message,
                "cues": {name: {"agreement": round(a, 3), "weight": round(w, 3)} for name, (a, w) in self.cues.items()}}


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def check_facing(keypoints: Keypoints2D, body_landmarks: np.ndarray, projected: np.ndarray) -> FacingCheck:
    """Score the body against the keypoints' evidence. body_landmarks: (33, 3) the body's MediaPipe landmarks, camera
    frame; projected: (33, 2) their pixels in the photo."""
    seen = np.where(keypoints.present, keypoints.visibility, 0.0)
    torso = np.linalg.norm(projected[[11, 12]].mean(0) - projected[[23, 24]].mean(0))
    full = max(FULL_WEIGHT_LENGTH * torso, 1e-6)
    cues: dict[str, tuple[float, float]] = {}
    for name, start, end in _VECTOR_CUES:
        photo = keypoints.xy[list(end)].mean(0) - keypoints.xy[list(start)].mean(0)
        body = projected[list(end)].mean(0) - projected[list(start)].mean(0)
        length = min(np.linalg.norm(photo), np.linalg.norm(body)) / full
        cues[name] = (_cosine(photo, body), float(seen[list(start + end)].min() * min(length, 1.0)))
    if keypoints.world is not None:
        world, body = torch.as_tensor(keypoints.world), torch.as_tensor(body_landmarks, dtype=torch.float64)
        cues["world"] = (float((torso_forward(world) * torso_forward(body)).sum()), 1.0)
        world_nose = keypoints.world[0, 2] - keypoints.world[[11, 12], 2].mean()
        body_nose = body_landmarks[0, 2] - body_landmarks[[11, 12], 2].mean()
        cues["nose_depth"] = (float(np.sign(world_nose * body_nose)), float(min(abs(world_nose) / NOSE_DEPTH_M, 1.0)))
    total = sum(w for _, w in cues.values())
    agreement = sum(a * w for a, w in cues.values()) / total if total > 0 else 1.0
    return FacingCheck(float(agreement), cues)


def swap_sides(keypoints: Keypoints2D) -> Keypoints2D:
    """The keypoints read as a person facing the other way: left and right landmarks exchanged (the pixels stay) and
    the world landmarks exchanged likewise and mirrored in depth (z negated)."""
    order = list(LANDMARK_MIRROR)
    world = None
    if keypoints.world is not None:
        world = keypoints.world[order] * np.array([1.0, 1.0, -1.0])
    return Keypoints2D(keypoints.xy[order], keypoints.visibility[order], keypoints.present[order], keypoints.source,
                       world=world)
