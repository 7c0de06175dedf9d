"""Exports from the window in every format, read back; the dialogs remember their folder; writes leave no staging
files. The file dialogs are replaced by functions that answer as a user would (no modal dialogs in tests)."""

import json

import numpy as np
import pytest
import trimesh
from conftest import SAMPLE_PHOTO
from PySide6.QtWidgets import QFileDialog

from hkmr_studio.body import kinematics
from hkmr_studio.export.fbx import fbx_available, read_fbx_summary
from hkmr_studio.gui.testing import studio_window
from hkmr_studio.settings import load_settings

WAIT_MS = 120_000
VERTICES = 13348


@pytest.fixture
def window(qtbot, tmp_path, untrained_model_path):
    with studio_window(qtbot, tmp_path / "config", untrained_model_path) as window:
        with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
            window.open_paths([SAMPLE_PHOTO])
        yield window


def test_each_format_exports_through_its_dialog_which_remembers_the_folder(qtbot, window, tmp_path, monkeypatch):
    out = tmp_path / "exports"
    out.mkdir()
    suggested = []

    def save_dialog(parent, caption, suggestion, filters):
        suggested.append(suggestion)
        return str(out / suggestion.rsplit("/", 1)[-1]), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    for fmt in ("obj", "glb", "json", "npz"):
        with qtbot.waitSignal(window.exporter.finished, timeout=WAIT_MS) as done:
            window.export_actions[fmt].trigger()
        assert not done.args[0].failures
    stem = "pose2sim_single_person"
    assert suggested[0].endswith(f"/{stem}.obj") and not suggested[0].startswith(str(out))
    assert suggested[1:] == [f"{out}/{stem}.glb", f"{out}/{stem}_params.json", f"{out}/{stem}_params.npz"]
    assert load_settings()[0].last_export_dir == str(out)
    best = window.state.current.analysis.result.best
    for mesh_file in (f"{stem}.obj", f"{stem}.glb"):
        mesh = trimesh.load(out / mesh_file, force="mesh", process=False)
        assert mesh.vertices.shape == (VERTICES, 3)
        np.testing.assert_allclose(mesh.vertices[:, 1], -best.vertices[:, 1], atol=1e-5)  # Y-up view frame
    params = json.loads((out / f"{stem}_params.json").read_text())
    assert params["joint_names"] == list(kinematics.JOINT_NAMES) and len(params["body_pose"]) == 23
    npz = np.load(out / f"{stem}_params.npz")
    np.testing.assert_allclose(npz["vertices"], best.vertices, atol=1e-6)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}.obj", f"{stem}.glb", f"{stem}_params.json", f"{stem}_params.npz"])  # nothing half-written
    assert any(f"Saved {stem}_params.npz" in t for t in window.banner.texts())


@pytest.mark.skipif(not fbx_available(), reason="bpy (the fbx extra) is not installed")
def test_export_all_writes_every_format_including_a_skinned_fbx(qtbot, window, tmp_path, monkeypatch):
    out = tmp_path / "all"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda parent, caption, folder: str(out))
    with qtbot.waitSignal(window.exporter.finished, timeout=WAIT_MS) as done:
        window.export_all_action.trigger()
    report = done.args[0]
    assert not report.failures and len(report.written) == 5
    stem = "pose2sim_single_person"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}{end}" for end in (".obj", ".glb", ".fbx", "_params.json", "_params.npz"))
    summary = read_fbx_summary(out / f"{stem}.fbx")
    assert summary["armatures"] == 1 and sorted(summary["bones"]) == sorted(kinematics.JOINT_NAMES)
    assert sorted(summary["vertex_groups"]) == sorted(kinematics.JOINT_NAMES) and summary["vertices"] == VERTICES
    assert abs(summary["weight_sum_min"] - 1) < 1e-3 and abs(summary["weight_sum_max"] - 1) < 1e-3


def test_nothing_to_export_is_a_message(qtbot, tmp_path, untrained_model_path):
    with studio_window(qtbot, tmp_path / "config", untrained_model_path) as window:
        assert not window.export_all_action.isEnabled()
        assert not window.exporter.export(window.state.current, [(tmp_path / "x.obj", "obj")])
        assert any("no recovered body" in t for t in window.banner.texts())
