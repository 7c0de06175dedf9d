"""The window's basics: no message is lost and each names its file, every photo of a dropped folder opens or says why
not, the 3D view keeps a body that moved far in frame, the fit table's headers fit, every glyph the window uses
renders, the photo can be saved with its overlay, a keypoint file can replace detection, and the camera's focal
length comes from EXIF and can be set. Each window test fails if a QThread, QTimer, thread pool or QtInteractor
outlives it."""

import dataclasses
import io
import tokenize
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QFont, QTextLayout
from PySide6.QtWidgets import QFileDialog

from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.geometry.cameras import focal_length_from_35mm
from hkmr_studio.gui.banner import MAX_SHOWN, MessageBanner
from hkmr_studio.gui.fit_comparison import COLUMNS
from hkmr_studio.gui.focal_dialog import FocalLengthDialog
from hkmr_studio.gui.state import Choices, Level, StudioState
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES, Keypoints2D, save_keypoints_json

WAIT_MS = 60_000
GUI_SOURCES = Path(__file__).resolve().parent.parent / "hkmr_studio" / "gui"


def analysed(qtbot, window, action):
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
        action()


def test_the_banner_keeps_every_message_behind_a_button_that_lists_them_all(qtbot):
    state = StudioState(Choices(model="hkmr"))
    banner = MessageBanner(state)
    qtbot.addWidget(banner)
    banner.show()
    for n in range(12):
        state.notify(Level.ERROR, f"problem {n}", source=f"photo_{n}.jpg")
    state.notify(Level.ERROR, "problem 11", source="photo_11.jpg")  # a repeat is listed once
    assert banner.texts() == [f"problem {n}" for n in range(12)]
    shown = banner.latest.text().splitlines()
    assert len(shown) == MAX_SHOWN and shown[-1].endswith("photo_11.jpg: problem 11")
    assert banner.more_button.isVisible() and banner.more_button.text() == f"{12 - MAX_SHOWN} earlier messages"
    banner.more_button.click()
    listed = [banner.history.item(row).text() for row in range(banner.history.count())]
    assert banner.history.isVisible() and not banner.latest.isVisible() and len(listed) == 12
    assert listed[0].endswith("photo_0.jpg: problem 0") and listed[-1].endswith("photo_11.jpg: problem 11")
    banner.more_button.click()
    assert not banner.history.isVisible() and banner.latest.isVisible()


def test_a_dropped_folder_opens_every_readable_photo_and_names_the_file_of_each_message(qtbot, window, tmp_path):
    folder = tmp_path / "dropped"
    folder.mkdir()
    photo = Image.open(SAMPLE_PHOTO).convert("RGB")
    photo.save(folder / "a_photo.gif")
    photo.convert("CMYK").save(folder / "b_cmyk.jpg")
    (folder / "c_broken.jpg").write_bytes(b"not a photo")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    analysed(qtbot, window, lambda: window.dropEvent(drop))
    assert [d.name for d in window.state.documents] == ["a_photo.gif", "b_cmyk.jpg"]
    cmyk = window.state.documents[1]
    analysed(qtbot, window, lambda: window.state.select(cmyk))
    lines = banner_lines(window)
    assert any(line.endswith("b_cmyk.jpg: converted from CMYK") for line in lines)
    assert any("'c_broken.jpg'" in line for line in lines)
    assert any("b_cmyk.jpg: " in line and "UNTRAINED" in line for line in lines)


def banner_lines(window):
    banner = window.banner
    return [banner.history.item(row).text() for row in range(banner.history.count())]


def view_coordinates(plotter, points_yup):
    """(N, 3) Y-up points -> (N, 2) where the 3D view's camera shows them, [-1, 1] across its frame, and (N,) whether
    they lie in front of it."""
    renderer = plotter.renderer
    matrix = renderer.GetActiveCamera().GetCompositeProjectionTransformMatrix(renderer.GetTiledAspectRatio(), -1, 1)
    m = np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)])
    clip = np.c_[points_yup, np.ones(len(points_yup))] @ m.T
    return clip[:, :2] / clip[:, 3:], clip[:, 3] > 0


