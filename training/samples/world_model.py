"""How MediaPipe's world landmarks err, as a generative model fitted to MediaPipe on the rendered set
(`python -m training fit-world-errors`, training/data/WORLD_LANDMARKS.md) and applied by the sample generator in place
of independent noise.

Frames: true world landmarks x (B, 33, 3) are metres, hip-centred, camera-aligned (x right, y down, z away from the
camera); MediaPipe's come back in the same convention. The model draws, per sample:
  1. limb depth flips: each upper arm, forearm, thigh and shin (LIMBS) with its rate turns its far end to the other side
     of its near end in depth (z), carrying the rest of the limb along;
  2. depth compression: z times `depth_scale`;
  3. landmark residuals: `offset` (33, 3) plus a Gaussian with low-rank + diagonal covariance, `factors` (99, K) and
     `noise_std` (99,) over the flattened (33 x 3) landmarks, times a per-sample level exp(l n - l^2), n ~ N(0, 1),
     l = `residual_level_spread` (some detections are much worse than others; the level's mean square is 1);
  4. a rotation about the hips: MediaPipe sees the person as if its camera looked straight at them, so the landmarks
     turn by `ray_share` of the angle between the optical axis and the ray to the hips; then an error rotation, its
     rotation vector (radians) `pitch_slope` x pitch + `rotation_offset` (camera axes) plus a two-component Gaussian
     mixture in the body's axes (BODY_AXES, from the true hips and shoulders: the heading is the least sure) whose
     component about the optical axis is scaled by `optical_axis_share` (the 2D landmarks pin how the person turns
     within the photo), or, at `gross_rate`, one of the `gross_rotations` seen on the rendered set (rotation vectors in
     the body's axes);
  5. a scale: log s = `scale_size_slope` x log(size / `size_reference_m`) + a residual from `scale_quantiles`
     (size: the RMS distance of the true landmarks from their centroid);
  6. left/right swaps of MediaPipe's world landmarks by SWAP_GROUPS group at `swap_rates`, drawn apart from the 2D
     landmarks' swaps (MediaPipe's world landmarks mostly keep their sides when its 2D ones swap);
then re-centres the landmarks on their hips, as MediaPipe's are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from training.samples import corruption
from training.samples.stored import load_fields, save_fields

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "world_error_model.json"
FIT_COMMAND = "python -m training fit-world-errors"
#: Quantile levels of `scale_quantiles`.
LEVELS: tuple[float, ...] = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
#: Limb segments (kind, near landmark, far landmark, landmarks that move with the far end), MediaPipe indices.
LIMB_KINDS = ("upper arm", "forearm", "thigh", "shin")
LIMBS: tuple[tuple[int, int, int, tuple[int, ...]], ...] = (
    (0, 11, 13, (13, 15, 17, 19, 21)), (1, 13, 15, (15, 17, 19, 21)),
    (0, 12, 14, (14, 16, 18, 20, 22)), (1, 14, 16, (16, 18, 20, 22)),
    (2, 23, 25, (25, 27, 29, 31)), (3, 25, 27, (27, 29, 31)),
    (2, 24, 26, (26, 28, 30, 32)), (3, 26, 28, (28, 30, 32)),
)  # fmt: skip
HIPS = (23, 24)
SHOULDERS = (11, 12)
BODY_AXES = ("left", "up", "forward")


def landmark_size(world: torch.Tensor) -> torch.Tensor:
    """(B, 33, 3) -> (B,) RMS distance of the landmarks from their centroid, metres."""
    centred = world - world.mean(dim=1, keepdim=True)
    return centred.square().sum(dim=-1).mean(dim=1).sqrt()


def ray_rotation(direction: torch.Tensor, share: float | torch.Tensor) -> torch.Tensor:
    """(B, 3) directions (camera frame) -> (B, 3, 3) the rotation by `share` of the angle that turns the optical axis
    (0, 0, 1) towards each direction."""
    unit = direction / direction.norm(dim=-1, keepdim=True)
    axis = torch.linalg.cross(torch.tensor([0.0, 0.0, 1.0], dtype=unit.dtype).expand_as(unit), unit)
    sine = axis.norm(dim=-1, keepdim=True)
    angle = torch.atan2(sine, unit[..., 2:])
    return axis_angle_to_matrix(axis / sine.clamp_min(1e-9) * angle * share)


def flip_limbs(world: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """(B, 33, 3) landmarks with the LIMBS where flips (B, 8) is true turned over in depth: the far end's z mirrored
    about the near end's, the landmarks beyond it moved by as much. Limbs flip in LIMBS order (upper before lower)."""
    out = world.clone()
    for flip, (_, near, far, moved) in zip(flips.T, LIMBS):
        shift = 2.0 * (out[:, near, 2] - out[:, far, 2]) * flip
        out[:, list(moved), 2] += shift[:, None]
    return out


