"""MediaPipe Pose's 33 landmarks on the body: each a convex combination of a few mesh vertices and SMPL joints.

The definition is data, `models/body/mediapipe_landmarks.json`, fitted by `python -m training calibrate-landmarks` to
where MediaPipe puts its landmarks on renders of the embedded body (see training/data/LANDMARKS.md). Landmarks are
computed in whatever frame the vertices and joints are given in (body or camera frame, metres).

Two ways to compute them: `landmarks_from_body` from a full mesh, or `BodyLandmarks`, which poses only the vertices the
definition uses (linear blend skinning restricted to those rows), for fitting loops and synthetic training data.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hkmr_studio import strict_json
from hkmr_studio.body import kinematics
from hkmr_studio.body.keypoint_sets import MEDIAPIPE_LANDMARK_NAMES, NUM_LANDMARKS
from hkmr_studio.body.model import BodyModel
from hkmr_studio.geometry.checks import check_shape
from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from hkmr_studio.resources import models_dir

FORMAT = "hkmr-mediapipe-landmarks"
_WEIGHT_SUM_TOLERANCE = 1e-4


def _mirror_name(name: str) -> str:
    for side, other in (("left", "right"), ("right", "left")):
        if side in name:
            return name.replace(side, other)
    return name


#: LANDMARK_MIRROR[i] is the landmark that i becomes under a left/right mirror (the nose stays itself).
LANDMARK_MIRROR: tuple[int, ...] = tuple(
    MEDIAPIPE_LANDMARK_NAMES.index(_mirror_name(n)) for n in MEDIAPIPE_LANDMARK_NAMES
)


class LandmarkDefinitionError(ValueError):
    """A landmark definition file could not be used; the message names the file and the problem."""


def default_definition_path() -> Path:
    """The shipped definition for the embedded open body."""
    return models_dir() / "body" / "mediapipe_landmarks.json"


@dataclass(frozen=True)
class Landmark:
    """One landmark: sum_i vertex_weights[i] * vertex[vertex_ids[i]] + sum_j joint_weights[j] * joint[joint_ids[j]].

    Weights are non-negative and sum to 1.
    """

    name: str
    vertex_ids: tuple[int, ...]
    vertex_weights: tuple[float, ...]
    joint_ids: tuple[int, ...]
    joint_weights: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vertices": list(self.vertex_ids),
            "vertex_weights": [round(w, 6) for w in self.vertex_weights],
            "joints": list(self.joint_ids),
            "joint_weights": [round(w, 6) for w in self.joint_weights],
        }


@dataclass(frozen=True)
class LandmarkDefinition:
    """The 33 landmarks in MediaPipe order, on a mesh of `num_vertices` vertices."""

    num_vertices: int
    landmarks: tuple[Landmark, ...]

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def used_vertices(self) -> np.ndarray:
        """(U,) sorted ids of the vertices any landmark uses."""
        return np.unique(np.concatenate([np.asarray(lm.vertex_ids, dtype=np.int64) for lm in self.landmarks]))

    @functools.cached_property
    def full_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """`gather_tables()` for the whole mesh, computed once."""
        return self.gather_tables()

    def gather_tables(self, vertex_ids: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Index and weight tables (33, K) into the points [vertices; joints] concatenated along dim 1.

        vertex_ids: the (U,) vertices the points hold, in order (None: the whole mesh). Unused slots have weight 0.
        """
        position = np.arange(self.num_vertices) if vertex_ids is None else np.full(self.num_vertices, -1)
        if vertex_ids is not None:
            position[vertex_ids] = np.arange(len(vertex_ids))
        num_points = self.num_vertices if vertex_ids is None else len(vertex_ids)
        width = max(len(lm.vertex_ids) + len(lm.joint_ids) for lm in self.landmarks)
        index = torch.zeros(NUM_LANDMARKS, width, dtype=torch.long)
        weight = torch.zeros(NUM_LANDMARKS, width)
        for i, lm in enumerate(self.landmarks):
            ids = [int(position[v]) for v in lm.vertex_ids] + [num_points + j for j in lm.joint_ids]
            if min(ids, default=0) < 0:
                raise ValueError(f"landmark {lm.name} uses vertices outside the given vertex_ids")
            index[i, : len(ids)] = torch.tensor(ids)
            weight[i, : len(ids)] = torch.tensor(lm.vertex_weights + lm.joint_weights)
        return index, weight

    def to_json(self, extra: dict[str, Any] | None = None) -> str:
        """The file `load_landmark_definition` reads: metadata (plus `extra` keys), then one landmark per line."""
        header = {"format": FORMAT, "version": 1, "num_vertices": self.num_vertices, **(extra or {})}
        head = strict_json.dumps(header, indent=1)[:-2]  # without the closing brace
        body = ",\n".join("  " + strict_json.dumps(lm.to_json()) for lm in self.landmarks)
        return f'{head},\n "landmarks": [\n{body}\n ]\n}}\n'


