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


def _both_sides(rows: tuple[tuple[str, str, float], ...], sides: tuple[str, str]) -> tuple[tuple[str, str, float], ...]:
    """Rows whose source joint holds '{s}' (the rig's side mark, `sides` = (left, right)) and whose SMPL joint holds
    '{side}', once for each side; rows without them once."""
    expanded = []
    for source_joint, smpl_joint, weight in rows:
        if "{s}" in source_joint:
            for mark, side in zip(sides, ("left", "right")):
                expanded.append((source_joint.format(s=mark), smpl_joint.format(side=side), weight))
        else:
            expanded.append((source_joint, smpl_joint, weight))
    return tuple(expanded)


# The CMU subsets' rigs (training/mocap/cmu_subsets.py), read by `bvh.load_bvh` and `expmap.load_expmap`: joints sit
# where their rotation applies, end sites are 'EndSite<parent>'. All three are Y up and put the left hip at +X when
# the toes point +Z (checked on walking clips: toes along the hips' forward in 97-100% of frames), so they are in
# SMPL's body frame already. Heights below are above the midpoint of the hip joints on a standing frame; the open
# body's: pelvis +2 cm, spine1 +17, spine2 +25, spine3 +37, collars +48, shoulders +46 (17.5 cm from the midline),
# neck +56, head +63; hip joints 11 cm from the midline.

# Reallusion CC_Base rig (the IClone conversion; every subject retargeted onto one ~1.85 m figure, cm). Its pelvis
# (+2 cm), thighs (10 cm from the midline), calves, feet, upper arms (+51, 16 cm out), forearms and hands sit at the
# body's joints; Spine01 (+14) is near spine1, Spine02 (+29) between spine2 and spine3, NeckTwist01 at the neck's
# base (+56), Head at the skull's pivot (+64); ToeBase is the ball of the foot, Mid1 the middle knuckle (~10 cm past
# the wrist, as the body's hand joint).
ICLONE = JointMap(
    rows=_both_sides(
        (
            ("CC_Base_Pelvis", "pelvis", 0.5),
            ("CC_Base_Spine01", "spine1", 0.5),
            ("CC_Base_Spine02", "spine2", 0.3),
            ("CC_Base_NeckTwist01", "neck", 0.5),
            ("CC_Base_Head", "head", 0.5),
            ("CC_Base_{s}_Thigh", "{side}_hip", 1.0),
            ("CC_Base_{s}_Calf", "{side}_knee", 1.0),
            ("CC_Base_{s}_Foot", "{side}_ankle", 1.0),
            ("CC_Base_{s}_ToeBase", "{side}_foot", 0.7),
            ("CC_Base_{s}_Clavicle", "{side}_collar", 0.5),
            ("CC_Base_{s}_Upperarm", "{side}_shoulder", 1.0),
            ("CC_Base_{s}_Forearm", "{side}_elbow", 1.0),
            ("CC_Base_{s}_Hand", "{side}_wrist", 1.0),
            ("CC_Base_{s}_Mid1", "{side}_hand", 0.5),
        ),
        ("L", "R"),
    ),
    to_body_frame=np.eye(3),
)

# Daz rig (the Daz-friendly conversion, cm). 'hip' sits 3 cm below the hip joints (the body's pelvis 2 cm above);
# abdomen (+18) is at spine1, chest (+30) between spine2 and spine3; neck (+52) and head (+59) ~4 cm below the body's;
# collars where the body's are; shoulders (lShldr) level with the body's but 5 cm nearer the midline; thighs 9 cm from
# it; the foot's end site is on the sole ~12 cm in front of the ankle, as the body's foot joint; Mid1 the knuckle.
DAZ = JointMap(
    rows=_both_sides(
        (
            ("hip", "pelvis", 0.2),
            ("abdomen", "spine1", 0.5),
            ("chest", "spine2", 0.3),
            ("neck", "neck", 0.5),
            ("head", "head", 0.5),
            ("{s}Thigh", "{side}_hip", 1.0),
            ("{s}Shin", "{side}_knee", 1.0),
            ("{s}Foot", "{side}_ankle", 1.0),
            ("EndSite{s}Foot", "{side}_foot", 0.7),
            ("{s}Collar", "{side}_collar", 0.5),
            ("{s}Shldr", "{side}_shoulder", 1.0),
            ("{s}ForeArm", "{side}_elbow", 1.0),
            ("{s}Hand", "{side}_wrist", 1.0),
            ("{s}Mid1", "{side}_hand", 0.5),
        ),
        ("l", "r"),
    ),
    to_body_frame=np.eye(3),
)

# CMU's BVH skeleton (the expmap text files and the Daz archive's 16_01/16_02; CMU units) with its thorax restored
# (`cmu_skeleton.restore_thorax`). The joints are the ASF bones' starts, so these rows are `CMU`'s moved one bone
# down: 'hip' is CMU's root (~10 cm above the hip joints), 'lfemur' the hip joint (8-9 cm from the midline), 'ltoes'
# the ball of the foot; 'upperback', 'thorax', 'lowerneck' end CMU's three spine bones; 'head' (~12 cm above the
# shoulders) is at the body's neck joint, the head's end site mid-head; 'lwrist' ends the forearm, 19-21 cm from the
# elbow (the body's 23; the conversion gives the ASF's 'lwrist' bone no length), 'lfingers' ~3 cm past it.
CMU_BVH = JointMap(
    rows=_both_sides(
        (
            ("hip", "pelvis", 0.2),
            ("upperback", "spine1", 0.3),
            ("thorax", "spine2", 0.5),
            ("lowerneck", "spine3", 0.5),
            ("head", "neck", 0.5),
            ("EndSitehead", "head", 0.5),
            ("{s}femur", "{side}_hip", 1.0),
            ("{s}tibia", "{side}_knee", 1.0),
            ("{s}foot", "{side}_ankle", 1.0),
            ("{s}toes", "{side}_foot", 0.7),
            ("{s}humerus", "{side}_shoulder", 1.0),
            ("{s}radius", "{side}_elbow", 1.0),
            ("{s}wrist", "{side}_wrist", 1.0),
            ("{s}fingers", "{side}_hand", 0.3),
        ),
        ("l", "r"),
    ),
    to_body_frame=np.eye(3),
)

def resample(times: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """Indices of the frames nearest to a `fps` clock over (F,) increasing frame times in s; never repeats a
    frame, so a clip slower than `fps` keeps all its frames."""
    clock = np.arange(0.0, times[-1] + 0.5 / fps, 1.0 / fps)
    nearest = np.abs(times[None, :] - clock[:, None]).argmin(axis=1)
    return np.unique(nearest)
