"""A keypoint drag replayed as press, move and release events on the edit state, without a window: moves report
"changing" (no edit recorded), the release reports "changed" once and records one undoable edit."""

from types import SimpleNamespace

import numpy as np
import pytest

from hkmr_studio.gui.keypoint_edits import KeypointEdits
from hkmr_studio.pipeline.keypoint_drag import DragEvent, DragPhase, keypoint_drag
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES, Keypoints2D

LEFT_WRIST = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist")
LEFT_HAND = [MEDIAPIPE_LANDMARK_NAMES.index(f"left_{n}") for n in ("pinky", "index", "thumb")]


def _keypoints() -> Keypoints2D:
    xy = np.stack([np.arange(33.0) * 10.0, np.full(33, 100.0)], axis=1)
    return Keypoints2D(xy=xy, visibility=np.full(33, 0.9), present=np.ones(33, bool), source="mediapipe")


def _edits() -> KeypointEdits:
    return KeypointEdits(SimpleNamespace(result=SimpleNamespace(keypoints=_keypoints(), regression=object())))


def _recorded(edits: KeypointEdits) -> list[tuple[str, np.ndarray]]:
    """(phase, left wrist xy) of every state the edits report, in order."""
    seen: list[tuple[str, np.ndarray]] = []
    edits.changing.connect(lambda state: seen.append(("changing", state.keypoints.xy[LEFT_WRIST].copy())))
    edits.changed.connect(lambda state: seen.append(("changed", state.keypoints.xy[LEFT_WRIST].copy())))
    return seen


def test_a_replayed_drag_reports_changing_per_move_then_changed_once_and_records_one_edit():
    edits = _edits()
    seen = _recorded(edits)
    start = edits.current.keypoints.xy.copy()
    drag = edits.drag(LEFT_WRIST)  # the press
    for step in (1, 2, 3):
        drag.send(DragEvent("move", (start[LEFT_WRIST, 0] + 5.0 * step, 80.0)))
        assert not edits.edited  # moving is not an edit yet
    with pytest.raises(StopIteration):  # the release ends the drag
        drag.send(DragEvent("release", (start[LEFT_WRIST, 0] + 20.0, 70.0)))
    assert [phase for phase, _ in seen] == ["changing"] * 3 + ["changed"]
    assert [xy.tolist() for _, xy in seen[:3]] == [[start[LEFT_WRIST, 0] + 5.0 * s, 80.0] for s in (1, 2, 3)]
    final = edits.current.keypoints.xy
    assert final[LEFT_WRIST].tolist() == [start[LEFT_WRIST, 0] + 20.0, 70.0]
    assert np.allclose(final[LEFT_HAND] - start[LEFT_HAND], final[LEFT_WRIST] - start[LEFT_WRIST])  # the hand came along
    edits.undo()
    assert not edits.edited and not edits.can_undo  # the whole drag was one edit


def test_each_move_is_measured_from_the_press_not_from_the_previous_move():
    reports: list[tuple[DragPhase, np.ndarray]] = []
    target = SimpleNamespace(report=lambda phase, keypoints: reports.append((phase, keypoints.xy.copy())))
    start = _keypoints()
    drag = keypoint_drag(target, start, LEFT_WRIST)
    next(drag)
    drag.send(DragEvent("move", (500.0, 50.0)))
    drag.send(DragEvent("move", (400.0, 60.0)))
    assert reports[-1][1][LEFT_HAND].tolist() == (start.xy[LEFT_HAND] + [400.0 - start.xy[LEFT_WRIST, 0], -40.0]).tolist()
    assert start.xy[LEFT_WRIST].tolist() == [150.0, 100.0]  # the press's keypoints were not changed


def test_a_press_and_release_without_a_move_is_a_click_and_reports_nothing():
    edits = _edits()
    seen = _recorded(edits)
    drag = edits.drag(LEFT_WRIST)
    with pytest.raises(StopIteration):
        drag.send(DragEvent("release", (150.0, 100.0)))
    assert seen == [] and not edits.edited
