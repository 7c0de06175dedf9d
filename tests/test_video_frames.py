"""Frames of a video in order with their times: video files (rotation tags, variable rates, corrupt frames), folders
of frames and image sequence patterns, and one clear message for what cannot be opened."""

import shutil

import cv2
import numpy as np
import pytest
from video_clips import corrupt_avi_frame, person_frames, set_frame_durations, tag_rotation, write_clip

from hkmr_studio.video.frames import FrameSourceError, open_frames


def _read_all(source):
    with open_frames(source) as frames:
        return frames, list(frames)


def test_video_file_gives_every_frame_in_rgb_with_its_time(tmp_path):
    bgr = person_frames(6)
    frames, read = _read_all(write_clip(tmp_path / "clip.avi", bgr, fps=10.0))
    assert frames.fps == 10.0 and frames.expected_frames == 6 and frames.label == "clip.avi"
    assert [f.index for f in read] == list(range(6)) and all(f.status == "ok" for f in read)
    np.testing.assert_allclose([f.time for f in read], np.arange(6) / 10.0, atol=1e-6)
    rgb = read[2].image.rgb
    assert rgb.shape == (240, 320, 3)
    assert np.abs(rgb.astype(int) - bgr[2][..., ::-1]).mean() < 6  # RGB order; JPEG loss only


def test_rotation_tag_turns_the_frames_upright(tmp_path):
    bgr = person_frames(3)
    bgr[0][:20, :40] = (255, 255, 255)  # a white mark at the top-left of the picture as stored
    path = write_clip(tmp_path / "portrait.mp4", bgr)
    tag_rotation(path, 90)
    frames, read = _read_all(path)
    assert read[0].image.rgb.shape == (320, 240, 3)  # stored landscape, shown portrait
    assert read[0].image.rgb[:20, -20:].mean() > 230  # turned clockwise: the mark is now top-right
    assert any("90 degrees" in note for note in frames.notes)


def test_variable_frame_rate_keeps_the_real_frame_times(tmp_path):
    path = write_clip(tmp_path / "vfr.mp4", person_frames(6), fps=10.0)
    set_frame_durations(path, [1, 1, 0.5, 0.5, 2, 1])
    _, read = _read_all(path)
    np.testing.assert_allclose([f.time for f in read], [0.0, 0.1, 0.2, 0.25, 0.3, 0.5], atol=1e-6)


def test_corrupt_frame_is_reported_unreadable_and_the_rest_follow(tmp_path):
    path = write_clip(tmp_path / "damaged.avi", person_frames(6), fps=10.0)
    corrupt_avi_frame(path, 3)
    _, read = _read_all(path)
    assert [f.status for f in read] == ["ok", "ok", "ok", "unreadable", "ok", "ok"]
    assert "frame 3" in read[3].message and "damaged.avi" in read[3].message
    times = [f.time for f in read]
    assert times == sorted(times) and times[3] == pytest.approx(0.3)


def test_folder_of_frames_in_number_order_with_a_broken_file_reported(tmp_path):
    for i, frame in enumerate(person_frames(3)):
        cv2.imwrite(str(tmp_path / f"f{[1, 2, 10][i]}.png"), frame)
    (tmp_path / "f5.png").write_bytes(b"not a png")
    with open_frames(tmp_path, fps=25.0) as frames:
        read = list(frames)
    assert frames.fps == 25.0
    assert [f.status for f in read] == ["ok", "ok", "unreadable", "ok"]
    assert "f5.png" in read[2].message
    np.testing.assert_allclose([f.time for f in read], np.arange(4) / 25.0)
    assert read[3].image.path.name == "f10.png"  # 10 after 5, not after 1


def test_printf_pattern_and_glob_give_the_same_sequence(tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    for i, frame in enumerate(person_frames(4)):
        cv2.imwrite(str(shots / f"frame_{i + 1:04d}.jpg"), frame)
    shutil.copy(shots / "frame_0001.jpg", shots / "frame_0009.jpg")  # after a gap: not part of the %04d sequence
    _, by_number = _read_all(str(shots / "frame_%04d.jpg"))
    _, by_glob = _read_all(str(shots / "frame_000[1-4].jpg"))
    assert [f.image.path.name for f in by_number] == [f"frame_{i:04d}.jpg" for i in range(1, 5)]
    assert [f.image.path.name for f in by_glob] == [f.image.path.name for f in by_number]


@pytest.mark.parametrize("name, expected", [
    ("missing.mp4", "Video not found"),
    ("junk.mp4", "cannot be opened as a video"),
    ("notes.txt", "is not a video"),
    ("none_%03d.png", "no frames found"),
])
def test_what_cannot_be_opened_gets_one_message_naming_it(tmp_path, name, expected):
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video" * 50)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FrameSourceError, match=expected) as error:
        open_frames(tmp_path / name)
    assert name.split("_")[0] in str(error.value)
