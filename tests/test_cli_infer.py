"""`hkmr-studio infer` over a folder: per-image outputs, clear messages for bad files, honest exit codes."""

import json
import shutil

import numpy as np
import pytest
import torch
import trimesh
from conftest import SAMPLE_PHOTO
from PIL import Image

from hkmr_studio.body.model import load_body_model
from hkmr_studio.cli import main


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    shutil.copy(SAMPLE_PHOTO, folder / "person.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    Image.fromarray(np.full((240, 320, 3), 180, np.uint8)).save(folder / "wall.png")
    return folder


def test_folder_with_bad_files_processes_the_photo_and_reports_the_rest(mixed_folder, tmp_path, capsys,
                                                                        untrained_model_path):
    out = tmp_path / "out"
    code = main(["infer", str(mixed_folder), "--out", str(out), "--model", str(untrained_model_path),
                 "--format", "json,obj,glb"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "skipped" in printed and "empty.jpg" in printed and "corrupt.png" in printed
    assert "no person in" in printed and "wall.png" in printed
    assert "UNTRAINED" in printed
    assert "4 images: 1 body recovered, 0 could not be recovered, 1 without a person, 2 unreadable" in printed
    report = json.loads((out / "report.json").read_text())
    assert {entry["image"].split("/")[-1]: entry["status"] for entry in report["images"]} == {
        "person.jpg": "recovered", "wall.png": "no_person", "empty.jpg": "unreadable", "corrupt.png": "unreadable"}
    params = json.loads((out / "person_params.json").read_text())
    assert len(params["joints3d"]) == 24 and len(params["body_pose"]) == 23 and len(params["betas"]) == 10
    assert params["keypoints"]["source"] == "mediapipe" and params["model_trained"] is False
    mesh = trimesh.load(out / "person.glb", force="mesh")
    assert len(mesh.vertices) == 13348
    assert (out / "person.obj").stat().st_size > 0 and (out / "person_overlay.png").is_file()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_nothing_processable_exits_nonzero(tmp_path, capsys, untrained_model_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    assert main(["infer", str(bad), "--out", str(tmp_path / "o"), "--model", str(untrained_model_path)]) == 1


def test_missing_model_and_bad_arguments_say_what_to_do(tmp_path, capsys):
    assert main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path), "--model", str(tmp_path / "none.pt")]) == 2
    assert "model file not found" in capsys.readouterr().err
    assert main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path), "--format", "stl"]) == 2
    assert "unknown --format stl" in capsys.readouterr().err


def test_refine_fits_the_body_to_the_detected_keypoints(tmp_path, capsys):
    """From the shipped model's body, SMPLify pulls the body onto the keypoints MediaPipe found (from an untrained
    one's it is discarded: the fit passes the limbs through each other)."""
    out = tmp_path / "out"
    assert main(["infer", str(SAMPLE_PHOTO), "--out", str(out), "--refine"]) == 0
    params = json.loads((out / f"{SAMPLE_PHOTO.stem}_params.json").read_text())
    assert params["result"] == "fit"
    joints2d = np.array(params["joints2d"])
    kp = np.array(params["keypoints"]["xy"])
    visible = np.array(params["keypoints"]["visibility"]) > 0.5
    # Left and right wrists (SMPL 20/21) land near MediaPipe's wrists (15/16) when those are visible: within 60 px
    # on a ~900 px tall person, the offset between MediaPipe's wrist and the skeleton's wrist joint plus fit slack.
    assert visible[15] and visible[16]
    for smpl, mp in ((20, 15), (21, 16)):
        assert np.linalg.norm(joints2d[smpl] - kp[mp]) < 60.0
    # The person's left wrist is on the image side where MediaPipe put it (he faces away: left is image-left).
    assert (joints2d[20, 0] < joints2d[21, 0]) == (kp[15, 0] < kp[16, 0])
    # A plausible adult: standing height of the fitted shape in the rest pose.
    body = load_body_model()
    with torch.no_grad():
        rest = body(torch.zeros(1, 3), torch.zeros(1, 69), torch.tensor([params["betas"]], dtype=torch.float32))
    height = float(rest.vertices[0, :, 1].max() - rest.vertices[0, :, 1].min())
    assert 1.3 < height < 2.1


def test_coco17_keypoints_alone_give_a_body_about_as_close_to_them_as_full_landmarks(tmp_path, capsys):
    """COCO-17 keypoints (no face mesh, hands, feet or world landmarks) through the CLI: the shipped HKMR recovers a
    body whose limb joints project onto the given keypoints about as closely as from MediaPipe's full output."""
    from hkmr_studio.body.keypoint_sets import COCO17_FROM_MEDIAPIPE33
    from hkmr_studio.pipeline.detection import PoseDetector
    from hkmr_studio.pipeline.images import load_image

    with PoseDetector() as detector:
        detected = detector.detect(load_image(SAMPLE_PHOTO).rgb).keypoints
    coco = [[*map(float, detected.xy[i]), 2 if detected.visibility[i] >= 0.5 else 1] for i in COCO17_FROM_MEDIAPIPE33]
    path = tmp_path / "coco.json"
    path.write_text(json.dumps([v for point in coco for v in point]))  # a bare COCO keypoint list
    smpl = [18, 19, 20, 21, 4, 5, 7, 8]  # SMPL's elbows, wrists, knees, ankles ...
    given = detected.xy[[13, 14, 15, 16, 25, 26, 27, 28]]  # ... and MediaPipe's (COCO's) at the same places
    height = np.ptp(detected.xy[[0, 27, 28], 1])

    def limb_error(extra: list[str], out: str) -> tuple[float, dict]:
        assert main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path / out), "--format", "json", *extra]) == 0
        params = json.loads((tmp_path / out / f"{SAMPLE_PHOTO.stem}_params.json").read_text())
        return float(np.linalg.norm(np.array(params["joints2d"])[smpl] - given, axis=1).mean()), params

    coco_error, params = limb_error(["--keypoints", str(path)], "coco")
    full_error, _ = limb_error([], "full")
    assert params["keypoints"]["source"] == "coco-json"
    assert coco_error < 1.5 * full_error + 0.02 * height
