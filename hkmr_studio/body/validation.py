"""The one check of a SMPL-format body, run on every body as it is loaded (a user's file and the embedded one alike).

SMPL layout with V vertices, F triangles and 24 joints: v_template (V, 3) in metres; shapedirs (V, 3, >=10);
posedirs (V, 3, 207), 23 joints x 9 rotation-matrix entries; J_regressor (24, V), dense or scipy sparse; weights
(V, 24), each row summing to 1; f (F, 3) vertex indices; kintree_table (2, 24) whose first row holds each joint's
parent (the root's is -1, which SMPL files store as 2**32 - 1). Requiring SMPL's own parents makes it a tree.
The extra keypoints' vertices (body.extra_keypoints) must exist on the mesh: the file's own hkmr_vertex_ids when it
has them (one vertex per keypoint), else SMPL's, which need SMPL's vertex count.
Anything else raises BodyFileFormatError with a message that names the field.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse

from hkmr_studio.body import kinematics
from hkmr_studio.body.extra_keypoints import EXTRA_KEYPOINT_NAMES, OWN_IDS_FIELD, SMPL_VERTEX_IDS
from hkmr_studio.body.safe_pickle import BodyFileFormatError

FIELDS = {
    "v_template": "template vertices",
    "shapedirs": "shape blend shapes",
    "posedirs": "pose blend shapes",
    "J_regressor": "joint regressor",
    "weights": "skinning weights",
    "f": "faces",
    "kintree_table": "kinematic tree",
}
_DESCRIPTIONS = {**FIELDS, OWN_IDS_FIELD: "the body's own keypoint vertices"}
#: The fewest vertices for smplx's SMPL keypoint ids, used by a body without its own (OWN_IDS_FIELD).
MIN_VERTICES = max(SMPL_VERTEX_IDS.values()) + 1
NUM_POSE_CORRECTIVES = (kinematics.NUM_JOINTS - 1) * 9
#: How far a vertex's skinning weights may sum from 1 (SMPL's own files are within 1e-6).
WEIGHT_SUM_TOLERANCE = 1e-3
_ROOT_PARENTS = (-1, 2**32 - 1)
_NUMBERS = "fiu"
_INTEGERS = "iu"
_KIND_NAMES = {"U": "text", "S": "text", "O": "Python objects", "b": "true/false values", "f": "fractional numbers",
               "c": "complex numbers", "M": "dates", "m": "durations"}
_REMEDY = "Use an unmodified SMPL_NEUTRAL.pkl from the SMPL download, or the embedded open body."


class _Refusal(Exception):
    """One field's problem; `validate_body_data` names the file and the field around it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def _array(data: dict[str, Any], field: str, kinds: str) -> Any:
    """The field as a numpy array (a scipy sparse matrix stays one) whose values are finite and of a dtype kind in
    `kinds`."""
    value = data[field]
    sparse = scipy.sparse.issparse(value)
    try:
        array = value if sparse else np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise _Refusal(field, f"is not an array ({exc})") from exc
    values = value.data if sparse else array
    if values.dtype.kind not in kinds:
        wanted = "integer indices" if kinds == _INTEGERS else "numbers"
        found = _KIND_NAMES.get(values.dtype.kind, "values")
        raise _Refusal(field, f"must hold {wanted}; it holds {found} ({values.dtype})")
    if values.dtype.kind == "f":
        not_finite = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        if not_finite:
            raise _Refusal(field, f"holds {not_finite} values that are not finite (NaN or infinity)")
    return array


def _check_shape(field: str, shape: tuple[int, ...], expected: tuple[int | None, ...], pattern: str) -> None:
    """`expected` holds None where any size is fine; `pattern` is how the shape is written to the user, e.g. (V, 3)."""
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected)):
        raise _Refusal(field, f"has shape {tuple(shape)}; it must be {pattern}")


def _check_kintree(data: dict[str, Any]) -> None:
    kintree = _array(data, "kintree_table", _INTEGERS)
    _check_shape("kintree_table", kintree.shape, (2, None), "(2, 24)")
    if kintree.shape[1] != kinematics.NUM_JOINTS:
        raise _Refusal("kintree_table", f"has {kintree.shape[1]} joints; HKMR Studio needs a 24-joint SMPL body "
                                        "(SMPL-H and SMPL-X files are not supported)")
    root_parent = int(kintree[0, 0])
    if root_parent not in _ROOT_PARENTS:
        raise _Refusal("kintree_table", f"gives the root joint (pelvis) the parent {root_parent}; the root has none "
                                        "(-1)")
    parents = tuple(int(p) for p in kintree[0, 1:])
    if parents != kinematics.PARENTS[1:]:
        raise _Refusal("kintree_table", f"has the parents {list(parents)}, not SMPL's {list(kinematics.PARENTS[1:])}")


