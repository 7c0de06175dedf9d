"""Parts of the window's take work that need no window: Preferences set the takes' smoothing strength, File ▸ Export
Take's BVH in centimetres is the metres one scaled 100 times, and a camera that cannot be opened says what to check."""

import threading

import numpy as np
import pybvh
import pytest

from hkmr_studio.body.model import load_body_model
from hkmr_studio.gui.capture import CaptureError, FrameMailbox, VideoSource, read_frames
from hkmr_studio.gui.preferences import PreferencesDialog
from hkmr_studio.gui.take_document import TakeSession, encode_frame
from hkmr_studio.gui.take_export import take_export_name, write_take_file
from hkmr_studio.gui.testing import settings_folder
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.settings import Settings
from hkmr_studio.video.smoothing import SmoothingSettings, smooth_take
from hkmr_studio.video.take import Take, TakeTrack


def test_preferences_show_and_set_the_takes_smoothing_strength(qtbot, tmp_path):
    with settings_folder(tmp_path / "config"):
        dialog = PreferencesDialog(Settings(smoothing_strength=0.3))
        qtbot.addWidget(dialog)
        assert dialog.smoothing_strength() == 0.3
        dialog.smoothing_box.setValue(0.0)
        assert dialog.smoothing_strength() == 0.0  # off
        dialog.smoothing_box.setValue(1.7)
        assert dialog.smoothing_strength() == 1.0  # the strongest there is


def test_the_bvh_in_centimetres_is_the_bvh_in_metres_scaled(tmp_path):
    frames = 4
    rng = np.random.default_rng(1)
    raw = TakeTrack(global_orient=rng.normal(0, 0.1, (frames, 3)), body_pose=rng.normal(0, 0.1, (frames, 69)),
                    betas=np.zeros((frames, 10)), transl=np.tile([0.1, 0.2, 3.0], (frames, 1)))
    take = Take(source="clip.avi", image_size=(32, 24), focal_length=40.0, fps=10.0, times=np.arange(frames) / 10,
                status=("ok",) * frames, messages=("",) * frames, keypoints=np.full((frames, 33, 2), 10.0),
                visibility=np.ones((frames, 33)), raw=raw)
    image = encode_frame(LoadedImage(np.zeros((24, 32, 3), np.uint8), None))
    session = TakeSession(smooth_take(take, SmoothingSettings()), [image] * frames, SmoothingSettings())
    body = load_body_model()
    metres = pybvh.read_bvh_file(write_take_file(session, body, tmp_path / take_export_name("t", "bvh"), "bvh"),
                                 world_up="+y")
    centimetres = pybvh.read_bvh_file(
        write_take_file(session, body, tmp_path / take_export_name("t", "bvh-cm"), "bvh-cm"), world_up="+y")
    assert take_export_name("t", "bvh-cm") == "t_cm.bvh" and metres.frame_count == centimetres.frame_count == frames
    np.testing.assert_allclose(centimetres.root_pos, 100 * metres.root_pos, rtol=1e-5)
    np.testing.assert_allclose(centimetres.joint_angles, metres.joint_angles, atol=1e-6)


def test_a_camera_that_cannot_be_opened_says_what_to_check():
    with pytest.raises(CaptureError, match="Could not open camera 97: check that it is connected"):
        next(read_frames(VideoSource(camera=97), FrameMailbox(), threading.Event()))
