"""Rigged FBX through Blender's Python module (`bpy`, the `fbx` extra), run in a child process.

Blender is imported only in the child (`python -m hkmr_studio.export.blender_fbx write|read ...`): it is large, it
owns process-global state, and a crash there must not take the app down. The parent passes arrays in an .npz.

Frames: the rig is given in a Y-up world frame (metres, Y up); Blender works Z up, so points are turned by +90 degrees
about X on the way in and the FBX exporter turns them back to Y up (its default axis_up='Y', axis_forward='-Z').
"""

from __future__ import annotations

import sys

import numpy as np

from hkmr_studio import strict_json

#: Y-up (x, y, z) -> Blender Z-up (x, -z, y).
_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_LEAF_LENGTH_M = 0.08


def _bone_tails(rest_joints: np.ndarray, parents: list[int]) -> np.ndarray:
    """(J, 3) tails: towards the first child; leaves continue their parent's direction."""
    tails = rest_joints.copy()
    for j in range(len(parents)):
        children = [c for c, p in enumerate(parents) if p == j]
        if children:
            tails[j] = rest_joints[children[0]]
        if not children or np.linalg.norm(tails[j] - rest_joints[j]) < 1e-4:
            p = parents[j]
            direction = rest_joints[j] - rest_joints[p] if p >= 0 else np.array([0.0, 0.0, 1.0])
            direction = direction / max(np.linalg.norm(direction), 1e-9)
            tails[j] = rest_joints[j] + _LEAF_LENGTH_M * direction
    return tails


def _write(npz_path: str, fbx_path: str) -> None:
    import bpy
    from mathutils import Matrix, Quaternion

    data = np.load(npz_path, allow_pickle=False)
    names = [str(n) for n in data["joint_names"]]
    parents = [int(p) for p in data["parents"]]
    rest_joints = data["rest_joints"] @ _TO_BLENDER.T
    vertices = data["rest_vertices"] @ _TO_BLENDER.T
    weights = data["weights"]
    # Local rotations given in the Y-up frame; conjugate them into Blender's axes.
    rotmats = np.einsum("ij,njk,lk->nil", _TO_BLENDER, data["local_rotmats"], _TO_BLENDER)
    translation = data["translation"] @ _TO_BLENDER.T

    bpy.ops.wm.read_factory_settings(use_empty=True)
    armature_data = bpy.data.armatures.new("Armature")
    rig = bpy.data.objects.new("HKMR_Body", armature_data)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    tails = _bone_tails(rest_joints, parents)
    for j, name in enumerate(names):
        bone = armature_data.edit_bones.new(name)
        bone.head, bone.tail = rest_joints[j].tolist(), tails[j].tolist()
        if parents[j] >= 0:
            bone.parent = armature_data.edit_bones[names[parents[j]]]
    bpy.ops.object.mode_set(mode="OBJECT")

    mesh_data = bpy.data.meshes.new("BodyMesh")
    mesh_data.from_pydata(vertices.tolist(), [], data["faces"].tolist())
    mesh = bpy.data.objects.new("Body", mesh_data)
    bpy.context.scene.collection.objects.link(mesh)
    for j, name in enumerate(names):
        group = mesh.vertex_groups.new(name=name)
        for v in np.nonzero(weights[:, j] > 1e-4)[0]:
            group.add([int(v)], float(weights[v, j]), "REPLACE")
    mesh.parent = rig
    mesh.modifiers.new("Armature", "ARMATURE").object = rig

    # Pose: SMPL rotations act about world-aligned axes at each joint; Blender's act in each bone's rest frame.
    for j, name in enumerate(names):
        pose_bone = rig.pose.bones[name]
        rest = np.array(rig.data.bones[name].matrix_local.to_3x3())
        local = rest.T @ rotmats[j] @ rest
        pose_bone.rotation_mode = "QUATERNION"
        pose_bone.rotation_quaternion = Matrix(local.tolist()).to_quaternion()
    rig.location = translation.tolist()
    rig.rotation_quaternion = Quaternion((1.0, 0.0, 0.0, 0.0))
    bpy.context.view_layer.update()
    bpy.ops.export_scene.fbx(filepath=fbx_path, add_leaf_bones=False, bake_anim=False, use_selection=False,
                             object_types={"ARMATURE", "MESH"}, mesh_smooth_type="FACE")


def _read(fbx_path: str) -> None:
    """Print a JSON summary of an FBX file: bones, their parents, vertex groups, vertex count, posed extent (Y up)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=fbx_path)
    rigs = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"]
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    summary: dict = {"armatures": len(rigs), "meshes": len(meshes)}
    if rigs:
        bones = rigs[0].data.bones
        summary["bones"] = [b.name for b in bones]
        summary["parents"] = {b.name: (b.parent.name if b.parent else None) for b in bones}
    if meshes:
        mesh = meshes[0]
        summary["vertices"] = len(mesh.data.vertices)
        summary["vertex_groups"] = [g.name for g in mesh.vertex_groups]
        depsgraph = bpy.context.evaluated_depsgraph_get()
        posed = mesh.evaluated_get(depsgraph).to_mesh()
        world = np.array([(mesh.matrix_world @ v.co)[:] for v in posed.vertices]) @ _TO_BLENDER  # back to Y up
        summary["posed_min"], summary["posed_max"] = world.min(0).tolist(), world.max(0).tolist()
        weight_sums = np.zeros(len(mesh.data.vertices))
        for v in mesh.data.vertices:
            weight_sums[v.index] = sum(g.weight for g in v.groups)
        summary["weight_sum_min"], summary["weight_sum_max"] = float(weight_sums.min()), float(weight_sums.max())
    print("FBX-SUMMARY " + strict_json.dumps(summary))


if __name__ == "__main__":
    command, *paths = sys.argv[1:]
    if command == "write":
        _write(paths[0], paths[1])
    elif command == "read":
        _read(paths[0])
    else:
        raise SystemExit(f"unknown command {command!r}: use write NPZ FBX or read FBX")
