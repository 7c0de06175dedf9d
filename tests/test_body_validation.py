"""Every body is checked once, where it is loaded: shapes, dtypes, index ranges, finiteness and the kinematic tree.

A damaged file is refused with a BodyFileFormatError whose message names the field (never a raw traceback, never a
crash later in pyvista or smplx). Bodies are written as the embedded open body with one field damaged.
"""

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch

from hkmr_studio.body.extra_keypoints import EXTRA_KEYPOINT_NAMES, OWN_IDS_FIELD, SMPL_VERTEX_IDS
from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.body.safe_pickle import BodyFileFormatError, load_body_file
from hkmr_studio.resources import embedded_body_path


@pytest.fixture(scope="module")
def embedded() -> dict:
    """The embedded body's arrays (J_regressor dense), without its non-array metadata."""
    data = load_body_file(embedded_body_path())
    arrays = {k: v for k, v in data.items() if not k.startswith("hkmr_")}
    arrays["J_regressor"] = data["J_regressor"].toarray()
    return arrays


def _write_npz(folder: Path, data: dict) -> Path:
    path = folder / "SMPL_NEUTRAL.npz"
    np.savez(path, **data)
    return path


def _damaged(embedded: dict, field: str, change: Callable[[np.ndarray], np.ndarray]) -> dict:
    data = dict(embedded)
    data[field] = change(np.array(embedded[field]))
    return data


def _set(index: tuple, value: float) -> Callable[[np.ndarray], np.ndarray]:
    def change(array: np.ndarray) -> np.ndarray:
        array[index] = value
        return array

    return change


NUM_VERTICES = 13348  # the embedded body's