def _check_own_keypoint_vertices(own: Any, vertices: int) -> None:
    """`own` must map each of EXTRA_KEYPOINT_NAMES, and nothing else, to a vertex index below `vertices`."""
    if not isinstance(own, dict):
        raise _Refusal(OWN_IDS_FIELD, f"must map keypoint names to vertex indices; it holds {type(own).__name__}")
    missing = [name for name in EXTRA_KEYPOINT_NAMES if name not in own]
    unknown = sorted(str(name) for name in own if name not in EXTRA_KEYPOINT_NAMES)
    if missing or unknown:
        lacks = f"lacks {', '.join(missing)}" if missing else ""
        extra = f"names unknown keypoints {', '.join(unknown)}" if unknown else ""
        raise _Refusal(OWN_IDS_FIELD, f"{' and '.join(filter(None, (lacks, extra)))}; it needs exactly "
                                      f"{', '.join(EXTRA_KEYPOINT_NAMES)}")
    for name in EXTRA_KEYPOINT_NAMES:
        vertex = own[name]
        if isinstance(vertex, bool) or not isinstance(vertex, int | np.integer) or not 0 <= vertex < vertices:
            raise _Refusal(OWN_IDS_FIELD, f"gives {name} the vertex {vertex!r}, but the vertices are numbered 0 to "
                                          f"{vertices - 1}")


def _check_arrays(data: dict[str, Any]) -> None:
    v_template = _array(data, "v_template", _NUMBERS)
    _check_shape("v_template", v_template.shape, (None, 3), "(V, 3)")
    vertices = v_template.shape[0]
    if OWN_IDS_FIELD in data:
        _check_own_keypoint_vertices(data[OWN_IDS_FIELD], vertices)
    elif vertices < MIN_VERTICES:
        raise _Refusal("v_template", f"has {vertices} vertices; a SMPL body has at least {MIN_VERTICES} (smplx reads "
                                     f"face, foot and finger keypoints from SMPL's vertex numbers; a body with another "
                                     f"mesh names its own in {OWN_IDS_FIELD})")
    shapedirs = _array(data, "shapedirs", _NUMBERS)
    _check_shape("shapedirs", shapedirs.shape, (vertices, 3, None), f"(V, 3, 10 or more) with V = {vertices}")
    if shapedirs.shape[2] < kinematics.NUM_BETAS:
        raise _Refusal("shapedirs", f"has {shapedirs.shape[2]} shape components; SMPL has at least "
                                    f"{kinematics.NUM_BETAS}")
    posedirs = _array(data, "posedirs", _NUMBERS)
    _check_shape("posedirs", posedirs.shape, (vertices, 3, NUM_POSE_CORRECTIVES),
                 f"(V, 3, {NUM_POSE_CORRECTIVES}) with V = {vertices}")
    regressor = _array(data, "J_regressor", _NUMBERS)
    _check_shape("J_regressor", regressor.shape, (kinematics.NUM_JOINTS, vertices),
                 f"(24, V) with V = {vertices}")
    weights = _array(data, "weights", _NUMBERS)
    _check_shape("weights", weights.shape, (vertices, kinematics.NUM_JOINTS), f"(V, 24) with V = {vertices}")
    sums = weights.sum(axis=1)
    worst = int(np.abs(sums - 1.0).argmax())
    if abs(sums[worst] - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise _Refusal("weights", f"of vertex {worst} sum to {sums[worst]:.4g}; each vertex's must sum to 1")
    faces = _array(data, "f", _INTEGERS)
    _check_shape("f", faces.shape, (None, 3), "(F, 3), three vertex indices per triangle")
    if faces.size == 0:
        raise _Refusal("f", "holds no triangles")
    low, high = int(faces.min()), int(faces.max())
    if low < 0 or high >= vertices:
        bad = low if low < 0 else high
        raise _Refusal("f", f"refers to vertex {bad}, but the vertices are numbered 0 to {vertices - 1} ({vertices} "
                            "vertices)")


def validate_body_data(data: dict[str, Any], source_name: str) -> None:
    """Raise BodyFileFormatError naming `source_name` and the field when `data` is not a usable SMPL body."""
    missing = [k for k in FIELDS if k not in data]
    if missing:
        raise BodyFileFormatError(f"{source_name} lacks {', '.join(missing)}: it is not a SMPL-format body model. "
                                  f"{_REMEDY}")
    try:
        _check_kintree(data)
        _check_arrays(data)
    except _Refusal as refusal:
        raise BodyFileFormatError(f"{source_name}: {refusal.field} ({_DESCRIPTIONS[refusal.field]}) {refusal}. "
                                  f"{_REMEDY}") from None
