"""The flat HMR-style iterative regressor (Kanazawa et al. 2018), the baseline HKMR is compared with.

Each of the iterations maps [Phi, Theta, beta, camera] through FC 1024 -> FC 1024 (ReLU, dropout) -> an update of
all of [Theta, beta, camera], added to the current estimate, starting from the mean parameters. The first layer is
stored as its two parts, on Phi (`feature_in`) and on the state (`net.first`): the same function as one layer on the
concatenation, with Phi's part computed once per forward since Phi does not change across iterations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.checks import check_shape
from hkmr_studio.nets.layers import SplitMLP
from hkmr_studio.nets.output import RegressorOutput, RegressorTrace, make_output
from hkmr_studio.nets.pose_rep import MeanParams, RotationRep, rep_dim


@dataclass
class HMRConfig:
    """HMR hyper-parameters: 3 iterations, two hidden layers of 1024 with dropout 0.5, axis-angle (HMR) or 6D (SPIN)."""

    feature_dim: int = 2048
    num_iterations: int = 3
    rotation: RotationRep = "axis_angle"
    hidden_dim: int = 1024
    dropout: float = 0.5


class HMRRegressor(nn.Module):
    """Features Phi (B, F) -> RegressorOutput; the trace has one outer step per iteration and one pass per step."""

    def __init__(self, config: HMRConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or HMRConfig()
        if config.num_iterations < 1:
            raise ValueError(f"num_iterations must be >= 1, got {config.num_iterations}")
        self.rep_dim = rep_dim(config.rotation)
        self.pose_dim = kinematics.NUM_JOINTS * self.rep_dim
        state_dim = self.pose_dim + kinematics.NUM_BETAS + 3
        self.feature_in = nn.Linear(config.feature_dim, config.hidden_dim, bias=False)
        self.net = SplitMLP(state_dim, (config.hidden_dim, config.hidden_dim, state_dim), config.dropout)
        self.mean = MeanParams(config.rotation)

    def forward(self, features: torch.Tensor) -> RegressorOutput:
        """features: (B, F) -> final (B, ...) SMPL parameters and camera, with the trace."""
        check_shape(features, (None, self.config.feature_dim), "features")
        batch = features.shape[0]
        pre = torch.addmm(self.net.first.bias, features, self.feature_in.weight.T)  # (B, H), once
        state = torch.cat([self.mean.pose.flatten(), self.mean.betas, self.mean.camera]).expand(batch, -1)
        states = []
        for _ in range(self.config.num_iterations):
            state = state + self.net.finish(torch.addmm(pre, state, self.net.first.weight.T))
            states.append(state)
        stacked = torch.stack(states)  # (T, B, S)
        n, nb = self.pose_dim, kinematics.NUM_BETAS
        trace = RegressorTrace(
            pass_poses=stacked[..., :n].reshape(len(states), 1, batch, kinematics.NUM_JOINTS, self.rep_dim),
            betas=stacked[..., n : n + nb],
            cameras=stacked[..., n + nb :],
            rotation=self.config.rotation,
            directions=("flat",),
        )
        return make_output(trace)
