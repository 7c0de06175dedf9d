"""SMPLify in the training loop (SPIN, the paper's HKMR_MF): per-sample best fits that supervise the 2D-only samples.

Each step, SMPLify fits the 2D-only samples' 2D annotations (their 33 true landmarks in the crop) starting from the
regressor's current output; a fit replaces the one stored for that sample id when its 2D reprojection error is lower,
and the stored fit (where its error is below a threshold) becomes the sample's SMPL label. The dictionary starts
empty (the first fits start from the regressor's first outputs, like SPIN's "from the mean pose" variant) and lives
in the Lightning checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from hkmr_studio.body import kinematics

#: Values per stored fit: global orientation 3, body pose 69, betas 10, camera 3.
FIT_WIDTH = 3 + kinematics.NUM_BODY_JOINTS * 3 + kinematics.NUM_BETAS + 3


@dataclass
class BodyFit:
    """Body parameters with a weak-perspective crop camera: global_orient (B, 3), body_pose (B, 69), betas (B, 10)
    axis-angle, camera (B, 3) (s, tx, ty) as in geometry.cameras."""

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor
    camera: torch.Tensor

    def flat(self) -> torch.Tensor:
        """(B, FIT_WIDTH) in the order of the fields."""
        return torch.cat([self.global_orient, self.body_pose, self.betas, self.camera], dim=1)

    @classmethod
    def from_flat(cls, values: torch.Tensor) -> BodyFit:
        """Inverse of `flat`."""
        pose_end = 3 + kinematics.NUM_BODY_JOINTS * 3
        betas_end = pose_end + kinematics.NUM_BETAS
        return cls(values[:, :3], values[:, 3:pose_end], values[:, pose_end:betas_end], values[:, betas_end:])


#: SMPLify on 2D landmarks: (initial fit, landmarks (B, 33, 2) in normalised crop coordinates, weights (B, 33)) ->
#: (fit, (B,) mean 2D reprojection error of the fit in normalised crop units).
FitFn = Callable[[BodyFit, torch.Tensor, torch.Tensor], tuple[BodyFit, torch.Tensor]]


class FitDictionary:
    """The best fit so far of each of `size` samples (ids 0..size-1), on the CPU; error inf where none yet."""

    def __init__(self, size: int) -> None:
        self.fits = torch.zeros(size, FIT_WIDTH)
        self.errors = torch.full((size,), float("inf"))

    def update(self, ids: torch.Tensor, fits: torch.Tensor, errors: torch.Tensor) -> torch.Tensor:
        """Store (N, FIT_WIDTH) `fits` of (N,) `ids` whose (N,) `errors` beat the stored ones; returns (N,) bool."""
        ids, fits, errors = ids.cpu(), fits.detach().cpu().float(), errors.detach().cpu().float()
        better = errors < self.errors[ids]
        self.fits[ids[better]] = fits[better]
        self.errors[ids[better]] = errors[better]
        return better

    def lookup(self, ids: torch.Tensor) -> tuple[BodyFit, torch.Tensor]:
        """The stored fits and (N,) errors of (N,) `ids`, on `ids`' device."""
        index = ids.cpu()
        return BodyFit.from_flat(self.fits[index].to(ids.device)), self.errors[index].to(ids.device)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"fits": self.fits, "errors": self.errors}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if state["fits"].shape != self.fits.shape:
            raise ValueError(f"the checkpoint's SMPLify dictionary holds {len(state['fits'])} samples, this run's pool "
                             f"{len(self.fits)}: keep data.pool_batches and data.batch_size when resuming")
        self.fits, self.errors = state["fits"].clone(), state["errors"].clone()
