"""The take timeline on its own (no window): status marks per frame, play steps through the take at its own frame
times and stops at its end; a take session smooths again at a new strength (0: the raw bodies); frames carry their
times and take indices only while they live."""

import numpy as np
import pytest

from hkmr_studio.gui.take_document import ImageTags, TakeSession, encode_frame
from hkmr_studio.gui.timeline import EDITED_COLOR, STATUS_COLORS, Timeline
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.video.smoothing import SmoothingSettings, smooth_take
from hkmr_studio.video.take import Take, TakeTrack

STATUS = ("ok", "ok", "no_person", "ok", "ok")


@pytest.fixture
def session():
    frames = len(STATUS)
    rng = np.random.default_rng(0)
    raw = TakeTrack(global_orient=rng.normal(0, 0.1, (frames, 3)), body_pose=rng.normal(0, 0.1, (frames, 69)),
                    betas=rng.normal(0, 0.5, (frames, 10)), transl=np.tile([0.0, 0.0, 3.0], (frames, 1)))
    found = np.array([s == "ok" for s in STATUS])
    raw = TakeTrack(**{name: np.where(found[:, None], value, np.nan) for name, value in vars(raw).items()})
    take = Take(source="clip.avi", image_size=(32, 24), focal_length=40.0, fps=20.0,
                times=np.arange(frames) * 0.05, status=STATUS, messages=("",) * frames,
                keypoints=np.full((frames, 33, 2), 10.0), visibility=np.ones((frames, 33)), raw=raw)
    settings = SmoothingSettings()
    images = [encode_frame(LoadedImage(np.full((24, 32, 3), 40 * i, np.uint8), None)) for i in range(frames)]
    return TakeSession(smooth_take(take, settings), images, settings)


def test_the_marks_show_each_frames_status_and_edits_and_play_runs_to_the_end(qtbot, session):
    timeline = Timeline()
    qtbot.addWidget(timeline)
    session.edited.add(3)
    shown = []
    timeline.frame_chosen.connect(lambda index: (setattr(session, "index", index), shown.append(index)))
    timeline.show_session(session)
    assert timeline.marks.colors == [STATUS_COLORS["ok"]] * 2 + [STATUS_COLORS["no_person"], EDITED_COLOR,
                                                                  STATUS_COLORS["ok"]]
    assert timeline.label.text() == "frame 1 / 5 · 0.00 s"
    timeline.play_button.click()
    assert timeline.playing
    qtbot.waitUntil(lambda: not timeline.playing, timeout=5000)
    assert shown == [1, 2, 3, 4] and timeline.slider.value() == 4
    session.index = 2
    timeline.refresh()
    assert timeline.label.text() == "frame 3 / 5 · 0.10 s · no person"
    timeline.show_session(None)
    assert timeline.isHidden()


def test_a_take_session_shows_each_frames_smoothed_body_and_smooths_again_at_a_new_strength(session):
    assert session.pose(2) is None and session.keypoints(2) is None  # no person there
    np.testing.assert_array_equal(session.pose(0)["body_pose"], session.take.smoothed.body_pose[0])
    assert session.image(4).rgb[0, 0, 0] == pytest.approx(160, abs=2)  # its JPEG copy
    session.resmooth(SmoothingSettings(strength=0.0))
    assert session.take.smoothed is None
    np.testing.assert_array_equal(session.pose(0)["body_pose"], session.take.raw.body_pose[0])


def test_image_tags_hold_a_value_per_frame_while_the_frame_lives():
    tags = ImageTags()
    kept, dropped = (LoadedImage(np.zeros((2, 2, 3), np.uint8), None) for _ in range(2))
    tags.tag(kept, 1.5)
    tags.tag(dropped, 2.5)
    equal_copy = LoadedImage(kept.rgb.copy(), None)  # the same pixels, another frame
    assert tags.get(kept) == 1.5 and tags.get(equal_copy) is None
    del dropped
    tags.tag(equal_copy, 3.5)
    assert len(tags) == 2 and tags.get(equal_copy) == 3.5  # the dropped frame's value is gone
