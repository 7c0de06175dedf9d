"""Make true landmarks look like MediaPipe's: visibility from self-occlusion, border truncation and occluders; noise
proportional to the person's size; rare outliers and left/right swaps. The amounts come from `DetectorStatistics`,
measured on renders of our body (see training/data/LANDMARKS.md).

Pixels are the virtual photo's (B, 33, 2); person size (B,) is the longer side of the true landmarks' box in pixels.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch

from hkmr_studio.body.landmarks import LANDMARK_MIRROR
from hkmr_studio.occlusion import OCCLUDER_KINDS, Occluder, make_occluder
from training.samples.detector_model import DISPLACEMENT_LEVELS, SWAP_GROUPS, DetectorStatistics

#: Landmarks beyond the photo's border: MediaPipe invents them with low visibility and a loose position.
TRUNCATED_VISIBILITY_MAX = 0.3
TRUNCATED_NOISE = 0.05  # person sizes
#: A covered landmark keeps at most this fraction of its visibility (MediaPipe leaves face and torso landmarks near 1
#: under occluders; we always lower it a little so that covered landmarks are marked).
COVERED_VISIBILITY_CAP = 0.95


def _normal_clipped(mean: torch.Tensor, std: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Samples of N(mean, std) clipped to [0, 1], broadcast over mean's shape."""
    return (mean + std * torch.randn(mean.shape, generator=generator)).clamp(0.0, 1.0)


def _random_directions(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    angle = torch.rand(shape, generator=generator) * (2.0 * math.pi)
    return torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)


def visibility(
    hidden: torch.Tensor, truncated: torch.Tensor, stats: DetectorStatistics, generator: torch.Generator | None
) -> torch.Tensor:
    """(B, 33) bool hidden by the body, truncated by the border -> (B, 33) visibility in [0, 1]; distribution means
    when generator is None."""
    mean = torch.where(
        hidden,
        torch.from_numpy(stats.array("visibility_hidden_mean")),
        torch.from_numpy(stats.array("visibility_seen_mean")),
    )
    std = torch.where(
        hidden,
        torch.from_numpy(stats.array("visibility_hidden_std")),
        torch.from_numpy(stats.array("visibility_seen_std")),
    )
    if generator is None:
        return torch.where(truncated, torch.full_like(mean, TRUNCATED_VISIBILITY_MAX / 2.0), mean)
    truncated_value = torch.rand(mean.shape, generator=generator) * TRUNCATED_VISIBILITY_MAX
    return torch.where(truncated, truncated_value, _normal_clipped(mean, std, generator))


