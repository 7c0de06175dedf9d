"""SMPLify's 3D term on MediaPipe's world landmarks: the body's landmarks against MediaPipe's, after a similarity.

MediaPipe's world landmarks (metres, hip-centred, axes as the camera's: x right, y down, z away) get the body's
articulation roughly right but its frame wrong: turned towards the ray to the person, 16 degrees off in median, and
scaled by 0.92 (training/data/WORLD_LANDMARKS.md). So the term compares shapes, not placements: per sample, the
similarity that best maps the world landmarks onto the body's (weighted Procrustes, held constant within a step)
is applied first; the camera placement and the orientation stay with the 2D term. Each landmark's residual is
divided by how far MediaPipe's own world landmarks stray from the truth after that alignment, and robustified
(Geman-McClure), so a forearm MediaPipe flipped in depth costs at most a bounded amount.
"""

from __future__ import annotations

import torch

from hkmr_studio.body.keypoint_sets import MEDIAPIPE_LANDMARK_NAMES, NUM_LANDMARKS
from hkmr_studio.geometry.checks import check_last_dims
from hkmr_studio.geometry.metrics import similarity_transform

#: Metres: root-mean-square distance of MediaPipe's world landmarks from the truth after similarity alignment, per
#: body part, on 553 renders of the rendered set's training split (`python -m training render-set --train 600 --test
#: 0`, seed 1; the test split was not used). Hands and feet stray furthest, the face and shoulders least.
WORLD_ERROR_M: dict[str, float] = {
    "nose": 0.09, "eye": 0.09, "ear": 0.095, "mouth": 0.08, "shoulder": 0.09, "elbow": 0.125, "wrist": 0.19,
    "pinky": 0.215, "index": 0.22, "thumb": 0.205, "hip": 0.135, "knee": 0.15, "ankle": 0.195, "heel": 0.215,
    "foot_index": 0.245,
}  # fmt: skip
#: Residuals up to about this many standard errors count quadratically; beyond, their cost levels off.
ROBUST_SCALE = 2.0
_HIPS = [MEDIAPIPE_LANDMARK_NAMES.index("left_hip"), MEDIAPIPE_LANDMARK_NAMES.index("right_hip")]


def _part(name: str) -> str:
    part = name.removeprefix("left_").removeprefix("right_")
    return next(p for p in WORLD_ERROR_M if part == p or part.startswith(p + "_"))


#: (33,) the standard error of each MediaPipe world landmark, metres.
WORLD_ERROR_PER_LANDMARK = torch.tensor([WORLD_ERROR_M[_part(n)] for n in MEDIAPIPE_LANDMARK_NAMES])


def world_landmark_energy(body: torch.Tensor, world: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, 33, 3) body landmarks and MediaPipe world landmarks (any origins, the camera's axes), (B, 33) weights >= 0
    (e.g. visibility) -> (B,) sum over landmarks of weight * Geman-McClure(residual / standard error), the residual
    taken after aligning the world landmarks onto the body's by the weighted similarity (no gradient through it)."""
    check_last_dims(body, (NUM_LANDMARKS, 3), "body")
    check_last_dims(world, (NUM_LANDMARKS, 3), "world")
    sigma = WORLD_ERROR_PER_LANDMARK.to(body)
    body = body - body[:, _HIPS].mean(dim=1, keepdim=True)
    world = world - world[:, _HIPS].mean(dim=1, keepdim=True)
    with torch.no_grad():
        scale, rotation, translation = similarity_transform(world, body.detach(), weights / sigma**2)
        aligned = scale[:, None, None] * world @ rotation.transpose(1, 2) + translation[:, None]
    normalised = (body - aligned).pow(2).sum(-1) / sigma**2
    return (weights * ROBUST_SCALE**2 * normalised / (normalised + ROBUST_SCALE**2)).sum(-1)
