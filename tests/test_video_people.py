"""Several people in a video (`infer VIDEO --person`): a take per person, ids kept when two people cross and when one
steps out and comes back, frames without the person marked no_person, --person picking whose takes are written, and
Ctrl-C keeping each person's take of the frames done."""

import json
import signal

import cv2
import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from video_clips import write_clip

from hkmr_studio import video_batch
from hkmr_studio.cli import main
from hkmr_studio.pipeline.people import PersonChoiceError
from hkmr_studio.video.frames import open_frames
from hkmr_studio.video.people_takes import pick_people, recover_people_takes
from hkmr_studio.video.take import read_take

SIZE = (360, 240)  # (width, height) px: small frames, each person ~240 px tall


def _sprite(height: int, mirrored: bool = False) -> np.ndarray:
    """The sample photo (BGR) scaled to `height` px, mirrored left to right when asked."""
    photo = cv2.imread(str(SAMPLE_PHOTO))
    sprite = cv2.resize(photo, (round(photo.shape[1] * height / photo.shape[0]), height), interpolation=cv2.INTER_AREA)
    return sprite[:, ::-1] if mirrored else sprite


def _scene(placed: list[tuple[np.ndarray, int]], size: tuple[int, int] = SIZE) -> np.ndarray:
    """A light grey (H, W, 3) BGR frame of `size` (width, height) with each sprite pasted at its left x, standing on
    the bottom edge; later sprites in front."""
    width, height = size
    frame = np.full((height, width, 3), 235, np.uint8)
    for sprite, x in placed:
        frame[height - sprite.shape[0]:, x:x + sprite.shape[1]] = sprite
    return frame


def crossing_frames(count: int) -> list[np.ndarray]:
    """Two copies of the sample person (the second mirrored) walking towards each other and past: the first from the
    left edge to the right one, the second the other way, in front of the first where they overlap."""
    left, right = _sprite(SIZE[1]), _sprite(SIZE[1], mirrored=True)
    travel = SIZE[0] - left.shape[1]
    return [_scene([(left, round(travel * i / (count - 1))), (right, travel - round(travel * i / (count - 1)))])
            for i in range(count)]


def _centres(take) -> np.ndarray:
    """(T,) median x of each frame's keypoints (NaN without the person)."""
    with np.errstate(all="ignore"):
        return np.array([np.nanmedian(xy[:, 0]) if np.isfinite(xy).any() else np.nan for xy in take.keypoints])


