"""The window, as a user meets it: open a photo (dialog, drop, paste, recent files), see the body over it and in
3D, keep working while the model runs, and get a message (never a crash or a modal dialog) when something fails.
Each test fails if a QThread, QTimer, thread pool or QtInteractor outlives it (tests/conftest.py); a run that must
still be running when the test acts is held at a Gate, never raced against."""

import os
import shutil
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SAMPLE_PHOTO
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QThreadPool, QTimer, QUrl
from PySide6.QtGui import QDragMoveEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog
from pyvistaqt import QtInteractor
from superqt.utils import FunctionWorker

from hkmr_studio.cli import main
from hkmr_studio.gui.analysis import GPU_OUT_OF_MEMORY, Engine
from hkmr_studio.gui.preferences import PreferencesDialog
from hkmr_studio.gui.qt_images import array_from_qimage
from hkmr_studio.gui.state import Status
from hkmr_studio.gui.testing import Gate, LeakGuard, settings_folder, studio_window
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.keypoints import VISIBILITY_THRESHOLD
from hkmr_studio.resources import embedded_body_path
from hkmr_studio.settings import CONFIG_DIR_ENV, Settings, load_settings

WAIT_MS = 60_000


def open_and_wait(qtbot, window, *paths):
    """Open photos and wait until the first is analysed and nothing runs any more."""
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
        documents = window.open_paths(paths)
    return documents


def test_a_photo_shows_its_body_over_it_and_in_3d(qtbot, window, tmp_path):
    assert window.photo_stack.currentIndex() == 0  # the "open a photo" hint
    (document,) = open_and_wait(qtbot, window, SAMPLE_PHOTO)
    assert document.status is Status.DONE and window.photo_stack.currentIndex() == 1
    result = document.analysis.result
    view = window.image_view
    width, height = result.image.original_size
    assert (view.photo_item.pixmap().width(), view.photo_item.pixmap().height()) == (width, height)
    layer = array_from_qimage(view.mesh_item.pixmap().toImage())
    assert layer.shape == (height, width, 4) and (layer[..., 3] > 0).mean() > 0.01
    assert len(view.bone_items()) == 23
    keypoints = view.keypoint_items()
    assert len(keypoints) == result.keypoints.present.sum()
    hidden = [k for k in keypoints if k.visibility < VISIBILITY_THRESHOLD]
    assert all("not seen" in k.toolTip() for k in hidden)
    assert all(k.brush().style() == Qt.BrushStyle.SolidPattern for k in keypoints if k not in hidden)
    # 3D: mesh coloured by chain, skeleton and joints
    actors = window.viewport.plotter.actors
    assert {"body", "skeleton", "joints"} <= set(actors)
    mesh = actors["body"].mapper.dataset
    assert mesh.n_points == 13348 and mesh.point_data["chain_rgb"].shape == (13348, 3)
    # the status bar names each stage's time; the untrained model is flagged
    assert all(stage in window.timings_label.text() for stage in ("detect", "regress", "mesh", "render", "total"))
    assert any("UNTRAINED" in text for text in window.banner.texts())
    assert window.filmstrip.count() == 1 and window.filmstrip.item(0).text().startswith("✓")
    assert window.windowTitle().startswith("pose2sim_single_person.jpg")


