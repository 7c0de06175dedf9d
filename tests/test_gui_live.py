"""Live mode on a video file (the camera's code path): frames are analysed as fast as the pipeline allows, the rest
dropped; stop and freeze end it cleanly, and the end of the video or a bad file is a message. The reader and the
runs are held at Gates where a test needs frames to arrive while a run is busy, never raced against the clock."""

import time

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from PySide6.QtCore import QCoreApplication
from test_gui_window_basics import moved_analysis

from hkmr_studio.gui.analysis import Engine
from hkmr_studio.gui.capture import FrameMailbox, VideoSource
from hkmr_studio.gui.stall_probe import StallProbe
from hkmr_studio.gui.state import Status
from hkmr_studio.gui.testing import Gate, write_test_video
from hkmr_studio.gui.viewport import LIVE_MULTI_SAMPLES, MAX_RENDER_HZ

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_test_video(tmp_path_factory.mktemp("video") / "walk.avi", SAMPLE_PHOTO, frames=300, fps=30)


def test_live_video_analyses_the_newest_frame_drops_the_rest_and_stops_cleanly(qtbot, window, video, monkeypatch):
    photo = window.open_paths([SAMPLE_PHOTO])[0]
    qtbot.waitUntil(lambda: photo.status is Status.DONE, timeout=WAIT_MS)
    live = window.live
    with Gate() as frames, Gate() as runs:
        monkeypatch.setattr(FrameMailbox, "put", frames.guard(FrameMailbox.put))
        monkeypatch.setattr(Engine, "analyse", runs.guard_generator(Engine.analyse))
        window.start_live_from(VideoSource(file=video))
        assert window.live_stop_action.isEnabled() and not window.live_start_action.isEnabled()
        frames.release(1)
        qtbot.waitUntil(lambda: runs.waiting == 1, timeout=WAIT_MS)  # the first frame's run, held
        frames.release(29)
        qtbot.waitUntil(lambda: len(frames.calls) == 31 and frames.waiting == 1, timeout=WAIT_MS)  # 30 frames read
        QCoreApplication.sendPostedEvents()  # the window takes the frames the reader announced
        runs.open()
        qtbot.waitUntil(lambda: live.frames_analysed == 2 and not window.inference.busy, timeout=WAIT_MS)
        read = [call[2] for call in frames.calls]  # FrameMailbox.put(self, number, frame, time)
        assert [request.image for _, request in runs.calls] == [read[0], read[29]]  # the newest frame, not the next
        assert (live.frames_read, live.frames_analysed) == (30, 2)  # frames were dropped, not queued
        document = window.state.live_document
        assert window.state.current is document and document not in window.state.documents
        assert document.analysis.image is read[29] and document.analysis.image.original_size == (360, 640)
        assert window.image_view.photo_item.pixmap().width() == 360
        assert document.analysis.mesh_layer is None and window.image_view.mesh_item.pixmap().isNull()  # no overlay
        assert window.image_view.bone_items() and "body" in window.viewport.plotter.actors  # skeleton, 3D mesh
        assert window.live_label.text() == "Live: 30 frames, 2 analysed, 28 skipped"
        with qtbot.waitSignal(live.stopped, timeout=WAIT_MS):
            window.live_stop_action.trigger()
            frames.open()
    assert not live.running and window.state.live_document is None
    assert window.state.current is photo and window.state.documents == [photo]  # back to the photo
    assert window.live_start_action.isEnabled() and window.live_label.text() == ""


def test_freeze_keeps_the_frame_and_its_body_as_a_photo(qtbot, window, video, monkeypatch):
    with Gate() as frames:
        monkeypatch.setattr(FrameMailbox, "put", frames.guard(FrameMailbox.put))
        window.start_live_from(VideoSource(file=video))
        frames.release(1)
        qtbot.waitUntil(lambda: window.live.frames_analysed == 1, timeout=WAIT_MS)
        with qtbot.waitSignal(window.live.stopped, timeout=WAIT_MS):
            window.freeze_action.trigger()
            frames.open()
    (frozen,) = window.state.documents
    assert window.state.current is frozen and frozen.name == "Frozen frame 1 ('walk.avi')"
    qtbot.waitUntil(lambda: frozen.status is Status.DONE, timeout=WAIT_MS)
    first_frame = frames.calls[0][2]
    assert frozen.image is first_frame and frozen.analysis.image is first_frame  # the frame shown, with its body
    assert window.export_all_action.isEnabled() and window.filmstrip.count() == 1


