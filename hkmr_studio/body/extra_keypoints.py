"""The body's extra keypoints: 21 surface points (nose, eyes, ears, toes, heels, finger tips) that smplx appends after
the 24 joints (`BodyOutput.extra_keypoints`), each read from one vertex of the body's own mesh.

Which vertex is the body file's business. The embedded open body (13,348 vertices) records its own choice under
OWN_IDS_FIELD (name -> vertex index): `python -m training build-body` picks each vertex geometrically on the mean body
(training/body/keypoints.py: nose = the most anterior midline head vertex, eye = the skin vertex nearest the front of
the eyeball, ear = the tragus, big/small toe and finger tips = the vertex of the last bone farthest along it, heel =
the most posterior vertex of the foot bone; right side = the mirror image of the left) and numbers its mesh so that
those vertices sit at SMPL's indices. A body file without its own ids is taken to be SMPL's 6,890-vertex mesh (a
user's licensed file), for which smplx's SMPL ids are the right ones.
"""

from __future__ import annotations

from typing import Any

from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

#: The body file's own keypoint vertices: keypoint name -> vertex index.
OWN_IDS_FIELD = "hkmr_vertex_ids"
#: smplx's keypoint vertices on SMPL's 6,890-vertex mesh.
SMPL_VERTEX_IDS: dict[str, int] = dict(SMPLX_VERTEX_IDS["smplh"])
_FINGER_TIPS = ("thumb", "index", "middle", "ring", "pinky")
#: The keypoints in the order smplx appends them after the 24 joints.
EXTRA_KEYPOINT_NAMES: tuple[str, ...] = (
    ("nose", "reye", "leye", "rear", "lear")
    + ("LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")
    + tuple(side + tip for side in "lr" for tip in _FINGER_TIPS)
)


def keypoint_vertex_ids(data: dict[str, Any]) -> dict[str, int]:
    """Keypoint name -> vertex index for a body file's contents `data`: its own ids when it records them (checked by
    body.validation), else smplx's SMPL ids."""
    own = data.get(OWN_IDS_FIELD)
    if own is None:
        return dict(SMPL_VERTEX_IDS)
    return {str(name): int(vertex) for name, vertex in own.items()}
