"""Fit the world-error model (training.samples.world_model) to MediaPipe's world landmarks on the rendered set's training
split, holding out every HOLDOUT_EVERY-th chunk of it to check the fit (the test split is never read).

Steps, each on the samples the earlier ones leave clean: left/right swaps of the world landmarks per group (dropped
from what follows); the similarity of each sample's truth onto MediaPipe's; the share of the ray to the hips that
MediaPipe's frame turns by (the one that best explains the rotations); gross rotations (above GROSS_DEG); the error
rotation's dependence on the camera's pitch and a two-component Gaussian mixture of the rest; limb depth flips, a
two-component mixture of each limb's depth difference; depth compression; the scale against the body's size; and the
residual landmark errors of samples with nothing flipped, as a mean and a low-rank + diagonal covariance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from training.rendered.build import CHUNK
from training.rendered.dataset import RenderedSet
from training.rendered.source import true_landmarks
from training.samples.world_model import (
    HIPS,
    LEVELS,
    LIMB_KINDS,
    LIMBS,
    WorldErrorModel,
    body_axes,
    flip_limbs,
    landmark_size,
    ray_rotation,
    rotation_angle,
)
from training.world.statistics import Alignment, align, swapped_groups, world_error_statistics

HOLDOUT_EVERY = 5
GROSS_DEG = 90.0
RANK = 8
#: Limbs whose ends differ in true depth by at least this share of their length inform the flip mixture.
FLIP_FORESHORTENING = 0.3
RAY_SHARES = tuple(np.round(np.arange(0.0, 1.301, 0.05), 2))
CALIBRATION_ROUNDS = 6
CALIBRATION_SEED = 0
#: At most this many gross rotations are kept (the first ones found).
MAX_GROSS = 256


@dataclass
class WorldPairs:
    """Found samples of a rendered set: MediaPipe's world landmarks `predicted` and the `truth` (N, 33, 3) (metres,
    hip-centred, camera-aligned), the camera's `pitch` (N,) radians, the hips' midpoint `hips` (N, 3) in the camera
    frame, the pose `family` (N,) and the `chunk` (N,) each sample was built in."""

    predicted: torch.Tensor
    truth: torch.Tensor
    pitch: torch.Tensor
    hips: torch.Tensor
    family: np.ndarray
    chunk: np.ndarray

    def __len__(self) -> int:
        return len(self.truth)

    def take(self, rows: np.ndarray) -> WorldPairs:
        index = torch.from_numpy(rows)
        return WorldPairs(self.predicted[index], self.truth[index], self.pitch[index], self.hips[index],
                          self.family[rows], self.chunk[rows])

    def split(self) -> tuple[WorldPairs, WorldPairs]:
        """(fitted on, held out): the held-out part is every HOLDOUT_EVERY-th chunk."""
        held = self.chunk % HOLDOUT_EVERY == HOLDOUT_EVERY - 1
        return self.take(np.flatnonzero(~held)), self.take(np.flatnonzero(held))


def world_pairs(rendered: RenderedSet) -> WorldPairs:
    """The pairs of the samples where MediaPipe found the person."""
    rows = np.flatnonzero(rendered.found)
    landmarks, cameras = true_landmarks(rendered)
    hips = landmarks[:, list(HIPS)].mean(dim=1)
    index = torch.from_numpy(rows)
    return WorldPairs(
        predicted=torch.from_numpy(rendered.world[rows]).double(),
        truth=(landmarks - hips[:, None])[index].double(),
        pitch=torch.from_numpy(rendered.view[rows, 1]).double(),
        hips=(hips + cameras.transl)[index].double(),
        family=rendered.family[rows].astype(np.int64),
        chunk=rows // CHUNK,
    )


def _log_rotation(rotation: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) -> (N, 3) rotation vectors (angles below pi)."""
    angle = rotation_angle(rotation)
    skew = torch.stack([rotation[:, 2, 1] - rotation[:, 1, 2], rotation[:, 0, 2] - rotation[:, 2, 0],
                        rotation[:, 1, 0] - rotation[:, 0, 1]], dim=1)  # fmt: skip
    return skew * (angle / (2.0 * torch.sin(angle).clamp_min(1e-9)))[:, None]


