"""The window's Qt-free parts, driven without a window: the evented state, the frame mailbox and reader, the
analysis generator the workers run, and the messages errors become."""

import threading

import numpy as np
import pytest
import torch
from conftest import SAMPLE_PHOTO

from hkmr_studio.checkpoints import ModelFileError
from hkmr_studio.gui.analysis import (
    GPU_OUT_OF_MEMORY,
    Engine,
    Request,
    explain_error,
)
from hkmr_studio.gui.capture import CaptureError, FrameMailbox, VideoSource, read_frames
from hkmr_studio.gui.state import Choices, Document, Status, StudioState
from hkmr_studio.gui.testing import write_test_video
from hkmr_studio.pipeline.images import ImageLoadError, image_from_array, load_image
from hkmr_studio.pipeline.keypoints import Keypoints2D


def _frame(value: int = 0):
    return image_from_array(np.full((4, 4, 3), value, np.uint8))


def _recorder(state: StudioState) -> list:
    events = []
    state.documents_changed.connect(lambda: events.append(("documents",)))
    state.current_changed.connect(lambda d: events.append(("current", d.name if d else None)))
    state.live_changed.connect(lambda on: events.append(("live", on)))
    return events


def test_documents_open_select_and_close_in_order():
    state = StudioState(Choices(model="hkmr"))
    events = _recorder(state)
    a, b, c = (Document(name, _frame()) for name in "abc")
    state.add_documents([a, b])
    state.add_documents([c])
    state.select(b)
    state.remove(b)
    assert state.documents == [a, c] and state.current is a
    assert events == [("documents",), ("current", "a"), ("documents",), ("current", "c"), ("current", "b"),
                      ("documents",), ("current", "a")]


def test_the_live_document_is_shown_instead_of_the_photos_until_it_ends():
    state = StudioState(Choices(model="hkmr"))
    photo = Document("photo", _frame())
    state.add_documents([photo])
    events = _recorder(state)
    live = Document("Live", _frame(1))
    state.start_live(live)
    assert state.current is live and live not in state.documents
    state.end_live()
    assert state.current is photo and state.live_document is None
    state.start_live(live)
    state.remove(photo)
    state.end_live()
    assert state.current is None and not state.documents
    assert events == [("current", "Live"), ("live", True), ("current", "photo"), ("live", False),
                      ("current", "Live"), ("live", True), ("documents",), ("current", None), ("live", False)]


def test_choices_and_view_options_are_evented():
    state = StudioState(Choices(model="hkmr"))
    seen = []
    state.choices.events.device.connect(seen.append)
    state.view.events.mesh_opacity.connect(seen.append)
    state.choices.device = "cpu"
    state.choices.device = "cpu"  # unchanged: no event
    state.view.mesh_opacity = 0.25
    assert seen == ["cpu", 0.25]


def test_mailbox_keeps_only_the_newest_frame_and_counts_drops():
    mailbox = FrameMailbox()
    assert mailbox.put(1, _frame(1)) is True
    assert mailbox.put(2, _frame(2)) is False and mailbox.put(3, _frame(3)) is False
    number, frame = mailbox.take()
    assert number == 3 and frame.rgb[0, 0, 0] == 3 and mailbox.take() is None
    assert (mailbox.frames_read, mailbox.frames_dropped) == (3, 2)


def test_frame_reader_plays_a_video_file_and_stops_on_request(tmp_path):
    video = write_test_video(tmp_path / "clip.avi", SAMPLE_PHOTO, frames=12, fps=200)
    mailbox = FrameMailbox()
    reader = read_frames(VideoSource(file=video), mailbox, threading.Event())
    notifications = 0
    with pytest.raises(StopIteration) as end:
        while True:
            next(reader)
            notifications += 1
            assert mailbox.take() is not None
    assert end.value.value == 12 and mailbox.frames_read == 12 and notifications == 12
    stop = threading.Event()
    reader = read_frames(VideoSource(file=video), FrameMailbox(), stop)
    next(reader)
    stop.set()
    with pytest.raises(StopIteration) as end:
        next(reader)
    assert end.value.value == 1


def test_a_missing_video_says_what_to_check(tmp_path):
    with pytest.raises(CaptureError, match="Could not open 'none.avi'"):
        next(read_frames(VideoSource(file=tmp_path / "none.avi"), FrameMailbox(), threading.Event()))


@pytest.fixture(scope="module")
def engine():
    engine = Engine()
    yield engine
    engine.close()


def drain(steps):
    """Run an Engine.analyse generator to its end: (the stages it announced, the Analysis it returned)."""
    stages = []
    with pytest.raises(StopIteration) as done:
        while True:
            stages.append(next(steps))
    return stages, done.value.value


def test_engine_yields_each_stage_and_returns_the_overlay(engine, untrained_model_path):
    image = load_image(SAMPLE_PHOTO)
    stages, analysis = drain(engine.analyse(Request(image, str(untrained_model_path), "cpu")))
    assert stages == ["Loading the models…", "Recovering the body…", "Drawing the overlay…"]
    assert analysis.result.found and analysis.image is image
    width, height = image.original_size
    assert analysis.mesh_layer.shape == (height, width, 4) and analysis.mesh_layer[..., 3].any()
    flip = {"flip"} if analysis.result.facing.flagged else set()  # the untrained model's body faces any way
    assert set(analysis.timings) == {"detect", "regress", "mesh", "render"} | flip
    assert analysis.vertex_colors.shape == (13348, 3) and analysis.vertices_yup().shape == (13348, 3)
    np.testing.assert_allclose(analysis.joints_yup()[:, 1], -analysis.result.best.joints3d[:, 1])


def test_engine_refits_edited_keypoints_from_the_regressors_body(engine, untrained_model_path):
    image = load_image(SAMPLE_PHOTO)
    base = drain(engine.analyse(Request(image, str(untrained_model_path), "cpu")))[1]
    keypoints = base.result.keypoints
    moved = keypoints.xy.copy()
    moved[15] += (-40.0, -40.0)  # the left wrist
    edited = Keypoints2D(moved, keypoints.visibility, keypoints.present, "user")
    request = Request(image, str(untrained_model_path), "cpu", keypoints=edited, refit_from=base)
    stages, refit = drain(engine.analyse(request))
    assert stages == ["Refitting to the edited keypoints…", "Drawing the overlay…"]
    assert refit.result.regression is base.result.regression and refit.result.best is refit.result.fit
    assert refit.result.keypoints is edited and base.result.fit is None  # the base analysis is not changed
    assert refit.regression_layer.shape == refit.mesh_layer.shape and "refit" in refit.timings


def test_errors_become_messages_that_say_what_to_do():
    assert explain_error(torch.cuda.OutOfMemoryError("CUDA out of memory")) == GPU_OUT_OF_MEMORY
    assert explain_error(ImageLoadError("'x.jpg' is empty")) == "'x.jpg' is empty"
    assert explain_error(ModelFileError("model file not found: m.pt")) == "model file not found: m.pt"
    assert explain_error(ZeroDivisionError("division by zero")).startswith("Unexpected error (ZeroDivisionError")


def test_document_stems_are_file_safe():
    assert Document("Pasted image 2", _frame()).stem == "pasted_image_2"
    assert Document("photo.jpg", load_image(SAMPLE_PHOTO)).stem == "pose2sim_single_person"
    assert Document("photo", _frame()).status is Status.NEW
