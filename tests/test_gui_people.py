"""Several people in the window (issue 19): a photo of two people gives two bodies, a click selects the other (the
docks, the 3D view and keypoint refits follow it), Export Everyone writes one file per person, and the box tool adds a
person detection missed (Esc cancels it). The two-people photo is the bundled sample tiled twice side by side."""

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import trimesh
from conftest import SAMPLE_PHOTO
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFileDialog, QGraphicsScene

from hkmr_studio.gui.people import NO_PERSON_IN_WINDOW, Person
from hkmr_studio.gui.people_overlay import PeopleOverlay
from hkmr_studio.gui.state import Choices, Document, Status, StudioState
from hkmr_studio.gui.testing import studio_window
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.detection import NO_PERSON_MESSAGE, Detection, PoseDetector
from hkmr_studio.pipeline.images import load_image
from hkmr_studio.pipeline.people import FoundPerson
from hkmr_studio.pipeline.person_detector import PersonDetector

WAIT_MS = 240_000
LEFT_WRIST = 15  # MediaPipe landmark


@pytest.fixture
def two_people(tmp_path):
    rgb = np.tile(load_image(SAMPLE_PHOTO).rgb, (1, 2, 1))
    path = tmp_path / "two_people.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _view_point(window, x, y):
    return window.image_view.mapFromScene(QPointF(x, y))


def _box_centre(box):
    return box[0] + box[2] / 2, box[1] + box[3] / 2


@pytest.mark.slow
def test_two_people_get_two_bodies_and_clicking_the_other_selects_it_for_docks_3d_and_refits(
        qtbot, tmp_path, untrained_model_path, two_people):
    with studio_window(qtbot, tmp_path / "config", untrained_model_path, photo=two_people,
                       timeout_ms=WAIT_MS) as window:
        document = window.state.current
        assert len(document.people) == 2 and all(p.analysis.result.found for p in document.people)
        assert document.people[0].box[0] < document.people[1].box[0]  # numbered from the left
        assert [label.text() for label in window.image_view.people_overlay.labels()] == ["p0", "p1"]
        assert window.people_dock.isVisible() and window.people_list.list.count() == 2
        first = document.person
        other = 1 - first
        qtbot.mouseClick(window.image_view.viewport(), Qt.MouseButton.LeftButton,
                         pos=_view_point(window, *_box_centre(document.people[other].box)))
        assert document.person == other and document.analysis is document.people[other].analysis
        assert window.people_list.list.currentRow() == other
        width = document.image.original_size[0] / 2
        xs = np.array([item.pos().x() for item in window.image_view.keypoint_items()])
        assert ((xs > width) == (other == 1)).all()  # the keypoints drawn are the selected person's
        qtbot.waitUntil(lambda: window.viewport._mesh is not None and np.allclose(
            window.viewport._mesh.points, document.analysis.vertices_yup(), atol=1e-5), timeout=5000)
        wrist = document.analysis.result.keypoints.xy[LEFT_WRIST]
        with qtbot.waitSignal(window.inference.idle, timeout=WAIT_MS):
            window.keypoint_editor.move(LEFT_WRIST, (wrist[0] + 25, wrist[1]))
        assert document.people[other].analysis.result.fit is not None  # the refit went to the selected person
        assert document.people[first].analysis.result.fit is None
        qtbot.mouseClick(window.image_view.viewport(), Qt.MouseButton.LeftButton,
                         pos=_view_point(window, *_box_centre(document.people[first].box)))
        assert document.person == first and document.keypoint_edits is None and not window.undo_action.isEnabled()
        window.people_list.list.setCurrentRow(other)
        assert document.person == other and window.undo_action.isEnabled()  # their edits stayed theirs
        assert document.keypoint_edits.edited


@pytest.mark.slow
def test_analysing_again_keeps_the_person_shown_and_export_everyone_writes_one_file_per_person(
        qtbot, tmp_path, untrained_model_path, two_people, monkeypatch):
    out = tmp_path / "everyone"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda parent, caption, folder: str(out))
    with studio_window(qtbot, tmp_path / "config", untrained_model_path, photo=two_people,
                       timeout_ms=WAIT_MS) as window:
        document = window.state.current
        shown = 1 - document.person
        window.select_person(shown)
        before = document.people
        with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
            window.analyse_action.trigger()
        assert document.people is not before and document.person == shown  # new people, the same one shown
        window.settings.export_formats = ["obj", "json"]
        with qtbot.waitSignal(window.exporter.finished, timeout=WAIT_MS) as done:
            window.export_people_action.trigger()
        assert not done.args[0].failures
        assert sorted(p.name for p in out.iterdir()) == [
            "two_people_p0.obj", "two_people_p0_params.json", "two_people_p1.obj", "two_people_p1_params.json"]
        people = window.state.current.people
        for index, person in enumerate(people):
            mesh = trimesh.load(out / f"two_people_p{index}.obj", force="mesh", process=False)
            np.testing.assert_allclose(mesh.vertices, person.analysis.vertices_yup(), atol=1e-5)
            params = json.loads((out / f"two_people_p{index}_params.json").read_text())
            assert params["person"] == index and [p["label"] for p in params["people"]] == ["p0", "p1"]


