"""How well a pose prior separates real poses from random ones: the check behind the priors' card and tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.fitting.priors import PosePrior

RANDOM_ANGLE_LIMIT = 1.0  # radians: random poses draw every body-joint angle uniformly from [-1, 1]


def random_poses(count: int, seed: int = 0) -> np.ndarray:
    """(count, 69) float32 body poses with independent uniform axis-angle components in [-1, 1] rad."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-RANDOM_ANGLE_LIMIT, RANDOM_ANGLE_LIMIT, size=(count, 69)).astype(np.float32)


@dataclass(frozen=True)
class Separation:
    """Penalties (lower = likelier) of real and random poses; ranking: P(real penalty < random penalty)."""

    real_median: float
    random_median: float
    ranking: float


def separation(prior: PosePrior, real: np.ndarray, random: np.ndarray) -> Separation:
    """Score (N, 69) real and (M, 69) random poses with `prior` and compare."""
    with torch.no_grad():
        a = prior(torch.from_numpy(real).float()).double().numpy()
        b = prior(torch.from_numpy(random).float()).double().numpy()
    ranking = float((a[:, None] < b[None, :]).mean())
    return Separation(float(np.median(a)), float(np.median(b)), ranking)
