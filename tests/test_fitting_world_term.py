"""SMPLify's 3D term on MediaPipe's world landmarks compares shapes, not placements, and fixes what 2D cannot see;
the joint limits belong to the fitting prior."""

import math

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.body.joint_limits import limit_violation
from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.fitting.smplify import SMPLify, SMPLifyConfig
from hkmr_studio.fitting.world_term import world_landmark_energy
from hkmr_studio.geometry.rotations import axis_angle_to_matrix

FOCAL = 1000.0
PRINCIPAL = torch.tensor([[320.0, 240.0]])
LEFT_ELBOW = kinematics.JOINT_INDEX["left_elbow"]
LEFT_SHOULDER = kinematics.JOINT_INDEX["left_shoulder"]
LEFT_WRIST_LANDMARK = 15


def _landmarks(body, global_orient, body_pose):
    with torch.no_grad():
        return BodyLandmarks(body)(global_orient, body_pose, torch.zeros(1, 10)).landmarks


def test_world_energy_ignores_the_world_frame_but_not_the_articulation(body):
    pose = torch.zeros(1, 69)
    points = _landmarks(body, torch.tensor([[math.pi, 0.0, 0.0]]), pose)
    turned = 0.9 * points @ axis_angle_to_matrix(torch.tensor([[0.1, 0.5, -0.2]])).transpose(1, 2) + 0.3
    weights = torch.ones(1, 33)
    assert world_landmark_energy(points, turned, weights).item() < 1e-6
    pose[0, 3 * (LEFT_ELBOW - 1) + 1] = -1.5  # the left forearm bent forward: a different shape
    bent = _landmarks(body, torch.tensor([[math.pi, 0.0, 0.0]]), pose)
    assert world_landmark_energy(points, bent, weights).item() > 1.0


def test_world_landmarks_decide_which_way_in_depth_an_arm_points(body, one_thread):
    """An arm raised 40 degrees towards the camera and one raised as far away from it have nearly the same keypoints
    (3 px apart); from the arm held out sideways, the 2D fit cannot tell them apart, the world landmarks can."""
    global_orient = torch.tensor([[math.pi, 0.0, 0.0]])  # facing the camera
    truth_pose = torch.zeros(1, 69)
    truth_pose[0, 3 * (LEFT_SHOULDER - 1) + 1] = -0.7  # the left arm swung forward, towards the camera
    truth = {"global_orient": global_orient, "body_pose": truth_pose, "betas": torch.zeros(1, 10),
             "transl": torch.tensor([[0.0, 0.1, 4.0]])}
    plain = SMPLify(body, SMPLifyConfig(pose_prior="init", camera_iterations=0))
    with torch.no_grad():
        keypoints = plain._project(truth, FOCAL, PRINCIPAL)
    world = _landmarks(body, global_orient, truth_pose)
    start = dict(truth, body_pose=torch.zeros(1, 69))
    errors = {}
    for name, fitter in (("2d", plain),
                         ("2d + world", SMPLify(body, SMPLifyConfig(pose_prior="init", camera_iterations=0,
                                                                    world_weight=30.0)))):
        fit = fitter.fit(keypoints, torch.ones(1, 33), start, FOCAL, PRINCIPAL, world)
        errors[name] = (_landmarks(body, global_orient, fit.body_pose) - world)[0, LEFT_WRIST_LANDMARK].norm().item()
    assert errors["2d + world"] < 0.06 and errors["2d"] > 0.3


def test_the_fit_stays_within_the_joint_limits(body, one_thread):
    """Started from a knee bent the wrong way (hyperextended by 40 degrees) with its own keypoints, the fit without
    the limits stays there; with them it ends within a few degrees of the knee's limit."""
    global_orient = torch.tensor([[math.pi, 0.0, 0.0]])
    bad_pose = torch.zeros(1, 69)
    bad_pose[0, 3 * (kinematics.JOINT_INDEX["left_knee"] - 1)] = -math.radians(40)
    target = {"global_orient": global_orient, "body_pose": bad_pose, "betas": torch.zeros(1, 10),
              "transl": torch.tensor([[0.0, 0.1, 4.0]])}
    fitter = SMPLify(body, SMPLifyConfig(pose_prior="init", camera_iterations=0, angle_prior_weight=0.0))
    with torch.no_grad():
        keypoints = fitter._project(target, FOCAL, PRINCIPAL)
    start = target
    limited = fitter.fit(keypoints, torch.ones(1, 33), start, FOCAL, PRINCIPAL)
    free = SMPLify(body, SMPLifyConfig(pose_prior="init", camera_iterations=0, angle_prior_weight=0.0,
                                       limit_weight=0.0)).fit(keypoints, torch.ones(1, 33), start, FOCAL, PRINCIPAL)
    assert math.degrees(limit_violation(free.body_pose).max()) > 20.0
    assert math.degrees(limit_violation(limited.body_pose).max()) < 5.0
