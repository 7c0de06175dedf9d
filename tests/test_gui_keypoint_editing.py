"""Keypoint editing in the window: drag a wrist and see the fitted arm follow and the regressor-vs-fit table fill,
undo back to the regressor's body, hide and pin keypoints, let the latest of quick edits win, and show the two
bodies side by side. Uses the shipped default model, so the arm that moves is a plausible one."""

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from PySide6.QtCore import QPoint, Qt

from hkmr_studio.body.kinematics import JOINT_INDEX
from hkmr_studio.checkpoints import DEFAULT_MODEL
from hkmr_studio.gui.fit_comparison import NO_FIT
from hkmr_studio.gui.keypoint_edits import KeypointEdits
from hkmr_studio.gui.testing import studio_window
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES, Keypoints2D

WAIT_MS = 60_000
LEFT_WRIST = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist")


@pytest.fixture
def window(qtbot, tmp_path):
    with studio_window(qtbot, tmp_path / "config", DEFAULT_MODEL, SAMPLE_PHOTO, "keypoints") as window:
        yield window


def wait_for_refit(qtbot, window):
    """Wait until the document shows the refit of the latest keypoint edit; returns that analysis."""
    document = window.state.current

    def refit_of_latest_edit() -> bool:
        analysis = document.analysis
        return (analysis.request.refit_from is not None
                and analysis.result.keypoints is document.keypoint_edits.current.keypoints)

    qtbot.waitUntil(refit_of_latest_edit, timeout=WAIT_MS)
    return document.analysis


def drag(qtbot, view, start_xy, end_xy) -> None:
    """Press on the keypoint at photo pixel `start_xy`, move to `end_xy` and release, as a mouse would."""
    start, end = view.mapFromScene(*start_xy), view.mapFromScene(*end_xy)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for t in (0.33, 0.66, 1.0):
        qtbot.mouseMove(view.viewport(), start + QPoint(round((end.x() - start.x()) * t),
                                                        round((end.y() - start.y()) * t)))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)


def test_dragging_a_wrist_moves_the_fitted_arm_and_fills_the_table_and_undo_restores(qtbot, window):
    view, document = window.image_view, window.state.current
    base = document.analysis
    wrist = base.result.keypoints.xy[LEFT_WRIST].copy()
    target = wrist + np.array([-0.12, -0.12]) * base.image.original_size[1]  # out and up, by 12% of the height
    view.fit()
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS,
                           check_params_cbs=[lambda d: d.analysis.request.refit_from is base, None]):
        drag(qtbot, view, wrist, target)
    refit = document.analysis
    edited = refit.result.keypoints.xy[LEFT_WRIST]
    assert np.linalg.norm(edited - target) < 2.0 / view.transform().m11() + 1.0  # the drag's end, in photo pixels
    joint = JOINT_INDEX["left_wrist"]
    before = np.linalg.norm(refit.result.regression.joints2d[joint] - edited)
    after = np.linalg.norm(refit.result.fit.joints2d[joint] - edited)
    assert after < 0.5 * before  # the fitted arm follows the dragged wrist
    assert refit.result.regression is base.result.regression  # the fit started from the regressor's body
    rows = {row.joint: row for row in window.fit_comparison.rows()}
    assert rows["left_wrist"].moved_mm > 20.0 and rows["left_wrist"].error_after_px < rows["left_wrist"].error_before_px
    table = window.fit_comparison.table
    assert table.rowCount() == 24 and table.item(joint, 1).text() == f"{rows['left_wrist'].moved_mm:.1f}"
    assert window.fit_comparison.summary.text() != NO_FIT
    assert refit.regression_layer is not None and window.undo_action.isEnabled()

    window.undo_action.trigger()
    assert document.analysis is base  # the regressor's body again, without waiting for a run
    assert table.rowCount() == 0 and window.fit_comparison.summary.text() == NO_FIT
    shown = next(k for k in view.keypoint_items() if k.index == LEFT_WRIST)
    assert (shown.pos().x(), shown.pos().y()) == pytest.approx(tuple(wrist))
    assert window.redo_action.isEnabled() and not window.undo_action.isEnabled()
    window.redo_action.trigger()
    assert np.allclose(wait_for_refit(qtbot, window).result.keypoints.xy[LEFT_WRIST], edited)


