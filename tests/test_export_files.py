"""Exports read back as what was written: OBJ, GLB, and a rigged FBX whose armature poses the mesh as predicted."""

import numpy as np
import pytest
import torch
import trimesh

from hkmr_studio.body import kinematics
from hkmr_studio.body.model import load_body_model
from hkmr_studio.export.fbx import fbx_available, read_fbx_summary, write_fbx
from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.export.meshes import write_glb, write_obj
from hkmr_studio.export.rig import make_rig


@pytest.fixture(scope="module")
def posed():
    body = load_body_model()
    g = np.array([np.pi, 0.0, 0.3])
    bp = np.zeros(69)
    bp[3 * (kinematics.JOINT_INDEX["left_elbow"] - 1) + 1] = 1.2
    bp[3 * (kinematics.JOINT_INDEX["right_knee"] - 1)] = 0.9
    betas = np.zeros(10)
    betas[0] = 1.0
    transl = np.array([0.1, 0.2, 3.0])
    f32 = lambda a: torch.tensor(a[None], dtype=torch.float32)
    with torch.no_grad():
        out = body(f32(g), f32(bp), f32(betas), f32(transl))
    return body, (g, bp, betas, transl), out.vertices[0].numpy()


def test_obj_and_glb_round_trip(tmp_path, posed):
    body, _, vertices = posed
    colors = np.tile([0.2, 0.4, 0.6], (len(vertices), 1))
    for path in (write_obj(tmp_path / "body.obj", vertices, body.faces, colors), write_glb(tmp_path / "body.glb", vertices, body.faces, colors)):
        mesh = trimesh.load(path, force="mesh", process=False)
        assert mesh.vertices.shape == vertices.shape and mesh.faces.shape == body.faces.shape
        np.testing.assert_allclose(mesh.vertices, vertices, atol=1e-5)
    assert not list(tmp_path.glob(".*tmp"))  # no staging files left behind


@pytest.mark.skipif(not fbx_available(), reason="bpy (the fbx extra) is not installed")
def test_fbx_has_the_smpl_armature_skin_weights_and_the_predicted_pose(tmp_path, posed):
    body, params, vertices = posed
    path = write_fbx(tmp_path / "body.fbx", make_rig(body, *params))
    summary = read_fbx_summary(path)
    assert summary["armatures"] == 1 and summary["meshes"] == 1
    assert sorted(summary["bones"]) == sorted(kinematics.JOINT_NAMES)
    for j, name in enumerate(kinematics.JOINT_NAMES):
        parent = kinematics.PARENTS[j]
        assert summary["parents"][name] == (kinematics.JOINT_NAMES[parent] if parent >= 0 else None)
    assert sorted(summary["vertex_groups"]) == sorted(kinematics.JOINT_NAMES)
    assert summary["vertices"] == body.num_vertices
    assert abs(summary["weight_sum_min"] - 1) < 1e-3 and abs(summary["weight_sum_max"] - 1) < 1e-3
    # Blender's skinning of the imported rig reproduces our posed mesh (same extent within 5 mm).
    ours = camera_to_yup(vertices)
    np.testing.assert_allclose(summary["posed_min"], ours.min(0), atol=5e-3)
    np.testing.assert_allclose(summary["posed_max"], ours.max(0), atol=5e-3)


def test_a_file_set_appears_complete_or_not_at_all(tmp_path):
    import errno

    from hkmr_studio.atomic import atomic_file_set

    with atomic_file_set(tmp_path) as staging:
        for name in ("a_overlay.png", "a.obj"):
            (staging / name).write_text(name)
        assert list(tmp_path.glob("a*")) == []  # nothing shows before the set is complete
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.obj", "a_overlay.png"]
    with pytest.raises(OSError), atomic_file_set(tmp_path) as staging:
        (staging / "b_overlay.png").write_text("b")
        raise OSError(errno.ENOSPC, "No space left on device")  # the disk fills before b.obj
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.obj", "a_overlay.png"]  # no b, no staging folder
