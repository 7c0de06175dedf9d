"""A posed body as a rig (rest mesh, skin weights, bone rotations) in the Y-up view frame, for rigged exports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.body.model import BodyModel
from hkmr_studio.export.frames import CAMERA_TO_YUP
from hkmr_studio.geometry.rotations import axis_angle_to_matrix


@dataclass
class Rig:
    """rest_vertices (V, 3) and rest_joints (24, 3): shaped body in its rest pose (body frame, Y up, metres);
    faces (F, 3); weights (V, 24); local_rotmats (24, 3, 3), the root's expressed in the Y-up view frame;
    translation (3,): where the rest pose moves so that the posed body sits where it was predicted.
    An animated rig has a leading frame axis: local_rotmats (T, 24, 3, 3), translation (T, 3)."""

    rest_vertices: np.ndarray
    rest_joints: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    local_rotmats: np.ndarray
    translation: np.ndarray


@torch.no_grad()
def make_rig(
    body: BodyModel, global_orient: np.ndarray, body_pose: np.ndarray, betas: np.ndarray, transl: np.ndarray
) -> Rig:
    """Rig of one posed body: (3,), (69,), (10,) and (3,) camera-frame parameters as the pipeline predicts them; or
    of T frames of one body shape: (T, 3), (T, 69), (10,) and (T, 3)."""
    dtype = body.smpl.v_template.dtype
    betas_t = torch.as_tensor(betas, dtype=dtype)[None]
    rest = body(torch.zeros(1, 3, dtype=dtype), torch.zeros(1, 69, dtype=dtype), betas_t)
    rest_joints = rest.joints[0].double().numpy()
    global_orient = np.asarray(global_orient, dtype=np.float64)
    pose = np.concatenate([global_orient, np.asarray(body_pose)], axis=-1).reshape(*global_orient.shape[:-1], 24, 3)
    rotmats = axis_angle_to_matrix(torch.as_tensor(pose, dtype=torch.float64)).numpy()
    rotmats[..., 0, :, :] = CAMERA_TO_YUP @ rotmats[..., 0, :, :]
    # smplx rotates about the rest pelvis and then adds transl: the pelvis lands at W (J0 + transl) in the view frame.
    pelvis = rest_joints[0]
    translation = (pelvis + np.asarray(transl)) @ CAMERA_TO_YUP.T - pelvis
    return Rig(rest.vertices[0].double().numpy(), rest_joints, body.faces, body.lbs_weights.double().numpy(),
               rotmats, translation)
