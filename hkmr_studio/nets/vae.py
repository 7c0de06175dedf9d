"""The VAE pose prior of HKMR (paper section 3.2 "Pose Prior", supplement section 1), after Pavlakos et al. 2019.

Encoder: body pose (B, 69) axis-angle, the 23 joints below the pelvis -> FC 512 (BatchNorm, LeakyReLU, dropout)
-> mean and log-variance of q(z | theta), z in R^32. Decoder: z (B, 32) -> FC 512 (BatchNorm, LeakyReLU, dropout)
-> (B, 69). The supplement lists BatchNorm/LeakyReLU/dropout for both units of each; here they follow the hidden
unit only, so that the latent statistics and the reconstruction stay unconstrained linear outputs.

As a prior on predicted poses, freeze the trained VAE and put it in eval mode (BatchNorm then uses its running
statistics), and use `kl` (the paper's L_KL) or `negative_elbo`.
"""

from __future__ import annotations

import torch
from torch import nn

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.checks import check_shape

POSE_DIM = kinematics.NUM_BODY_JOINTS * 3


def _hidden_unit(in_dim: int, width: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.LeakyReLU(0.2), nn.Dropout(dropout))


class PoseVAE(nn.Module):
    """VAE over SMPL body poses (B, 69) with a 32-d latent."""

    def __init__(self, hidden_dim: int = 512, latent_dim: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = _hidden_unit(POSE_DIM, hidden_dim, dropout)
        self.to_mean = nn.Linear(hidden_dim, latent_dim)
        self.to_log_var = nn.Linear(hidden_dim, latent_dim)
        self.decoder = nn.Sequential(_hidden_unit(latent_dim, hidden_dim, dropout), nn.Linear(hidden_dim, POSE_DIM))

    def encode(self, body_pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """body_pose (B, 69) -> mean (B, 32), log-variance (B, 32) of q(z | body_pose)."""
        check_shape(body_pose, (None, POSE_DIM), "body_pose")
        hidden = self.encoder(body_pose)
        return self.to_mean(hidden), self.to_log_var(hidden)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """latent (B, 32) -> body pose (B, 69)."""
        check_shape(latent, (None, self.latent_dim), "latent")
        return self.decoder(latent)

    def forward(self, body_pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """body_pose (B, 69) -> reconstruction (B, 69) of a reparameterised sample (the mean in eval), mean, log_var."""
        mean, log_var = self.encode(body_pose)
        latent = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var) if self.training else mean
        return self.decode(latent), mean, log_var

    @staticmethod
    def kl_from_stats(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """KL(N(mean, exp(log_var)) || N(0, I)) per sample: (B, 32) x 2 -> (B,), always >= 0."""
        return 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(dim=-1)

    def kl(self, body_pose: torch.Tensor) -> torch.Tensor:
        """The paper's L_KL: KL(q(z | body_pose) || N(0, I)) per sample, body_pose (B, 69) -> (B,)."""
        return self.kl_from_stats(*self.encode(body_pose))

    def negative_elbo(self, body_pose: torch.Tensor, recon_std: float = 0.1) -> torch.Tensor:
        """-ELBO per sample, (B, 69) -> (B,): Gaussian reconstruction error (std `recon_std` rad, constants dropped)
        plus KL; low for plausible poses. The VAE's training objective, and a prior energy for fitting."""
        reconstruction, mean, log_var = self(body_pose)
        recon = 0.5 * ((reconstruction - body_pose) / recon_std).square().sum(dim=-1)
        return recon + self.kl_from_stats(mean, log_var)
