"""A conditional normalizing flow over the body pose (ProHMR, Kolotouros et al., ICCV 2021; supplement section 1).

The flow is a bijection between a pose x (B, 144) - the 24 joint rotations in SMPL order, 6D each in the layout of
`hkmr_studio.geometry.rotations` (first two matrix columns) - and a latent z (B, 144) ~ N(0, I), conditioned on what
the regressor saw. `forward` maps x -> z (the normalising direction, used for the likelihood), `inverse` maps z -> x
(sampling). The mode of p(x | context) is taken, as in ProHMR, as the image of z = 0.

Layers, as the supplement's Figure 1: L steps of [ActNorm, invertible linear map (LU-parametrised, the "permutation"),
affine coupling], the coupling's split alternating between the odd and the even dimensions from step to step. Each
coupling's conditioner is a residual MLP of `width` channels over the untouched half and the context.

Context: the regressor's features Phi (B, F) and its own point estimate (B, 24, 6), projected once into a
`context_dim` vector that every conditioner reads. The flow also subtracts the point estimate from x first (a shift
that depends only on the context, log-determinant 0), so that the layers model how the true pose spreads around the
regressor's answer; an untrained flow's mode is the regressor's answer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.checks import check_shape

POSE_DIM = kinematics.NUM_JOINTS * 6  # 144
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class FlowConfig:
    """Hyper-parameters. ProHMR uses width 1024 and 4 steps; see models/prohmr/MODEL_CARD.md for the width shipped."""

    feature_dim: int = 1024
    context_dim: int = 256
    width: int = 256
    steps: int = 4
    blocks: int = 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowConfig:
        """Build from plain values; raises ValueError naming unknown entries."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown flow config entries: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class FlowContext:
    """What the flow is conditioned on, for B inputs: hidden (B, context_dim) and the anchor pose (B, 144)."""

    hidden: torch.Tensor
    anchor: torch.Tensor

    def __len__(self) -> int:
        return len(self.hidden)

    def select(self, rows: torch.Tensor | slice) -> FlowContext:
        """The context of some of the B inputs (a boolean mask, indices or a slice)."""
        return FlowContext(self.hidden[rows], self.anchor[rows])

    def repeat(self, n: int) -> FlowContext:
        """Each row repeated n times in a row: (B * n, ...), row b * n + i is input b."""
        return FlowContext(self.hidden.repeat_interleave(n, 0), self.anchor.repeat_interleave(n, 0))


