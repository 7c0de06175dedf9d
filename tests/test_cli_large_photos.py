"""`hkmr-studio infer` decodes photos above `batch.MAX_DECODED_PIXELS` reduced, to bound its memory: outputs are in
the reduced image's pixels, the parameter file says by how much, and pixel inputs given for the file are scaled."""

import json

import cv2
import numpy as np
import pytest
from conftest import SAMPLE_PHOTO

from hkmr_studio import batch
from hkmr_studio.cli import main
from hkmr_studio.pipeline.detection import PoseDetector
from hkmr_studio.pipeline.images import load_image

WIDTH, HEIGHT = 612, 1088  # the sample photo's size


@pytest.fixture
def small_limit(monkeypatch):
    """A limit the sample photo exceeds: it is decoded at half size (306 x 544)."""
    monkeypatch.setattr(batch, "MAX_DECODED_PIXELS", 200_000)


def test_a_photo_above_the_limit_is_processed_at_a_reduced_size(tmp_path, capsys, small_limit):
    assert main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path), "--format", "json"]) == 0
    assert "decoded at 1/2 size (612 x 1088 -> 306 x 544) to save memory" in capsys.readouterr().out
    overlay = cv2.imread(str(tmp_path / f"{SAMPLE_PHOTO.stem}_overlay.png"))
    assert overlay.shape[:2] == (HEIGHT // 2, WIDTH // 2)
    params = json.loads((tmp_path / f"{SAMPLE_PHOTO.stem}_params.json").read_text())
    assert params["image_size"] == [WIDTH // 2, HEIGHT // 2] and params["image_scale"] == 0.5


def test_pixel_inputs_for_the_file_are_scaled_to_the_reduced_photo(tmp_path, small_limit):
    with PoseDetector() as detector:
        detected = detector.detect(load_image(SAMPLE_PHOTO).rgb).keypoints
    given = [{"x": float(x), "y": float(y), "visibility": float(v)}
             for (x, y), v in zip(detected.xy, detected.visibility, strict=True)]
    path = tmp_path / "pose.json"
    path.write_text(json.dumps(given))
    out = tmp_path / "out"
    assert main(["infer", str(SAMPLE_PHOTO), "--out", str(out), "--format", "json", "--keypoints", str(path),
                 "--focal", "1000"]) == 0
    params = json.loads((out / f"{SAMPLE_PHOTO.stem}_params.json").read_text())
    np.testing.assert_allclose(params["keypoints"]["xy"], detected.xy * 0.5, atol=1e-9)
    assert params["camera"]["focal_length_px"] == 500.0 and params["camera"]["focal_length_source"] == "given"
