"""The open body's shape space (PCA over T-posed adults) and its sparse joint regressor.

Vertices and joints are in SMPL's frame (metres, Y up, front +Z, left +X), T-pose, pelvis-centred.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from hkmr_studio.body import kinematics


@dataclass(frozen=True)
class ShapeSpace:
    """mean (V, 3); components (V, 3, K), each sqrt(eigenvalue) * unit eigenvector, so the training bodies have
    coefficients (betas) of zero mean and unit variance; explained: the fraction of shape variance they cover."""

    mean: np.ndarray
    components: np.ndarray
    explained: float

    def reconstruct(self, betas: np.ndarray) -> np.ndarray:
        """(N, K) betas -> (N, V, 3) vertices."""
        return self.mean + np.einsum("vck,nk->nvc", self.components, betas)

    def project(self, vertices: np.ndarray) -> np.ndarray:
        """(N, V, 3) vertices -> (N, K) least-squares betas."""
        basis = self.components.reshape(-1, self.components.shape[-1])
        return np.linalg.lstsq(basis, (vertices - self.mean).reshape(len(vertices), -1).T, rcond=None)[0].T


def stature(vertices: np.ndarray) -> np.ndarray:
    """(..., V, 3) -> (...,): highest minus lowest vertex along Y (standing height in a T-pose), metres."""
    return vertices[..., 1].max(-1) - vertices[..., 1].min(-1)


def fit_shape_space(vertices: np.ndarray, count: int) -> ShapeSpace:
    """PCA of (N, V, 3) bodies keeping `count` components. Signs are fixed so that a positive coefficient makes
    the mean body taller (topmost vertex up relative to the lowest one)."""
    mean = vertices.mean(0)
    centred = (vertices - mean).reshape(len(vertices), -1)
    _, singular, directions = np.linalg.svd(centred, full_matrices=False)
    variances = singular**2 / (len(vertices) - 1)
    components = (directions[:count] * np.sqrt(variances[:count, None])).T.reshape(*mean.shape, count)
    top, bottom = np.argmax(mean[:, 1]), np.argmin(mean[:, 1])
    signs = np.where(components[top, 1] - components[bottom, 1] < 0, -1.0, 1.0)
    return ShapeSpace(
        mean=mean, components=components * signs, explained=float(variances[:count].sum() / variances.sum())
    )


def regressor_support(weights: np.ndarray, parents: tuple[int, ...] = kinematics.PARENTS) -> list[np.ndarray]:
    """Per joint, the vertices (indices) with nonzero skin weight for it, its parent or its children."""
    neighbours = [{j} for j in range(len(parents))]
    for child, parent in enumerate(parents):
        if parent >= 0:
            neighbours[child].add(parent)
            neighbours[parent].add(child)
    return [np.flatnonzero(weights[:, sorted(group)].sum(1) > 0) for group in neighbours]


def _fit_joint(points: np.ndarray, targets: np.ndarray, ridge: float) -> np.ndarray:
    """Weights r (S,) with sum(r) = 1 minimising sum_n,c (points[n, :, c] @ r - targets[n, c])^2 + lam |r|^2.

    points (N, S, 3), targets (N, 3). The unit sum makes the regressor follow translations; lam = ridge times the
    mean diagonal of the normal matrix. Solved through the KKT system of the constrained problem.
    """
    centre = points.mean(1, keepdims=True)  # sum(r) = 1 lets each sample be expressed about its own centre
    design = (points - centre).transpose(0, 2, 1).reshape(-1, points.shape[1])  # (N * 3, S)
    rhs = (targets - centre[:, 0]).reshape(-1)
    normal = design.T @ design
    size = normal.shape[0]
    normal[np.diag_indices(size)] += ridge * np.trace(normal) / size
    kkt = np.zeros((size + 1, size + 1))
    kkt[:size, :size], kkt[:size, size], kkt[size, :size] = normal, 1.0, 1.0
    solution = np.linalg.solve(kkt, np.concatenate([design.T @ rhs, [1.0]]))
    return solution[:size]


def fit_joint_regressor(
    vertices: np.ndarray, joints: np.ndarray, weights: np.ndarray, ridge: float
) -> scipy.sparse.csc_matrix:
    """(N, V, 3) bodies, (N, 24, 3) their joints, (V, 24) skin weights -> (24, V) sparse regressor whose rows sum
    to 1, each row supported on `regressor_support`."""
    rows, cols, values = [], [], []
    for joint, support in enumerate(regressor_support(weights)):
        coefficients = _fit_joint(vertices[:, support], joints[:, joint], ridge)
        rows.append(np.full(len(support), joint))
        cols.append(support)
        values.append(coefficients)
    return scipy.sparse.csc_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(joints.shape[1], vertices.shape[1]),
    )


def joint_errors(regressor: scipy.sparse.spmatrix, vertices: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(N, 24) distances (m) between regressed joints of (N, V, 3) vertices and (N, 24, 3) true joints."""
    regressed = np.stack([regressor @ v for v in vertices])
    return np.linalg.norm(regressed - joints, axis=-1)
