"""A Gaussian mixture over body poses, fitted by expectation-maximisation, for SMPLify's pose prior.

SMPLify uses an 8-component mixture with full covariances fitted to CMU poses (that file is licence-restricted);
this one is fitted to the project's own pose library. Two safeguards keep it usable as a fitting prior on a small
library: every variance gets a floor (a hinge that never twisted in the library may still twist a little in a fit),
and unobserved dimensions get a broad, independent Gaussian instead of a near-zero variance.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

VARIANCE_FLOOR = 0.05**2  # rad^2 added to every variance
UNOBSERVED_VARIANCE = 0.3**2  # rad^2 for dimensions the library never moves


@dataclass(frozen=True)
class Mixture:
    """means (K, D), covariances (K, D, D), weights (K,) summing to 1; float64."""

    means: np.ndarray
    covariances: np.ndarray
    weights: np.ndarray

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """(N, D) -> (N,) log p(x) under the full mixture."""
        return torch.logsumexp(_component_log_density(torch.from_numpy(x).double(), self), dim=1).numpy()


def _component_log_density(x: torch.Tensor, mixture: Mixture) -> torch.Tensor:
    """(N, D) -> (N, K): log(w_k N(x; mu_k, Sigma_k))."""
    means, covs = torch.from_numpy(mixture.means), torch.from_numpy(mixture.covariances)
    chol = torch.linalg.cholesky(covs)  # (K, D, D)
    diff = (x[:, None, :] - means[None]).permute(1, 2, 0)  # (K, D, N)
    solved = torch.linalg.solve_triangular(chol, diff, upper=False)  # (K, D, N)
    mahalanobis = solved.square().sum(dim=1).T  # (N, K)
    log_det = 2.0 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(-1)  # (K,)
    d = x.shape[1]
    return torch.log(torch.from_numpy(mixture.weights))[None] - 0.5 * (mahalanobis + log_det + d * np.log(2 * np.pi))


def _regularise(covariances: torch.Tensor, unobserved: torch.Tensor) -> torch.Tensor:
    """Floor the variances and make unobserved dimensions broad and independent. (K, D, D) -> (K, D, D)."""
    covs = covariances.clone()
    covs[:, unobserved, :] = 0.0
    covs[:, :, unobserved] = 0.0
    eye = torch.eye(covs.shape[1], dtype=covs.dtype)
    extra = torch.where(unobserved, torch.tensor(UNOBSERVED_VARIANCE, dtype=covs.dtype),
                        torch.tensor(VARIANCE_FLOOR, dtype=covs.dtype))
    return covs + eye * extra


def _initial_means(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: (N, D) -> (k, D) means picked among the samples, far apart."""
    picks = [int(torch.randint(len(x), (1,), generator=generator))]
    for _ in range(1, k):
        distance = torch.cdist(x, x[picks]).amin(dim=1).square()
        picks.append(int(torch.multinomial(distance / distance.sum(), 1, generator=generator)))
    return x[picks].clone()


def fit_mixture(poses: np.ndarray, unobserved: np.ndarray, components: int = 8, iterations: int = 200,
                seed: int = 0, tolerance: float = 1e-6) -> Mixture:
    """EM on (N, D) poses; unobserved (D,) bool. Stops when the mean log-likelihood gains less than `tolerance`."""
    x = torch.from_numpy(poses).double()
    mask = torch.from_numpy(unobserved)
    generator = torch.Generator().manual_seed(seed)
    means = _initial_means(x, components, generator)
    covs = _regularise(torch.cov(x.T)[None].repeat(components, 1, 1), mask)
    mixture = Mixture(means.numpy(), covs.numpy(), np.full(components, 1.0 / components))
    previous = -np.inf
    for _ in range(iterations):
        log_density = _component_log_density(x, mixture)  # E step
        total = torch.logsumexp(log_density, dim=1, keepdim=True)
        resp = torch.exp(log_density - total)  # (N, K)
        counts = resp.sum(dim=0) + 1e-10  # M step
        means = (resp.T @ x) / counts[:, None]
        centred = x[None] - means[:, None]  # (K, N, D)
        covs = torch.einsum("kn,knd,kne->kde", resp.T, centred, centred) / counts[:, None, None]
        mixture = Mixture(means.numpy(), _regularise(covs, mask).numpy(), (counts / counts.sum()).numpy())
        current = float(total.mean())
        if current - previous < tolerance:
            break
        previous = current
    return mixture


def save_mixture(mixture: Mixture) -> bytes:
    """The npz bytes hkmr_studio.fitting.priors.GaussianMixturePrior.from_file reads (float64 arrays, no pickles)."""
    buffer = io.BytesIO()
    np.savez(buffer, means=mixture.means, covariances=mixture.covariances, weights=mixture.weights)
    return buffer.getvalue()
