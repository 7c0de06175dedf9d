"""Skinned, animated binary glTF (GLB) of a take, written with pygltflib.

Nodes 0-23 are SMPL's joints (named as in body/kinematics.py), each placed at its rest offset from its parent in the
take's shaped rest pose with no rest rotation, so a joint's animated rotation is SMPL's local rotation (the root's in
the Y-up view frame, export/frames.py) and the root's animated translation is the posed pelvis. Node 24 is the body's
rest mesh (metres, smooth normals), skinned to them: at most 4 joints per vertex, weights renormalised. One animation:
a rotation channel per joint and the root's translation, keyed at the take's frame times (seconds), interpolated
linearly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib as gl
import trimesh
from scipy.spatial.transform import Rotation

from hkmr_studio.atomic import atomic_write_bytes
from hkmr_studio.body import kinematics
from hkmr_studio.export.rig import Rig
from hkmr_studio.export.take_animation import TakeAnimation

#: glTF allows at most 4 joints per vertex in one JOINTS_0/WEIGHTS_0 pair.
MAX_INFLUENCES = 4
ANIMATION_NAME = "take"


def top_influences(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V, J) skin weights -> (V, 4) joint indices (uint16) and their weights (float32), renormalised to sum 1."""
    joints = np.argsort(-weights, axis=1, kind="stable")[:, :MAX_INFLUENCES]
    kept = np.take_along_axis(weights, joints, axis=1)
    return joints.astype(np.uint16), (kept / kept.sum(axis=1, keepdims=True)).astype(np.float32)


def continuous_quaternions(rotmats: np.ndarray) -> np.ndarray:
    """(K, J, 3, 3) rotations -> (K, J, 4) unit quaternions (x, y, z, w), each key on the side of the previous one's
    hemisphere, so that interpolation takes the short way."""
    quats = Rotation.from_matrix(rotmats.reshape(-1, 3, 3)).as_quat().reshape(*rotmats.shape[:2], 4)
    flips = np.ones(rotmats.shape[:2])
    flips[1:] = np.where((quats[1:] * quats[:-1]).sum(-1) < 0, -1.0, 1.0)
    return quats * np.cumprod(flips, axis=0)[..., None]


def _vertex_normals(rig: Rig) -> np.ndarray:
    """(V, 3) float32 unit normals of the rest mesh: without them glTF viewers shade the body flat."""
    mesh = trimesh.Trimesh(rig.rest_vertices, rig.faces, process=False)
    return np.asarray(mesh.vertex_normals, dtype=np.float32)


class _Blob:
    """The GLB's one binary buffer, built up array by array, with an accessor per array."""

    def __init__(self, gltf: gl.GLTF2) -> None:
        self.gltf, self.data = gltf, bytearray()

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None,
            bounds: bool = False) -> int:
        """Append `array` (rows of `kind`: SCALAR, VEC3, ...) and return its accessor's index."""
        raw = np.ascontiguousarray(array).tobytes()
        self.data.extend(b"\0" * (-len(self.data) % 4))
        self.gltf.bufferViews.append(gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(raw),
                                                   target=target))
        self.data.extend(raw)
        rows = array.reshape(len(array), -1)
        self.gltf.accessors.append(gl.Accessor(
            bufferView=len(self.gltf.bufferViews) - 1, componentType=component, count=len(array), type=kind,
            min=rows.min(axis=0).tolist() if bounds else None, max=rows.max(axis=0).tolist() if bounds else None))
        return len(self.gltf.accessors) - 1


def take_glb_bytes(animation: TakeAnimation) -> bytes:
    """The animation as a GLB file's bytes (see the module docstring)."""
    rig = animation.rig
    rest = rig.rest_joints
    gltf = gl.GLTF2(asset=gl.Asset(generator="HKMR Studio"), scene=0)
    blob = _Blob(gltf)
    joint_nodes = []
    for j, name in enumerate(kinematics.JOINT_NAMES):
        parent = kinematics.PARENTS[j]
        children = [c for c, p in enumerate(kinematics.PARENTS) if p == j]
        offset = rest[j] - (rest[parent] if parent >= 0 else 0.0)
        joint_nodes.append(gl.Node(name=name, translation=offset.tolist(), children=children or None))

    joints, weights = top_influences(rig.weights)
    attributes = gl.Attributes(
        POSITION=blob.add(rig.rest_vertices.astype(np.float32), gl.VEC3, gl.FLOAT, gl.ARRAY_BUFFER, bounds=True),
        NORMAL=blob.add(_vertex_normals(rig), gl.VEC3, gl.FLOAT, gl.ARRAY_BUFFER),
        JOINTS_0=blob.add(joints, gl.VEC4, gl.UNSIGNED_SHORT, gl.ARRAY_BUFFER),
        WEIGHTS_0=blob.add(weights, gl.VEC4, gl.FLOAT, gl.ARRAY_BUFFER))
    indices = blob.add(rig.faces.astype(np.uint32).reshape(-1), gl.SCALAR, gl.UNSIGNED_INT, gl.ELEMENT_ARRAY_BUFFER)
    gltf.meshes.append(gl.Mesh(name="Body", primitives=[gl.Primitive(attributes=attributes, indices=indices)]))
    # Inverse bind matrices undo each joint's rest position (no rest rotation); glTF stores them column-major.
    inverse_bind = np.tile(np.eye(4), (len(rest), 1, 1))
    inverse_bind[:, :3, 3] = -rest
    ibm = blob.add(inverse_bind.transpose(0, 2, 1).astype(np.float32), gl.MAT4, gl.FLOAT)
    gltf.skins.append(gl.Skin(joints=list(range(len(rest))), inverseBindMatrices=ibm, skeleton=0))
    gltf.nodes = [*joint_nodes, gl.Node(name="Body", mesh=0, skin=0)]
    gltf.scenes.append(gl.Scene(nodes=[0, len(joint_nodes)]))

    times = blob.add(animation.times.astype(np.float32), gl.SCALAR, gl.FLOAT, bounds=True)
    quats = continuous_quaternions(rig.local_rotmats).astype(np.float32)
    outputs = [(j, "rotation", blob.add(quats[:, j], gl.VEC4, gl.FLOAT)) for j in range(len(rest))]
    outputs.append((0, "translation", blob.add((rig.translation + rest[0]).astype(np.float32), gl.VEC3, gl.FLOAT)))
    gltf.animations.append(gl.Animation(
        name=ANIMATION_NAME,
        samplers=[gl.AnimationSampler(input=times, output=out, interpolation=gl.ANIM_LINEAR) for *_, out in outputs],
        channels=[gl.AnimationChannel(sampler=i, target=gl.AnimationChannelTarget(node=node, path=path))
                  for i, (node, path, _) in enumerate(outputs)]))
    gltf.buffers.append(gl.Buffer(byteLength=len(blob.data)))
    gltf.set_binary_blob(bytes(blob.data))
    return b"".join(gltf.save_to_bytes())


def write_take_glb(path: str | Path, animation: TakeAnimation) -> Path:
    """Write the animation as GLB, atomically."""
    return atomic_write_bytes(path, take_glb_bytes(animation))