def test_the_end_of_a_video_keeps_its_last_frame_and_body_on_screen_and_an_unreadable_one_is_a_message(
        qtbot, window, tmp_path, monkeypatch):
    short = write_test_video(tmp_path / "short.avi", SAMPLE_PHOTO, frames=8, fps=100)
    with Gate() as frames:
        frames.open()  # records the frames read, holds none
        monkeypatch.setattr(FrameMailbox, "put", frames.guard(FrameMailbox.put))
        with qtbot.waitSignal(window.live.stopped, timeout=WAIT_MS):
            window.start_live_from(VideoSource(file=short))
    assert "The video ended after 8 frames." in window.banner.texts()
    (last,) = window.state.documents
    assert window.state.current is last and last.name == "Last frame of 'short.avi'"
    assert last.image is frames.calls[-1][2] and last.analysis.image is last.image  # the 8th frame, with its body
    body = last.analysis.result.best
    qtbot.waitUntil(lambda: last.analysis.mesh_layer is not None, timeout=WAIT_MS)  # its overlay drawn once kept
    np.testing.assert_allclose(last.analysis.result.best.vertices, body.vertices, atol=1e-5)  # the same body
    assert "body" in window.viewport.plotter.actors and not window.image_view.mesh_item.pixmap().isNull()
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=WAIT_MS)
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video")
    with qtbot.waitSignal(window.live.stopped, timeout=WAIT_MS):
        window.start_live_from(VideoSource(file=broken))
    assert any("Could not open 'broken.avi'" in t and "Convert it to MP4" in t for t in window.banner.texts())
    assert window.state.live_document is None and window.state.current is last


@pytest.fixture
def counted_renders(window, monkeypatch):
    """Every render of the 3D view, whoever asks for it (the view's timer, a dock's drawing)."""
    renders = []
    plotter = window.viewport.plotter
    original = plotter.render
    monkeypatch.setattr(plotter, "render", lambda: renders.append(1) or original())
    return renders


def test_the_3d_view_renders_on_its_timer_at_most_once_per_slot_and_not_for_a_status_change(qtbot, window,
                                                                                              counted_renders):
    photo = window.open_paths([SAMPLE_PHOTO])[0]
    qtbot.waitUntil(lambda: photo.status is Status.DONE and window.viewport.renders > 0, timeout=WAIT_MS)
    qtbot.wait(round(1000 / MAX_RENDER_HZ) + 50)
    counted_renders.clear()
    before = window.viewport.renders
    for step in range(20):  # 20 bodies arrive faster than a render slot: none is drawn on the spot
        window.state.update(photo, analysis=moved_analysis(photo.analysis, np.array([0.01 * step, 0.0, 0.0])))
    assert counted_renders == []  # the inspector's dock is closed: clearing its drawing renders nothing either
    qtbot.waitUntil(lambda: window.viewport.renders == before + 1, timeout=WAIT_MS)
    qtbot.wait(3 * round(1000 / MAX_RENDER_HZ))
    assert len(counted_renders) == 1 and window.viewport.renders == before + 1  # the 20 changes drawn once
    window.state.update(photo, status=Status.RUNNING)  # what each live frame's run does first
    qtbot.wait(3 * round(1000 / MAX_RENDER_HZ))
    assert len(counted_renders) == 1


def test_a_hidden_3d_view_does_not_render_until_it_is_shown_again(qtbot, window, counted_renders):
    photo = window.open_paths([SAMPLE_PHOTO])[0]
    qtbot.waitUntil(lambda: photo.status is Status.DONE and window.viewport.renders > 0, timeout=WAIT_MS)
    window.viewport.hide()
    qtbot.wait(round(1000 / MAX_RENDER_HZ) + 50)
    counted_renders.clear()
    for step in range(5):
        window.state.update(photo, analysis=moved_analysis(photo.analysis, np.array([0.0, 0.01 * step, 0.0])))
        qtbot.wait(round(1000 / MAX_RENDER_HZ) + 20)
    assert counted_renders == []
    window.viewport.show()
    qtbot.waitUntil(lambda: len(counted_renders) == 1, timeout=WAIT_MS)


def test_the_stall_probe_measures_a_blocked_gui_thread(qtbot):
    probe = StallProbe(report_ms=100)
    probe.start()
    qtbot.wait(50)
    time.sleep(0.3)  # the GUI thread blocked, as a long analysis on it would
    qtbot.wait(50)
    probe.stop()
    assert probe.longest_ms >= 250 and len(probe.stalls) == 1 and probe.ticks > 2


def test_the_3d_view_renders_without_multisampling_while_live_video_runs(qtbot, window, video, counted_renders):
    render_window = window.viewport.plotter.render_window
    full = render_window.GetMultiSamples()
    with qtbot.waitSignal(window.live.stopped, timeout=WAIT_MS):
        window.start_live_from(VideoSource(file=video))
        qtbot.waitUntil(lambda: window.live.frames_analysed >= 1 and bool(counted_renders), timeout=WAIT_MS)
        assert render_window.GetMultiSamples() == LIVE_MULTI_SAMPLES < full
        window.live.stop()
    assert render_window.GetMultiSamples() == full