def in_view(plotter, points_yup):
    """Fraction of (N, 3) Y-up points that the 3D view's camera sees inside its frame."""
    xy, in_front = view_coordinates(plotter, points_yup)
    return float(((np.abs(xy) <= 1).all(axis=1) & in_front).mean())


def extent_in_view(plotter, points_yup):
    """The largest fraction of the view's width or height that the points span."""
    xy, _ = view_coordinates(plotter, points_yup)
    return float(np.ptp(xy, axis=0).max() / 2)


def moved_analysis(analysis, shift_m):
    """The analysis with its body moved by (3,) metres in the camera frame (x right, y down, z forward)."""
    body = analysis.result.regression
    moved = dataclasses.replace(body, vertices=body.vertices + shift_m, joints3d=body.joints3d + shift_m,
                                transl=body.transl + shift_m)
    return dataclasses.replace(analysis, result=dataclasses.replace(analysis.result, regression=moved))


def test_the_3d_view_frames_a_body_that_moved_far_and_keeps_the_users_camera_for_a_small_move(qtbot,
                                                                                             analysed_window):
    window = analysed_window
    document = window.state.current
    plotter = window.viewport.plotter
    assert in_view(plotter, camera_to_yup(document.analysis.result.best.vertices)) == 1.0
    nudged = moved_analysis(document.analysis, np.array([0.0, 0.0, -0.02]))
    camera = plotter.camera.position
    window.state.update(document, analysis=nudged)  # e.g. a keypoint drag's refit
    assert plotter.camera.position == camera
    closer = moved_analysis(document.analysis, np.array([0.5, 0.0, -1.5]))  # towards the camera, as a Refine can
    window.state.update(document, analysis=closer)
    assert in_view(plotter, camera_to_yup(closer.result.best.vertices)) == 1.0
    farther = moved_analysis(document.analysis, np.array([0.0, 0.0, 4.0]))
    window.state.update(document, analysis=farther)
    assert in_view(plotter, camera_to_yup(farther.result.best.vertices)) == 1.0
    assert extent_in_view(plotter, camera_to_yup(farther.result.best.vertices)) > 0.5  # framed, not a speck


def test_the_fit_tables_headers_fit_their_columns_and_the_columns_the_dock(qtbot, analysed_window):
    window = analysed_window
    window.analysis_docks.docks["keypoints"].show()
    wrist = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist")
    x, y = window.state.current.analysis.result.keypoints.xy[wrist]
    analysed(qtbot, window, lambda: window.keypoint_editor.move(wrist, (x + 30.0, y - 30.0)))
    table = window.fit_comparison.table
    assert table.rowCount() == 24
    qtbot.waitUntil(lambda: table.viewport().width() > 0)
    header = table.horizontalHeader()
    metrics = header.fontMetrics()
    for column, text in enumerate(COLUMNS):
        widest = max(metrics.horizontalAdvance(line) for line in text.splitlines())
        assert widest <= header.sectionSize(column), text
    assert header.length() <= table.viewport().width()


def _string_characters(path):
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return {ch for token in tokens if token.type == tokenize.STRING for ch in token.string if ord(ch) > 127}


def test_every_character_the_window_shows_has_a_glyph_in_the_installed_fonts(qtbot):
    characters = set().union(*(_string_characters(path) for path in GUI_SOURCES.glob("*.py")))
    assert "✓" in characters  # the scan reads the window's texts
    missing = []
    for ch in sorted(characters):
        layout = QTextLayout(ch, QFont())
        layout.beginLayout()
        layout.createLine()
        layout.endLayout()
        if 0 in [glyph for run in layout.glyphRuns() for glyph in run.glyphIndexes()]:
            missing.append(f"{ch} (U+{ord(ch):04X})")
    assert not missing, f"drawn as a box: {missing}"