def _two_gaussians(vectors: np.ndarray, steps: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A zero-mean two-component Gaussian mixture of (N, D) vectors by EM: weights (2,), covariances (2, D, D)."""
    total = np.cov(vectors.T)
    covariances = np.stack([total * 0.3, total * 3.0])
    weights = np.array([0.7, 0.3])
    for _ in range(steps):
        log_density = np.stack([
            -0.5 * np.einsum("ni,ij,nj->n", vectors, np.linalg.inv(c), vectors) - 0.5 * np.linalg.slogdet(c)[1]
            for c in covariances
        ], axis=1) + np.log(weights)  # fmt: skip
        responsibility = np.exp(log_density - log_density.max(axis=1, keepdims=True))
        responsibility /= responsibility.sum(axis=1, keepdims=True)
        weights = responsibility.mean(axis=0)
        covariances = np.stack([
            (r[:, None, None] * vectors[:, :, None] * vectors[:, None, :]).sum(axis=0) / r.sum()
            + 1e-8 * np.eye(vectors.shape[1]) for r in responsibility.T
        ])  # fmt: skip
    return weights, covariances


def _flip_mixture(true_dz: np.ndarray, predicted_dz: np.ndarray, steps: int = 200) -> tuple[float, np.ndarray]:
    """EM of predicted_dz ~ (1 - p) N(k true_dz, s^2) + p N(-k true_dz, s^2): the flip rate p and each limb's
    posterior probability of being flipped."""
    rate, gain, sigma = 0.1, 1.0, float(np.std(predicted_dz - true_dz))
    for _ in range(steps):
        kept = (1.0 - rate) * np.exp(-0.5 * ((predicted_dz - gain * true_dz) / sigma) ** 2)
        flipped = rate * np.exp(-0.5 * ((predicted_dz + gain * true_dz) / sigma) ** 2)
        posterior = flipped / np.maximum(kept + flipped, 1e-300)
        rate = float(posterior.mean())
        gain = float((predicted_dz * true_dz * (1.0 - 2.0 * posterior)).sum() / (true_dz**2).sum())
        residual = (1.0 - posterior) * (predicted_dz - gain * true_dz) ** 2 + posterior * (predicted_dz + gain * true_dz) ** 2
        sigma = float(np.sqrt(residual.mean()))
    return rate, posterior


def _limb_flips(back: torch.Tensor, truth: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Flip rate per LIMB_KINDS (4,) and (N, 8) bool: the LIMBS more likely flipped than not."""
    near, far = [s[1] for s in LIMBS], [s[2] for s in LIMBS]
    true_dz = (truth[:, far, 2] - truth[:, near, 2]).numpy()
    predicted_dz = (back[:, far, 2] - back[:, near, 2]).numpy()
    length = (truth[:, far] - truth[:, near]).norm(dim=-1).numpy()
    informative = np.abs(true_dz) > FLIP_FORESHORTENING * length  # (N, 8)
    kinds = np.array([s[0] for s in LIMBS])
    rates = np.zeros(len(LIMB_KINDS))
    flagged = np.zeros_like(informative)
    for kind in range(len(LIMB_KINDS)):
        chosen = informative & (kinds == kind)[None]
        rates[kind], posterior = _flip_mixture(true_dz[chosen], predicted_dz[chosen])
        flagged[chosen] = posterior > 0.5
    return rates, flagged


def _low_rank(residuals: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) residuals -> factors (D, rank) and noise_std (D,): covariance ~ F F^T + diag(noise_std^2), the top
    `rank` principal directions above the mean remaining variance, the diagonal matched exactly."""
    covariance = np.cov(residuals.T)
    values, vectors = np.linalg.eigh(covariance)
    values, vectors = values[::-1], vectors[:, ::-1]
    floor = values[rank:].mean()
    factors = vectors[:, :rank] * np.sqrt(np.maximum(values[:rank] - floor, 0.0))
    noise = np.sqrt(np.maximum(np.diag(covariance) - (factors**2).sum(axis=1), 1e-10))
    return factors, noise


def _rotation_vectors(fit: Alignment, pairs: WorldPairs, ray_share: float) -> np.ndarray:
    """(N, 3) rotation vectors of the error rotations: the alignment's rotations with the ray's share taken out."""
    return _log_rotation(fit.rotation @ ray_rotation(pairs.hips, ray_share)).numpy()


def _compression(pairs: WorldPairs) -> torch.Tensor:
    """(3,) the axes' scales (1, 1, depth) that best map the truth's depth onto the prediction's after a first
    similarity alignment: what the rotation fit must not mistake for a turn."""
    depth = _depth_slope(pairs.truth, align(pairs.predicted, pairs.truth).back)
    return torch.tensor([1.0, 1.0, depth], dtype=torch.float64)


def _depth_slope(truth: torch.Tensor, back: torch.Tensor) -> float:
    """Least-squares slope of the aligned prediction's depth (B, 33, 3) on the truth's, each about its mean."""
    centred = truth - truth.mean(dim=1, keepdim=True)
    centred_back = back - back.mean(dim=1, keepdim=True)
    return float((centred[..., 2] * centred_back[..., 2]).sum() / centred[..., 2].square().sum())


def _initial(pairs: WorldPairs, rank: int) -> WorldErrorModel:
    """The parameters measured directly (module docstring), before calibration."""
    swaps = swapped_groups(pairs.predicted, pairs.truth).numpy()
    unswapped = pairs.take(np.flatnonzero(~swaps.any(axis=1)))
    # Depth compression seen from a pitched camera reads as a turn about x: align onto the compressed truth
    fit = align(unswapped.predicted, unswapped.truth * _compression(unswapped))
    shares = [float(rotation_angle(fit.rotation @ ray_rotation(unswapped.hips, s)).median()) for s in RAY_SHARES]
    ray_share = float(RAY_SHARES[int(np.argmin(shares))])
    vectors = _rotation_vectors(fit, unswapped, ray_share)
    angle = np.degrees(np.linalg.norm(vectors, axis=1))
    gross = angle > GROSS_DEG
    design = np.stack([unswapped.pitch.numpy(), np.ones(len(unswapped))], axis=1)[~gross]
    (slope, offset), *_ = np.linalg.lstsq(design, vectors[~gross], rcond=None)
    axes = body_axes(unswapped.truth).numpy()
    in_body = np.einsum("nji,nj->ni", axes[~gross], vectors[~gross] - design @ np.stack([slope, offset]))
    weights, covariances = _two_gaussians(in_body)
    gross_rotations = np.einsum("nji,nj->ni", axes[gross], vectors[gross])[:MAX_GROSS]
    ordinary = unswapped.take(np.flatnonzero(~gross))
    back = align(ordinary.predicted, ordinary.truth).back
    flip_rates, flagged = _limb_flips(back, ordinary.truth)
    depth_scale = _depth_slope(ordinary.truth, back)
    compressed = ordinary.truth * torch.tensor([1.0, 1.0, depth_scale], dtype=torch.float64)
    squeezed = align(ordinary.predicted, compressed)
    size = landmark_size(ordinary.truth).numpy()
    reference = float(np.median(size))
    log_size, log_scale = np.log(size / reference), np.log(squeezed.scale.numpy())
    scale_slope = float(np.polyfit(log_size, log_scale, 1)[0])
    unflipped = flip_limbs(squeezed.back, torch.from_numpy(flagged))  # flips are modelled apart from the residual
    residuals = (unflipped - compressed).reshape(len(ordinary), -1).numpy()
    centred_residuals = residuals - residuals.mean(axis=0)
    factors, noise = _low_rank(centred_residuals, rank)
    return WorldErrorModel(
        ray_share=ray_share,
        pitch_slope=tuple(slope),
        rotation_offset=tuple(offset),
        rotation_weights=tuple(weights),
        rotation_covariances=tuple(tuple(map(tuple, c)) for c in covariances),
        optical_axis_share=1.0,
        gross_rate=float(gross.mean()),
        gross_rotations=tuple(map(tuple, gross_rotations)) if gross.any() else ((0.0, np.pi, 0.0),),
        scale_size_slope=scale_slope,
        size_reference_m=reference,
        scale_quantiles=tuple(np.quantile(log_scale - scale_slope * log_size, LEVELS)),
        depth_scale=depth_scale,
        limb_flip_rates=tuple(flip_rates),
        swap_rates=tuple(swaps.mean(axis=0)),
        offset=tuple(map(tuple, residuals.mean(axis=0).reshape(-1, 3))),
        factors=tuple(map(tuple, factors)),
        noise_std=tuple(noise),
        residual_level_spread=float(np.log(np.sqrt((centred_residuals**2).mean(axis=1))).std()),
    )


@dataclass
class _Measures:
    """What calibration matches: the spread (3,) of the ordinary error rotations about their mean, in the body's axes,
    and about the optical axis; log-scale quantiles at LEVELS; the spread of the per-sample residual level (std of its log); limb flip rates (4,)
    and the depth slope."""

    rotation_spread: np.ndarray
    optical_axis_spread: float
    log_scale: np.ndarray
    level_spread: float
    flips: np.ndarray
    depth_slope: float


def rotation_spreads(model: WorldErrorModel, pairs: WorldPairs, predicted: torch.Tensor) -> tuple[np.ndarray, float]:
    """How widely the error rotations of `predicted` (N, 33, 3) on `pairs`' truth spread about the model's mean, gross
    ones left out: median absolute deviations (radians) of the rotation vector about the body's left, up and forward
    axes (3,) and about the optical axis."""
    fit = align(predicted, pairs.truth)
    vectors = _rotation_vectors(fit, pairs, model.ray_share)
    mean = pairs.pitch.numpy()[:, None] * np.array(model.pitch_slope) + np.array(model.rotation_offset)
    ordinary = np.degrees(np.linalg.norm(vectors, axis=1)) <= GROSS_DEG
    deviation = (vectors - mean)[ordinary]
    in_body = np.einsum("nji,nj->ni", body_axes(pairs.truth).numpy()[ordinary], deviation)
    return (np.median(np.abs(in_body - np.median(in_body, axis=0)), axis=0),
            float(np.median(np.abs(deviation[:, 2] - np.median(deviation[:, 2])))))


def _measure(model: WorldErrorModel, pairs: WorldPairs, predicted: torch.Tensor) -> _Measures:
    body_spread, optical_spread = rotation_spreads(model, pairs, predicted)
    compressed = pairs.truth * torch.tensor([1.0, 1.0, model.depth_scale], dtype=torch.float64)
    squeezed = align(predicted, compressed)
    level = (squeezed.back - compressed).reshape(len(pairs), -1).square().mean(dim=1).sqrt().numpy()
    stats = world_error_statistics(predicted, pairs.truth)
    return _Measures(
        rotation_spread=body_spread,
        optical_axis_spread=optical_spread,
        log_scale=np.quantile(np.log(align(predicted, pairs.truth).scale.numpy()), LEVELS),
        level_spread=float(np.log(level).std()),
        flips=stats.limb_flips,
        depth_slope=stats.depth_slope,
    )


def _calibrated(model: WorldErrorModel, pairs: WorldPairs, seed: int) -> WorldErrorModel:
    """One round of matching the model's simulated errors on `pairs`' truth to MediaPipe's, as measured: the error
    rotations' spread about each body axis and about the optical axis (median absolute deviations), the scale's quantiles, the spread of the
    residual's size from sample to sample, the limbs' depth flips and the depth slope. (Noise added before the rotation
    turns the aligned result a little, the residual and the flips shift the scale, the low-rank residual varies in
    size by itself, and Gaussian noise alone turns some limbs too, so the directly measured parameters reproduce none
    of these exactly.)"""
    simulated = model.apply(pairs.truth.float(), pairs.pitch.float(), pairs.hips.float(),
                            torch.Generator().manual_seed(seed)).double()
    data, sim = _measure(model, pairs, pairs.predicted), _measure(model, pairs, simulated)
    ratio = np.diag(data.rotation_spread / sim.rotation_spread)
    level_variance = model.residual_level_spread**2 + data.level_spread**2 - sim.level_spread**2
    return replace(
        model,
        rotation_covariances=tuple(tuple(map(tuple, ratio @ np.array(c) @ ratio)) for c in model.rotation_covariances),
        optical_axis_share=model.optical_axis_share * data.optical_axis_spread / sim.optical_axis_spread,
        scale_quantiles=tuple(np.sort(np.array(model.scale_quantiles) + data.log_scale - sim.log_scale)),
        residual_level_spread=float(np.sqrt(max(level_variance, 0.0))),
        limb_flip_rates=tuple(np.clip(np.array(model.limb_flip_rates) + data.flips - sim.flips, 0.0, 1.0)),
        depth_scale=model.depth_scale + data.depth_slope - sim.depth_slope,
    )


def fit_world_errors(pairs: WorldPairs, rank: int = RANK, rounds: int = CALIBRATION_ROUNDS) -> WorldErrorModel:
    """The model's parameters from `pairs` (the fitting part of the training split): measured, then calibrated by
    simulation on the same pairs for `rounds` rounds."""
    model = _initial(pairs, rank)
    for _ in range(rounds):
        model = _calibrated(model, pairs, seed=CALIBRATION_SEED)  # the same draws each round: a steady target
    return replace(model, fitted_on={"samples": len(pairs), "rank": rank, "calibration_rounds": rounds})
