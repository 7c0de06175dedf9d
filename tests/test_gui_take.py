"""Recording a take in the window from a short video file (made from the sample photo): the take document keeps its
last frame on screen, the timeline scrubs it (the photo shows that frame with its body, the 3D view follows and keeps
a body that jumped metres in frame), a keypoint drag on one frame refits it and smooths again only around it, and
File ▸ Export Take writes the take folder, BVH, GLB and the overlay MP4, each read back."""

import dataclasses

import av
import numpy as np
import pybvh
import pygltflib
import pytest
from conftest import SAMPLE_PHOTO
from PySide6.QtWidgets import QFileDialog
from test_gui_window_basics import in_view

from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.gui.capture import FrameMailbox, VideoSource
from hkmr_studio.gui.take_document import TakeDocument
from hkmr_studio.gui.take_export import take_export_name
from hkmr_studio.gui.testing import Gate, write_test_video
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.video.take import read_take

WAIT_MS = 60_000
FRAMES, FPS = 6, 5.0  # 0.2 s apart: the default smoothing reaches 0.375 s, so frames 2 apart are out of its reach


def record_video(qtbot, window, video, monkeypatch):
    """Record every frame of `video` (each analysed before the next is read); returns the frames read."""
    with Gate() as frames:
        monkeypatch.setattr(FrameMailbox, "put", frames.guard(FrameMailbox.put))
        with qtbot.waitSignal(window.live.stopped, timeout=WAIT_MS):
            window.start_live_from(VideoSource(file=video), record=True)
            assert window.live.recording and not window.live_record_action.isEnabled()
            for i in range(FRAMES):
                frames.release(1)
                qtbot.waitUntil(lambda n=i + 1: window.live.frames_analysed == n and not window.inference.busy,
                                timeout=WAIT_MS)
            frames.open()
    return [call[2] for call in frames.calls]


def posed(qtbot, window, index):
    """Show frame `index` through the timeline and wait for its body."""
    with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
        window.timeline.slider.setValue(index)
    return window.state.current.analysis


def test_a_recorded_video_becomes_a_take_that_the_timeline_scrubs_edits_and_exports(qtbot, window, tmp_path,
                                                                                    monkeypatch):
    video = write_test_video(tmp_path / "walk.avi", SAMPLE_PHOTO, frames=FRAMES, fps=FPS)
    read = record_video(qtbot, window, video, monkeypatch)
    document = window.state.current
    assert isinstance(document, TakeDocument) and window.state.documents == [document]
    session, take = document.session, document.session.take
    assert take.frame_count == FRAMES and take.status == ("ok",) * FRAMES and take.fps == FPS
    np.testing.assert_allclose(take.times, np.arange(FRAMES) / FPS, atol=1e-3)
    assert take.smoothed is not None and np.ptp(take.smoothed.betas, axis=0).max() == 0  # one shape
    # the video's end keeps its last frame, with its body, on screen
    assert window.timeline.isVisible() and window.timeline.slider.value() == FRAMES - 1
    assert np.abs(document.image.rgb.astype(int) - read[-1].rgb).mean() < 3  # (JPEG copy)
    qtbot.waitUntil(lambda: document.analysis.request.pose is not None, timeout=WAIT_MS)

    first = posed(qtbot, window, 0)
    assert np.abs(first.image.rgb.astype(int) - read[0].rgb).mean() < 3
    np.testing.assert_allclose(first.result.best.transl, take.smoothed.transl[0], atol=1e-5)
    shown = np.asarray(window.viewport.plotter.actors["body"].mapper.dataset.points)
    np.testing.assert_allclose(shown, camera_to_yup(first.result.best.vertices), atol=1e-5)  # the 3D view follows
    assert window.timeline.label.text() == "frame 1 / 6 · 0.00 s"

    jumped = take.smoothed.with_frame(3, transl=take.smoothed.transl[3] + [3.0, 0.0, 2.0])  # metres away
    session.take = dataclasses.replace(take, smoothed=jumped)
    far = posed(qtbot, window, 3)
    assert in_view(window.viewport.plotter, camera_to_yup(far.result.best.vertices)) == 1.0
    session.take = take

    base = posed(qtbot, window, 0)
    wrist = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist")
    with qtbot.waitSignal(window.inference.analysed, timeout=WAIT_MS):
        window.keypoint_editor.move(wrist, tuple(base.result.keypoints.xy[wrist] + [40.0, -30.0]))
    edited = session.take
    assert session.edited == {0} and not np.allclose(edited.raw.body_pose[0], take.raw.body_pose[0])
    assert not np.allclose(edited.smoothed.body_pose[0], take.smoothed.body_pose[0])  # the edited frame's body
    np.testing.assert_array_equal(edited.smoothed.body_pose[2:], take.smoothed.body_pose[2:])  # far frames kept
    np.testing.assert_allclose(edited.keypoints[0, wrist], base.result.keypoints.xy[wrist] + [40.0, -30.0])

    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(out))
    assert window.take_export_actions["take"].isEnabled() and not window.analyse_action.isEnabled()
    with qtbot.waitSignal(window.exporter.finished, timeout=WAIT_MS) as done:
        window.take_export_actions["take"].trigger()  # File ▸ Export Take ▸ Take Folder
    (folder,) = done.args[0].written
    assert folder.parent == out and folder.name == take_export_name(document.stem, "take")
    targets = [(out / "walk.bvh", "bvh"), (out / "walk.glb", "glb"), (out / "walk.mp4", "mp4")]
    with qtbot.waitSignal(window.exporter.finished, timeout=WAIT_MS) as done:
        window.exporter.export_take(document, targets)
    assert done.args[0].failures == [] and done.args[0].written == [path for path, _ in targets]
    saved = read_take(folder)
    assert saved.frame_count == FRAMES and saved.status == edited.status
    np.testing.assert_allclose(saved.track.body_pose, edited.smoothed.body_pose)
    bvh = pybvh.read_bvh_file(targets[0][0], world_up="+y")
    assert bvh.frame_count == FRAMES and bvh.frame_time == pytest.approx(1 / FPS)
    gltf = pygltflib.GLTF2.load(targets[1][0])
    assert len(gltf.animations) == 1 and len(gltf.skins) == 1
    with av.open(str(targets[2][0])) as container:
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == FRAMES and decoded[0].shape == read[0].rgb.shape
