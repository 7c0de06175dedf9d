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
from hkmr_studio.export.skeleton import bone_tails

#: Y-up (x, y, z) -> Blender Z-up (x, -z, y).
_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _write(npz_path: str, fbx_path: str) -> None:
    import bpy
    from mathutils import Matrix, Quaternion

    data = np.load(npz_path, allow_pickle=False)
    names = [str(n) for n in data["joint_names"]]
    parents = [int(p) for p in data["parents"]]
    rest_joints = data["rest_joints"] @ _TO_BLENDER.T
    vertices = data["rest_vertices"] @ _TO_BLENDER.T
    weights = data["weights"]
    # Local rotations given in the Y-up frame; conjugate them into Blender's axes. A still is one unkeyed frame.
    rotmats = np.einsum("ij,...njk,lk->...nil", _TO_BLENDER, data["local_rotmats"], _TO_BLENDER)
    translation = data["translation"] @ _TO_BLENDER.T
    animated = rotmats.ndim == 4
    if not animated:
        rotmats, translation = rotmats[None], translation[None]

    bpy.ops.wm.read_factory_settings(use_empty=True)
    armature_data = bpy.data.armatures.new("Armature")
    rig = bpy.data.objects.new("HKMR_Body", armature_data)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    tails = bone_tails(rest_joints, parents)
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
    rests = [np.array(rig.data.bones[name].matrix_local.to_3x3()) for name in names]
    frames = _start_animation(bpy.context.scene, data["times"], float(data["fps"])) if animated else None
    for pose_bone in rig.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    for k in range(len(rotmats)):
        for j, name in enumerate(names):
            pose_bone = rig.pose.bones[name]
            quaternion = Matrix((rests[j].T @ rotmats[k, j] @ rests[j]).tolist()).to_quaternion()
            quaternion.make_compatible(pose_bone.rotation_quaternion)  # the short way from the previous key
            pose_bone.rotation_quaternion = quaternion
            if frames is not None:
                pose_bone.keyframe_insert("rotation_quaternion", frame=frames[k])
        rig.location = translation[k].tolist()
        if frames is not None:
            rig.keyframe_insert("location", frame=frames[k])
    rig.rotation_quaternion = Quaternion((1.0, 0.0, 0.0, 0.0))
    bpy.context.view_layer.update()
    bpy.ops.export_scene.fbx(filepath=fbx_path, add_leaf_bones=False, use_selection=False,
                             object_types={"ARMATURE", "MESH"}, mesh_smooth_type="FACE", bake_anim=animated,
                             bake_anim_use_all_bones=True, bake_anim_use_nla_strips=False,
                             bake_anim_use_all_actions=False, bake_anim_force_startend_keying=True,
                             bake_anim_step=1.0, bake_anim_simplify_factor=0.0)


def _start_animation(scene, times: np.ndarray, fps: float) -> np.ndarray:
    """Set the scene's frame rate (Blender: an integer fps over fps_base) and range for keys at `times` (seconds);
    returns their frame numbers (frame 0 at time 0; fractional where frame times vary). Keys interpolate linearly."""
    import bpy

    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps
    frames = np.asarray(times, dtype=np.float64) * fps
    scene.frame_start, scene.frame_end = int(np.floor(frames[0])), int(np.ceil(frames[-1]))
    bpy.context.preferences.edit.keyframe_new_interpolation_type = "LINEAR"
    return frames


def _fcurves(action) -> list:
    """The action's F-curves: Blender 4.4 keeps them in layers' channel bags; older actions list them directly."""
    if getattr(action, "layers", None):
        return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                for fc in bag.fcurves]
    return list(action.fcurves)


def _local_rotations(rig, names: list[str]) -> list:
    """(24, 3, 3) each bone's rotation at the current frame as SMPL holds it: about world-aligned axes at the joint,
    relative to its parent's (the root's: in the world), in the Y-up frame."""
    to_world = np.array(rig.matrix_world.to_quaternion().to_matrix())
    deltas = {}
    for bone in rig.pose.bones:
        delta = np.array(bone.matrix.to_3x3().normalized()) @ np.array(bone.bone.matrix_local.to_3x3().normalized()).T
        deltas[bone.name] = to_world @ delta @ to_world.T
    local = [deltas[n] if rig.pose.bones[n].parent is None else deltas[rig.pose.bones[n].parent.name].T @ deltas[n]
             for n in names]
    return (_TO_BLENDER.T @ np.array(local) @ _TO_BLENDER).tolist()


def _read(fbx_path: str) -> None:
    """Print a JSON summary of an FBX file: bones, their parents, vertex groups, vertex count, posed extent (Y up);
    for an animation, the scene's frame rate, the action's frame range and key times (frames), and every frame's
    local bone rotations (`_local_rotations`, bones in the order of `bones`)."""
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
        scene, action = bpy.context.scene, rigs[0].animation_data and rigs[0].animation_data.action
        if action:
            summary["fps"] = scene.render.fps / scene.render.fps_base
            start, end = (round(f) for f in action.frame_range)
            summary["frame_range"] = [start, end]
            summary["key_times"] = sorted({round(k.co[0], 4) for fc in _fcurves(action) for k in fc.keyframe_points})
            summary["local_rotations"] = []
            for frame in range(start, end + 1):
                scene.frame_set(frame)
                summary["local_rotations"].append(_local_rotations(rigs[0], summary["bones"]))
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
