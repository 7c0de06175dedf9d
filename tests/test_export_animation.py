"""Animation exports of a take (BVH, GLB, FBX, overlay MP4) read back with the joint rotations, times and rates of
the take they were written from."""

from __future__ import annotations

import logging

import av
import numpy as np
import pybvh
import pygltflib
import pytest
import torch
from scipy.spatial.transform import Rotation

from hkmr_studio.body import kinematics
from hkmr_studio.export.animation import TAKE_EXPORT_FORMATS, write_take_export
from hkmr_studio.export.fbx import fbx_available, read_fbx_summary
from hkmr_studio.export.frames import CAMERA_TO_YUP, camera_to_yup
from hkmr_studio.export.take_animation import TakeExportError, take_animation
from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from hkmr_studio.render.overlay import MeshRenderer
from hkmr_studio.video.take import Take, TakeTrack

FPS = 25.0
ELBOW = kinematics.JOINT_INDEX["left_elbow"]
NO_BODY = 3  # the frame of the take where nobody was found


def _elbow_take(frames: int = 6, size: tuple[int, int] = (160, 120), times: np.ndarray | None = None) -> Take:
    """A person upright before the camera, walking right while the left elbow bends 0 -> 1.5 rad; frame NO_BODY has
    no body. Camera-frame parameters, as the pipeline writes them."""
    global_orient = np.tile([np.pi, 0.0, 0.0], (frames, 1))
    body_pose = np.zeros((frames, 69))
    body_pose[:, 3 * (ELBOW - 1) + 1] = np.linspace(0.0, 1.5, frames)
    body_pose[:, 3 * (kinematics.JOINT_INDEX["right_knee"] - 1)] = np.linspace(0.6, 0.0, frames)
    betas = np.zeros((frames, 10))
    betas[:, 0] = 1.0
    transl = np.stack([np.linspace(-0.3, 0.3, frames), np.full(frames, 0.2), np.full(frames, 3.0)], axis=1)
    nan = {name: np.full(width, np.nan) for name, width in (("global_orient", 3), ("body_pose", 69), ("betas", 10),
                                                            ("transl", 3))}
    track = TakeTrack(global_orient, body_pose, betas, transl).with_frame(NO_BODY, **nan)
    status = tuple("no_person" if i == NO_BODY else "ok" for i in range(frames))
    keypoints = np.full((frames, 33, 2), np.nan)
    keypoints[:, :, 0], keypoints[:, :, 1] = size[0] / 2, size[1] / 2
    keypoints[NO_BODY] = np.nan
    return Take(source="elbow.mp4", image_size=size, focal_length=200.0, fps=FPS,
                times=np.arange(frames) / FPS if times is None else times, status=status,
                messages=tuple("No person found" if s != "ok" else "" for s in status), keypoints=keypoints,
                visibility=np.ones((frames, 33)), raw=track, smoothed=track)


def _held(take: Take) -> np.ndarray:
    """(T,) the take frame whose body each frame shows when frames without a body hold the last one."""
    return np.array([i - 1 if i == NO_BODY else i for i in range(take.frame_count)])


def _local_rotmats(take: Take) -> np.ndarray:
    """(T, 24, 3, 3) the take's joint rotations as every export should hold them: SMPL's local rotations, the root's
    turned into the Y-up view frame; frames without a body hold the last one."""
    track, frames = take.track, _held(take)
    pose = np.concatenate([track.global_orient[frames], track.body_pose[frames]], axis=1).reshape(-1, 24, 3)
    rotmats = axis_angle_to_matrix(torch.as_tensor(pose)).numpy()
    rotmats[:, 0] = CAMERA_TO_YUP @ rotmats[:, 0]
    return rotmats


def _posed_joints_yup(take: Take, body) -> np.ndarray:
    """(T, 24, 3) the body model's joints for each (held) frame, in the Y-up view frame, metres."""
    track, frames = take.track, _held(take)
    f32 = lambda a: torch.as_tensor(a, dtype=torch.float32)
    with torch.no_grad():
        joints = body.joints_only(f32(track.global_orient[frames]), f32(track.body_pose[frames]),
                                  f32(np.tile(take.shape, (len(frames), 1))), f32(track.transl[frames]))
    return camera_to_yup(joints.double().numpy())


@pytest.mark.parametrize(("units", "scale"), [("m", 1.0), ("cm", 100.0)])
def test_bvh_rereads_with_smpl_joint_names_the_takes_rotations_frame_time_and_joint_positions(tmp_path, body, units,
                                                                                              scale):
    take = _elbow_take()
    path = write_take_export(tmp_path / "take.bvh", "bvh", take, body, units=units)
    bvh = pybvh.read_bvh_file(path, world_up="+y")
    assert sorted(bvh.joint_names) == sorted(kinematics.JOINT_NAMES) and bvh.root.name == "pelvis"
    assert bvh.frame_count == take.frame_count and bvh.frame_time == pytest.approx(1 / FPS)
    order = [kinematics.JOINT_INDEX[name] for name in bvh.joint_names]
    _, rotmats = bvh.to_rotmat()
    np.testing.assert_allclose(rotmats, _local_rotmats(take)[:, order], atol=1e-4)
    # pybvh's own forward kinematics of the file puts every joint where the body model does (Y up, in the unit asked).
    np.testing.assert_allclose(bvh.joint_positions(), _posed_joints_yup(take, body)[:, order] * scale,
                               atol=1e-4 * scale)


