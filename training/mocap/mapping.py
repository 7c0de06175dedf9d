"""Source skeletons -> SMPL joint targets: per-source joint tables, frame change and resampling.

Each table maps a source joint to an SMPL joint (`hkmr_studio.body.kinematics.JOINT_NAMES`) with a weight for the
fit: 1 where the source and the embedded open body put the joint at the same anatomical place, lower where they
differ (placements measured on the body's rest skeleton and each source's first frame). SMPL joints a
source does not have get weight 0. Targets are in SMPL's body frame: metres, Y up, facing +Z, the person's left +X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hkmr_studio.body.kinematics import JOINT_INDEX, NUM_JOINTS


@dataclass(frozen=True)
class JointMap:
    """(source joint, SMPL joint, weight) rows, and the (3, 3) rotation from the source frame to SMPL's."""

    rows: tuple[tuple[str, str, float], ...]
    to_body_frame: np.ndarray

    def weights(self) -> np.ndarray:
        """(24,) fit weight per SMPL joint; 0 for joints the source lacks."""
        weights = np.zeros(NUM_JOINTS)
        for _, smpl_joint, weight in self.rows:
            weights[JOINT_INDEX[smpl_joint]] = weight
        return weights

    def targets(self, names: tuple[str, ...], positions: np.ndarray) -> np.ndarray:
        """(F, J, 3) source positions named `names` -> (F, 24, 3) SMPL targets in the body frame (0 where unmapped)."""
        targets = np.zeros((positions.shape[0], NUM_JOINTS, 3))
        for source_joint, smpl_joint, _ in self.rows:
            targets[:, JOINT_INDEX[smpl_joint]] = positions[:, names.index(source_joint)] @ self.to_body_frame.T
        return targets


# CMU (ASF bone end points; 'root' is the pelvis). CMU's frame is SMPL's: Y up, facing +Z, left +X.
# The torso is split at other heights than the body's: CMU's hips sit ~10 cm below its root (the open body's ~2 cm
# below its pelvis), 'lowerback' ends ~12 cm above the root (spine1 ~15 cm above the pelvis); 'upperneck' ends ~12 cm
# above the shoulders, as the body's neck joint does ('lowerneck' ends level with them, unused); 'head' ends mid-head.
# 'lwrist' ends at the wrist ('lradius' ends mid-forearm, unused); 'lhand' ends ~4 cm past the wrist, the body's hand
# joint ~10 cm; 'lfoot' ends at the ball of the foot.
CMU = JointMap(
    rows=(
        ("root", "pelvis", 0.2),
        ("lowerback", "spine1", 0.3),
        ("upperback", "spine2", 0.5),
        ("thorax", "spine3", 0.5),
        ("upperneck", "neck", 0.5),
        ("head", "head", 0.5),
        ("lhipjoint", "left_hip", 1.0),
        ("lfemur", "left_knee", 1.0),
        ("ltibia", "left_ankle", 1.0),
        ("lfoot", "left_foot", 0.7),
        ("lclavicle", "left_shoulder", 1.0),
        ("lhumerus", "left_elbow", 1.0),
        ("lwrist", "left_wrist", 1.0),
        ("lhand", "left_hand", 0.3),
        ("rhipjoint", "right_hip", 1.0),
        ("rfemur", "right_knee", 1.0),
        ("rtibia", "right_ankle", 1.0),
        ("rfoot", "right_foot", 0.7),
        ("rclavicle", "right_shoulder", 1.0),
        ("rhumerus", "right_elbow", 1.0),
        ("rwrist", "right_wrist", 1.0),
        ("rhand", "right_hand", 0.3),
    ),
    to_body_frame=np.eye(3),
)

# DeepMimic humanoid (URDF joints plus the link points of `deepmimic.LINK_POINTS`). Its frame: Y up, facing +X,
# right +Z; a -90 degree turn about Y takes it to SMPL's (x' = -z, z' = x). Its hips sit level with its root (as the
# open body's nearly do with its pelvis); its one chest joint (~24 cm above the root) is at spine2's height; its neck
# joint is level with the shoulders, ~10 cm below the body's neck joint, so it is weighted low; the head target is
# the head sphere's centre, at the body's head joint height; the foot target is the foot box's toe edge on the sole.
# No collars, spine1/3 or hands.
DEEPMIMIC = JointMap(
    rows=(
        ("root", "pelvis", 0.5),
        ("chest", "spine2", 0.5),
        ("neck", "neck", 0.2),
        ("head", "head", 0.5),
        ("left_hip", "left_hip", 1.0),
        ("left_knee", "left_knee", 1.0),
        ("left_ankle", "left_ankle", 1.0),
        ("left_toe", "left_foot", 0.5),
        ("left_shoulder", "left_shoulder", 1.0),
        ("left_elbow", "left_elbow", 1.0),
        ("left_wrist", "left_wrist", 1.0),
        ("right_hip", "right_hip", 1.0),
        ("right_knee", "right_knee", 1.0),
        ("right_ankle", "right_ankle", 1.0),
        ("right_toe", "right_foot", 0.5),
        ("right_shoulder", "right_shoulder", 1.0),
        ("right_elbow", "right_elbow", 1.0),
        ("right_wrist", "right_wrist", 1.0),
    ),
    to_body_frame=np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
)


def resample(times: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """Indices of the frames nearest to a `fps` clock over (F,) increasing frame times in s; never repeats a
    frame, so a clip slower than `fps` keeps all its frames."""
    clock = np.arange(0.0, times[-1] + 0.5 / fps, 1.0 / fps)
    nearest = np.abs(times[None, :] - clock[:, None]).argmin(axis=1)
    return np.unique(nearest)
