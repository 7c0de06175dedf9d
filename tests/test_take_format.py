"""The take file format: frame count, times and one body shape survive a write and a read; damage is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hkmr_studio.video.take import JSON_NAME, Take, TakeFileError, TakeTrack, read_take, take_dict, write_take


def _take(frames: int = 5) -> Take:
    rng = np.random.default_rng(0)
    raw = TakeTrack(rng.normal(size=(frames, 3)), rng.normal(size=(frames, 69)) * 0.1, rng.normal(size=(frames, 10)),
                    rng.normal(size=(frames, 3)))
    raw = raw.with_frame(2, **{name: np.full(width, np.nan) for name, width in
                              (("global_orient", 3), ("body_pose", 69), ("betas", 10), ("transl", 3))})
    shape = np.tile(raw.betas[[0, 1, 3, 4]].mean(axis=0), (frames, 1))
    smoothed = TakeTrack(raw.global_orient, raw.body_pose, shape, raw.transl)
    keypoints = rng.uniform(0, 640, size=(frames, 33, 2))
    keypoints[2] = np.nan
    return Take(source="clip.mp4", image_size=(640, 480), focal_length=800.0, fps=30.0,
                times=np.array([0.0, 1 / 30, 2 / 30, 0.1, 0.2]), status=("ok", "ok", "no_person", "ok", "ok"),
                messages=("", "", "No person found", "", ""), keypoints=keypoints,
                visibility=rng.uniform(size=(frames, 33)), raw=raw, smoothed=smoothed, smoothing={"strength": 0.5})


def test_a_written_take_reads_back_with_its_frames_times_and_one_shape(tmp_path):
    take = _take()
    back = read_take(write_take(tmp_path / "take", take))
    assert back.frame_count == 5
    np.testing.assert_array_equal(back.times, take.times)
    assert back.status == take.status and back.messages == take.messages
    np.testing.assert_array_equal(back.found, [True, True, False, True, True])
    assert np.allclose(back.smoothed.betas, back.smoothed.betas[0])
    np.testing.assert_allclose(back.shape, take.shape)
    np.testing.assert_array_equal(back.raw.body_pose, take.raw.body_pose)
    assert back.smoothing == {"strength": 0.5}


def test_the_json_lists_every_frame_with_parameters_only_where_a_body_was_found(tmp_path):
    folder = write_take(tmp_path / "take", _take())
    data = json.loads((folder / JSON_NAME).read_text())
    assert data["frame_count"] == 5 and data["frames_with_body"] == 4
    assert [f["status"] for f in data["frames"]] == ["ok", "ok", "no_person", "ok", "ok"]
    assert "body_pose" not in data["frames"][2] and len(data["frames"][3]["body_pose"]) == 23
    assert data == json.loads(json.dumps(take_dict(read_take(folder))))


def test_mismatched_frame_counts_are_refused_when_a_take_is_built():
    take = _take()
    with pytest.raises(ValueError, match="status"):
        Take(take.source, take.image_size, take.focal_length, take.fps, take.times, take.status[:4],
             take.messages, take.keypoints, take.visibility, take.raw)


@pytest.mark.parametrize("damage", ["missing", "not_npz", "other_format"])
def test_a_missing_or_damaged_take_file_is_refused_with_a_message(tmp_path, damage):
    folder = tmp_path / "take"
    if damage != "missing":
        write_take(folder, _take())
    if damage == "not_npz":
        (folder / "take.npz").write_bytes(b"not a zip")
    if damage == "other_format":
        data = dict(np.load(folder / "take.npz"))
        data["meta"] = np.array('{"format": "something/9"}')
        np.savez(folder / "take.npz", **data)
    with pytest.raises(TakeFileError, match="take"):
        read_take(folder)
