"""Pose priors for SMPLify: callables mapping body_pose (B, 69) axis-angle to a (B,) penalty (lower = likelier).

The SMPLify GMM file is licence-restricted, so the project fits its own mixture on its pose library
(`models/priors/pose_gmm.npz`); the VAE prior wraps the regressor's PoseVAE. Before either exists, `InitPosePrior`
pulls toward the initialisation, and `load_pose_prior` says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.resources import models_dir

log = logging.getLogger(__name__)
PosePrior = Callable[[torch.Tensor], torch.Tensor]
PRIOR_NAMES = ("gmm", "vae", "init")


class GaussianMixturePrior(torch.nn.Module):
    """Negative log-likelihood of the best-fitting component (SMPLify's max-mixture form), per sample.

    means (K, 69), covariances (K, 69, 69), weights (K,).
    """

    def __init__(self, means: np.ndarray, covariances: np.ndarray, weights: np.ndarray) -> None:
        super().__init__()
        covs = torch.as_tensor(covariances, dtype=torch.float64)
        chol = torch.linalg.cholesky(covs)
        precision_chol = torch.linalg.inv(chol).transpose(1, 2)  # (K, D, D): x^T P x = |x @ precision_chol|^2
        log_det = 2.0 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(-1)
        constant = -torch.log(torch.as_tensor(weights, dtype=torch.float64)) + 0.5 * log_det
        self.register_buffer("means", torch.as_tensor(means, dtype=torch.float32))
        self.register_buffer("precision_chol", precision_chol.float())
        self.register_buffer("constant", (constant - constant.min()).float())

    @classmethod
    def from_file(cls, path: str | Path) -> GaussianMixturePrior:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["means"], data["covariances"], data["weights"])

    def forward(self, body_pose: torch.Tensor) -> torch.Tensor:
        diff = body_pose[:, None, :] - self.means  # (B, K, D)
        mahalanobis = torch.einsum("bkd,kde->bke", diff, self.precision_chol).pow(2).sum(-1)  # (B, K)
        return (0.5 * mahalanobis + self.constant).min(dim=1).values


class VAEPosePrior(torch.nn.Module):
    """KL divergence of the VAE encoder's posterior from N(0, I), per sample (the HKMR paper's L_KL)."""

    def __init__(self, vae: torch.nn.Module) -> None:
        super().__init__()
        self.vae = vae.eval()

    def forward(self, body_pose: torch.Tensor) -> torch.Tensor:
        mean, log_var = self.vae.encode(body_pose)
        return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)


class InitPosePrior(torch.nn.Module):
    """Fallback: squared distance (radians^2) to a reference pose, scaled like a unit-variance Gaussian."""

    def __init__(self, reference: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("reference", reference.detach().clone())

    def forward(self, body_pose: torch.Tensor) -> torch.Tensor:
        return 0.5 * (body_pose - self.reference).pow(2).sum(-1) / (0.3**2)


def gmm_prior_path() -> Path:
    return models_dir() / "priors" / "pose_gmm.npz"


def vae_prior_path() -> Path:
    return models_dir() / "priors" / "pose_vae.pt"


def load_pose_prior(name: str, init_pose: torch.Tensor) -> tuple[PosePrior, str]:
    """The prior `name` (gmm, vae or init) and a note when it fell back to the initialisation prior."""
    if name not in PRIOR_NAMES:
        raise ValueError(f"unknown pose prior {name!r}; choose one of {', '.join(PRIOR_NAMES)}")
    if name == "gmm" and gmm_prior_path().is_file():
        return _cached_gmm().to(init_pose.device), ""
    if name == "vae" and vae_prior_path().is_file():
        return _cached_vae().to(init_pose.device), ""
    note = "" if name == "init" else (f"the {name} pose prior is not trained yet (train it with `python -m training "
                                      "train-priors`); pulling toward the initial pose instead")
    if note:
        log.info(note)
    return InitPosePrior(init_pose), note


_CACHE: dict[str, torch.nn.Module] = {}


def _cached_gmm() -> GaussianMixturePrior:
    if "gmm" not in _CACHE:
        _CACHE["gmm"] = GaussianMixturePrior.from_file(gmm_prior_path())
    return _CACHE["gmm"]


def _cached_vae() -> VAEPosePrior:
    if "vae" not in _CACHE:
        from hkmr_studio.nets.vae import PoseVAE

        vae = PoseVAE()
        vae.load_state_dict(torch.load(vae_prior_path(), map_location="cpu", weights_only=True))
        _CACHE["vae"] = VAEPosePrior(vae)
    return _CACHE["vae"]


def elbow_knee_angle_prior(body_pose: torch.Tensor) -> torch.Tensor:
    """(B, 69) -> (B,): exp penalty on elbows and knees bending the unnatural way.

    SMPLify's form, exp(s theta)^2, also pushes a straight limb to bend (its gradient at 0 is not 0), which makes an
    interactive refit move limbs nobody touched; (exp(max(s theta, 0)) - 1)^2 penalises only the unnatural side.
    SMPL's local axes are world-aligned in the T-pose (Y up, facing +Z): the left elbow flexes with negative, the
    right elbow with positive rotation about y; knees flex with positive rotation about x.
    """
    # (index into body_pose, sign of the unnatural direction): left/right elbow y, left/right knee x.
    index = torch.tensor([3 * 17 + 1, 3 * 18 + 1, 3 * 3 + 0, 3 * 4 + 0], device=body_pose.device)
    sign = torch.tensor([1.0, -1.0, -1.0, -1.0], device=body_pose.device, dtype=body_pose.dtype)
    return (torch.exp((body_pose[:, index] * sign).clamp_min(0.0)) - 1.0).pow(2).sum(-1)