@pytest.mark.slow  # MediaPipe, the person detector and the body: ~15 s on 2 busy cores
def test_two_people_crossing_keep_their_ids_in_a_take_each(tmp_path, capsys, untrained_model_path):
    clip = write_clip(tmp_path / "cross.avi", crossing_frames(8))
    out = tmp_path / "out"
    code = main(["infer", str(clip), "--person", "all", "--out", str(out), "--model", str(untrained_model_path),
                 "--format", "bvh", "--smoothing", "0"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert sorted(p.name for p in (out / "cross").iterdir()) == ["p0", "p1"]
    first, second = read_take(out / "cross" / "p0"), read_take(out / "cross" / "p1")
    assert (first.person_id, second.person_id) == (0, 1)
    assert first.frame_count == second.frame_count == 8
    assert (out / "cross" / "p1" / "cross_p1.bvh").read_text().startswith("HIERARCHY")
    # p0 started on the left and walks right, p1 the other way, through the crossing (one may be hidden there)
    for take, direction in ((first, 1), (second, -1)):
        centres = _centres(take)[take.found]
        assert take.found[[0, 1, -1]].all() and take.found.sum() >= 5
        assert (np.diff(centres) * direction > 0).all(), centres
    assert _centres(first)[0] < SIZE[0] / 2 < _centres(second)[0]
    hidden = [i for i, status in enumerate(first.status) if status != "ok"]
    assert all(first.status[i] == "no_person" and "p0 is not seen" in first.messages[i] for i in hidden)
    report = json.loads((out / "report.json").read_text())["videos"][0]
    assert report["status"] == "recovered" and [p["person_id"] for p in report["people"]] == [0, 1]
    assert report["people"][1]["take"] == str(out / "cross" / "p1")
    assert report["people"][0]["frames"]["ok"] == first.found.sum()
    assert "2 people seen; p0: recovered" in printed.out


@pytest.mark.slow  # MediaPipe, the person detector and the body: ~10 s on 2 busy cores
def test_person_who_steps_out_for_a_few_frames_keeps_their_id(tmp_path, untrained_pipeline):
    """Two people standing; the one on the right is gone in frames 3 to 5 and back in 6."""
    left, right = _sprite(SIZE[1]), _sprite(SIZE[1], mirrored=True)
    frames = [_scene([(left, 0)] + ([] if 3 <= i <= 5 else [(right, SIZE[0] - right.shape[1])])) for i in range(8)]
    with open_frames(write_clip(tmp_path / "step_out.avi", frames)) as source:
        recovered = recover_people_takes(source, untrained_pipeline)
    assert sorted(recovered.takes) == [0, 1] and sorted(recovered.boxes) == [0, 1]
    stays, leaves = recovered.takes[0], recovered.takes[1]
    assert stays.found.all()
    assert leaves.status == ("ok",) * 3 + ("no_person",) * 3 + ("ok",) * 2
    assert np.isnan(leaves.keypoints[3:6]).all() and np.isnan(leaves.raw.body_pose[3:6]).all()
    assert _centres(leaves)[6] == pytest.approx(_centres(leaves)[2], abs=10)  # back where they were
    assert recovered.searched_frames < 8 and recovered.bodies == 8 + 5  # following people skipped the detector


@pytest.mark.slow  # MediaPipe, the person detector and the body: ~10 s on 2 busy cores
def test_person_largest_writes_one_take_of_the_larger_person(tmp_path, capsys, untrained_model_path):
    size = (480, 320)  # MediaPipe missed the smaller person now and then in the first frame at 360 x 240
    big, small = _sprite(size[1]), _sprite(round(size[1] * 0.85), mirrored=True)
    frames = [_scene([(small, 30 + 4 * i), (big, size[0] - big.shape[1] - 4 * i)], size) for i in range(3)]
    clip = write_clip(tmp_path / "pair.avi", frames)
    out = tmp_path / "out"
    code = main(["infer", str(clip), "--person", "largest", "--out", str(out), "--model", str(untrained_model_path)])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())["videos"][0]
    people = {p["person_id"]: p for p in report["people"]}
    assert len(people) == 2 and people[0]["box"][0] < people[1]["box"][0]  # p0 is the small one on the left
    assert people[0]["status"] == "not_picked" and people[0]["take"] is None
    assert people[1]["status"] == "recovered"
    assert [p.name for p in (out / "pair").iterdir()] == ["p1"]
    assert read_take(out / "pair" / "p1").person_id == 1


def test_pick_people_all_largest_or_an_id_and_a_missing_id_names_who_exist():
    boxes = {0: [(0, 0, 10, 20)] * 5, 1: [(50, 0, 30, 60)] * 2, 2: [(90, 0, 10, 20)]}
    assert pick_people(boxes, "all") == [0, 1, 2]
    assert pick_people(boxes, "largest") == [1]  # 2 frames of 1800 px^2 outweigh 5 of 200
    assert pick_people(boxes, 2) == [2]
    assert pick_people({}, "largest") == []
    with pytest.raises(PersonChoiceError, match=r"person 3 asked for, but the video shows 3 \(0 to 2"):
        pick_people(boxes, 3)


@pytest.mark.slow  # MediaPipe, the person detector and the body: ~10 s on 2 busy cores
def test_ctrl_c_keeps_each_persons_take_of_the_frames_done(tmp_path, capsys, monkeypatch, untrained_model_path):
    recover = video_batch.recover_people_takes

    def press_ctrl_c_at_frame_2(frames, pipeline, which, focal_length, progress):
        def then_ctrl_c(done, expected):
            progress(done, expected)
            if done == 2:
                signal.raise_signal(signal.SIGINT)  # as the terminal delivers it: through the installed handler
        return recover(frames, pipeline, which, focal_length, then_ctrl_c)

    monkeypatch.setattr(video_batch, "recover_people_takes", press_ctrl_c_at_frame_2)
    clip = write_clip(tmp_path / "cross.avi", crossing_frames(6))
    out = tmp_path / "out"
    code = main(["infer", str(clip), "--person", "all", "--out", str(out), "--model", str(untrained_model_path),
                 "--format", "bvh"])
    assert code == 130, capsys.readouterr().err
    takes = [read_take(out / "cross" / f"p{i}") for i in (0, 1)]
    assert [t.frame_count for t in takes] == [2, 2] and all(t.found.all() for t in takes)
    assert not list((out / "cross").rglob("*.bvh"))  # no animation of a cut-short take
    report = json.loads((out / "report.json").read_text())["videos"][0]
    assert [p["status"] for p in report["people"]] == ["recovered", "recovered"]
    assert "interrupted" in report["people"][0]["message"]
