"""The body in every frame of a video: MediaPipe tracking across frames, a status per frame, one take that saves and
reads back, and Ctrl-C that keeps what finished."""

import mediapipe
import numpy as np
import pytest
from video_clips import corrupt_avi_frame, person_frames, write_clip

from hkmr_studio.pipeline.core import PipelineResult
from hkmr_studio.pipeline.images import image_from_array
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.video.frames import open_frames
from hkmr_studio.video.recover import TakeRecorder, recover_take
from hkmr_studio.video.take import read_take, write_take

FRAMES, BLANK, CORRUPT = 10, (4, 5), 7


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 10-frame clip at 10 fps: the sample person drifting, nobody in frames 4 and 5, frame 7 damaged."""
    path = write_clip(tmp_path_factory.mktemp("clips") / "walk.avi", person_frames(FRAMES, blank=BLANK), fps=10.0)
    corrupt_avi_frame(path, CORRUPT)
    return path


_BUILT: list["_PoseSpy"] = []


class _PoseSpy(mediapipe.solutions.pose.Pose):
    """MediaPipe Pose that records how it was built and how many frames it processed."""

    def __init__(self, **options):
        super().__init__(**options)
        self.options, self.frames = options, 0
        _BUILT.append(self)

    def process(self, image):
        self.frames += 1
        return super().process(image)


@pytest.fixture(scope="module")
def recovered(clip, untrained_pipeline):
    with pytest.MonkeyPatch.context() as patch:
        _BUILT.clear()
        patch.setattr(mediapipe.solutions.pose, "Pose", _PoseSpy)
        with open_frames(clip) as frames:
            return recover_take(frames, untrained_pipeline), list(_BUILT)


@pytest.mark.slow  # MediaPipe and the body load once per module: ~10 s on 2 busy cores
def test_every_frame_gets_its_time_and_status(recovered):
    take = recovered[0].take
    expected = ["ok"] * FRAMES
    for i in BLANK:
        expected[i] = "no_person"
    expected[CORRUPT] = "unreadable"
    assert take.status == tuple(expected) and take.frame_count == FRAMES
    np.testing.assert_allclose(take.times, np.arange(FRAMES) / 10.0, atol=1e-6)
    assert take.source == "walk.avi" and take.fps == 10.0 and take.image_size == (320, 240)
    assert "No person found" in take.messages[4] and "could not be decoded" in take.messages[CORRUPT]
    assert recovered[0].interrupted is False


@pytest.mark.slow  # MediaPipe and the body load once per module: ~10 s on 2 busy cores
def test_frames_with_a_body_have_parameters_and_keypoints_the_others_none(recovered):
    take = recovered[0].take
    found = take.found
    assert np.isfinite(take.raw.body_pose[found]).all() and np.isfinite(take.keypoints[found]).all()
    assert np.isnan(take.raw.transl[~found]).all() and np.isnan(take.visibility[~found]).all()
    # the person drifts right by 2 px a frame: the keypoints follow
    shift = np.nanmedian(take.keypoints[3, :, 0] - take.keypoints[0, :, 0])
    assert shift == pytest.approx(6.0, abs=2.0)


@pytest.mark.slow  # MediaPipe and the body load once per module: ~10 s on 2 busy cores
def test_one_detector_in_video_mode_tracks_across_all_frames(recovered):
    built = recovered[1]
    assert len(built) == 1, "one MediaPipe graph serves the whole video"
    assert built[0].options["static_image_mode"] is False
    assert built[0].frames == FRAMES - 1  # every decodable frame; the damaged one never reaches it


@pytest.mark.slow  # MediaPipe and the body load once per module: ~10 s on 2 busy cores
def test_take_saves_and_reads_back_with_one_shape(recovered, tmp_path):
    take = recovered[0].take
    again = read_take(write_take(tmp_path / "walk", take))
    assert again.status == take.status and np.array_equal(again.times, take.times)
    np.testing.assert_array_equal(again.raw.body_pose, take.raw.body_pose)
    assert again.shape.shape == (10,) and np.isfinite(again.shape).all()


@pytest.mark.slow  # MediaPipe and the body load once per module: ~10 s on 2 busy cores
def test_ctrl_c_ends_with_the_frames_done_as_a_complete_take(clip, untrained_pipeline):
    def press_ctrl_c_after_three(done, expected):
        assert expected == FRAMES
        if done == 3:
            raise KeyboardInterrupt

    with open_frames(clip) as frames:
        outcome = recover_take(frames, untrained_pipeline, progress=press_ctrl_c_after_three)
    assert outcome.interrupted and outcome.take.frame_count == 3 and outcome.take.status == ("ok",) * 3


@pytest.mark.slow  # MediaPipe and the body load once per module: ~10 s on 2 busy cores
def test_joints_posed_without_the_mesh_match_the_full_bodys(recovered, untrained_pipeline):
    take = recovered[0].take
    keypoints = Keypoints2D(xy=take.keypoints[0], visibility=take.visibility[0], present=np.ones(33, bool),
                            source="mediapipe")
    image = image_from_array(np.zeros((240, 320, 3), np.uint8))
    full = untrained_pipeline.run(image, keypoints=keypoints, facing=False)
    joints_only = untrained_pipeline.run(image, keypoints=keypoints, facing=False, mesh=False)
    assert full.regression.vertices.shape[0] > 6000 and joints_only.regression.vertices.shape == (0, 3)
    np.testing.assert_allclose(joints_only.regression.joints3d, full.regression.joints3d, atol=1e-5)
    np.testing.assert_allclose(joints_only.regression.joints2d, full.regression.joints2d, atol=1e-3)


def _result(size=(320, 240), found=False, refused=False, message="no body"):
    image = image_from_array(np.zeros((size[1], size[0], 3), np.uint8))
    return PipelineResult(image=image, found=found, refused=refused, message=message, focal_length=400.0)


def test_recorder_marks_refused_frames_and_frames_of_another_size():
    recorder = TakeRecorder("camera 0", fps=30.0)
    assert recorder.add(0.0, _result(refused=True, message="Could not recover a body: too small")) == "refused"
    assert recorder.add(0.04, _result(size=(640, 480))) == "unreadable"
    take = recorder.take()
    assert take.image_size == (320, 240) and take.focal_length == 400.0
    assert take.messages[0].startswith("Could not recover") and "640 x 480" in take.messages[1]


def test_recorder_refuses_a_frame_time_that_goes_back():
    recorder = TakeRecorder("camera 0", fps=30.0)
    recorder.add(1.0, _result())
    with pytest.raises(ValueError, match="not after the previous frame"):
        recorder.add(1.0, _result())