def jitter(
    pixels: torch.Tensor,
    truncated: torch.Tensor,
    size: torch.Tensor,
    stats: DetectorStatistics,
    scale: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Gaussian noise (per-landmark sigma * person size * scale; looser beyond the border) and outliers."""
    sigma = torch.from_numpy(stats.array("noise"))[None, :]
    sigma = torch.where(truncated, torch.full_like(sigma, TRUNCATED_NOISE), sigma) * (scale * size[:, None])
    noisy = pixels + sigma[..., None] * torch.randn(pixels.shape, generator=generator)
    outlier = torch.rand(pixels.shape[:2], generator=generator) < stats.outlier_rate * scale
    distance = stats.outlier_scale * torch.exp(0.5 * torch.randn(pixels.shape[:2], generator=generator))
    jump = _random_directions(pixels.shape[:2], generator) * (distance * size[:, None])[..., None]
    return torch.where(outlier[..., None], noisy + jump, noisy)


def swap_sides(swap: torch.Tensor, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Exchange left and right landmarks (dim 1) within each SWAP_GROUPS group where swap (B, G) is true, in each
    (B, 33, ...) tensor."""
    batch = len(swap)
    order = torch.arange(len(LANDMARK_MIRROR)).repeat(batch, 1)  # (B, 33)
    mirror = torch.tensor(LANDMARK_MIRROR)
    for g, group in enumerate(SWAP_GROUPS):
        members = torch.tensor(group)
        order[:, members] = torch.where(swap[:, g : g + 1], mirror[members], members)
    out = []
    for tensor in tensors:
        index = order.reshape(*order.shape, *([1] * (tensor.dim() - 2))).expand_as(tensor)
        out.append(torch.gather(tensor, 1, index))
    return tuple(out)


def random_occluders(
    targets: torch.Tensor, crop_side: torch.Tensor, fraction: float, generator: torch.Generator
) -> list[Occluder | None]:
    """For each of B samples, with probability `fraction`, an occluder of random kind, degree 1-5 (scaled to the
    sample's crop side (B,) px), angle and rectangle aspect, centred on one of its (B, 33, 2) target pixels (the
    paper occludes one joint at a time) moved by up to a quarter of the occluder's size."""
    batch = len(targets)
    draws = torch.rand(batch, 7, generator=generator).tolist()
    landmark = torch.randint(0, targets.shape[1], (batch,), generator=generator).tolist()
    occluders: list[Occluder | None] = []
    for b, (use, kind, degree, angle, aspect, shift, direction) in enumerate(draws):
        if use >= fraction:
            occluders.append(None)
            continue
        x, y = targets[b, landmark[b]].tolist()
        occluder = make_occluder(
            OCCLUDER_KINDS[int(kind * len(OCCLUDER_KINDS))],
            1 + int(degree * 5),
            (x, y),
            angle * math.pi,
            float(crop_side[b]),
            aspect=math.exp(1.4 * aspect - 0.7),
        )
        offset = occluder.extent / 4.0 * shift
        heading = 2.0 * math.pi * direction
        occluders.append(replace(occluder, center=(x + offset * math.cos(heading), y + offset * math.sin(heading))))
    return occluders


def covered_by(occluders: list[Occluder | None], pixels: torch.Tensor) -> torch.Tensor:
    """(B, 33) bool: which of the (B, 33, 2) pixels each sample's occluder covers (none where it has none)."""
    covered = np.zeros(pixels.shape[:2], dtype=bool)
    points = pixels.detach().numpy()
    for b, occluder in enumerate(occluders):
        if occluder is not None:
            covered[b] = occluder.covers(points[b])
    return torch.from_numpy(covered)


def sample_quantiles(
    levels: torch.Tensor, quantiles: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator
) -> torch.Tensor:
    """Draws of `shape` from the distribution whose quantiles at `levels` (L,) (0 to 1, increasing) are `quantiles`
    (L,): the inverse of the piecewise-linear CDF through those points."""
    u = torch.rand(shape, generator=generator)
    slot = torch.searchsorted(levels, u.contiguous(), right=True).clamp(1, len(levels) - 1)
    lo, hi = levels[slot - 1], levels[slot]
    return quantiles[slot - 1] + (u - lo) / (hi - lo) * (quantiles[slot] - quantiles[slot - 1])


def occlude(
    pixels: torch.Tensor,
    visible: torch.Tensor,
    covered: torch.Tensor,
    size: torch.Tensor,
    stats: DetectorStatistics,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """What an occluder does to the landmarks it covers (B, 33) bool: MediaPipe's visibility under occluders (always
    below COVERED_VISIBILITY_CAP x the current one) and a guessed position, moved by a distance drawn from the
    measured distribution. Returns pixels (B, 33, 2) and visibility (B, 33); uncovered landmarks are unchanged."""
    mean = torch.from_numpy(stats.array("visibility_covered_mean")).expand_as(visible)
    std = torch.from_numpy(stats.array("visibility_covered_std")).expand_as(visible)
    lowered = torch.minimum(_normal_clipped(mean, std, generator), COVERED_VISIBILITY_CAP * visible)
    quantiles = torch.from_numpy(stats.array("covered_displacement"))
    distance = sample_quantiles(torch.tensor(DISPLACEMENT_LEVELS), quantiles, visible.shape, generator)
    moved = pixels + _random_directions(visible.shape, generator) * (distance * size[:, None])[..., None]
    return torch.where(covered[..., None], moved, pixels), torch.where(covered, lowered, visible)