@pytest.mark.slow
def test_the_box_tool_adds_the_person_detection_missed_once_and_esc_cancels_it(
        qtbot, tmp_path, untrained_model_path, monkeypatch):
    detect = PoseDetector.detect
    monkeypatch.setattr(PersonDetector, "detect", lambda self, image: [])
    monkeypatch.setattr(PoseDetector, "detect", lambda self, image, box=None: (
        detect(self, image, box) if box is not None else Detection(found=False, message=NO_PERSON_MESSAGE)))
    with studio_window(qtbot, tmp_path / "config", untrained_model_path, photo=SAMPLE_PHOTO,
                       timeout_ms=WAIT_MS) as window:
        document = window.state.current
        assert document.status is Status.NO_PERSON and document.people == []
        assert document.message == NO_PERSON_IN_WINDOW and window.box_action.isEnabled()
        window.box_action.trigger()
        assert window.box_tool.active
        qtbot.keyClick(window.image_view, Qt.Key.Key_Escape)
        assert not window.box_tool.active and window.box_tool.rubber_band is None
        window.box_action.trigger()
        width, height = document.image.original_size
        viewport = window.image_view.viewport()
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_view_point(window, 4, 4))
        qtbot.mouseMove(viewport, pos=_view_point(window, width - 4, height - 4))
        assert window.box_tool.rubber_band is not None
        with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
            qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_view_point(window, width - 4, height - 4))
        assert not window.box_tool.active
        assert len(document.people) == 1 and document.people[0].found.source == "box"
        assert document.status is Status.DONE and document.analysis is document.people[0].analysis
        window.box_action.trigger()  # the same person again: found already, not added twice
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_view_point(window, 8, 8))
        qtbot.mouseMove(viewport, pos=_view_point(window, width - 8, height - 8))
        with qtbot.waitSignal(window.inference.idle, timeout=WAIT_MS):
            qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_view_point(window, width - 8, height - 8))
        assert len(document.people) == 1 and document.status is Status.DONE
        assert any("That box holds p0, who was found already" in text for text in window.banner.texts())


@pytest.mark.slow
def test_a_photo_of_one_person_keeps_the_single_person_pipelines_body(qtbot, tmp_path, untrained_model_path):
    with studio_window(qtbot, tmp_path / "config", untrained_model_path, photo=SAMPLE_PHOTO,
                       timeout_ms=WAIT_MS) as window:
        document = window.state.current
        assert len(document.people) == 1 and document.analysis is document.people[0].analysis
        assert window.image_view.people_overlay.labels() == []  # one person: no boxes or labels drawn
        pipeline = Pipeline(model=str(untrained_model_path), device="cpu")
        try:
            before = pipeline.run(load_image(SAMPLE_PHOTO))
        finally:
            pipeline.close()
        after = document.analysis.result
        np.testing.assert_array_equal(after.keypoints.xy, before.keypoints.xy)
        np.testing.assert_array_equal(after.mask, before.mask)
        for name in ("global_orient", "body_pose", "betas", "transl", "vertices"):
            np.testing.assert_allclose(getattr(after.regression, name), getattr(before.regression, name), atol=1e-6)


def test_selecting_a_person_shows_their_analysis_and_keeps_each_ones_edits_and_refits():
    state = StudioState(Choices(model="hkmr"))
    document = Document(name="photo", image=load_image(SAMPLE_PHOTO))
    analyses = [SimpleNamespace(name="left"), SimpleNamespace(name="right")]  # the state only stores them
    people = [Person(FoundPerson((x, 0.0, 100.0, 300.0), "detected", None), a) for x, a in ((0.0, analyses[0]),
                                                                                             (300.0, analyses[1]))]
    changed = []
    state.document_changed.connect(changed.append)
    state.set_people(document, people, 1)
    assert document.analysis is analyses[1] and document.person == 1 and changed == [document]
    assert document.person_stem == "pose2sim_single_person_p1"
    edits = SimpleNamespace(name="edits of the right one")
    document.keypoint_edits = edits
    state.select_person(document, 0)
    assert document.analysis is analyses[0] and document.keypoint_edits is None and people[1].keypoint_edits is edits
    refit = SimpleNamespace(name="refit of the left one")
    state.update(document, analysis=refit)
    assert people[0].analysis is refit and people[1].analysis is analyses[1]
    state.select_person(document, 1)
    assert document.analysis is analyses[1] and document.keypoint_edits is edits
    state.set_people(document, [], 0)
    assert document.people == [] and document.keypoint_edits is None and document.person_stem == "pose2sim_single_person"


def test_a_click_where_two_boxes_overlap_picks_the_person_whose_mask_is_there_else_the_smaller_box(qtbot):
    no_body = SimpleNamespace(mesh_layer=None, result=SimpleNamespace(best=None))
    mask = np.zeros((400, 400), np.float32)
    mask[100:300, 150:200] = 1.0  # the large box's person stands in the small box's corner
    people = [Person(FoundPerson((0.0, 0.0, 400.0, 400.0), "detected", None, mask=mask), no_body),
              Person(FoundPerson((120.0, 80.0, 200.0, 250.0), "box", None), no_body)]
    document = Document(name="two", image=load_image(SAMPLE_PHOTO), people=people, person=0)
    scene = QGraphicsScene()
    overlay = PeopleOverlay(scene)
    overlay.show(document)
    assert [label.text() for label in overlay.labels()] == ["p0", "p1"]
    assert overlay.person_at(QPointF(170, 200)) == 0  # both boxes, on the large box's person's mask
    assert overlay.person_at(QPointF(250, 200)) == 1  # both boxes, no mask there: the smaller box
    assert overlay.person_at(QPointF(20, 20)) == 0
    assert overlay.person_at(QPointF(500, 500)) is None