def test_hidden_and_pinned_keypoints_reach_the_fit_and_the_latest_edit_wins(qtbot, window):
    view, document = window.image_view, window.state.current
    elbow = MEDIAPIPE_LANDMARK_NAMES.index("left_elbow")
    start = document.analysis.result.keypoints.xy[LEFT_WRIST]
    view.keypoint_visible_set.emit(elbow, False)  # what the keypoint's right-click menu sends
    view.keypoint_pinned_set.emit(LEFT_WRIST, True)
    view.keypoint_moved.emit(LEFT_WRIST, float(start[0] + 30), float(start[1]))
    view.keypoint_moved.emit(LEFT_WRIST, float(start[0] + 60), float(start[1]))  # while the first refit may run
    analysis = wait_for_refit(qtbot, window)
    assert analysis.result.keypoints.xy[LEFT_WRIST] == pytest.approx((start[0] + 60, start[1]))
    assert analysis.result.keypoints.visibility[elbow] == 0.0 and analysis.request.pinned == {LEFT_WRIST}
    items = {k.index: k for k in view.keypoint_items()}
    assert items[LEFT_WRIST].pinned and "not seen" in items[elbow].toolTip()
    window.reset_keypoints_action.trigger()
    assert document.analysis is document.keypoint_edits.base and not window.reset_keypoints_action.isEnabled()


def test_regressor_and_fit_show_side_by_side_and_the_fit_can_be_coloured_by_displacement(qtbot, window):
    document = window.state.current
    start = document.analysis.result.keypoints.xy[LEFT_WRIST]
    window.image_view.keypoint_moved.emit(LEFT_WRIST, float(start[0]), float(start[1] - 50))
    wait_for_refit(qtbot, window)
    view, plotter = window.state.view, window.viewport.plotter
    view.body_shown = "side by side"
    fit, regression = (plotter.actors[name].mapper.dataset.points for name in ("body", "regression"))
    assert regression[:, 0].max() < fit[:, 0].min()  # the regressor's body stands to the left
    assert window.image_view.regression_item.isVisible() and window.image_view.mesh_item.isVisible()
    view.body_shown = "regressor"
    assert "regression" not in plotter.actors and not window.image_view.mesh_item.isVisible()
    view.body_shown = "fit"
    view.color_by_displacement = True
    moved = plotter.actors["body"].mapper.dataset.point_data["displacement_mm"]
    assert moved.shape == (len(document.analysis.result.fit.vertices),) and moved.max() > 10.0


def _edits() -> KeypointEdits:
    keypoints = Keypoints2D(xy=np.zeros((33, 2)), visibility=np.full(33, 0.9), present=np.ones(33, bool),
                            source="mediapipe")
    return KeypointEdits(SimpleNamespace(result=SimpleNamespace(keypoints=keypoints, regression=object())))


def test_edits_undo_redo_and_reset_step_through_states():
    edits = _edits()
    seen = []
    edits.changed.connect(seen.append)
    edits.move(3, (10.0, 20.0))
    edits.move(15, (5.0, -5.0))  # the left wrist carries its hand along
    assert edits.current.keypoints.xy[[17, 19, 21]].tolist() == [[5.0, -5.0]] * 3
    edits.set_visible(4, False)
    edits.set_pinned(3, True)
    assert edits.current.keypoints.xy[3].tolist() == [10.0, 20.0] and edits.current.keypoints.visibility[4] == 0.0
    assert edits.current.pinned == {3} and edits.current.keypoints.source == "user" and len(seen) == 4
    edits.undo()
    assert edits.current.pinned == frozenset() and edits.can_redo
    edits.move(5, (1.0, 1.0))  # a new edit after undo drops the redo branch
    assert not edits.can_redo and edits.current.keypoints.visibility[4] == 0.0
    edits.reset()
    assert not edits.edited and edits.can_undo  # reset is itself undoable
    edits.undo()
    assert edits.current.keypoints.xy[5].tolist() == [1.0, 1.0]
    with pytest.raises(IndexError, match="MediaPipe has 33"):
        edits.move(33, (0.0, 0.0))