def test_the_photo_is_saved_with_its_overlay_as_shown(qtbot, analysed_window, tmp_path, monkeypatch):
    window = analysed_window
    document = window.state.current
    target = tmp_path / "saved" / "overlay.png"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    window.save_photo_action.trigger()
    saved = np.asarray(Image.open(target).convert("RGB")).astype(int)
    photo = document.image.rgb.astype(int)
    assert saved.shape == photo.shape
    mesh = document.analysis.mesh_layer[..., 3] > 0
    difference = np.abs(saved - photo).sum(axis=-1)
    assert difference[mesh].mean() > 30 and np.median(difference[~mesh]) < 6
    assert any(f"as {target}" in text for text in window.banner.texts())
    window.state.view.show_mesh = False  # as shown: without the mesh now
    window.save_photo_action.trigger()
    without_mesh = np.abs(np.asarray(Image.open(target).convert("RGB")).astype(int) - photo).sum(axis=-1)
    assert without_mesh[mesh].mean() < difference[mesh].mean() / 2


def test_a_keypoint_file_for_the_photo_is_used_instead_of_detection(qtbot, analysed_window, tmp_path, monkeypatch):
    window = analysed_window
    document = window.state.current
    detected = document.analysis.result.keypoints
    given = Keypoints2D(detected.xy + [12.0, -8.0], detected.visibility, detected.present, "user")
    chosen = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(chosen[-1]), ""))
    chosen.append(save_keypoints_json(tmp_path / "person.json", given, document.image.original_size))
    analysed(qtbot, window, window.open_keypoints_action.trigger)
    result = document.analysis.result
    assert result.keypoints.source == "mediapipe-json" and np.allclose(result.keypoints.xy, given.xy)
    analysed(qtbot, window, window.analyse_action.trigger)  # analysed again: still with the file's keypoints
    assert document.analysis.result.keypoints.source == "mediapipe-json"
    chosen.append(tmp_path / "broken.json")
    chosen[-1].write_text("{")
    before = document.analysis
    window.open_keypoints_action.trigger()
    assert any(line.endswith("'broken.json': not valid JSON: Expecting property name enclosed in double quotes at "
                             "line 1, column 2. Fix the file or export it again.") for line in banner_lines(window))
    far = Keypoints2D(detected.xy + 5000.0, detected.visibility, detected.present, "user")
    chosen.append(save_keypoints_json(tmp_path / "other_photo.json", far))
    window.open_keypoints_action.trigger()
    assert any("'other_photo.json'" in line and "outside this photo" in line for line in banner_lines(window))
    assert document.analysis is before and not window.inference.busy


def test_the_focal_length_comes_from_exif_and_can_be_set_in_the_window(qtbot, window, tmp_path, monkeypatch):
    phone = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 26  # FocalLengthIn35mmFilm, as phones write it
    Image.open(SAMPLE_PHOTO).save(phone, exif=exif, quality=95)
    opened = []
    analysed(qtbot, window, lambda: opened.extend(window.open_paths([phone])))
    (document,) = opened
    size = document.image.original_size
    result = document.analysis.result
    assert result.focal_length == pytest.approx(focal_length_from_35mm(26.0, *size))
    assert result.focal_length_source == "exif"
    asked = []

    def set_50mm(dialog):
        asked.append((dialog.mm_box.value(), dialog.source_label.text()))
        dialog.mm_box.setValue(50.0)
        return 1

    monkeypatch.setattr(FocalLengthDialog, "exec", set_50mm)
    analysed(qtbot, window, window.focal_action.trigger)
    assert asked[0][0] == pytest.approx(26.0) and "from the photo's EXIF" in asked[0][1]
    longer = document.analysis.result
    assert longer.focal_length == pytest.approx(focal_length_from_35mm(50.0, *size))
    assert longer.focal_length_source == "given"
    assert longer.regression.transl[2] > 1.5 * result.regression.transl[2]  # a longer lens sees the body from farther
    analysed(qtbot, window, window.analyse_action.trigger)  # kept for the photo
    assert document.analysis.result.focal_length == pytest.approx(longer.focal_length)

    def back_to_the_photos_own(dialog):
        dialog.reset_button.click()
        return 1

    monkeypatch.setattr(FocalLengthDialog, "exec", back_to_the_photos_own)
    analysed(qtbot, window, window.focal_action.trigger)
    assert document.analysis.result.focal_length_source == "exif"
    assert document.analysis.result.focal_length == pytest.approx(result.focal_length)
