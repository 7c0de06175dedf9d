"""The occlusion lab in the window: click an occluder onto the photo and read per-joint and per-chain displacement
for both models, occlude a named joint, run a small heatmap sweep to the end, and cancel another."""

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from PySide6.QtCore import Qt

from hkmr_studio.body import kinematics
from hkmr_studio.gui.degree_plot import KIND_COLORS
from hkmr_studio.gui.occlusion_lab import TURN_ROW
from hkmr_studio.gui.qt_images import array_from_qimage
from hkmr_studio.gui.testing import Gate, studio_window
from hkmr_studio.occlusion_probe import Heatmap, OcclusionProbe

WAIT_MS = 120_000


@pytest.fixture
def lab_window(qtbot, tmp_path, untrained_model_path):
    with studio_window(qtbot, tmp_path / "config", untrained_model_path, SAMPLE_PHOTO, "occlusion") as window:
        yield window


def test_a_clicked_occluder_gives_per_joint_and_per_chain_numbers_for_both_models(qtbot, lab_window):
    lab = lab_window.analysis_docks.occlusion_lab
    view = lab_window.image_view
    body = lab_window.state.current.analysis.result.regression
    knee = body.joints2d[kinematics.JOINT_INDEX["left_knee"]]
    lab.kind_box.setCurrentText("circle")
    lab.degree_box.setValue(5)
    lab.place_button.setChecked(True)
    with qtbot.waitSignal(lab.compared, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(*knee))
    moved = blocker.args[0]
    assert lab.occluder.center == pytest.approx(tuple(knee), abs=2.0 / view.transform().m11())
    assert lab.preview_item.pixmap().width() == lab_window.state.current.image.original_size[0]
    assert len(moved.per_joint_mm) == 2 and lab.table.columnCount() == 2
    headers = [lab.table.horizontalHeaderItem(c).text() for c in range(2)]
    assert headers == ["untrained-test-hkmr (mm)", "hmr (mm)"]
    for col, (model, per_joint) in enumerate(moved.per_joint_mm.items()):
        assert np.isfinite(per_joint).all()
        knee_row = len(kinematics.CHAINS) + kinematics.JOINT_INDEX["left_knee"]
        assert lab.table.item(knee_row, col).text() == f"{per_joint[kinematics.JOINT_INDEX['left_knee']]:.0f}"
        turn = lab.table.item(lab.table.rowCount() - 1, col).text()
        assert lab.table.verticalHeaderItem(lab.table.rowCount() - 1).text() == TURN_ROW
        assert turn == f"{moved.turn_deg[model]:.0f}"
        leg = moved.per_chain_mm(model)["left_leg"]
        assert lab.table.item(kinematics.CHAINS.index(kinematics.CHAIN_BY_NAME["left_leg"]), col).text() == f"{leg:.0f}"
    # "occlude joint": the occluder goes onto that joint
    lab.kind_box.setCurrentText("rectangle")
    with qtbot.waitSignal(lab.compared, timeout=WAIT_MS):
        lab.occlude_joint(kinematics.JOINT_INDEX["right_wrist"])
    assert lab.occluder.center == pytest.approx(tuple(body.joints2d[kinematics.JOINT_INDEX["right_wrist"]]))


def test_a_heatmap_sweep_runs_to_the_end_and_another_can_be_cancelled(qtbot, lab_window, monkeypatch):
    lab = lab_window.analysis_docks.occlusion_lab
    with qtbot.waitSignal(lab.swept, timeout=WAIT_MS) as blocker:
        lab.sweep_grid(2)
    heatmap = blocker.args[0]
    assert isinstance(heatmap, Heatmap) and lab.progress.value() == 0 and not lab.busy
    assert set(heatmap.mean_mm) == {str(s) for s in lab.labels} and lab.heatmap_model_box.count() == 2
    pixmap = lab.heatmap_item.pixmap()
    assert (pixmap.width(), pixmap.height()) == (2, 2) and lab.heatmap_item.scale() == pytest.approx(heatmap.cell_px)
    assert lab.heatmap_item.pos().x() == pytest.approx(heatmap.origin[0])
    progress = []
    lab.progress.valueChanged.connect(progress.append)
    with Gate() as cells:
        monkeypatch.setattr(OcclusionProbe, "occlude", cells.guard(OcclusionProbe.occlude))
        with qtbot.waitSignal(lab.stopped, timeout=WAIT_MS):
            lab.sweep_grid(4)
            cells.release(1)
            # the first cell done, the second held (a first call held before the release still counts as waiting)
            qtbot.waitUntil(lambda: len(cells.calls) == 2 and cells.waiting == 1, timeout=WAIT_MS)
            lab.cancel_button.click()
            cells.open()
    qtbot.waitUntil(lambda: not lab.busy, timeout=WAIT_MS)
    assert len(cells.calls) == 2 and max(progress) == 2 and lab.status_label.text() == "Sweep cancelled."
    assert lab.heatmap is heatmap  # the finished sweep's heatmap stays


def test_a_degree_sweep_is_plotted(qtbot, lab_window):
    lab = lab_window.analysis_docks.occlusion_lab
    wrist = kinematics.JOINT_INDEX["left_wrist"]
    with qtbot.waitSignal(lab.swept, timeout=WAIT_MS) as blocker:
        lab.sweep_degrees(kinds=("bar",), degrees=(1, 5), joints=(wrist,))
    curves = blocker.args[0]
    assert lab.plot.curves is curves and len(curves.mean_mm) == 2
    picture = array_from_qimage(lab.plot.grab().toImage())[..., :3].astype(int)
    bar = KIND_COLORS["bar"]
    near_bar = np.abs(picture - [bar.red(), bar.green(), bar.blue()]).sum(axis=-1) < 30
    assert near_bar.sum() > 40  # the bar curves and their legend are drawn in the bar's colour