def test_overlay_controls_zoom_and_3d_views(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    controls, view = window.overlay_controls, window.image_view
    controls.opacity_slider.setValue(30)
    assert window.state.view.mesh_opacity == pytest.approx(0.3)
    assert view.mesh_item.opacity() == pytest.approx(0.3)
    assert window.viewport.plotter.actors["body"].prop.opacity == pytest.approx(0.3)
    controls.skeleton_box.setChecked(False)
    controls.keypoints_box.setChecked(False)
    assert not view.skeleton_layer.isVisible() and not view.keypoint_layer.isVisible()
    window.state.view.show_mesh = False  # state -> widgets too
    assert not controls.mesh_box.isChecked() and not view.mesh_item.isVisible()
    fitted = view.transform().m11()
    window.zoom_in_action.trigger()
    assert view.transform().m11() == pytest.approx(fitted * 1.25)
    window.fit_action.trigger()
    assert view.transform().m11() == pytest.approx(fitted)
    plotter = window.viewport.plotter
    positions = {}
    for name, button in window.viewport.view_buttons.items():
        button.click()
        positions[name] = np.subtract(plotter.camera.position, plotter.camera.focal_point)
    assert positions["front"][2] > 0 and positions["side"][0] > 0 and positions["top"][1] > 0
    centre = QPoint(plotter.width() // 2, plotter.height() // 2)
    qtbot.mousePress(plotter, Qt.MouseButton.LeftButton, pos=centre)
    for dx in range(10, 130, 10):  # drag sideways: orbit
        qtbot.mouseMove(plotter, centre + QPoint(dx, 0))
    qtbot.mouseRelease(plotter, Qt.MouseButton.LeftButton, pos=centre + QPoint(120, 0))
    orbited = np.subtract(plotter.camera.position, plotter.camera.focal_point)
    assert not np.allclose(orbited, positions["top"]) and np.linalg.norm(orbited) == pytest.approx(
        np.linalg.norm(positions["top"]), rel=1e-3)  # same distance, another direction
    shot = tmp_path / "3d.png"
    window.save_3d_screenshot(shot)
    picture = np.asarray(Image.open(shot))
    assert picture.shape[:2] == (plotter.height(), plotter.width()) and picture.std() > 5


def test_the_window_keeps_responding_while_the_model_runs(qtbot, window, monkeypatch):
    with Gate() as runs:
        monkeypatch.setattr(Engine, "analyse", runs.guard_generator(Engine.analyse))
        window.open_paths([SAMPLE_PHOTO])
        qtbot.waitUntil(lambda: runs.waiting == 1, timeout=WAIT_MS)  # the run is held on its thread
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(window.inference.busy))
        timer.start(5)
        try:
            qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=WAIT_MS)
        finally:
            timer.stop()
        assert all(ticks) and window.busy_bar.isVisible()
        with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
            runs.open()
    assert not window.busy_bar.isVisible() and window.progress_label.text() == ""


def test_a_newer_photo_supersedes_the_running_one(qtbot, window, tmp_path, monkeypatch):
    second = tmp_path / "second.jpg"
    shutil.copy(SAMPLE_PHOTO, second)
    progress = []
    window.state.progress.connect(progress.append)
    only_the_second = [lambda document: document.path == second, None]
    with Gate() as runs:
        monkeypatch.setattr(Engine, "analyse", runs.guard_generator(Engine.analyse))
        first, other = window.open_paths([SAMPLE_PHOTO, second])
        assert window.state.current is first and window.inference.busy
        qtbot.waitUntil(lambda: runs.waiting == 1, timeout=WAIT_MS)  # the first photo's run, held before it starts
        with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict",
                               check_params_cbs=only_the_second, timeout=WAIT_MS):
            window.state.select(other)
            runs.open()
    assert [request.image for _, request in runs.calls] == [first.image, other.image]
    assert other.status is Status.DONE and other.analysis is not None
    assert first.status is Status.NEW and first.analysis is None  # stopped, not finished
    assert progress[-1] == "Drawing the overlay…"
    with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
        window.state.select(first)  # shown again: analysed now
    assert first.status is Status.DONE


def test_drop_paste_and_recent_files_open_photos(qtbot, window, tmp_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(SAMPLE_PHOTO))])
    events = [cls(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                  Qt.KeyboardModifier.NoModifier) for cls in (QDragMoveEvent, QDropEvent)]
    window.dragEnterEvent(events[0])  # Qt delivers drag events only during a real drag: call the handlers
    with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
        window.dropEvent(events[1])
    assert all(e.isAccepted() for e in events) and [d.name for d in window.state.documents] == [SAMPLE_PHOTO.name]
    assert load_settings()[0].recent_files == [str(SAMPLE_PHOTO.resolve())]
    QGuiApplication.clipboard().setImage(QImage(str(SAMPLE_PHOTO)))
    with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
        window.paste_action.trigger()
    pasted = window.state.current
    assert pasted.name == "Pasted image 1" and pasted.path is None and pasted.status is Status.DONE
    window.recent_menu.aboutToShow.emit()
    recent = [a for a in window.recent_menu.actions() if a.text() == SAMPLE_PHOTO.name]
    recent[0].trigger()  # already open: shown again, not opened twice
    assert window.state.current is window.state.documents[0] and len(window.state.documents) == 2
    window.close_action.trigger()
    assert window.state.documents == [pasted] and window.filmstrip.count() == 1


def test_the_open_dialog_starts_in_the_last_folder(qtbot, window, tmp_path, monkeypatch):
    asked = []

    def fake_dialog(parent, caption, folder, filters):
        asked.append(folder)
        return [str(SAMPLE_PHOTO)], filters

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", fake_dialog)
    with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
        window.open_action.trigger()
    window.open_action.trigger()
    assert asked == ["", str(SAMPLE_PHOTO.parent.resolve())]


