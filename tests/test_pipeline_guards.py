"""Nonsense is never reported as a body: NaN weights, collapsed keypoints, a tiny person and a body kilometres away
give 'could not recover a body' (with the CLI's exit status and report entry), and every JSON the app writes is
strict JSON."""

import json

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO

from hkmr_studio.body.landmarks import load_landmark_definition
from hkmr_studio.checkpoints import load_checkpoint, save_checkpoint
from hkmr_studio.cli import NOT_RECOVERED_EXIT, main
from hkmr_studio.export.params import write_params_json, write_params_npz
from hkmr_studio.pipeline import guards
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import LoadedImage, load_image
from hkmr_studio.pipeline.keypoints import Keypoints2D, save_keypoints_json
from hkmr_studio.settings import Settings, save_settings


def _reject_constant(name: str) -> None:
    raise ValueError(f"not strict JSON: {name}")


def strict_loads(text: str):
    return json.loads(text, parse_constant=_reject_constant)


def _keypoints(xy: np.ndarray) -> Keypoints2D:
    return Keypoints2D(xy, np.ones(33), np.ones(33, dtype=bool), "user")


@pytest.fixture(scope="module")
def nan_model_path(tmp_path_factory, untrained_model_path):
    model = load_checkpoint(untrained_model_path)
    for parameter in model.net.parameters():
        parameter.data.fill_(float("nan"))
    return save_checkpoint(tmp_path_factory.mktemp("models") / "nan.pt", model.net,
                           {"name": "nan-weights", "trained": True})


def test_nan_weights_are_refused_with_a_message_and_exit_status_and_no_files(tmp_path, capsys, nan_model_path):
    out = tmp_path / "out"
    code = main(["infer", str(SAMPLE_PHOTO), "--out", str(out), "--model", str(nan_model_path)])
    printed = capsys.readouterr().out
    assert code == NOT_RECOVERED_EXIT
    assert "Could not recover a body: the model produced numbers that are not finite" in printed
    assert "0 bodies recovered, 1 could not be recovered" in printed
    report = strict_loads((out / "report.json").read_text())
    [entry] = report["images"]
    assert (entry["image"], entry["status"]) == (str(SAMPLE_PHOTO), "not_recovered")
    assert "not finite" in entry["message"]
    assert [(p["status"], p["message"]) for p in entry["people"]] == [("not_recovered", entry["message"])]
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]


@pytest.mark.parametrize("points, expected", [
    (np.full((33, 2), 240.0), "lie on one line (or one point)"),
    (np.c_[np.linspace(100, 500, 33), np.linspace(100, 300, 33)], "lie on one line (or one point)"),
    (np.random.default_rng(0).uniform(300, 312, (33, 2)), "the person is only"),
])
def test_collapsed_keypoints_and_a_tiny_person_are_refused(points, expected, untrained_model_path):
    pipeline = Pipeline(model=untrained_model_path, device="cpu")
    result = pipeline.run(LoadedImage(np.zeros((480, 640, 3), np.uint8), None), keypoints=_keypoints(points))
    assert not result.found and result.refused and result.regression is None
    assert result.message.startswith("Could not recover a body: ") and expected in result.message


def test_a_body_kilometres_away_or_behind_the_camera_is_refused():
    body = {"transl": np.array([0.0, 0.0, 8900.0]), "vertices": np.zeros((5, 3))}
    assert "8,900 m from the camera (more than 200 m)" in guards.body_reason(body)
    assert "behind the camera" in guards.body_reason({**body, "transl": np.array([0.0, 0.0, -2.0])})
    assert guards.body_reason({**body, "transl": np.array([0.1, 0.2, 4.0])}) == ""


def test_every_json_the_app_writes_is_strict(tmp_path, untrained_model_path):
    """A result whose keypoints carry a NaN world landmark and a NaN timing: params JSON and NPZ metadata, the
    keypoint file, the settings, the landmark definition and the infer report all parse with NaN refused."""
    pipeline = Pipeline(model=untrained_model_path, device="cpu")
    result = pipeline.run(load_image(SAMPLE_PHOTO))
    assert result.found
    result.keypoints.world[3, 2] = float("nan")
    result = result.replaced(timings={**result.timings, "render": float("inf")})
    strict_loads(write_params_json(tmp_path / "p.json", result).read_text())
    with np.load(write_params_npz(tmp_path / "p.npz", result)) as data:
        strict_loads(str(data["metadata_json"]))
    saved = strict_loads(save_keypoints_json(tmp_path / "k.json", result.keypoints).read_text())
    assert "world_landmarks" not in saved  # left out rather than written as null: the file stays loadable
    strict_loads(save_settings(Settings(), tmp_path / "settings.json").read_text())
    strict_loads(load_landmark_definition().to_json({"note": float("nan")}))
    main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path / "o"), "--model", str(untrained_model_path),
          "--format", "json"])
    strict_loads((tmp_path / "o" / "report.json").read_text())
    strict_loads((tmp_path / "o" / f"{SAMPLE_PHOTO.stem}_params.json").read_text())