class ActNorm(nn.Module):
    """y = (x + bias) * exp(log_scale) per dimension, initialised from the first batch it sees in training so that y
    has zero mean and unit variance (Glow)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.register_buffer("initialised", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not bool(self.initialised):
            with torch.no_grad():
                self.bias.copy_(-x.mean(0))
                self.log_scale.copy_(-torch.log(x.std(0).clamp_min(1e-3)))
                self.initialised.fill_(True)
        return (x + self.bias) * self.log_scale.exp(), self.log_scale.sum().expand(len(x))

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return y * (-self.log_scale).exp() - self.bias, -self.log_scale.sum().expand(len(y))


class LULinear(nn.Module):
    """y = x W^T with W = P L (U + diag(exp(s))): a learnt invertible mixing of all dimensions whose log-determinant
    is sum(s). P is a fixed permutation drawn from `seed`; it starts as W = P."""

    def __init__(self, dim: int, seed: int) -> None:
        super().__init__()
        perm = torch.randperm(dim, generator=torch.Generator().manual_seed(seed))
        self.register_buffer("permutation", torch.eye(dim)[perm])
        self.lower = nn.Parameter(torch.zeros(dim, dim))
        self.upper = nn.Parameter(torch.zeros(dim, dim))
        self.log_diag = nn.Parameter(torch.zeros(dim))
        self.register_buffer("_strict_lower", torch.tril(torch.ones(dim, dim), -1), persistent=False)
        self._cache: tuple[tuple, torch.Tensor, torch.Tensor] | None = None

    def _weights(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """W (D, D) and, while no gradient flows to W, its inverse (computed in float64 and cached on the parameters'
        storage and version, and on inference mode, whose tensors autograd refuses: sampling and refits call the inverse
        many times with fixed weights)."""
        params = (self.lower, self.upper, self.log_diag)
        if torch.is_grad_enabled() and any(p.requires_grad for p in params):
            return self._product(), None
        key = (torch.is_inference_mode_enabled(), *((p.data_ptr(), p._version) for p in params))
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                weight = self._product()
                self._cache = (key, weight, torch.linalg.inv(weight.double()).to(weight.dtype))
        return self._cache[1], self._cache[2]

    def _factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """L (unit lower triangular) and U (upper triangular, diagonal exp(s))."""
        eye = torch.eye(len(self.log_diag), device=self.log_diag.device)
        return (self.lower * self._strict_lower + eye,
                self.upper * self._strict_lower.T + torch.diag(self.log_diag.exp()))

    def _product(self) -> torch.Tensor:
        lower, upper = self._factors()
        return self.permutation @ lower @ upper

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x @ self._weights()[0].T, self.log_diag.sum().expand(len(x))

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inverse = self._weights()[1]
        if inverse is not None:
            return y @ inverse.T, -self.log_diag.sum().expand(len(y))
        lower, upper = self._factors()
        v = (y @ self.permutation).T  # P^-1 = P^T
        v = torch.linalg.solve_triangular(lower, v, upper=False, unitriangular=True)
        x = torch.linalg.solve_triangular(upper, v, upper=True).T
        return x, -self.log_diag.sum().expand(len(y))


class ResidualConditioner(nn.Module):
    """[x_kept (B, K), context (B, C)] -> (shift, raw log-scale), each (B, out): a residual MLP (supplement Fig. 3)
    whose output layer starts at zero, so a fresh coupling is the identity."""

    def __init__(self, in_dim: int, context_dim: int, out_dim: int, width: int, blocks: int) -> None:
        super().__init__()
        self.first = nn.Linear(in_dim + context_dim, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)) for _ in range(blocks)
        )
        self.last = nn.Linear(width, 2 * out_dim)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)

    def forward(self, kept: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.first(torch.cat([kept, context], dim=1))
        for block in self.blocks:
            h = h + block(h)
        shift, raw = self.last(F.relu(h)).chunk(2, dim=1)
        return shift, raw


class AffineCoupling(nn.Module):
    """Dimensions of one parity pass unchanged; the others are scaled and shifted by functions of them and the
    context: y_b = x_b * exp(s) + t, s = 2 tanh(raw / 2) (bounded, so the inverse stays well conditioned)."""

    def __init__(self, dim: int, parity: int, context_dim: int, width: int, blocks: int) -> None:
        super().__init__()
        self.register_buffer("kept", torch.arange(parity, dim, 2), persistent=False)
        self.register_buffer("changed", torch.arange(1 - parity, dim, 2), persistent=False)
        self.conditioner = ResidualConditioner(len(self.kept), context_dim, len(self.changed), width, blocks)

    def _params(self, x: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, raw = self.conditioner(x[:, self.kept], context)
        return shift, 2.0 * torch.tanh(raw / 2.0)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, log_scale = self._params(x, context)
        y = x.clone()
        y[:, self.changed] = x[:, self.changed] * log_scale.exp() + shift
        return y, log_scale.sum(1)

    def inverse(self, y: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, log_scale = self._params(y, context)  # the kept half is the same in x and y
        x = y.clone()
        x[:, self.changed] = (y[:, self.changed] - shift) * (-log_scale).exp()
        return x, -log_scale.sum(1)


class ConditionalPoseFlow(nn.Module):
    """p(pose | features, regressor's pose) as a normalizing flow; see the module docstring."""

    def __init__(self, config: FlowConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or FlowConfig()
        self.context_net = nn.Sequential(nn.Linear(config.feature_dim + POSE_DIM, config.context_dim), nn.ReLU())
        self.norms = nn.ModuleList(ActNorm(POSE_DIM) for _ in range(config.steps))
        self.mixes = nn.ModuleList(LULinear(POSE_DIM, seed=i) for i in range(config.steps))
        self.couplings = nn.ModuleList(
            AffineCoupling(POSE_DIM, i % 2, config.context_dim, config.width, config.blocks)
            for i in range(config.steps)
        )

    def context(self, features: torch.Tensor, anchor: torch.Tensor) -> FlowContext:
        """features (B, F) Phi; anchor (B, 24, 6) the regressor's pose -> the context for B inputs."""
        check_shape(features, (None, self.config.feature_dim), "features")
        check_shape(anchor, (len(features), kinematics.NUM_JOINTS, 6), "anchor pose")
        flat = anchor.flatten(1)
        return FlowContext(self.context_net(torch.cat([features, flat], dim=1)), flat)

    def forward(self, pose: torch.Tensor, context: FlowContext) -> tuple[torch.Tensor, torch.Tensor]:
        """pose (B, 144) -> z (B, 144) and log |det dz/dpose| (B,)."""
        check_shape(pose, (len(context), POSE_DIM), "pose")
        x, logdet = pose - context.anchor, pose.new_zeros(len(pose))
        for norm, mix, coupling in zip(self.norms, self.mixes, self.couplings, strict=True):
            for step in (norm, mix):
                x, ld = step(x)
                logdet = logdet + ld
            x, ld = coupling(x, context.hidden)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, z: torch.Tensor, context: FlowContext) -> tuple[torch.Tensor, torch.Tensor]:
        """z (B, 144) -> pose (B, 144) and log |det dpose/dz| (B,)."""
        check_shape(z, (len(context), POSE_DIM), "z")
        x, logdet = z, z.new_zeros(len(z))
        for norm, mix, coupling in zip(reversed(self.norms), reversed(self.mixes), reversed(self.couplings),
                                       strict=True):
            x, ld = coupling.inverse(x, context.hidden)
            logdet = logdet + ld
            for step in (mix, norm):
                x, ld = step.inverse(x)
                logdet = logdet + ld
        return x + context.anchor, logdet

    def log_prob(self, pose6d: torch.Tensor, context: FlowContext) -> torch.Tensor:
        """pose6d (B, 24, 6) -> log p(pose | context) (B,), in nats of the 144-dimensional density."""
        z, logdet = self(pose6d.flatten(1), context)
        return standard_normal_log_prob(z) + logdet

    def from_latent(self, z: torch.Tensor, context: FlowContext) -> torch.Tensor:
        """z (B, 144) -> poses (B, 24, 6)."""
        return self.inverse(z, context)[0].reshape(len(z), kinematics.NUM_JOINTS, 6)

    def mode(self, context: FlowContext) -> torch.Tensor:
        """The image of z = 0: (B, 24, 6)."""
        return self.from_latent(context.hidden.new_zeros(len(context), POSE_DIM), context)

    def sample(
        self, n: int, context: FlowContext, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n poses per input: poses (B, n, 24, 6) and their latents z (B, n, 144); the same generator state gives the
        same samples."""
        z = torch.randn(len(context) * n, POSE_DIM, generator=generator, device=context.hidden.device)
        poses = self.from_latent(z, context.repeat(n))
        return poses.reshape(len(context), n, *poses.shape[1:]), z.reshape(len(context), n, POSE_DIM)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """(B, D) -> (B,) log N(z; 0, I)."""
    return -0.5 * (z.square().sum(1) + z.shape[1] * _LOG_2PI)
