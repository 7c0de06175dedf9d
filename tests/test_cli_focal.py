"""`hkmr-studio infer --focal`: the camera's focal length given in pixels, else read from EXIF, else assumed; the
parameter file says which."""

import json

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from PIL import Image

from hkmr_studio.cli import main
from hkmr_studio.geometry.cameras import focal_length_from_35mm


def _camera(out, stem):
    return json.loads((out / f"{stem}_params.json").read_text())["camera"]


@pytest.fixture(scope="module")
def phone_photo(tmp_path_factory):
    """The sample photo as a phone saves it: EXIF with a 26 mm 35 mm-equivalent focal length."""
    path = tmp_path_factory.mktemp("phone") / "phone.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 26
    Image.open(SAMPLE_PHOTO).save(path, exif=exif, quality=95)
    return path


def test_given_focal_length_is_used_and_recorded_as_given(tmp_path, phone_photo):
    assert main(["infer", str(phone_photo), "--out", str(tmp_path), "--format", "json", "--focal", "1500"]) == 0
    camera = _camera(tmp_path, "phone")
    assert camera["focal_length_px"] == 1500.0
    assert camera["focal_length_source"] == "given" and camera["focal_length_assumed"] is False


def test_exif_35mm_focal_length_is_used_when_none_is_given(tmp_path, phone_photo):
    assert main(["infer", str(phone_photo), "--out", str(tmp_path), "--format", "json"]) == 0
    camera = _camera(tmp_path, "phone")
    width, height = Image.open(phone_photo).size
    assert camera["focal_length_px"] == pytest.approx(focal_length_from_35mm(26.0, width, height))
    assert camera["focal_length_source"] == "exif" and camera["focal_length_assumed"] is False


def test_without_exif_the_image_diagonal_is_assumed(tmp_path):
    assert main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path), "--format", "json"]) == 0
    camera = _camera(tmp_path, SAMPLE_PHOTO.stem)
    width, height = Image.open(SAMPLE_PHOTO).size
    assert camera["focal_length_px"] == pytest.approx(float(np.hypot(width, height)))
    assert camera["focal_length_source"] == "assumed" and camera["focal_length_assumed"] is True


@pytest.mark.parametrize("value", ["0", "-35", "nan", "inf", "wide"])
def test_a_focal_length_that_is_not_a_positive_number_is_refused(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path / "out"), f"--focal={value}"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--focal" in error and "a positive number of pixels" in error
    assert not (tmp_path / "out").exists()
