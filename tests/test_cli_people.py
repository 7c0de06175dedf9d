"""`hkmr-studio infer` with several people: --person all|largest|N, repeated --box, per-person outputs named
PHOTO_p0, PHOTO_p1, the people listed with their boxes in the parameters and report.json, and keypoint files matched
to the photos of a folder."""

import json

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from PIL import Image

from hkmr_studio.cli import main
from hkmr_studio.pipeline.keypoints import COCO17_FROM_MEDIAPIPE33


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The sample photo twice side by side: two people, p0 on the left."""
    folder = tmp_path_factory.mktemp("pair")
    sample = np.asarray(Image.open(SAMPLE_PHOTO).convert("RGB"))
    Image.fromarray(np.tile(sample, (1, 2, 1))).save(folder / "pair.png")
    return folder / "pair.png"


def _infer(photo, out, model, *extra):
    return main(["infer", str(photo), "--out", str(out), "--model", str(model), "--format", "json", *extra])


@pytest.mark.slow
def test_all_people_get_their_own_outputs_listing_everyone_with_boxes(pair, tmp_path, capsys, untrained_model_path):
    out = tmp_path / "out"
    assert _infer(pair, out, untrained_model_path) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["pair_p0_overlay.png", "pair_p0_params.json", "pair_p1_overlay.png", "pair_p1_params.json",
                     "report.json"]
    for index in (0, 1):
        params = json.loads((out / f"pair_p{index}_params.json").read_text())
        assert params["person"] == index and [p["label"] for p in params["people"]] == ["p0", "p1"]
        left = params["people"][index]["box"][0]
        assert (left < 612) == (index == 0)  # p0 is the left copy
        nose_x = params["keypoints"]["xy"][0][0]
        assert (nose_x < 612) == (index == 0)  # and each file holds its own person's keypoints
    report = json.loads((out / "report.json").read_text())
    people = report["images"][0]["people"]
    assert [(p["label"], p["status"], p["source"]) for p in people] == [("p0", "recovered", "detected"),
                                                                        ("p1", "recovered", "detected")]
    assert "1 image: 2 bodies recovered" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize(("choice", "expected"), [("1", ["pair_p1_params.json"]), ("largest", None)])
def test_person_picks_one_by_number_or_size(pair, tmp_path, untrained_model_path, choice, expected):
    out = tmp_path / "out"
    assert _infer(pair, out, untrained_model_path, "--person", choice) == 0
    written = sorted(p.name for p in out.glob("*_params.json"))
    assert len(written) == 1 and (expected is None or written == expected)
    params = json.loads((out / written[0]).read_text())
    assert len(params["people"]) == 2 and f"pair_p{params['person']}_params.json" == written[0]


@pytest.mark.slow
def test_a_person_number_the_photo_lacks_is_reported_by_name(pair, tmp_path, capsys, untrained_model_path):
    assert _infer(pair, tmp_path / "out", untrained_model_path, "--person", "5") == 0
    assert "person 5 asked for, but the photo shows 2 (0 to 1" in capsys.readouterr().out


@pytest.mark.slow
def test_repeated_boxes_give_one_person_each(pair, tmp_path, untrained_model_path):
    out = tmp_path / "out"
    assert _infer(pair, out, untrained_model_path, "--box", "650,150,560,700", "--box", "20,150,560,700") == 0
    params = [json.loads((out / f"pair_p{i}_params.json").read_text()) for i in (0, 1)]
    assert [p["people"][p["person"]]["source"] for p in params] == ["box", "box"]
    assert params[0]["people"][0]["box"][0] < 612 <= params[1]["people"][1]["box"][0]


def test_person_must_be_all_largest_or_a_number(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path), "--person", "tallest"])
    assert "use all, largest or a number" in capsys.readouterr().err


def _coco(x: float) -> list[float]:
    """A COCO-17 person standing at x: nose on top, ankles at the bottom."""
    heights = np.linspace(0.0, 1.0, 17)
    return [v for y in heights for v in (x + 40 * np.sin(7 * y), 100 + 500 * y, 2)]


def test_coco_file_over_a_folder_gives_each_photo_its_people(tmp_path, capsys, untrained_model_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((700, 800, 3), 120, np.uint8)).save(folder / name)
    coco = {"images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
            "annotations": [{"image_id": 1, "keypoints": _coco(200)}, {"image_id": 1, "keypoints": _coco(600)},
                            {"image_id": 2, "keypoints": _coco(400)}]}
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    out = tmp_path / "out"
    assert _infer(folder, out, untrained_model_path, "--keypoints", str(tmp_path / "coco.json")) == 0
    assert sorted(p.name for p in out.glob("*_params.json")) == ["a_p0_params.json", "a_p1_params.json",
                                                                 "b_params.json"]
    nose = COCO17_FROM_MEDIAPIPE33[0]
    a1 = json.loads((out / "a_p1_params.json").read_text())
    assert a1["keypoints"]["xy"][nose][0] == pytest.approx(600) and a1["people"][1]["source"] == "keypoints"
    assert json.loads((out / "b_params.json").read_text())["keypoints"]["xy"][nose][0] == pytest.approx(400)


def test_keypoints_that_cannot_be_matched_refuse_the_run(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((60, 80, 3), 120, np.uint8)).save(folder / name)
    (tmp_path / "one.json").write_text(json.dumps({"keypoints": _coco(20)}))
    assert main(["infer", str(folder), "--out", str(tmp_path / "out"), "--keypoints", str(tmp_path / "one.json")]) == 2
    assert "holds the keypoints of one photo but 2 photos were given" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