def test_unreadable_files_and_photos_without_a_person_are_reported(qtbot, window, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert window.open_paths([empty]) == []
    assert any("empty (0 bytes)" in t for t in window.banner.texts()) and not window.state.documents
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((240, 320, 3), 180, np.uint8)).save(wall)
    (document,) = open_and_wait(qtbot, window, wall)
    assert document.status is Status.NO_PERSON and "No person found" in document.message
    assert any("No person found" in t for t in window.banner.texts())
    assert window.image_view.mesh_item.pixmap().isNull() and not window.image_view.bone_items()
    assert not window.export_all_action.isEnabled()


def test_a_missing_model_and_an_unexpected_failure_are_messages(qtbot, window, tmp_path, monkeypatch):
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    document = window.state.current
    with qtbot.waitSignal(window.inference.idle, timeout=WAIT_MS):
        window.state.choices.model = str(tmp_path / "none.pt")  # re-runs the current photo
    assert document.status is Status.FAILED and "model file not found" in document.message
    assert window.model_picker.currentText() == "none.pt"
    assert any("model file not found" in t for t in window.banner.texts())

    def broken(self, image, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(Pipeline, "run", broken)
    with qtbot.waitSignal(window.inference.idle, timeout=WAIT_MS):
        window.state.choices.model = document.analysis.request.model  # back to the working model: runs again
    assert any("Unexpected error (ValueError: boom)" in t for t in window.banner.texts())
    assert document.analysis is not None  # the last good body stays on screen


def test_out_of_gpu_memory_falls_back_to_the_cpu(qtbot, window, monkeypatch):
    run = Pipeline.run
    calls = []

    def out_of_memory_once(self, image, **kwargs):
        calls.append(str(self.device))
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return run(self, image, **kwargs)

    monkeypatch.setattr(Pipeline, "run", out_of_memory_once)
    window.state.choices.device = "gpu"
    with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
        window.open_paths([SAMPLE_PHOTO])
    assert window.state.choices.device == "cpu" and window.device_picker.currentData() == "cpu"
    assert GPU_OUT_OF_MEMORY in window.banner.texts() and window.state.current.status is Status.DONE
    assert load_settings()[0].device == "cpu"


def test_refine_fits_the_body_to_the_keypoints_and_keeps_the_regressors_body(qtbot, tmp_path):
    """With the shipped model: Refine discards fits that are implausible, as one from an untrained body is."""
    with studio_window(qtbot, tmp_path / "config", "hkmr") as window:
        (document,) = open_and_wait(qtbot, window, SAMPLE_PHOTO)
        regression = document.analysis.result.regression
        with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
            window.refine_action.trigger()
        result = document.analysis.result
        assert document.status is Status.DONE and result.fit is not None and result.best is result.fit
        assert np.allclose(result.regression.vertices, regression.vertices)  # the regressor's body, for comparison
        assert result.fit_report.error2d_after.nanmean() < result.fit_report.error2d_before.nanmean()
        assert document.analysis.regression_layer is not None and len(window.fit_comparison.rows()) == 24


def test_a_corrupt_settings_file_is_reported_and_reset(qtbot, tmp_path, untrained_model_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text("]]")
    with studio_window(qtbot, config, untrained_model_path) as window:
        assert any("could not be read" in t for t in window.banner.texts())
        assert window.settings == Settings() and list(config.glob("settings.json.*.bad"))


def test_preferences_check_a_body_file_when_it_is_chosen(qtbot, tmp_path):
    broken = tmp_path / "SMPL_NEUTRAL.pkl"
    broken.write_bytes(b"not a pickle")
    with settings_folder(tmp_path / "config"):
        dialog = PreferencesDialog(Settings())
        qtbot.addWidget(dialog)
        assert dialog.values() == (None, ["json", "npz", "obj", "glb", "fbx"])
        assert not dialog.choose_body_file(str(broken))
        assert "SMPL_NEUTRAL.pkl was refused" in dialog.problem_label.text() and dialog.embedded.isChecked()
        assert dialog.choose_body_file(str(embedded_body_path()))
        dialog.format_boxes["fbx"].setChecked(False)
        assert dialog.values() == (str(embedded_body_path().resolve()), ["json", "npz", "obj", "glb"])


def test_without_a_display_the_command_says_what_to_do(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main([str(SAMPLE_PHOTO)]) == 2
    assert "hkmr-studio infer" in capsys.readouterr().err


CLOSE_AFTER_FIRST_BODY = """
import sys
from PySide6.QtCore import QTimer
from hkmr_studio.gui import app, window

show = window.MainWindow.show
def show_then_close(self):
    show(self)
    self.inference.analysed.connect(lambda document: QTimer.singleShot(200, self.close))
window.MainWindow.show = show_then_close
sys.exit(app.run([sys.argv[1]]))
"""


def test_the_app_exits_cleanly_after_closing_its_window(tmp_path):
    # In a process of its own, started as a user starts it (no Qt or VTK platform settings): a crash while Qt and
    # Python tear the window down (e.g. an event filter outliving its Python object) shows only in the exit status.
    script = tmp_path / "close_after_first_body.py"
    script.write_text(CLOSE_AFTER_FIRST_BODY)
    env = {**os.environ, CONFIG_DIR_ENV: str(tmp_path / "config")}
    for name in ("QT_QPA_PLATFORM", "VTK_DEFAULT_OPENGL_WINDOW"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, str(script), str(SAMPLE_PHOTO)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_leak_guard_reports_what_a_test_leaves_running(qtbot):
    with LeakGuard() as guard:
        timer = QTimer()
        timer.start(10_000)
        interactor = QtInteractor(auto_update=False)
        pool = QThreadPool()
        pool.start(FunctionWorker(time.sleep, 0.5))
        leaks = guard.leaks()
        assert sorted(leak.split(" started")[0] for leak in leaks) == ["QThreadPool", "QTimer", "QtInteractor"]
        assert all(__file__ in leak for leak in leaks)
        timer.stop()
        interactor.close()
        pool.waitForDone()
    guard.assert_clean()



def test_closing_the_window_lets_go_of_the_3d_views_gl_surface_wrapper_before_qt_deletes_the_surface(
        qtbot, tmp_path, untrained_model_path):
    """PySide does not invalidate the wrapper of the 3D view's OpenGL surface (reached through QOpenGLContext.surface,
    a non-QObject base) when Qt deletes the surface with the window; a wrapper that outlives it is handed out for
    whatever Qt allocates at that address next (a crash, or a new menu answering as a QOffscreenSurface). So the
    wrapper must be gone once the window is closed, while the surface still exists."""
    with studio_window(qtbot, tmp_path / "config", untrained_model_path) as window:
        plotter = window.viewport.plotter
        qtbot.waitUntil(lambda: plotter.context() is not None, timeout=WAIT_MS)  # the 3D view's GL is set up
        surface = weakref.ref(plotter.context().surface())
        assert surface() is not None
    assert surface() is None


def test_a_gate_stops_counting_a_held_call_as_waiting_once_released(qtbot):
    """A test that waits for 'the next call is held' must not mistake a call it already released for it."""
    gate = Gate()
    worker = threading.Thread(target=gate.guard(lambda: None))
    worker.start()
    try:
        qtbot.waitUntil(lambda: gate.waiting == 1, timeout=WAIT_MS)
        with gate._changed:  # the held call cannot run again while the test holds the gate's lock
            gate.release(1)
            assert gate.waiting == 0
    finally:
        gate.open()
        worker.join()
    assert len(gate.calls) == 1

LEAKY_GUI_TESTS = """
from PySide6.QtCore import QTimer


def test_leaves_a_timer_running(qtbot):
    timer = QTimer()
    timer.start(60_000)
    test_leaves_a_timer_running.timer = timer  # still running after the test


def test_without_qt():
    pass
"""

OTHER_TESTS = """
def test_uses_qtbot(qtbot):
    pass


def test_plain():
    pass
"""


def test_every_gui_test_is_marked_and_fails_when_it_leaves_qt_resources_running(pytester):
    """Not only tests that open a window: any test in a test_gui_ file or using qtbot is a gui test and guarded."""
    repo = Path(__file__).resolve().parent.parent
    pytester.makepyprojecttoml((repo / "pyproject.toml").read_text())  # registers the marker
    pytester.makeconftest((repo / "tests" / "conftest.py").read_text())
    files = pytester.makepyfile(test_gui_leaky=LEAKY_GUI_TESTS, test_other=OTHER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:xvfb", "-p", "no:cacheprovider", "-m", "gui", files.parent)
    result.assert_outcomes(passed=3, errors=1, deselected=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_leaves_a_timer_running*",
                                 "*QTimer started at *test_gui_leaky.py:* is still running*"])