def _accessor(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    """An accessor's data as (count, components) of its component type."""
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    dtype = {pygltflib.FLOAT: np.float32, pygltflib.UNSIGNED_SHORT: np.uint16, pygltflib.UNSIGNED_INT: np.uint32}
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[accessor.type]
    data = np.frombuffer(gltf.binary_blob(), dtype[accessor.componentType], accessor.count * width,
                         view.byteOffset + (accessor.byteOffset or 0))
    return data.reshape(accessor.count, width)


def _node_world_positions(gltf: pygltflib.GLTF2, rotations: dict[int, np.ndarray], root_translation: np.ndarray,
                          ) -> np.ndarray:
    """(24,) joint nodes' world positions, given each joint node's (x, y, z, w) rotation and the root's translation."""
    world_rot, world_pos = {}, {}
    for node in range(24):  # SMPL order lists every parent before its children
        parent = kinematics.PARENTS[node]
        local = Rotation.from_quat(rotations[node]).as_matrix()
        if parent < 0:
            world_rot[node], world_pos[node] = local, root_translation
        else:
            offset = np.array(gltf.nodes[node].translation)
            world_pos[node] = world_pos[parent] + world_rot[parent] @ offset
            world_rot[node] = world_rot[parent] @ local
    return np.array([world_pos[n] for n in range(24)])


def test_glb_has_a_skin_and_one_animation_with_a_rotation_channel_per_joint_keyed_at_the_takes_times(tmp_path, body):
    take = _elbow_take()
    gltf = pygltflib.GLTF2.load(write_take_export(tmp_path / "take.glb", "glb", take, body))
    skin = gltf.skins[0]
    assert [gltf.nodes[j].name for j in skin.joints] == list(kinematics.JOINT_NAMES)
    primitive = gltf.meshes[0].primitives[0]
    weights = _accessor(gltf, primitive.attributes.WEIGHTS_0)
    assert weights.shape == (body.num_vertices, 4)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert _accessor(gltf, primitive.attributes.JOINTS_0).max() < 24
    normals, rest = _accessor(gltf, primitive.attributes.NORMAL), _accessor(gltf, primitive.attributes.POSITION)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    faces = _accessor(gltf, primitive.indices).reshape(-1, 3)
    corners = rest[faces]
    winding = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert ((winding * normals[faces].sum(axis=1)).sum(axis=1) > 0).mean() > 0.99  # smooth normals, same side as faces

    assert len(gltf.animations) == 1
    animation = gltf.animations[0]
    rotation_nodes = sorted(c.target.node for c in animation.channels if c.target.path == "rotation")
    assert rotation_nodes == skin.joints
    assert [c.target.node for c in animation.channels if c.target.path == "translation"] == [skin.joints[0]]
    samplers = {(c.target.node, c.target.path): animation.samplers[c.sampler] for c in animation.channels}
    for sampler in samplers.values():
        np.testing.assert_allclose(_accessor(gltf, sampler.input)[:, 0], take.times, atol=1e-6)
    quats = {j: _accessor(gltf, samplers[(j, "rotation")].output) for j in skin.joints}
    rotmats = np.stack([Rotation.from_quat(quats[j]).as_matrix() for j in skin.joints], axis=1)
    np.testing.assert_allclose(rotmats, _local_rotmats(take), atol=1e-5)
    # Posing the node tree at a frame puts every joint where the body model does.
    root = _accessor(gltf, samplers[(0, "translation")].output)
    expected = _posed_joints_yup(take, body)
    for frame in (0, NO_BODY, take.frame_count - 1):
        positions = _node_world_positions(gltf, {j: quats[j][frame] for j in skin.joints}, root[frame])
        np.testing.assert_allclose(positions, expected[frame], atol=1e-4)


def test_frames_without_a_body_hold_the_last_body_with_a_warning_or_get_no_key(body, caplog):
    take = _elbow_take()
    with caplog.at_level(logging.WARNING):
        held = take_animation(take, body, "hold")
    assert held.held == (NO_BODY,) and held.frames.tolist() == _held(take).tolist()
    assert "1 of 6 frames have no body" in caplog.text and "elbow.mp4" in caplog.text
    skipped = take_animation(take, body, "skip")
    assert skipped.key_count == take.frame_count - 1 and NO_BODY not in skipped.frames.tolist()
    np.testing.assert_allclose(skipped.times, np.delete(take.times, NO_BODY))


def test_a_take_read_at_a_variable_rate_is_sampled_at_its_nominal_rate_in_the_bvh(tmp_path, body):
    times = np.array([0.0, 0.04, 0.13, 0.16, 0.2, 0.24])  # no frame near 0.08 s: the source dropped one
    take = _elbow_take(times=times)
    keys = take_animation(take, body).uniform_keys()
    assert keys.tolist() == [0, 1, 1, 2, 3, 4, 5]  # 0.08 s shows the nearest frame, at 0.04 s
    bvh = pybvh.read_bvh_file(write_take_export(tmp_path / "take.bvh", "bvh", take, body), world_up="+y")
    assert bvh.frame_count == 7


def test_exports_that_cannot_be_made_say_what_to_change_and_keep_the_file_there(tmp_path, body):
    take = _elbow_take()
    existing = tmp_path / "take.bvh"
    existing.write_text("the user's file")
    with pytest.raises(TakeExportError, match="units='inch'"):
        write_take_export(existing, "bvh", take, body, units="inch")
    with pytest.raises(TakeExportError, match="use one of fbx, bvh, glb, mp4"):
        write_take_export(existing, "abc", take, body)
    with pytest.raises(TakeExportError, match="frames="):
        write_take_export(tmp_path / "take.mp4", "mp4", take, body)
    with pytest.raises(TakeExportError, match="the video gave no frames"):
        write_take_export(tmp_path / "take.mp4", "mp4", take, body, frames=[])
    nobody = Take(take.source, take.image_size, take.focal_length, take.fps, take.times,
                  ("no_person",) * take.frame_count, take.messages, take.keypoints, take.visibility,
                  TakeTrack.empty(take.frame_count))
    with pytest.raises(TakeExportError, match="no frame of the take has a body"):
        write_take_export(existing, "bvh", nobody, body)
    assert existing.read_text() == "the user's file" and [p.name for p in tmp_path.iterdir()] == ["take.bvh"]
    assert TAKE_EXPORT_FORMATS == ("fbx", "bvh", "glb", "mp4")


@pytest.mark.slow
def test_the_overlay_mp4_reads_back_with_the_takes_frame_count_rate_and_size_and_a_body_where_one_was_found(
        tmp_path, body):
    take = _elbow_take(frames=36, size=(160, 120))  # more frames than the body model poses at a time
    frames = [np.full((120, 160, 3), 7 * i, dtype=np.uint8) for i in range(take.frame_count)]
    renderer = MeshRenderer()
    try:
        done = []
        path = write_take_export(tmp_path / "take.mp4", "mp4", take, body, frames=iter(frames), renderer=renderer,
                                 progress=lambda i, total: done.append((i, total)))
        assert done == [(i + 1, take.frame_count) for i in range(take.frame_count)]
        written = path.read_bytes()

        def cancel(i: int, total: int) -> None:
            if i == 3:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            write_take_export(path, "mp4", take, body, frames=iter(frames), renderer=renderer, progress=cancel)
        assert path.read_bytes() == written and [p.name for p in tmp_path.iterdir()] == ["take.mp4"]
    finally:
        renderer.close()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.average_rate == FPS
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == take.frame_count and decoded[0].shape == (120, 160, 3)
    changed = [np.abs(out.astype(int) - frame).max(axis=2) > 40 for out, frame in zip(decoded, frames)]
    assert not changed[NO_BODY].any()  # no body: the frame as it was
    for i in set(range(take.frame_count)) - {NO_BODY}:
        assert changed[i].mean() > 0.05  # the body covers part of the frame


def test_an_overlay_of_frames_of_another_size_is_refused_and_the_file_kept(tmp_path, body):
    take = _elbow_take(size=(160, 120))
    existing = tmp_path / "take.mp4"
    existing.write_bytes(b"the user's file")
    with pytest.raises(TakeExportError, match="frame 0 of elbow.mp4 is 64x48 px"):
        write_take_export(existing, "mp4", take, body, frames=[np.zeros((48, 64, 3), np.uint8)])
    assert existing.read_bytes() == b"the user's file"


@pytest.mark.slow
@pytest.mark.skipif(not fbx_available(), reason="bpy (the fbx extra) is not installed")
def test_fbx_opens_in_blender_with_the_takes_frame_count_rate_bones_and_joint_rotations(tmp_path, body):
    take = _elbow_take()
    summary = read_fbx_summary(write_take_export(tmp_path / "take.fbx", "fbx", take, body))
    assert summary["armatures"] == 1 and summary["meshes"] == 1
    assert sorted(summary["bones"]) == sorted(kinematics.JOINT_NAMES)
    assert summary["fps"] == pytest.approx(FPS)
    start, end = summary["frame_range"]
    assert end - start + 1 == take.frame_count and len(summary["key_times"]) == take.frame_count
    order = [kinematics.JOINT_INDEX[name] for name in summary["bones"]]
    np.testing.assert_allclose(np.array(summary["local_rotations"]), _local_rotmats(take)[:, order], atol=1e-4)
