"""The pose flow's primitives that the flow's scores (training.evaluation.flow) and its refits
(training.evaluation.flow_refit) share: the regressor's answer with the flow's context, and SMPL joint errors."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.checkpoints import LoadedModel
from hkmr_studio.geometry.metrics import per_joint_error, procrustes_align
from hkmr_studio.geometry.rotations import matrix_to_rot6d
from hkmr_studio.nets.flow import FlowContext
from hkmr_studio.nets.probabilistic import require_flow
from training.trainer.data import Batch, encode


@dataclass
class FlowRun:
    """The regressor's answer on B rows and the flow's context for them."""

    context: FlowContext
    betas: torch.Tensor  # (B, 10)
    point: torch.Tensor  # (B, 24, 6) the regressor's pose
    camera: torch.Tensor  # (B, 3) the regressor's weak-perspective crop camera


def run_flow(model: LoadedModel, batch: Batch) -> FlowRun:
    """The model's regressor on a batch (world landmarks as its meta says) and the flow's context."""
    flow = require_flow(model.net)
    with torch.inference_mode():
        features = encode(model.net, batch, bool(model.meta.get("uses_world_landmarks", False)))
        output = model.net.regressor(features)
        point = matrix_to_rot6d(output.rotmats)
        return FlowRun(flow.context(features, point), output.betas, point, output.camera)


def smpl_joint_errors(pred: torch.Tensor, true: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """24 SMPL joints: (N,) MPJPE (pelvis-aligned) and PA-MPJPE, mm."""
    pred, true = pred - pred[:, :1], true - true[:, :1]
    return (per_joint_error(pred, true).mean(1) * 1000.0,
            per_joint_error(procrustes_align(pred, true), true).mean(1) * 1000.0)
