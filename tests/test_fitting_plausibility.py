"""Refine returns the regressor's body when the fit is implausible: an unlikely pose, a joint beyond its limits, or
limbs through each other."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from conftest import SAMPLE_PHOTO

from hkmr_studio.body import kinematics
from hkmr_studio.body.model import load_body_model
from hkmr_studio.fitting.plausibility import PlausibilityCheck
from hkmr_studio.fitting.priors import load_pose_prior
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import load_image


def _pose(**angles: tuple[float, float, float]) -> torch.Tensor:
    pose = torch.zeros(1, 23, 3)
    for joint, value in angles.items():
        pose[0, kinematics.JOINT_INDEX[joint] - 1] = torch.tensor(value)
    return pose.reshape(1, 69)


@pytest.fixture(scope="module")
def check():
    return PlausibilityCheck(load_body_model())


def test_each_measure_names_what_is_wrong(check):
    start = _pose(left_shoulder=(0.0, 0.0, -1.2), right_shoulder=(0.0, 0.0, 1.2))  # arms down
    prior, _ = load_pose_prior("gmm", start)
    assert check.reason(start, start, prior) == ""
    knee_back = _pose(left_knee=(-math.radians(60), 0.0, 0.0))
    assert "beyond its anatomical limit" in check.reason(knee_back, start, prior)
    legs_through = _pose(left_hip=(0.0, 0.0, -0.45), right_hip=(0.0, 0.0, 0.45))  # thighs through each other
    assert "limbs pass 14 cm into each other" in check.reason(legs_through, start, prior)
    twisted = torch.full((1, 69), 0.9)  # every joint turned 0.9 rad about all three axes
    assert "its pose is unlikely" in check.reason(twisted, start, prior)


def test_a_fit_no_worse_than_its_start_is_kept_even_when_the_start_is_odd(check):
    odd = _pose(left_knee=(-math.radians(60), 0.0, 0.0))
    prior, _ = load_pose_prior("gmm", odd)
    assert check.reason(odd, odd, prior) == ""


def test_refine_falls_back_to_the_regression_on_a_planted_implausible_fit(one_thread):
    pipeline = Pipeline(device="cpu")
    fitter = pipeline.fitter
    real_fit = fitter.fit

    def planted(*args, **kwargs):
        report = real_fit(*args, **kwargs)
        knees_back = report.body_pose.clone()
        for knee in ("left_knee", "right_knee"):
            knees_back[0, 3 * (kinematics.JOINT_INDEX[knee] - 1)] = -math.radians(80)
        return dataclasses.replace(report, body_pose=knees_back)

    fitter.fit = planted
    result = pipeline.run(load_image(SAMPLE_PHOTO), refine=True)
    assert result.found and result.fit is None and result.best is result.regression
    assert any("refined body was discarded" in m and "anatomical limit" in m for m in result.messages)
    fitter.fit = real_fit
    honest = pipeline.run(load_image(SAMPLE_PHOTO), refine=True)
    assert honest.fit is not None and not np.allclose(honest.fit.body_pose, honest.regression.body_pose)
