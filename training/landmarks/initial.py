"""Anatomical starting definitions of MediaPipe's 33 landmarks on the open body, and the candidate vertices and joints
calibration may move each landmark onto.

Geometry on the mean body in its rest T-pose (body frame: metres, Y up, facing +Z, left +X; palms down, thumbs
forward). Left landmarks are chosen; right ones are their mirror images (the mesh is mirror-symmetric to 0.1 mm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from hkmr_studio.body.kinematics import JOINT_INDEX, MIRROR_PERMUTATION
from hkmr_studio.body.landmarks import LANDMARK_MIRROR, Landmark, LandmarkDefinition
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES

_SMPLX_IDS = SMPLX_VERTEX_IDS["smplh"]  # the open body is numbered so that these indices hold the same anatomy
_MIRROR = np.array([-1.0, 1.0, 1.0])
_FRONT_RADIUS = 0.004  # m, in the XY plane, for ("front", (x, y)) terms

# Left (and midline) landmarks. Each: ("vertex", smplx keypoint) | ("front", (x, y): the most anterior vertex there) |
# ("joint", SMPL joint), as (kind, what, weight) terms; then the candidate radius in metres.
_LEFT_TERMS: dict[str, tuple[tuple[tuple[str, object, float], ...], float]] = {
    "nose": ((("vertex", "nose", 1.0),), 0.03),
    "left_eye_inner": ((("front", (0.016, 0.683), 1.0),), 0.025),
    "left_eye": ((("vertex", "leye", 1.0),), 0.025),
    "left_eye_outer": ((("front", (0.046, 0.685), 1.0),), 0.025),
    "left_ear": ((("vertex", "lear", 1.0),), 0.04),
    "mouth_left": ((("front", (0.024, 0.607), 1.0),), 0.03),
    "left_shoulder": ((("joint", "left_shoulder", 1.0),), 0.10),
    "left_elbow": ((("joint", "left_elbow", 1.0),), 0.07),
    "left_wrist": ((("joint", "left_wrist", 1.0),), 0.06),
    "left_pinky": ((("joint", "left_hand", 0.5), ("vertex", "lpinky", 0.5)), 0.06),
    "left_index": ((("joint", "left_hand", 0.5), ("vertex", "lindex", 0.5)), 0.06),
    "left_thumb": ((("joint", "left_hand", 0.5), ("vertex", "lthumb", 0.5)), 0.06),
    "left_hip": ((("joint", "left_hip", 1.0),), 0.12),
    "left_knee": ((("joint", "left_knee", 1.0),), 0.08),
    "left_ankle": ((("joint", "left_ankle", 1.0),), 0.07),
    "left_heel": ((("vertex", "LHeel", 1.0),), 0.05),
    "left_foot_index": ((("vertex", "LBigToe", 1.0),), 0.05),
}
#: Most candidate vertices per landmark (spread over the candidate ball by farthest-point sampling).
MAX_CANDIDATE_VERTICES = 32


@dataclass(frozen=True)
class Candidates:
    """Where calibration may put one landmark: vertex ids (Kv,) and joint ids (Kj,)."""

    vertices: np.ndarray
    joints: np.ndarray


def mirror_name(name: str) -> str:
    """The landmark's mirror image: left_* <-> right_*, mouth_left <-> mouth_right; the nose is its own."""
    return MEDIAPIPE_LANDMARK_NAMES[LANDMARK_MIRROR[MEDIAPIPE_LANDMARK_NAMES.index(name)]]


class RestBody:
    """The mean body's rest vertices (V, 3) and joints (24, 3) with mirror maps for vertices and joints."""

    def __init__(self, vertices: np.ndarray, joints: np.ndarray) -> None:
        self.vertices = vertices
        self.joints = joints
        self.tree = cKDTree(vertices)
        self.vertex_mirror = self.tree.query(vertices * _MIRROR)[1]
        self.joint_mirror = np.asarray(MIRROR_PERMUTATION)

    def term_ids(self, kind: str, what: object) -> tuple[str, int]:
        """("vertex" | "joint", id) for one term of `_LEFT_TERMS`."""
        if kind == "vertex":
            return "vertex", int(_SMPLX_IDS[str(what)])
        if kind == "front":
            close = np.flatnonzero(np.linalg.norm(self.vertices[:, :2] - np.asarray(what), axis=1) < _FRONT_RADIUS)
            return "vertex", int(close[np.argmax(self.vertices[close, 2])])
        return "joint", JOINT_INDEX[str(what)]


def _left_landmark(body: RestBody, name: str) -> Landmark:
    vertices: dict[int, float] = {}
    joints: dict[int, float] = {}
    for kind, what, weight in _LEFT_TERMS[name][0]:
        kind_id, index = body.term_ids(kind, what)
        (vertices if kind_id == "vertex" else joints)[index] = weight
    return Landmark(name, tuple(vertices), tuple(vertices.values()), tuple(joints), tuple(joints.values()))


def mirror_landmark(body: RestBody, landmark: Landmark, name: str) -> Landmark:
    """`landmark` reflected through the body's midplane (x -> -x), renamed `name`."""
    return Landmark(
        name,
        tuple(int(body.vertex_mirror[v]) for v in landmark.vertex_ids),
        landmark.vertex_weights,
        tuple(int(body.joint_mirror[j]) for j in landmark.joint_ids),
        landmark.joint_weights,
    )


def initial_definition(body: RestBody) -> LandmarkDefinition:
    """The anatomical definition before calibration."""
    landmarks = []
    for name in MEDIAPIPE_LANDMARK_NAMES:
        if name in _LEFT_TERMS:
            landmarks.append(_left_landmark(body, name))
        else:
            landmarks.append(mirror_landmark(body, _left_landmark(body, mirror_name(name)), name))
    return LandmarkDefinition(num_vertices=len(body.vertices), landmarks=tuple(landmarks))


def rest_position(body: RestBody, landmark: Landmark) -> np.ndarray:
    """(3,) the landmark on the rest body."""
    points = [body.vertices[v] * w for v, w in zip(landmark.vertex_ids, landmark.vertex_weights)]
    points += [body.joints[j] * w for j, w in zip(landmark.joint_ids, landmark.joint_weights)]
    return np.sum(points, axis=0)


def _farthest_points(points: np.ndarray, start: int, count: int) -> np.ndarray:
    """Indices of `count` points chosen greedily far from each other, starting at `start`."""
    chosen = [start]
    distance = np.linalg.norm(points - points[start], axis=1)
    while len(chosen) < min(count, len(points)):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen[-1]], axis=1))
    return np.asarray(chosen)


def left_candidates(body: RestBody, name: str) -> Candidates:
    """Candidates for a left or midline landmark: up to MAX_CANDIDATE_VERTICES vertices within its radius of the
    initial point (always including the initial vertices), and the initial joints plus the nearest joint."""
    landmark = _left_landmark(body, name)
    centre = rest_position(body, landmark)
    radius = _LEFT_TERMS[name][1]
    near = np.asarray(body.tree.query_ball_point(centre, radius), dtype=np.int64)
    start = int(np.argmin(np.linalg.norm(body.vertices[near] - centre, axis=1)))
    picked = near[_farthest_points(body.vertices[near], start, MAX_CANDIDATE_VERTICES)]
    vertices = np.unique(np.concatenate([picked, np.asarray(landmark.vertex_ids, dtype=np.int64)]))
    nearest_joint = int(np.argmin(np.linalg.norm(body.joints - centre, axis=1)))
    joints = np.unique(np.asarray([*landmark.joint_ids, nearest_joint], dtype=np.int64))
    return Candidates(vertices, joints)
