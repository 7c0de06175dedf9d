"""Running the `probabilistic` variant: the regressor's point estimate and the flow's distribution around it.

The flow (hkmr_studio.nets.flow) is conditioned on the encoder's features Phi and on the regressor's own pose, both
from one unmirrored pass of the network over the keypoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.geometry.rotations import matrix_to_rot6d, rot6d_to_axis_angle
from hkmr_studio.nets.flow import ConditionalPoseFlow, FlowContext
from hkmr_studio.nets.output import RegressorOutput
from hkmr_studio.nets.recovery import MeshRegressor


class NoFlowError(ValueError):
    """The model has no flow: it is not a `probabilistic` model."""


@dataclass
class FlowPrediction:
    """The regressor's output (point estimate, betas, camera) and the flow's context for the same B inputs."""

    output: RegressorOutput
    context: FlowContext


def require_flow(net: MeshRegressor) -> ConditionalPoseFlow:
    """The network's flow; NoFlowError with what to do when it has none."""
    if net.flow is None:
        raise NoFlowError("this model has no pose distribution: choose the `prohmr` model (models/prohmr/model.pt) "
                          "or train one with `python -m training train-flow`")
    return net.flow


def predict_with_flow(
    net: MeshRegressor,
    landmarks: torch.Tensor,
    visibility: torch.Tensor,
    mask: torch.Tensor,
    world: torch.Tensor | None,
) -> FlowPrediction:
    """Keypoint inputs as `KeypointEncoder` (landmarks (B, 33, 2) in the crop's [-1, 1], visibility (B, 33), mask
    (B, 33), world (B, 33, 3) or None) -> the regressor's output and the flow's context."""
    flow = require_flow(net)
    features = net.encoder(landmarks, visibility, mask, world)
    output = net.regressor(features)
    return FlowPrediction(output, flow.context(features, matrix_to_rot6d(output.rotmats)))


def pose6d_to_smpl(pose6d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., 24, 6) -> global_orient (..., 3) and body_pose (..., 69) axis-angle."""
    axis_angle = rot6d_to_axis_angle(pose6d)
    return axis_angle[..., 0, :], axis_angle[..., 1:, :].flatten(-2)
