"""`hkmr-studio infer VIDEO`: one smoothed take per video with the animation files asked for, frame folders read as
videos on request, clear messages and exit statuses for what cannot be read, and Ctrl-C that leaves complete files."""

import json
import signal

import cv2
import numpy as np
import pygltflib
import pytest
from video_clips import corrupt_avi_frame, person_frames, write_clip

from hkmr_studio import video_batch
from hkmr_studio.bench.video import TARGET_FPS, video_figures
from hkmr_studio.cli import main
from hkmr_studio.video.take import read_take


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """8 frames at 10 fps: the sample person, nobody in frame 5, frame 6 damaged."""
    path = write_clip(tmp_path_factory.mktemp("videos") / "walk.avi", person_frames(8, blank=(5,)), fps=10.0)
    corrupt_avi_frame(path, 6)
    return path


@pytest.mark.slow  # loads the model, the body and MediaPipe: ~10 s on 2 busy cores
def test_video_gives_one_smoothed_take_with_the_animation_asked_for(clip, tmp_path, capsys, untrained_model_path):
    out = tmp_path / "out"
    code = main(["infer", str(clip), "--out", str(out), "--model", str(untrained_model_path), "--format", "bvh,glb",
                 "--smoothing", "0.5"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert sorted(p.name for p in (out / "walk").iterdir()) == ["take.json", "take.npz", "walk.bvh", "walk.glb"]
    take = read_take(out / "walk")
    assert take.frame_count == 8 and take.smoothed is not None and take.smoothing["strength"] == 0.5
    assert take.status[5] == "no_person" and take.status[6] == "unreadable" and take.found.sum() == 6
    np.testing.assert_allclose(take.times, np.arange(8) / 10.0, atol=1e-6)
    assert np.allclose(take.smoothed.betas[take.found], take.smoothed.betas[take.found][0])  # one body shape
    described = json.loads((out / "walk" / "take.json").read_text())
    assert described["frame_count"] == 8 and described["frames"][6]["status"] == "unreadable"
    report = json.loads((out / "report.json").read_text())
    assert report["videos"][0]["status"] == "recovered" and report["videos"][0]["frames"]["ok"] == 6
    assert "walk.avi: recovered (6 ok, 1 no person, 1 unreadable)" in printed.out
    assert "frames that could not be decoded: 6 (take.json" in printed.out
    assert "8/8" in printed.err  # the progress bar reached the last frame
    assert (out / "walk" / "walk.bvh").read_text().startswith("HIERARCHY")
    assert len(pygltflib.GLTF2().load(str(out / "walk" / "walk.glb")).animations) == 1


@pytest.mark.slow  # loads the model, the body and MediaPipe: ~10 s on 2 busy cores
def test_folder_of_frames_is_one_take_at_the_rate_given(tmp_path, capsys, untrained_model_path):
    frames = tmp_path / "shots"
    frames.mkdir()
    for i, frame in enumerate(person_frames(4)):
        cv2.imwrite(str(frames / f"frame_{i:03d}.png"), frame)
    out = tmp_path / "out"
    code = main(["infer", str(frames / "frame_%03d.png"), "--frames", "--fps", "12.5", "--out", str(out), "--model",
                 str(untrained_model_path), "--smoothing", "0"])
    assert code == 0, capsys.readouterr().err
    take = read_take(out / "frame_%03d")
    np.testing.assert_allclose(take.times, np.arange(4) / 12.5)
    assert take.fps == 12.5 and take.smoothed is None and take.found.all()


@pytest.mark.slow  # loads the model, the body and MediaPipe: ~10 s on 2 busy cores
def test_ctrl_c_ends_with_a_summary_and_a_complete_take_of_the_frames_done(clip, tmp_path, capsys, monkeypatch,
                                                                            untrained_model_path):
    recover = video_batch.recover_take

    def press_ctrl_c_at_frame_3(frames, pipeline, focal_length, progress):
        def then_ctrl_c(done, expected):
            progress(done, expected)
            if done == 3:
                signal.raise_signal(signal.SIGINT)  # as the terminal delivers it: through the installed handler
        return recover(frames, pipeline, focal_length, then_ctrl_c)

    monkeypatch.setattr(video_batch, "recover_take", press_ctrl_c_at_frame_3)
    second = write_clip(tmp_path / "second.avi", person_frames(3))
    out = tmp_path / "out"
    code = main(["infer", str(clip), str(second), "--out", str(out), "--model", str(untrained_model_path),
                 "--format", "bvh"])
    printed = capsys.readouterr().out
    assert code == 130
    take = read_take(out / "walk")
    assert take.frame_count == 3 and take.found.all()
    assert not (out / "walk" / "walk.bvh").exists() and not (out / "second").exists()
    report = json.loads((out / "report.json").read_text())
    assert [v["status"] for v in report["videos"]] == ["recovered", "not_processed"]
    assert "interrupted" in printed and "2 videos: 1 recovered, 1 not processed" in printed


def test_video_that_cannot_be_opened_is_one_message_and_exit_1(tmp_path, capsys, untrained_model_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 40)
    code = main(["infer", str(junk), "--out", str(tmp_path / "out"), "--model", str(untrained_model_path)])
    printed = capsys.readouterr().out
    assert code == 1
    assert "junk.mp4: unreadable" in printed and "cannot be opened as a video" in printed
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["videos"][0]["status"] == "unreadable"


@pytest.mark.parametrize("extra, message", [
    (["--format", "obj"], "unknown --format obj for videos"),
    (["--refine"], "--refine is for photos"),
    (["--smoothing", "3"], "--smoothing: smoothing strength"),
    (["--fps", "-1"], "--fps must be a positive number"),
])
def test_bad_video_options_exit_2_before_anything_runs(clip, tmp_path, capsys, extra, message):
    assert main(["infer", str(clip), "--out", str(tmp_path / "out"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_photos_and_videos_together_are_refused(clip, tmp_path, capsys):
    assert main(["infer", str(clip), str(tmp_path / "photo.jpg"), "--out", str(tmp_path / "out")]) == 2
    assert "photo.jpg is not a video" in capsys.readouterr().err


@pytest.mark.slow  # loads the model, the body and MediaPipe in both modes: ~15 s on 2 busy cores
def test_bench_video_gives_named_figures_and_the_ratio_to_the_target():
    figures = {figure.name: figure for figure in video_figures(frames=6)}
    assert figures["frames with a body (of 6)"].value == 6
    target = next(f for f in figures.values() if f.target is not None)
    assert target.target == TARGET_FPS and target.unit == "frames/s" and target.value > 0
    assert f"(target >= {TARGET_FPS:g}: {target.value / TARGET_FPS:.2f}x" in target.line()
    for stage in ("read", "detect in the take", "regress in the take", "pose in the take", "smooth", "regress alone"):
        assert next(f for name, f in figures.items() if name.startswith(stage)).value > 0, stage
    assert {"load average (1 min) as the take started", "load average (1 min) as it ended"} <= figures.keys()
