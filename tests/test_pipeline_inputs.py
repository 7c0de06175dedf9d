"""Images and keypoint files in: every format a user may drop loads, every broken file fails with a useful message."""

import io
import json
import struct
import zlib

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from PIL import Image

from hkmr_studio.pipeline import images
from hkmr_studio.pipeline.images import ImageLoadError, image_from_array, load_image
from hkmr_studio.pipeline.keypoints import (
    COCO17_FROM_MEDIAPIPE33,
    COCO17_NAMES,
    MEDIAPIPE_LANDMARK_NAMES,
    KeypointFileError,
    Keypoints2D,
    load_keypoints_json,
    save_keypoints_json,
)


def _colourful(height: int = 24, width: int = 32) -> np.ndarray:
    """(H, W, 3) uint8 with distinct, smooth channels (JPEG keeps it close)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), np.full_like(x, 90)], -1).astype(np.uint8)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims (width, height) but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- images that load


@pytest.mark.parametrize(
    "suffix, options", [(".png", {}), (".bmp", {}), (".tif", {}), (".webp", {"lossless": True}), (".gif", {})]
)
def test_lossless_formats_load_exactly(tmp_path, suffix, options):
    rgb = _colourful()
    image = Image.fromarray(rgb)
    if suffix == ".gif":  # a palette format: quantise first so the round trip is exact
        image = image.quantize(64)
        rgb = np.asarray(image.convert("RGB"))
    image.save(tmp_path / f"photo{suffix}", **options)
    loaded = load_image(tmp_path / f"photo{suffix}")
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.flags.c_contiguous
    np.testing.assert_array_equal(loaded.rgb, rgb)
    assert loaded.original_size == (32, 24) and loaded.path == tmp_path / f"photo{suffix}"


def test_real_jpeg_photo_loads_at_full_size():
    loaded = load_image(SAMPLE_PHOTO)
    assert loaded.rgb.shape == (1088, 612, 3) and loaded.original_size == (612, 1088) and loaded.notes == ()


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = _colourful()[..., 0]
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    rgb = load_image(tmp_path / "gray.png").rgb
    assert rgb.shape == (24, 32, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], gray)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = (200, 40, 0)
    rgba[..., 3] = [[0, 128, 255], [255, 0, 128]]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    loaded = load_image(tmp_path / "cutout.png")
    np.testing.assert_array_equal(loaded.rgb[0, 0], (255, 255, 255))
    np.testing.assert_array_equal(loaded.rgb[0, 2], (200, 40, 0))
    np.testing.assert_allclose(loaded.rgb[0, 1], (227.5, 147.5, 127), atol=1)
    assert any("white" in note for note in loaded.notes)


def test_palette_image_with_transparent_index(tmp_path):
    image = Image.new("P", (4, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putdata([0, 1, 1, 0])
    image.save(tmp_path / "palette.png", transparency=1)
    np.testing.assert_array_equal(
        load_image(tmp_path / "palette.png").rgb[0], [[255, 0, 0], [255] * 3, [255] * 3, [255, 0, 0]]
    )


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_grayscale_is_scaled_to_8_bit(tmp_path, suffix):
    values = np.array([[0, 257, 32896, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / f"deep{suffix}")
    loaded = load_image(tmp_path / f"deep{suffix}")
    np.testing.assert_array_equal(loaded.rgb[0, :, 0], [0, 1, 128, 255])
    assert any("16-bit" in note for note in loaded.notes)


def test_cmyk_jpeg_loads_as_rgb(tmp_path):
    Image.fromarray(_colourful()).convert("CMYK").save(tmp_path / "print.jpg")
    loaded = load_image(tmp_path / "print.jpg")
    assert loaded.rgb.shape == (24, 32, 3) and np.abs(loaded.rgb.astype(int) - _colourful()).mean() < 8


def test_animated_image_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:])
    loaded = load_image(tmp_path / "clip.gif")
    np.testing.assert_array_equal(loaded.rgb[0, 0], (255, 0, 0))
    assert any("first of 3 frames" in note for note in loaded.notes)


@pytest.mark.parametrize(
    "orientation, shape, red_at",
    [
        (3, (20, 40, 3), (10, 30)),  # 180 degrees: the left half goes right
        (6, (40, 20, 3), (10, 10)),  # displayed turned 90 degrees clockwise: the stored left half goes to the top
        (8, (40, 20, 3), (30, 10)),  # counter-clockwise: the stored left half goes to the bottom
    ],
)
def test_exif_orientation_is_applied(tmp_path, orientation, shape, red_at):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    loaded = load_image(tmp_path / "phone.jpg")
    assert loaded.rgb.shape == shape
    assert loaded.rgb[red_at][0] > 200 and loaded.rgb[red_at][2] < 60
    assert f"EXIF orientation {orientation} applied" in loaded.notes


def test_very_large_image_is_kept_at_full_size(tmp_path):
    Image.new("RGB", (6000, 4000), (10, 200, 30)).save(tmp_path / "huge.jpg", quality=80)
    loaded = load_image(tmp_path / "huge.jpg")
    assert loaded.original_size == (6000, 4000) and loaded.rgb.shape == (4000, 6000, 3)


# ---------------------------------------------------------------- images that do not load


def _raises(path, *fragments: str) -> str:
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file_and_folder(tmp_path):
    _raises(tmp_path / "nowhere.jpg", "not found", "nowhere.jpg")
    _raises(tmp_path, "folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    _raises(tmp_path / "empty.jpg", "'empty.jpg'", "empty (0 bytes)", "again")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("shopping list")
    _raises(tmp_path / "notes.jpg", "not an image", "save it as JPEG or PNG")
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic" + bytes(64))
    _raises(tmp_path / "IMG_0001.HEIC", "HEIC", "JPEG")


def test_truncated_jpeg(tmp_path):
    data = SAMPLE_PHOTO.read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    _raises(tmp_path / "half.jpg", "truncated", "again")


def test_corrupt_png(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[data.index(b"IDAT") + 20] ^= 0xFF
    (tmp_path / "broken.png").write_bytes(bytes(data))
    _raises(tmp_path / "broken.png", "damaged", "again")


def test_absurd_dimensions_are_refused_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_header(30000, 30000))  # Pillow's own limit fires
    _raises(tmp_path / "bomb.png", "too large", "smaller copy")
    (tmp_path / "scan.png").write_bytes(_png_header(13000, 12000))  # between Pillow's warning and ours
    _raises(tmp_path / "scan.png", "13000 x 12000", "150 megapixels")


def test_pixel_limit_is_ours(tmp_path, monkeypatch):
    Image.new("RGB", (20, 20)).save(tmp_path / "small.png")
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 100)
    _raises(tmp_path / "small.png", "too large (20 x 20")


# ---------------------------------------------------------------- frames from arrays


def test_bgr_frames_are_swapped_and_inputs_untouched():
    rgb = _colourful()
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    before = bgr.copy()
    np.testing.assert_array_equal(image_from_array(bgr, bgr=True).rgb, rgb)
    np.testing.assert_array_equal(bgr, before)
    bgra = np.concatenate([bgr, np.full((24, 32, 1), 255, np.uint8)], axis=-1)
    np.testing.assert_array_equal(image_from_array(bgra, bgr=True).rgb, rgb)
    assert image_from_array(rgb).path is None


def test_array_dtypes_and_layouts():
    np.testing.assert_array_equal(image_from_array(np.full((2, 3), 7, np.uint8)).rgb, np.full((2, 3, 3), 7))
    np.testing.assert_array_equal(image_from_array(np.full((2, 3, 1), 65535, np.uint16)).rgb, np.full((2, 3, 3), 255))
    np.testing.assert_array_equal(image_from_array(np.full((2, 3, 3), 0.5)).rgb, np.full((2, 3, 3), 128))


@pytest.mark.parametrize(
    "array, fragment",
    [
        (np.zeros((0, 5, 3), np.uint8), "no pixels"),
        (np.zeros((4, 5, 2), np.uint8), "expected an image array"),
        (np.zeros((4, 5, 3, 1), np.uint8), "expected an image array"),
        (np.full((4, 5, 3), np.nan), "NaN"),
        (np.zeros((4, 5, 3), np.complex64), "unsupported pixel type"),
    ],
)
def test_bad_arrays_are_refused(array, fragment):
    with pytest.raises(ImageLoadError, match=fragment):
        image_from_array(array)


# ---------------------------------------------------------------- keypoint conventions and files


def test_coco_names_match_their_mediapipe_landmarks():
    assert len(MEDIAPIPE_LANDMARK_NAMES) == 33 and len(COCO17_NAMES) == 17
    assert [MEDIAPIPE_LANDMARK_NAMES[i] for i in COCO17_FROM_MEDIAPIPE33] == list(COCO17_NAMES)


def _coco_values(v: int = 2) -> list[float]:
    return [value for k in range(17) for value in (10.0 + k, 100.0 + 2 * k, v)]


def _write(tmp_path, content, name: str = "keypoints.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_coco_bare_list(tmp_path):
    values = _coco_values()
    values[2], values[5] = 1, 0  # nose occluded, left eye absent
    keypoints = load_keypoints_json(_write(tmp_path, values))
    assert keypoints.source == "coco-json" and keypoints.present.sum() == 16
    assert not keypoints.present[2] and keypoints.visibility[0] == 0.5
    assert keypoints.visibility[COCO17_FROM_MEDIAPIPE33[16]] == 1.0
    np.testing.assert_array_equal(keypoints.xy[COCO17_FROM_MEDIAPIPE33[5]], (15.0, 110.0))
    lacking = np.setdiff1d(np.arange(33), COCO17_FROM_MEDIAPIPE33)
    assert not keypoints.present[lacking].any() and (keypoints.visibility[lacking] == 0).all()


def test_coco_annotation_and_annotations_file(tmp_path):
    assert load_keypoints_json(_write(tmp_path, {"keypoints": _coco_values(), "num_keypoints": 17})).present.sum() == 17
    few = _coco_values()
    few[2::3] = [2] * 5 + [0] * 12
    document = {
        "images": [{"id": 1}],
        "annotations": [{"keypoints": few}, {"bbox": [0, 0, 1, 1]}, {"keypoints": _coco_values()}],
    }
    path = _write(tmp_path, document)
    assert load_keypoints_json(path).present.sum() == 17  # the most labelled keypoints
    assert load_keypoints_json(path, index=0).present.sum() == 5
    with pytest.raises(KeypointFileError, match="annotation 1 has no"):
        load_keypoints_json(path, index=1)
    with pytest.raises(KeypointFileError, match="annotation 7 requested, but the file has 3"):
        load_keypoints_json(path, index=7)


def _landmarks(scale: float = 1.0) -> list[dict]:
    return [{"x": (5.0 + i) * scale, "y": (50.0 + i) * scale, "visibility": i / 32} for i in range(33)]


def test_mediapipe_list_in_pixels_with_absent_landmarks(tmp_path):
    landmarks = _landmarks()
    landmarks[31] = None
    keypoints = load_keypoints_json(_write(tmp_path, landmarks))
    assert keypoints.source == "mediapipe-json" and keypoints.present.sum() == 32 and not keypoints.present[31]
    np.testing.assert_array_equal(keypoints.xy[3], (8.0, 53.0))
    assert keypoints.visibility[32] == 1.0 and keypoints.world is None


def test_mediapipe_normalised_needs_an_image_size(tmp_path):
    with_size = _write(tmp_path, {"landmarks": _landmarks(0.01), "normalized": True, "image_size": [200, 100]})
    np.testing.assert_allclose(load_keypoints_json(with_size).xy[0], (10.0, 50.0))
    without = _write(tmp_path, {"landmarks": _landmarks(0.01), "normalized": True}, "bare.json")
    np.testing.assert_allclose(load_keypoints_json(without, image_size=(400, 300)).xy[0], (20.0, 150.0))
    with pytest.raises(KeypointFileError, match="image size is needed"):
        load_keypoints_json(without)


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    detected = Keypoints2D(
        xy=rng.uniform(0, 600, (33, 2)),
        visibility=rng.uniform(0, 1, 33),
        present=np.ones(33, bool),
        source="mediapipe",
        world=rng.normal(size=(33, 3)),
    )
    path = save_keypoints_json(tmp_path / "out" / "person.json", detected, image_size=(612, 1088))
    again = load_keypoints_json(path)
    for name in ("xy", "visibility", "present", "world"):
        np.testing.assert_array_equal(getattr(again, name), getattr(detected, name))
    assert again.source == "mediapipe-json" and json.loads(path.read_text())["image_size"] == [612, 1088]
    assert [p.name for p in path.parent.iterdir()] == ["person.json"]  # no temporary file left

    coco = load_keypoints_json(_write(tmp_path, _coco_values()))
    again = load_keypoints_json(save_keypoints_json(tmp_path / "coco.json", coco))
    np.testing.assert_array_equal(again.present, coco.present)
    np.testing.assert_array_equal(again.xy, coco.xy)


@pytest.mark.parametrize(
    "content, fragments",
    [
        ("[1, 2,\n 3 4]", ["not valid JSON", "line 2, column 4"]),
        ("", ["empty"]),
        ("[]", ["empty"]),
        ('{"landmarks": []}', ["empty"]),
        (json.dumps(_coco_values()[:48]), ["expected 51 numbers", "found 48"]),
        (json.dumps(_landmarks()[:32]), ["expected 33 landmarks", "found 32"]),
        (json.dumps(["a"] + _coco_values()[1:]), ["keypoint 0 (nose): x is 'a', not a number"]),
        (json.dumps(_coco_values()[:3] + [True] + _coco_values()[4:]), ["keypoint 1 (left_eye): x is True"]),
        ("[" + ", ".join(["NaN"] + [str(v) for v in _coco_values()[1:]]) + "]", ["nose): x is nan, not a finite"]),
        (json.dumps(_coco_values(v=3)), ["v is 3", "must be 0 (absent), 1 (occluded) or 2 (visible)"]),
        (json.dumps(_coco_values(v=0)), ["none is given"]),
        (
            json.dumps([{**lm, "visibility": -0.2} for lm in _landmarks()]),
            ["landmark 0 (nose): visibility -0.2 is negative"],
        ),
        (json.dumps([{"x": 1, "y": 2, "visibility": 1.5}] + _landmarks()[1:]), ["visibility 1.5 is above 1"]),
        (json.dumps([{"x": 1}] + _landmarks()[1:]), ["landmark 0 (nose): missing 'y'"]),
        (
            json.dumps([{"name": "left_hip", "x": 1, "y": 2}] + _landmarks()[1:]),
            ["named 'left_hip'", "MediaPipe's order"],
        ),
        (json.dumps({"landmarks": _landmarks(), "normalized": "yes"}), ['"normalized" must be true or false']),
        (json.dumps({"people": []}), ["found keys (people)", '"keypoints"']),
        ("42", ["expected a JSON list or object", "int"]),
    ],
)
def test_malformed_keypoint_files_name_the_problem(tmp_path, content, fragments):
    _refused_naming(tmp_path, content, fragments)


def _refused_naming(tmp_path, content: str, fragments: list[str]) -> None:
    """Loading `content` as pose.json raises KeypointFileError naming the file and each of `fragments`."""
    with pytest.raises(KeypointFileError) as info:
        load_keypoints_json(_write(tmp_path, content, "pose.json"))
    message = str(info.value)
    assert message.startswith("'pose.json': ")
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    "content, fragments",
    [
        ("[" * 100_000 + "]" * 100_000, ["nested too deeply", "export the keypoints again"]),
        (json.dumps([1e308] + _coco_values()[1:]), ["keypoint 0 (nose): x = 1e+308 lies too far out", "at most 1000000 pixels"]),
        ("[" + ", ".join([str(10**400)] + [str(v) for v in _coco_values()[1:]]) + "]",
         ["keypoint 0 (nose): x is an integer of 401 digits, not a usable number"]),
        (json.dumps({"landmarks": [{**lm, "x": 1e308} for lm in _landmarks(0.01)], "normalized": True,
                     "image_size": [640, 480]}), ["landmark 0 (nose): x = 1e+308 (normalised) lies too far out"]),
        (json.dumps({"landmarks": _landmarks(0.01), "normalized": True, "image_size": [1e308, 480]}),
         ['"image_size" 1e+308 is larger than 1000000 pixels']),
        (json.dumps({"landmarks": _landmarks(), "world_landmarks": [{"x": 1e300, "y": 0, "z": 0}] * 33}),
         ["world landmark 0: x = 1e+300 metres lies", "at most 1000 metres"]),
    ],
)
def test_hostile_keypoint_numbers_and_nesting_name_the_problem(tmp_path, content, fragments):
    """A nesting bomb, coordinates far beyond any photo and integers too large for a float are refused with a message
    (they raised RecursionError, ValueError or OverflowError, or reached the network as infinities)."""
    _refused_naming(tmp_path, content, fragments)


def test_missing_keypoint_file(tmp_path):
    with pytest.raises(KeypointFileError, match="'gone.json': file not found"):
        load_keypoints_json(tmp_path / "gone.json")


def test_keypoints_check_their_shapes():
    with pytest.raises(ValueError, match=r"xy: expected shape \(33, 2\), got \(17, 2\)"):
        Keypoints2D(xy=np.zeros((17, 2)), visibility=np.zeros(33), present=np.ones(33, bool), source="user")
    with pytest.raises(ValueError, match="source"):
        Keypoints2D(xy=np.zeros((33, 2)), visibility=np.zeros(33), present=np.ones(33, bool), source="openpose")


# ---------------------------------------------------------------- focal length from EXIF


def _photo_with_exif(path, tags: dict[int, object]) -> None:
    exif = Image.Exif()
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd.update(tags)
    Image.fromarray(_colourful()).save(path, exif=exif, quality=90)


def test_exif_35mm_focal_length_is_read_from_the_exif_ifd(tmp_path):
    from hkmr_studio.pipeline.images import exif_focal_35mm

    _photo_with_exif(tmp_path / "phone.jpg", {0xA405: 26})  # FocalLengthIn35mmFilm, as phones write it
    assert exif_focal_35mm(tmp_path / "phone.jpg") == 26.0


def test_exif_focal_length_is_none_when_absent_unknown_or_unreadable(tmp_path):
    from hkmr_studio.pipeline.images import exif_focal_35mm

    Image.fromarray(_colourful()).save(tmp_path / "plain.png")
    _photo_with_exif(tmp_path / "unknown.jpg", {0xA405: 0})  # EXIF's "unknown"
    (tmp_path / "notes.jpg").write_text("not an image")
    for name in ("plain.png", "unknown.jpg", "notes.jpg", "missing.jpg"):
        assert exif_focal_35mm(tmp_path / name) is None, name


# ---------------------------------------------------------------- large photos decoded reduced


def test_a_large_jpeg_is_decoded_reduced_when_asked(tmp_path):
    Image.new("RGB", (6000, 4000), (10, 200, 30)).save(tmp_path / "big.jpg", quality=80)
    loaded = load_image(tmp_path / "big.jpg", max_pixels=7_000_000)
    assert loaded.rgb.shape == (2000, 3000, 3) and loaded.original_size == (3000, 2000) and loaded.scale == 0.5
    assert "decoded at 1/2 size (6000 x 4000 -> 3000 x 2000) to save memory" in loaded.notes
    assert np.abs(loaded.rgb[1000, 1500].astype(int) - (10, 200, 30)).max() <= 3
    full = load_image(tmp_path / "big.jpg", max_pixels=24_000_000)
    assert full.original_size == (6000, 4000) and full.scale == 1.0 and full.notes == ()


def test_other_formats_are_reduced_after_decoding_and_turned_upright(tmp_path):
    stored = np.zeros((600, 900, 3), np.uint8)
    stored[:, :450] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: the stored left half goes to the top
    Image.fromarray(stored).save(tmp_path / "scan.png", exif=exif)
    loaded = load_image(tmp_path / "scan.png", max_pixels=100_000)  # 1/2 is 135,000 px, 1/4 fits
    assert loaded.rgb.shape == (225, 150, 3) and loaded.scale == 0.25
    assert loaded.rgb[10, 75, 0] == 255 and loaded.rgb[215, 75, 0] == 0