def test_a_slow_drag_shows_the_fit_following_the_wrist_before_release_then_the_full_refit(qtbot, window):
    view, document = window.image_view, window.state.current
    base = document.analysis
    wrist = base.result.keypoints.xy[LEFT_WRIST].copy()
    target = wrist + np.array([-0.12, -0.12]) * base.image.original_size[1]
    joint = JOINT_INDEX["left_wrist"]
    view.fit()
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=view.mapFromScene(*wrist))
    shown = []  # each fit shown while the button is down, with where the wrist was held for it
    for t in np.linspace(0.125, 1.0, 8):
        qtbot.mouseMove(viewport, view.mapFromScene(*(wrist + t * (target - wrist))))
        previous = document.analysis
        qtbot.waitUntil(lambda p=previous: document.analysis is not p and document.analysis.request.changing,
                        timeout=WAIT_MS)
        shown.append(document.analysis)
    assert not document.keypoint_edits.edited  # nothing recorded while the mouse moves
    wrist_joint = [a.result.fit.joints2d[joint] for a in shown]
    held_at = [a.result.keypoints.xy[LEFT_WRIST] for a in shown]
    assert np.linalg.norm(held_at[-1] - target) < 2.0 / view.transform().m11() + 1.0
    start_gap = np.linalg.norm(base.result.best.joints2d[joint] - target)
    assert np.linalg.norm(wrist_joint[-1] - target) < 0.5 * start_gap  # the fit followed the wrist before release
    assert np.linalg.norm(wrist_joint[0] - target) > np.linalg.norm(wrist_joint[-1] - target)  # step by step
    assert all(a.mesh_layer is None and a.result.fit.vertices.shape[0] > 0 for a in shown)  # no overlay, a 3D body
    pinky = MEDIAPIPE_LANDMARK_NAMES.index("left_pinky")
    drawn = next(k for k in view.keypoint_items() if k.index == pinky)
    carried = base.result.keypoints.xy[pinky] + held_at[-1] - wrist
    assert np.allclose((drawn.pos().x(), drawn.pos().y()), carried, atol=0.01)  # the hand is drawn with the wrist

    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS,
                           check_params_cbs=[lambda d: not d.analysis.request.changing, None]):
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=view.mapFromScene(*target))
    final = document.analysis
    assert final.request.refit_from is base and final.result.keypoints is document.keypoint_edits.current.keypoints
    edited = final.result.keypoints.xy[LEFT_WRIST]
    before = np.linalg.norm(final.result.regression.joints2d[joint] - edited)
    assert np.linalg.norm(final.result.fit.joints2d[joint] - edited) < 0.5 * before
    assert final.mesh_layer is not None and final.regression_layer is not None  # the release's refit is drawn
    window.undo_action.trigger()
    assert document.analysis is base and not window.undo_action.isEnabled()  # the whole drag was one edit


def test_the_open_chain_inspector_retraces_after_a_drags_release_with_the_baseline_on_the_regressed_keypoints(qtbot, window, monkeypatch):
    inspector = window.analysis_docks.chain_inspector
    with qtbot.waitSignal(inspector.ready, timeout=WAIT_MS):
        window.analysis_docks.docks["inspector"].show()
    submitted = []
    submit = inspector._jobs.submit
    monkeypatch.setattr(inspector._jobs, "submit", lambda job: (submitted.append(job), submit(job))[1])
    view, document = window.image_view, window.state.current
    wrist = document.analysis.result.keypoints.xy[LEFT_WRIST].copy()
    view.fit()
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(*wrist))
    for step in range(1, 4):
        previous = document.analysis
        qtbot.mouseMove(view.viewport(), view.mapFromScene(*(wrist + step * np.array([-15.0, -15.0]))))
        qtbot.waitUntil(lambda p=previous: document.analysis is not p and document.analysis.request.changing,
                        timeout=WAIT_MS)
    assert submitted == []  # three changing fits shown, no retrace
    with qtbot.waitSignal(inspector.ready, timeout=WAIT_MS):
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(*(wrist - 45.0)))
    assert len(submitted) == 1 and submitted[0].request.result is document.analysis.result  # the release's refit
    regressed = document.analysis.request.refit_from.result.keypoints
    assert submitted[0].request.keypoints is regressed  # the baseline reads what the traced regressor read
    assert not np.allclose(regressed.xy, document.analysis.result.keypoints.xy)
