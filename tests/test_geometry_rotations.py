"""Rotation conversions: known rotations, round trips, stability near 0 and pi, gradients, shape errors."""

import math

import pytest
import torch

from hkmr_studio.geometry import rotations as R


def random_axis_angle(n: int, max_angle: float = math.pi - 1e-3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=torch.float64), dim=-1)
    angle = torch.rand(n, 1, generator=g, dtype=torch.float64) * max_angle
    return axis * angle


def test_quarter_turn_about_z_maps_x_to_y():
    rot = R.axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    assert torch.allclose(rot @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
                          torch.tensor([0.0, 1, 0], dtype=torch.float64), atol=1e-12)


def test_zero_axis_angle_is_identity_with_finite_gradient():
    aa = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    rot = R.axis_angle_to_matrix(aa)
    assert torch.allclose(rot, torch.eye(3, dtype=torch.float64).expand(2, 3, 3))
    rot.sum().backward()
    assert torch.isfinite(aa.grad).all()


def test_matrices_are_orthonormal_with_unit_determinant():
    rot = R.axis_angle_to_matrix(random_axis_angle(100))
    eye = torch.eye(3, dtype=torch.float64).expand_as(rot)
    assert torch.allclose(rot @ rot.transpose(1, 2), eye, atol=1e-10)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(100, dtype=torch.float64), atol=1e-10)


def test_axis_angle_matrix_round_trip():
    aa = random_axis_angle(500)
    assert torch.allclose(R.matrix_to_axis_angle(R.axis_angle_to_matrix(aa)), aa, atol=1e-7)


def test_round_trip_near_pi_recovers_the_rotation():
    aa = random_axis_angle(50, seed=3)
    aa = torch.nn.functional.normalize(aa, dim=-1) * (math.pi - 1e-6)
    rot = R.axis_angle_to_matrix(aa)
    assert torch.allclose(R.axis_angle_to_matrix(R.matrix_to_axis_angle(rot)), rot, atol=1e-6)


def test_quaternion_round_trip_and_scalar_first_order():
    aa = random_axis_angle(200, seed=1)
    q = R.axis_angle_to_quaternion(aa)
    assert torch.allclose(q.norm(dim=-1), torch.ones(200, dtype=torch.float64))
    assert torch.allclose(R.quaternion_to_axis_angle(q), aa, atol=1e-9)
    half_turn_x = R.axis_angle_to_quaternion(torch.tensor([math.pi, 0.0, 0.0], dtype=torch.float64))
    assert torch.allclose(half_turn_x, torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64), atol=1e-12)


def test_matrix_to_quaternion_agrees_with_axis_angle_path():
    aa = random_axis_angle(200, seed=2)
    q1 = R.matrix_to_quaternion(R.axis_angle_to_matrix(aa))
    q2 = R.axis_angle_to_quaternion(aa)
    assert torch.allclose(q1, q2, atol=1e-9)


def test_rot6d_is_first_two_columns_and_round_trips():
    rot = R.axis_angle_to_matrix(random_axis_angle(100, seed=4))
    six = R.matrix_to_rot6d(rot)
    assert torch.equal(six[:, :3], rot[:, :, 0]) and torch.equal(six[:, 3:], rot[:, :, 1])
    assert torch.allclose(R.rot6d_to_matrix(six), rot, atol=1e-10)


def test_rot6d_gram_schmidt_turns_any_six_numbers_into_a_rotation():
    rot = R.rot6d_to_matrix(torch.randn(50, 6, dtype=torch.float64))
    assert torch.allclose(torch.linalg.det(rot), torch.ones(50, dtype=torch.float64), atol=1e-10)


def test_conversions_pass_gradcheck():
    aa = random_axis_angle(4, max_angle=2.5, seed=5).requires_grad_(True)
    assert torch.autograd.gradcheck(R.axis_angle_to_matrix, (aa,))
    assert torch.autograd.gradcheck(R.matrix_to_axis_angle, (R.axis_angle_to_matrix(aa.detach()).requires_grad_(True),))
    assert torch.autograd.gradcheck(R.rot6d_to_matrix, (torch.randn(4, 6, dtype=torch.float64, requires_grad=True),))


def test_batched_leading_dimensions_are_kept():
    assert R.axis_angle_to_matrix(torch.zeros(2, 24, 3)).shape == (2, 24, 3, 3)
    assert R.axis_angle_to_rot6d(torch.zeros(2, 24, 3)).shape == (2, 24, 6)


def test_wrong_shape_names_expected_and_actual():
    with pytest.raises(ValueError, match=r"expected shape \(\.\.\., 3\), got \(2, 4\)"):
        R.axis_angle_to_matrix(torch.zeros(2, 4))