DAMAGE = {
    "face_index_past_the_last_vertex": ("f", _set((5, 1), NUM_VERTICES), r"^SMPL_NEUTRAL\.npz: f \(faces\).*13348"),
    "negative_face_index": ("f", _set((0, 0), -1), r"f \(faces\).*-1"),
    "faces_as_text": ("f", lambda f: f.astype(str), r"f \(faces\).*integer"),
    "faces_as_fractions": ("f", lambda f: f + 0.5, r"f \(faces\).*integer"),
    "quad_faces": ("f", lambda f: f[:, [0, 1, 2, 2]], r"f \(faces\).*\(26692, 4\).*\(F, 3\)"),
    "skin_weights_for_23_joints": ("weights", lambda w: w[:, :23], r"weights \(skinning weights\).*\(V, 24\)"),
    "skin_weights_not_summing_to_one": ("weights", lambda w: w * 0.5, r"weights \(skinning weights\).*sum.*1"),
    "skin_weights_with_nan": ("weights", _set((7, 3), np.nan), r"weights \(skinning weights\).*not finite"),
    "pose_blend_shapes_of_the_wrong_shape": ("posedirs", lambda p: p[:, :, :200],
                                             r"posedirs \(pose blend shapes\).*\(13348, 3, 200\).*\(V, 3, 207\)"),
    "pose_blend_shapes_with_inf": ("posedirs", _set((1, 2, 3), np.inf), r"posedirs .*not finite"),
    "shape_blend_shapes_with_nan": ("shapedirs", _set((0, 0, 0), np.nan), r"shapedirs .*not finite"),
    "joint_regressor_for_23_joints": ("J_regressor", lambda j: j[:23],
                                      r"J_regressor \(joint regressor\).*\(23, 13348\).*\(24, V\)"),
    "joint_regressor_with_nan": ("J_regressor", _set((2, 10), np.nan), r"J_regressor .*not finite"),
    "kinematic_tree_as_text": ("kintree_table", lambda k: k.astype(str), r"kintree_table \(kinematic tree\).*integer"),
    "kinematic_tree_with_a_cycle": ("kintree_table", _set((0, 1), 4), r"kintree_table \(kinematic tree\).*parents"),
    "shape_blend_shapes_for_fewer_vertices": ("shapedirs", lambda s: s[:-1],
                                              r"shapedirs \(shape blend shapes\).*\(13347, 3, 10\)"),
    "kinematic_tree_whose_root_has_a_parent": ("kintree_table", _set((0, 0), 3),
                                               r"kintree_table \(kinematic tree\).*root"),
    "nan_vertex": ("v_template", _set((100, 1), np.nan), r"v_template \(template vertices\).*not finite"),
    "flat_vertices": ("v_template", lambda v: v[:, :2], r"v_template \(template vertices\).*\(V, 3\)"),
    "vertices_as_text": ("v_template", lambda v: v.astype(str), r"v_template .*numbers"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_body_is_refused_with_a_message_naming_the_field(tmp_path, embedded, case):
    field, change, message = DAMAGE[case]
    path = _write_npz(tmp_path, _damaged(embedded, field, change))
    with pytest.raises(BodyFileFormatError, match=message) as refusal:
        BodyModel(path)
    assert "SMPL_NEUTRAL.pkl from the SMPL download" in str(refusal.value)  # says what to do


def test_a_sparse_joint_regressor_of_the_wrong_vertex_count_is_refused(tmp_path, embedded):
    data = dict(embedded, J_regressor=scipy.sparse.csc_matrix(embedded["J_regressor"][:, :-1]))
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    with pytest.raises(BodyFileFormatError, match=r"J_regressor \(joint regressor\).*\(24, 13347\).*\(24, V\)"):
        BodyModel(path)


def _small_body(vertices: int = 100) -> dict:
    """A SMPL-layout body of `vertices` random vertices, every one skinned to the pelvis."""
    weights = np.zeros((vertices, 24), np.float32)
    weights[:, 0] = 1.0
    kintree = np.array([[2**32 - 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21],
                        list(range(24))])
    return {"v_template": np.random.default_rng(0).normal(size=(vertices, 3)), "shapedirs": np.zeros((vertices, 3, 10)),
            "posedirs": np.zeros((vertices, 3, 207)), "J_regressor": np.full((24, vertices), 1 / vertices),
            "weights": weights, "f": np.array([[0, 1, 2]]), "kintree_table": kintree}


def _write_pickle(folder: Path, data: dict) -> Path:
    path = folder / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def test_a_body_too_small_for_smpl_keypoints_is_refused(tmp_path):
    """Without its own keypoint vertices, smplx reads the nose, eyes, ears, toes and finger tips from SMPL vertex ids
    up to 6787."""
    path = _write_npz(tmp_path, _small_body())
    with pytest.raises(BodyFileFormatError, match=r"v_template \(template vertices\).*100 vertices.*6788.*"
                                                  + OWN_IDS_FIELD):
        BodyModel(path)


def test_a_small_body_with_its_own_keypoint_vertices_reads_its_keypoints_there(tmp_path):
    own = {name: index for index, name in enumerate(EXTRA_KEYPOINT_NAMES)}
    body = BodyModel(_write_pickle(tmp_path, {**_small_body(), OWN_IDS_FIELD: own}))
    output = body(torch.zeros(1, 3), torch.zeros(1, 69), torch.zeros(1, 10))
    assert body.keypoint_vertex_ids == own
    assert torch.allclose(output.extra_keypoints[0], output.vertices[0, : len(EXTRA_KEYPOINT_NAMES)])


def test_a_body_file_without_its_own_keypoint_vertices_reads_smpls(tmp_path, embedded):
    """A user's licensed SMPL file carries no hkmr_vertex_ids: smplx's SMPL ids are the right ones for its mesh."""
    body = BodyModel(_write_npz(tmp_path, embedded))
    assert body.keypoint_vertex_ids == SMPL_VERTEX_IDS
    assert body.smpl.vertex_joint_selector.extra_joints_idxs.tolist() == [SMPL_VERTEX_IDS[name]
                                                                         for name in EXTRA_KEYPOINT_NAMES]


@pytest.mark.parametrize(("change", "message"), [
    (lambda own: {**own, "nose": NUM_VERTICES}, rf"gives nose the vertex {NUM_VERTICES}.*0 to {NUM_VERTICES - 1}"),
    (lambda own: {k: v for k, v in own.items() if k != "lear"}, r"lacks lear"),
    (lambda own: {**own, "chin": 1}, r"names unknown keypoints chin"),
    (lambda own: {**own, "reye": "12"}, r"gives reye the vertex '12'"),
    (lambda own: list(own.values()), r"must map keypoint names to vertex indices; it holds list"),
], ids=["past_the_last_vertex", "missing_keypoint", "unknown_keypoint", "index_as_text", "not_a_mapping"])
def test_damaged_own_keypoint_vertices_are_refused_naming_the_field(tmp_path, embedded, change, message):
    data = {**embedded, OWN_IDS_FIELD: change(dict(SMPL_VERTEX_IDS))}
    with pytest.raises(BodyFileFormatError, match=rf"{OWN_IDS_FIELD} \(the body's own keypoint vertices\) {message}"):
        BodyModel(_write_pickle(tmp_path, data))


def test_the_same_check_runs_through_the_cached_loader(tmp_path, embedded):
    path = _write_npz(tmp_path, _damaged(embedded, "f", _set((0, 0), 10**6)))
    with pytest.raises(BodyFileFormatError, match=r"f \(faces\)"):
        load_body_model(path)
