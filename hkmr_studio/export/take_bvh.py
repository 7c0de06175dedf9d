"""BVH of a take, written with pybvh (PyPI `pybvh`, MIT).

The skeleton is SMPL's 24 joints under their SMPL names (body/kinematics.py), with offsets from the take's shaped rest
pose; every joint's rest frame is aligned with the world, so a joint's BVH rotation is SMPL's local rotation (the
root's turned into the Y-up view frame, export/frames.py). Channels: the root's position (the posed pelvis, Y up)
and Z-Y-X Euler rotations per joint; bodies without a child (head, hands, feet) end in an End Site. BVH has one
frame time (1/fps): a take with variable frame times is sampled at its nominal rate (TakeAnimation.uniform_keys).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pybvh
from pybvh.bvhnode import BvhEndSite, BvhJoint, BvhNode, BvhRoot

from hkmr_studio.atomic import atomic_write_bytes
from hkmr_studio.body import kinematics
from hkmr_studio.export.skeleton import bone_tails
from hkmr_studio.export.take_animation import TakeAnimation

ROTATION_ORDER = "ZYX"


def bvh_skeleton(rest_joints: np.ndarray, scale: float) -> list[BvhNode]:
    """(24, 3) rest joints (metres, Y up) -> pybvh nodes in depth-first order, lengths times `scale`."""
    tails = bone_tails(rest_joints, kinematics.PARENTS)
    joints: list[BvhJoint] = []
    for j, name in enumerate(kinematics.JOINT_NAMES):
        parent = kinematics.PARENTS[j]
        if parent < 0:
            joints.append(BvhRoot(name, np.zeros(3), "XYZ", ROTATION_ORDER))
        else:
            node = BvhJoint(name, (rest_joints[j] - rest_joints[parent]) * scale, ROTATION_ORDER,
                            parent=joints[parent])
            joints[parent].children.append(node)
            joints.append(node)
    nodes: list[BvhNode] = []

    def visit(j: int) -> None:
        nodes.append(joints[j])
        children = [c for c, p in enumerate(kinematics.PARENTS) if p == j]
        if not children:
            end = BvhEndSite(f"EndSite{kinematics.JOINT_NAMES[j]}", (tails[j] - rest_joints[j]) * scale, joints[j])
            joints[j].children.append(end)
            nodes.append(end)
        for c in children:
            visit(c)

    visit(0)
    return nodes


def _joint_order(nodes: list[BvhNode]) -> list[int]:
    """SMPL joint index of each BVH joint (end sites left out), in the file's order."""
    return [kinematics.JOINT_INDEX[n.name] for n in nodes if not n.is_end_site()]


def write_take_bvh(path: str | Path, animation: TakeAnimation, scale: float = 1.0) -> Path:
    """Write the animation as BVH at 1/fps per frame, lengths in metres times `scale` (100: centimetres)."""
    rig = animation.rig
    nodes = bvh_skeleton(rig.rest_joints, scale)
    keys = animation.uniform_keys()
    order = _joint_order(nodes)
    root_position = (rig.translation[keys] + rig.rest_joints[0]) * scale  # the posed pelvis: rotation is about it
    bvh = pybvh.Bvh(nodes, root_position, np.zeros((len(keys), len(order), 3)), frame_time=1.0 / animation.fps,
                    world_up="+y")
    bvh.from_rotmat(root_position, rig.local_rotmats[keys][:, order], inplace=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "take.bvh"
        bvh.write(staged)
        return atomic_write_bytes(path, staged.read_bytes())
