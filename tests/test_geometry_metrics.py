"""Procrustes alignment and pose metrics, PA-MPJPE checked against an independently written reference."""

import numpy as np
import torch

from hkmr_studio.geometry import metrics
from hkmr_studio.geometry.rotations import axis_angle_to_matrix


def horn_similarity_reference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Align x (J, 3) to y with Horn's quaternion method (1987): a different derivation from the SVD one."""
    mx, my = x.mean(0), y.mean(0)
    a, b = x - mx, y - my
    s = a.T @ b  # S_ij = sum a_i b_j
    n = np.array([
        [s[0, 0] + s[1, 1] + s[2, 2], s[1, 2] - s[2, 1], s[2, 0] - s[0, 2], s[0, 1] - s[1, 0]],
        [s[1, 2] - s[2, 1], s[0, 0] - s[1, 1] - s[2, 2], s[0, 1] + s[1, 0], s[2, 0] + s[0, 2]],
        [s[2, 0] - s[0, 2], s[0, 1] + s[1, 0], -s[0, 0] + s[1, 1] - s[2, 2], s[1, 2] + s[2, 1]],
        [s[0, 1] - s[1, 0], s[2, 0] + s[0, 2], s[1, 2] + s[2, 1], -s[0, 0] - s[1, 1] + s[2, 2]],
    ])
    w, v = np.linalg.eigh(n)
    q0, qx, qy, qz = v[:, np.argmax(w)]
    rot = np.array([
        [q0 * q0 + qx * qx - qy * qy - qz * qz, 2 * (qx * qy - q0 * qz), 2 * (qx * qz + q0 * qy)],
        [2 * (qy * qx + q0 * qz), q0 * q0 - qx * qx + qy * qy - qz * qz, 2 * (qy * qz - q0 * qx)],
        [2 * (qz * qx - q0 * qy), 2 * (qz * qy + q0 * qx), q0 * q0 - qx * qx - qy * qy + qz * qz],
    ])
    ra = a @ rot.T
    scale = (ra * b).sum() / (a * a).sum()
    return scale * ra + my


def test_pa_mpjpe_matches_horn_reference_on_random_data():
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(20, 24, 3))
    target = rng.normal(size=(20, 24, 3))
    ours = metrics.pa_mpjpe(torch.from_numpy(pred), torch.from_numpy(target)).numpy()
    ref = np.array([np.linalg.norm(horn_similarity_reference(p, t) - t, axis=1).mean() for p, t in zip(pred, target)])
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_procrustes_undoes_a_similarity_transform_exactly():
    target = torch.randn(5, 17, 3, dtype=torch.float64)
    rot = axis_angle_to_matrix(torch.randn(5, 3, dtype=torch.float64))
    source = 2.5 * target @ rot.transpose(1, 2) + torch.randn(5, 1, 3, dtype=torch.float64)
    assert torch.allclose(metrics.procrustes_align(source, target), target, atol=1e-10)
    assert metrics.pa_mpjpe(source, target).max() < 1e-10


def test_similarity_transform_returns_the_planted_similarity_and_ignores_zero_weights():
    source = torch.randn(4, 12, 3, dtype=torch.float64)
    rot = axis_angle_to_matrix(torch.randn(4, 3, dtype=torch.float64))
    shift = torch.randn(4, 3, dtype=torch.float64)
    target = 0.8 * source @ rot.transpose(1, 2) + shift[:, None]
    target[:, 0] += 10.0  # an outlier ...
    weights = torch.ones(4, 12, dtype=torch.float64)
    weights[:, 0] = 0.0  # ... that does not count
    scale, rotation, translation = metrics.similarity_transform(source, target, weights)
    assert torch.allclose(scale, torch.full((4,), 0.8, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(rotation, rot, atol=1e-10) and torch.allclose(translation, shift, atol=1e-10)
    about_origin = metrics.similarity_transform(source, source @ rot.transpose(1, 2) + shift[:, None], translate=False)
    assert torch.equal(about_origin[2], torch.zeros(4, 3, dtype=torch.float64))  # no translation allowed
    assert not torch.allclose(about_origin[1], rot, atol=1e-3)  # so the rotation takes up the shift


def test_procrustes_never_reflects():
    target = torch.randn(3, 10, 3, dtype=torch.float64)
    mirrored = target * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    assert metrics.pa_mpjpe(mirrored, target).min() > 1e-3


def test_mpjpe_aligns_roots_and_reports_mean_distance():
    target = torch.zeros(1, 3, 3)
    pred = torch.tensor([[[1.0, 1, 1], [1.0, 1, 1.3], [1.0, 1.4, 1]]])
    assert torch.allclose(metrics.mpjpe(pred, target), torch.tensor([(0 + 0.3 + 0.4) / 3]))


def test_pck_and_auc_follow_the_3dhp_protocol():
    target = torch.zeros(1, 4, 3)
    pred = torch.tensor([[[0.0, 0, 0], [0.1, 0, 0], [0.2, 0, 0], [0.0, 0.149, 0]]])
    assert metrics.pck(pred, target).item() == 0.75
    assert len(metrics.AUC_THRESHOLDS_M) == 31 and metrics.AUC_THRESHOLDS_M[-1] == 0.15
    perfect = metrics.auc(target, target).item()
    assert perfect == 1.0
    assert 0.0 < metrics.auc(pred, target).item() < perfect
