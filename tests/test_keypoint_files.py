"""Keypoint files matched to photos (hkmr_studio.keypoint_files): a COCO file gives each photo its own people by file
name, a folder of JSONs matches by stem, and whatever cannot be matched is refused by name."""

import json

import numpy as np
import pytest

from hkmr_studio.keypoint_files import keypoints_for_photos
from hkmr_studio.pipeline.keypoints import KeypointFileError, Keypoints2D, save_keypoints_json


def _coco_keypoints(x: float) -> list[float]:
    """17 labelled COCO keypoints, the nose at (x, 10)."""
    return [v for k in range(17) for v in (x + k, 10.0 + 10 * k, 2)]


def _photos(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"")  # matching reads names only
    return [folder / name for name in names]


def _nose_x(people: list[Keypoints2D]) -> list[float]:
    return [float(p.xy[0, 0]) for p in people]


def test_coco_file_gives_each_photo_all_its_own_people(tmp_path):
    photos = _photos(tmp_path, "a.jpg", "b.jpg")
    coco = {"images": [{"id": 7, "file_name": "train/b.jpg"}, {"id": 3, "file_name": "a.jpg"}],
            "annotations": [{"image_id": 3, "keypoints": _coco_keypoints(100)},
                            {"image_id": 7, "keypoints": _coco_keypoints(200)},
                            {"image_id": 3, "keypoints": _coco_keypoints(300)},
                            {"image_id": 3, "keypoints": [0] * 51, "num_keypoints": 0},
                            {"image_id": 7, "keypoints": _coco_keypoints(400), "iscrowd": 1}]}
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(coco))
    matched = keypoints_for_photos(path, photos)
    assert _nose_x(matched[photos[0]]) == [100, 300]
    assert _nose_x(matched[photos[1]]) == [200]


def test_coco_file_refuses_photos_it_does_not_list_naming_them(tmp_path):
    photos = _photos(tmp_path, "a.jpg", "c.jpg", "d.png")
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                                "annotations": [{"image_id": 1, "keypoints": _coco_keypoints(5)}]}))
    with pytest.raises(KeypointFileError, match=r"'coco.json' has no keypoints for 2 photo\(s\): c.jpg, d.png"):
        keypoints_for_photos(path, photos)


def test_coco_file_refuses_a_listed_photo_without_people(tmp_path):
    photos = _photos(tmp_path, "a.jpg")
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": []}))
    with pytest.raises(KeypointFileError, match="no annotation with a labelled keypoint for a.jpg"):
        keypoints_for_photos(path, photos)


def test_folder_of_jsons_matches_photos_by_stem(tmp_path):
    images, jsons = tmp_path / "images", tmp_path / "keypoints"
    images.mkdir(), jsons.mkdir()
    photos = _photos(images, "one.jpg", "two.png")
    (jsons / "one.json").write_text(json.dumps({"keypoints": _coco_keypoints(50)}))
    (jsons / "two.json").write_text(json.dumps({"annotations": [{"keypoints": _coco_keypoints(60)},
                                                                {"keypoints": _coco_keypoints(70)}]}))
    xy = np.tile([[80.0, 90.0]], (33, 1))
    save_keypoints_json(jsons / "unused.json", Keypoints2D(xy, np.ones(33), np.ones(33, bool), "user"))
    matched = keypoints_for_photos(jsons, photos)
    assert _nose_x(matched[photos[0]]) == [50]
    assert _nose_x(matched[photos[1]]) == [60, 70]


def test_folder_of_jsons_refuses_photos_without_a_file(tmp_path):
    photos = _photos(tmp_path, "one.jpg", "two.jpg")
    jsons = tmp_path / "keypoints"
    jsons.mkdir()
    (jsons / "one.json").write_text(json.dumps({"keypoints": _coco_keypoints(50)}))
    with pytest.raises(KeypointFileError, match=r"has no keypoints for 1 photo\(s\): two.jpg; add a JSON file named"):
        keypoints_for_photos(jsons, photos)


def test_a_single_persons_file_is_refused_for_several_photos(tmp_path):
    photos = _photos(tmp_path, "a.jpg", "b.jpg")
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"annotations": [{"keypoints": _coco_keypoints(5)}]}))
    with pytest.raises(KeypointFileError, match="holds the keypoints of one photo but 2 photos were given"):
        keypoints_for_photos(path, photos)
    assert _nose_x(keypoints_for_photos(path, photos[:1])[photos[0]]) == [5]


def test_a_broken_annotation_is_named_with_its_file(tmp_path):
    photos = _photos(tmp_path, "a.jpg")
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                                "annotations": [{"image_id": 1, "keypoints": [1, 2, 2]}]}))
    with pytest.raises(KeypointFileError, match="'coco.json': annotation 0: expected 51 numbers"):
        keypoints_for_photos(path, photos)