def _validate(definition: LandmarkDefinition) -> None:
    names = tuple(lm.name for lm in definition.landmarks)
    if names != MEDIAPIPE_LANDMARK_NAMES:
        raise LandmarkDefinitionError(f"expected the 33 MediaPipe landmarks in MediaPipe's order, got {names}")
    for lm in definition.landmarks:
        where = f"landmark {lm.name}"
        if len(lm.vertex_ids) != len(lm.vertex_weights) or len(lm.joint_ids) != len(lm.joint_weights):
            raise LandmarkDefinitionError(f"{where}: ids and weights differ in length")
        if not lm.vertex_ids and not lm.joint_ids:
            raise LandmarkDefinitionError(f"{where}: uses no vertex and no joint")
        if any(not 0 <= v < definition.num_vertices for v in lm.vertex_ids):
            raise LandmarkDefinitionError(f"{where}: a vertex id is outside 0..{definition.num_vertices - 1}")
        if any(not 0 <= j < kinematics.NUM_JOINTS for j in lm.joint_ids):
            raise LandmarkDefinitionError(f"{where}: a joint id is outside 0..{kinematics.NUM_JOINTS - 1}")
        weights = lm.vertex_weights + lm.joint_weights
        if not all(math.isfinite(w) and w >= 0 for w in weights):
            raise LandmarkDefinitionError(f"{where}: weights must be finite and non-negative")
        if abs(sum(weights) - 1.0) > _WEIGHT_SUM_TOLERANCE:
            raise LandmarkDefinitionError(f"{where}: weights sum to {sum(weights):.6f}, not 1")


def load_landmark_definition(path: str | Path | None = None) -> LandmarkDefinition:
    """Read and validate a definition file (default: the shipped one for the embedded body)."""
    path = Path(path) if path is not None else default_definition_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LandmarkDefinitionError(
            f"{path}: not found; run `python -m training calibrate-landmarks` to create it"
        ) from None
    except json.JSONDecodeError as exc:
        raise LandmarkDefinitionError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise LandmarkDefinitionError(f'not a landmark definition ("format" is not "{FORMAT}")')
        landmarks = tuple(
            Landmark(
                name=str(entry["name"]),
                vertex_ids=tuple(int(v) for v in entry["vertices"]),
                vertex_weights=tuple(float(w) for w in entry["vertex_weights"]),
                joint_ids=tuple(int(j) for j in entry["joints"]),
                joint_weights=tuple(float(w) for w in entry["joint_weights"]),
            )
            for entry in document["landmarks"]
        )
        return LandmarkDefinition(num_vertices=int(document["num_vertices"]), landmarks=landmarks)
    except (KeyError, TypeError, ValueError) as exc:
        message = str(exc) if isinstance(exc, LandmarkDefinitionError) else f"malformed entry ({exc!r})"
        raise LandmarkDefinitionError(f"{path.name}: {message}") from None