def body_axes(world: torch.Tensor) -> torch.Tensor:
    """(B, 33, 3) landmarks -> (B, 3, 3) the body's frame, its columns the body's left (right hip to left hip), up
    (hips to shoulders, made orthogonal) and forward (left x up) in the landmarks' frame: BODY_AXES."""
    left = world[:, HIPS[0]] - world[:, HIPS[1]]
    left = left / left.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    up = world[:, list(SHOULDERS)].mean(dim=1) - world[:, list(HIPS)].mean(dim=1)
    up = up - (up * left).sum(dim=-1, keepdim=True) * left
    up = up / up.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    return torch.stack([left, up, torch.linalg.cross(left, up)], dim=-1)


@dataclass(frozen=True)
class WorldErrorModel:
    """The fitted parameters (module docstring); radians and metres. `fitted_on` says from what and how."""

    ray_share: float
    pitch_slope: tuple[float, float, float]
    rotation_offset: tuple[float, float, float]
    rotation_weights: tuple[float, ...]
    rotation_covariances: tuple[tuple[tuple[float, ...], ...], ...]
    optical_axis_share: float
    gross_rate: float
    gross_rotations: tuple[tuple[float, float, float], ...]
    scale_size_slope: float
    size_reference_m: float
    scale_quantiles: tuple[float, ...]
    depth_scale: float
    limb_flip_rates: tuple[float, float, float, float]
    swap_rates: tuple[float, float, float]
    offset: tuple[tuple[float, float, float], ...]
    factors: tuple[tuple[float, ...], ...]
    noise_std: tuple[float, ...]
    residual_level_spread: float
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def tensor(self, name: str) -> torch.Tensor:
        """A numeric field as a float32 tensor."""
        return torch.tensor(getattr(self, name), dtype=torch.float32)

    @torch.no_grad()
    def apply(
        self, world: torch.Tensor, pitch: torch.Tensor, hips: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """MediaPipe-like world landmarks (B, 33, 3) for the true ones `world` (B, 33, 3, hip-centred, camera-aligned),
        seen by cameras pitched by `pitch` (B,) radians (positive: looking down) with the hips' midpoint at `hips`
        (B, 3) in the camera frame (metres)."""
        count, levels = len(world), torch.tensor(LEVELS)
        kinds = [limb[0] for limb in LIMBS]
        flips = torch.rand(count, len(LIMBS), generator=generator) < self.tensor("limb_flip_rates")[kinds]
        x = flip_limbs(world, flips) * torch.tensor([1.0, 1.0, self.depth_scale])
        factors = self.tensor("factors")
        residual = torch.randn(count, factors.shape[1], generator=generator) @ factors.T
        residual = residual + torch.randn(count, factors.shape[0], generator=generator) * self.tensor("noise_std")
        spread = self.residual_level_spread
        level = torch.exp(spread * torch.randn(count, generator=generator) - spread**2)
        x = x + self.tensor("offset") + level[:, None, None] * residual.reshape(count, -1, 3)
        error = axis_angle_to_matrix(self._error_rotation(world, pitch, generator))
        rotation = error @ ray_rotation(hips, self.ray_share).transpose(1, 2)
        log_scale = self.scale_size_slope * torch.log(landmark_size(world) / self.size_reference_m)
        log_scale = log_scale + corruption.sample_quantiles(levels, self.tensor("scale_quantiles"), (count,), generator)
        out = log_scale.exp()[:, None, None] * x @ rotation.transpose(1, 2)
        swap = torch.rand(count, len(self.swap_rates), generator=generator) < self.tensor("swap_rates")
        (out,) = corruption.swap_sides(swap, out)
        return out - out[:, list(HIPS)].mean(dim=1, keepdim=True)

    def _error_rotation(self, world: torch.Tensor, pitch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, 3) error rotation vectors, camera axes: the pitch-dependent mean plus a mixture draw in the body's axes,
        or a gross one."""
        count, axes = len(pitch), body_axes(world)
        component = torch.multinomial(self.tensor("rotation_weights"), count, replacement=True, generator=generator)
        chol = torch.linalg.cholesky(self.tensor("rotation_covariances"))[component]  # (B, 3, 3)
        vector = (axes @ chol @ torch.randn(count, 3, 1, generator=generator))[..., 0]
        vector = vector * torch.tensor([1.0, 1.0, self.optical_axis_share])
        vector = vector + pitch[:, None] * self.tensor("pitch_slope") + self.tensor("rotation_offset")
        gross = torch.rand(count, generator=generator) < self.gross_rate
        pick = torch.randint(0, len(self.gross_rotations), (count,), generator=generator)
        gross_vector = (axes @ self.tensor("gross_rotations")[pick][..., None])[..., 0]
        return torch.where(gross[:, None], gross_vector, vector)

    def save(self, path: Path = MODEL_PATH) -> Path:
        return save_fields(self, path, digits=6)

    @staticmethod
    def load(path: Path = MODEL_PATH) -> WorldErrorModel:
        """Read the model; a missing or malformed file says which command writes it."""
        return WorldErrorModel(**load_fields(WorldErrorModel, path, FIT_COMMAND))


def rotation_angle(rotation: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) rotations -> (B,) their angles, radians."""
    cosine = (rotation.diagonal(dim1=1, dim2=2).sum(dim=-1) - 1.0) / 2.0
    return torch.arccos(cosine.clamp(-1.0, 1.0))

