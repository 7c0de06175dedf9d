"""What the HKMR and HMR regressors return: the final SMPL parameters and a trace of every refinement step.

The trace is shared by both regressors so that the chain inspector and the losses read them with the same code:
HKMR records T outer steps x P inner passes (forward, backward, forward, ...); HMR records its iterations as outer
steps with a single pass each.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.rotations import matrix_to_axis_angle
from hkmr_studio.nets.pose_rep import RotationRep, rep_to_axis_angle, rep_to_matrix


@dataclass
class RegressorTrace:
    """Every intermediate estimate of one prediction.

    pass_poses: (T, P, B, 24, D) the full pose in SMPL joint order after inner pass p of outer step t, in the
        regressor's rotation representation. For HKMR, chain c's entries at (t, p) are its theta after pass p of step t
        (the root chain runs all its passes of step t before the child chains start theirs).
    betas: (T, B, 10) shape after each outer step.
    cameras: (T, B, 3) weak-perspective camera (s, tx, ty) after each outer step.
    rotation: the representation of `pass_poses`.
    directions: (P,) "forward" / "backward" for HKMR's inner passes, "flat" for HMR's iterations.
    """

    pass_poses: torch.Tensor
    betas: torch.Tensor
    cameras: torch.Tensor
    rotation: RotationRep
    directions: tuple[str, ...]

    @property
    def num_outer(self) -> int:
        return self.pass_poses.shape[0]

    @property
    def num_inner(self) -> int:
        return self.pass_poses.shape[1]

    def pose(self, step: int = -1, inner_pass: int = -1) -> torch.Tensor:
        """(B, 24, 3) axis-angle pose after outer step `step`, inner pass `inner_pass` (negative indices count back)."""
        return rep_to_axis_angle(self.pass_poses[step, inner_pass], self.rotation)

    def chain_pose(self, chain: str, step: int = -1, inner_pass: int = -1) -> torch.Tensor:
        """(B, K_c, 3) axis-angle rotations of the joints of `chain` (a name in kinematics.CHAINS), first to last."""
        joints = list(kinematics.CHAIN_BY_NAME[chain].joints)
        return rep_to_axis_angle(self.pass_poses[step, inner_pass][:, joints], self.rotation)


@dataclass
class RegressorOutput:
    """Final SMPL parameters (the last trace entry) and the trace.

    global_orient: (B, 3) and body_pose: (B, 69) axis-angle; rotmats: (B, 24, 3, 3) local joint rotations;
    betas: (B, 10); camera: (B, 3) weak perspective (s, tx, ty), x = s * (X_xy + t).
    """

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    rotmats: torch.Tensor
    betas: torch.Tensor
    camera: torch.Tensor
    trace: RegressorTrace

    @property
    def step_poses(self) -> list[torch.Tensor]:
        """Per outer step, the (B, 24, 3) axis-angle pose at the step's end (what the losses supervise)."""
        return [self.trace.pose(t) for t in range(self.trace.num_outer)]

    @property
    def step_betas(self) -> list[torch.Tensor]:
        """Per outer step, the (B, 10) betas."""
        return list(self.trace.betas.unbind(0))

    @property
    def step_cameras(self) -> list[torch.Tensor]:
        """Per outer step, the (B, 3) camera."""
        return list(self.trace.cameras.unbind(0))


def make_output(trace: RegressorTrace) -> RegressorOutput:
    """The output whose final parameters are the trace's last entry."""
    final = trace.pass_poses[-1, -1]  # (B, 24, D)
    batch = final.shape[0]
    rotmats = rep_to_matrix(final, trace.rotation)
    # Same computation as RegressorTrace.pose, so the last trace entry equals the output exactly.
    axis_angle = final if trace.rotation == "axis_angle" else matrix_to_axis_angle(rotmats)
    return RegressorOutput(
        global_orient=axis_angle[:, 0],
        body_pose=axis_angle[:, 1:].reshape(batch, kinematics.NUM_BODY_JOINTS * 3),
        rotmats=rotmats,
        betas=trace.betas[-1],
        camera=trace.cameras[-1],
        trace=trace,
    )