def combine_points(points: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(B, P, 3) points, (33, K) index and weight tables (`LandmarkDefinition.gather_tables`) -> (B, 33, 3)."""
    gathered = points[:, index.flatten()].reshape(points.shape[0], *index.shape, 3)  # (B, 33, K, 3)
    return (gathered * weight.to(points)[None, :, :, None]).sum(dim=2)


def landmarks_from_body(
    vertices: torch.Tensor, joints: torch.Tensor, definition: LandmarkDefinition | None = None
) -> torch.Tensor:
    """(B, V, 3) vertices and (B, 24, 3) joints in one frame -> (B, 33, 3) MediaPipe landmarks in that frame.

    Differentiable. definition: None loads the shipped one (its num_vertices must match V).
    """
    definition = definition or _default_definition()
    check_shape(vertices, (None, definition.num_vertices, 3), "vertices")
    check_shape(joints, (vertices.shape[0], kinematics.NUM_JOINTS, 3), "joints")
    index, weight = definition.full_tables
    return combine_points(torch.cat([vertices, joints], dim=1), index.to(vertices.device), weight)


@functools.cache
def _default_definition() -> LandmarkDefinition:
    """The shipped definition, read once per process."""
    return load_landmark_definition()


@dataclass
class LandmarkOutput:
    """joints (B, 24, 3), landmarks (B, 33, 3) and the requested extra vertices (B, E, 3), all in the frame the
    global orientation puts the body in (no translation)."""

    joints: torch.Tensor
    landmarks: torch.Tensor
    vertices: torch.Tensor


class BodyLandmarks(torch.nn.Module):
    """Joints, landmarks and a few chosen vertices of a posed body without posing the whole mesh.

    Linear blend skinning (with the body's pose correctives, if it has any) runs only on the vertices the definition
    uses plus `extra_vertices`; results equal those of the full mesh.
    """

    def __init__(
        self, body: BodyModel, definition: LandmarkDefinition | None = None, extra_vertices: Sequence[int] = ()
    ) -> None:
        super().__init__()
        definition = definition or _default_definition()
        if definition.num_vertices != body.num_vertices:
            raise LandmarkDefinitionError(
                f"the landmark definition is for a {definition.num_vertices}-vertex body, this body has "
                f"{body.num_vertices}; calibrate landmarks for it with `python -m training calibrate-landmarks`"
            )
        self.body = body
        used = definition.used_vertices
        self.num_extra = len(extra_vertices)
        rows = np.concatenate([np.asarray(extra_vertices, dtype=np.int64), used])
        index, weight = definition.gather_tables(used)
        self.register_buffer("index", index + self.num_extra, persistent=False)
        self.register_buffer("weight", weight, persistent=False)
        smpl = body.smpl
        rows_t = torch.from_numpy(rows)
        self.register_buffer("template", smpl.v_template[rows_t], persistent=False)  # (R, 3)
        shapedirs = smpl.shapedirs[rows_t]  # (R, 3, 10)
        self.register_buffer("shapedirs_flat", shapedirs.permute(2, 0, 1).reshape(shapedirs.shape[-1], -1),
                             persistent=False)  # (10, R * 3)
        self.register_buffer("skin", smpl.lbs_weights[rows_t], persistent=False)  # (R, 24)
        posedirs = smpl.posedirs.reshape(smpl.posedirs.shape[0], -1, 3)[:, rows_t].flatten(1)  # (207, R * 3)
        self.register_buffer("posedirs", posedirs if bool(posedirs.any()) else None, persistent=False)

    def forward(self, global_orient: torch.Tensor, body_pose: torch.Tensor, betas: torch.Tensor) -> LandmarkOutput:
        """(B, 3), (B, 69) axis-angle and (B, 10) betas -> LandmarkOutput."""
        batch = global_orient.shape[0]
        check_shape(body_pose, (batch, kinematics.NUM_BODY_JOINTS * 3), "body_pose")
        check_shape(betas, (batch, kinematics.NUM_BETAS), "betas")
        pose = torch.cat([global_orient, body_pose], dim=1).reshape(batch, kinematics.NUM_JOINTS, 3)
        rotmats = axis_angle_to_matrix(pose)
        rest = self.body.rest_joints(betas)
        rotations, joints = self.body.forward_kinematics(rotmats, rest)  # (B, 24, 3, 3), (B, 24, 3)
        shaped = self.template + (betas @ self.shapedirs_flat).reshape(batch, -1, 3)  # (B, R, 3)
        if self.posedirs is not None:
            eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
            features = (rotmats[:, 1:] - eye).flatten(1)  # (B, 207)
            shaped = shaped + (features @ self.posedirs).reshape(shaped.shape)
        # Skinning: each used vertex blends its joints' rigid transforms x -> R_j x + (p_j - R_j rest_j).
        offsets = joints - (rotations @ rest[..., None])[..., 0]  # (B, 24, 3)
        blended_rot = (self.skin @ rotations.flatten(2)).reshape(batch, -1, 3, 3)  # (B, R, 3, 3)
        posed = (blended_rot @ shaped[..., None])[..., 0] + self.skin @ offsets
        landmarks = combine_points(torch.cat([posed, joints], dim=1), self.index, self.weight)
        return LandmarkOutput(joints=joints, landmarks=landmarks, vertices=posed[:, : self.num_extra])
