"""Mixtures of uniform intervals: how the sample generator states the distributions of its cameras (pitch, roll, lens).

A mixture is a tuple of modes (weight, low, high): a mode is picked with probability weight / sum of weights, then a
value uniform in [low, high] (uniform in log(value) when `log`). Intervals may overlap; the density is their weighted
sum. `quantiles` gives the exact quantiles that the data card states and the tests check the draws against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

Modes = tuple[tuple[float, float, float], ...]


def check_modes(modes: Sequence[Sequence[float]], log: bool = False) -> Modes:
    """The modes as a tuple of float triples; raises ValueError saying what is wrong (no modes, a weight <= 0,
    low > high, a bound <= 0 for a log-uniform mixture)."""
    try:
        out = tuple((float(w), float(low), float(high)) for w, low, high in modes)
    except (TypeError, ValueError) as error:
        raise ValueError(f"expected a list of [weight, low, high] modes, got {modes!r}") from error
    if not out:
        raise ValueError("needs at least one [weight, low, high] mode")
    for weight, low, high in out:
        if not (weight > 0 and low <= high and math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"mode {[weight, low, high]}: needs weight > 0 and finite low <= high")
        if log and low <= 0:
            raise ValueError(f"mode {[weight, low, high]}: a log-uniform mode needs low > 0")
    return out


def sample(modes: Modes, count: int, generator: torch.Generator, log: bool = False) -> torch.Tensor:
    """(count,) float32 draws from the mixture."""
    weights = torch.tensor([m[0] for m in modes], dtype=torch.float64)
    bounds = torch.tensor([m[1:] for m in modes], dtype=torch.float64)  # (M, 2)
    if log:
        bounds = bounds.log()
    pick = torch.multinomial(weights, count, replacement=True, generator=generator)
    low, high = bounds[pick, 0], bounds[pick, 1]
    value = low + (high - low) * torch.rand(count, generator=generator, dtype=torch.float64)
    return (value.exp() if log else value).float()


def cdf(modes: Modes, values: np.ndarray, log: bool = False) -> np.ndarray:
    """P(X <= value) for each of `values` (any shape)."""
    values = np.log(values) if log else np.asarray(values, dtype=float)
    total = sum(m[0] for m in modes)
    out = np.zeros(np.shape(values))
    for weight, low, high in modes:
        low, high = (math.log(low), math.log(high)) if log else (low, high)
        inside = np.clip((values - low) / (high - low), 0.0, 1.0) if high > low else (values >= low).astype(float)
        out = out + weight / total * inside
    return out


def quantiles(modes: Modes, levels: Sequence[float], log: bool = False) -> np.ndarray:
    """The mixture's quantiles at `levels` (each in [0, 1]), by bisection on the exact CDF."""
    low = min(m[1] for m in modes)
    high = max(m[2] for m in modes)
    lo, hi = np.full(len(levels), float(low)), np.full(len(levels), float(high))
    target = np.asarray(levels, dtype=float)
    for _ in range(60):
        mid = np.sqrt(lo * hi) if log else (lo + hi) / 2.0
        below = cdf(modes, mid, log) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return hi
