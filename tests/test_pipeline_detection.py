"""MediaPipe Pose on real photos: landmarks where the person is, in original-image pixels, through EXIF rotation,
downscaling and user boxes; no person is a result, not an exception."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from hkmr_studio.geometry.cameras import normalised_to_pixels, pixels_to_normalised
from hkmr_studio.pipeline.detection import NO_PERSON_MESSAGE, PoseDetector, person_crop_box
from hkmr_studio.pipeline.images import load_image
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES, Keypoints2D

L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST, L_HIP, R_HIP, L_ANKLE, R_ANKLE = 11, 12, 15, 16, 23, 24, 27, 28


@pytest.fixture(scope="module")
def detector():
    with PoseDetector() as d:
        yield d


@pytest.fixture(scope="module")
def upright(detector, sample_rgb):
    detection = detector.detect(sample_rgb)
    assert detection.found, detection.message
    return detection


def _tolerance(image: np.ndarray) -> float:
    """2 % of the longest side, in pixels."""
    return 0.02 * max(image.shape[:2])


def _assert_close(actual: np.ndarray, expected: np.ndarray, seen: np.ndarray, tolerance: float) -> None:
    error = np.linalg.norm(actual - expected, axis=-1)[seen]
    assert error.max() < tolerance, f"max landmark error {error.max():.1f} px >= {tolerance:.1f} px"


def test_landmark_names_are_mediapipes():
    import mediapipe

    assert [lm.name.lower() for lm in mediapipe.solutions.pose.PoseLandmark] == list(MEDIAPIPE_LANDMARK_NAMES)


def test_person_found_with_landmarks_mask_and_box(upright, sample_rgb):
    height, width = sample_rgb.shape[:2]
    keypoints = upright.keypoints
    assert upright.message == "" and keypoints.source == "mediapipe" and keypoints.world.shape == (33, 3)
    assert keypoints.visible().all()  # the whole body is in view
    x, y, w, h = upright.box
    assert 0 <= x and 0 <= y and x + w <= width and y + h <= height
    assert (keypoints.xy >= [x - 1, y - 1]).all() and (keypoints.xy <= [x + w + 1, y + h + 1]).all()
    assert 0.3 * height < h < 0.6 * height  # the person fills about half the frame's height
    mask = upright.mask
    assert mask.shape == (height, width) and mask.dtype == np.float32 and 0 <= mask.min() and mask.max() <= 1
    hips = keypoints.xy[[L_HIP, R_HIP]].mean(axis=0).round().astype(int)
    assert mask[hips[1], hips[0]] > 0.9 and mask[:50, :50].max() < 0.1


def test_sides_match_what_the_photo_shows(upright):
    # Seen by eye: the man shows his back, leaning to the image's left; his left arm hangs near the head side,
    # his right arm is raised, he stands on his left leg and stretches the right one back to the image's right.
    # With his back to the camera, his left side is on the image's left.
    xy = upright.keypoints.xy
    assert xy[L_SHOULDER, 0] < xy[R_SHOULDER, 0] and xy[L_HIP, 0] < xy[R_HIP, 0]
    assert xy[R_WRIST, 1] < xy[R_SHOULDER, 1] < xy[L_WRIST, 1]  # right hand raised, left hand low
    assert xy[L_ANKLE, 1] > xy[R_ANKLE, 1] and xy[R_ANKLE, 0] > xy[R_HIP, 0] + 100  # standing leg, leg stretched right
    world = upright.keypoints.world  # MediaPipe's world frame: x right, y down, z away from the camera
    assert world[L_SHOULDER, 0] < world[R_SHOULDER, 0]


@pytest.mark.parametrize(
    "image",
    [
        np.full((480, 640, 3), 128, np.uint8),
        np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
        np.kron((np.indices((12, 16)).sum(axis=0) % 2 * 255).astype(np.uint8), np.ones((40, 40), np.uint8))[
            ..., None
        ].repeat(3, axis=2),
    ],
    ids=["flat", "noise", "checkerboard"],
)
def test_no_person_is_a_result_with_advice(detector, image):
    detection = detector.detect(image)
    assert not detection.found and detection.message == NO_PERSON_MESSAGE
    assert detection.keypoints is None and detection.mask is None and detection.box is None
    assert "draw a box" in detection.message


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotated_photo_gives_landmarks_in_the_displayed_frame(detector, upright, sample_rgb, tmp_path,
                                                                   orientation):
    # The file stores the upright pixels and says "show me turned": the user sees, and we detect, a sideways person.
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(sample_rgb).save(tmp_path / "turned.jpg", exif=exif, quality=95)
    shown = load_image(tmp_path / "turned.jpg").rgb
    height, width = sample_rgb.shape[:2]
    assert shown.shape == (width, height, 3)
    detection = detector.detect(shown)
    assert detection.found
    x, y = upright.keypoints.xy.T
    # Orientation 6 shows the stored image turned 90 degrees clockwise, 8 counter-clockwise.
    expected = np.stack([height - y, x], -1) if orientation == 6 else np.stack([y, width - x], -1)
    _assert_close(detection.keypoints.xy, expected, upright.keypoints.visible(), _tolerance(sample_rgb))


def test_large_photo_is_detected_downscaled_and_mapped_back(detector, upright, sample_rgb):
    height, width = sample_rgb.shape[:2]
    scale = 4000 / height
    large = cv2.resize(sample_rgb, (round(width * scale), 4000), interpolation=cv2.INTER_CUBIC)
    detection = detector.detect(large)
    assert detection.found and detection.mask.shape == large.shape[:2]
    expected = upright.keypoints.xy * [large.shape[1] / width, scale]
    _assert_close(detection.keypoints.xy, expected, upright.keypoints.visible(), _tolerance(large))
    np.testing.assert_allclose(detection.box, np.array(upright.box) * scale, atol=_tolerance(large))


def test_box_picks_one_person_of_two(detector, upright, sample_rgb):
    height, width = sample_rgb.shape[:2]
    pair = np.concatenate([sample_rgb, sample_rgb], axis=1)  # the same person twice, side by side
    x, y, w, h = upright.box
    seen = upright.keypoints.visible()
    for offset in (0, width):
        detection = detector.detect(pair, box=(x + offset, y, w, h))
        assert detection.found
        _assert_close(detection.keypoints.xy, upright.keypoints.xy + [offset, 0], seen, _tolerance(sample_rgb))
        other_half = detection.mask[:, width - offset : 2 * width - offset]
        assert detection.mask.shape == (height, 2 * width) and other_half.max() < 0.01
    assert not detector.detect(pair, box=(width + 300, 750, 300, 300)).found  # a box on the floor only


def test_bad_inputs_are_refused(detector, sample_rgb):
    with pytest.raises(ValueError, match="uint8 RGB"):
        detector.detect(sample_rgb.astype(np.float32))
    with pytest.raises(ValueError, match="outside the 612 x 1088 image"):
        detector.detect(sample_rgb, box=(2000, 2000, 50, 50))
    with pytest.raises(ValueError, match="positive size"):
        detector.detect(sample_rgb, box=(10, 10, 0, 50))


def test_closed_detector_refuses_work(sample_rgb):
    detector = PoseDetector()
    detector.close()
    detector.close()
    with pytest.raises(RuntimeError, match="closed"):
        detector.detect(sample_rgb)


def test_crop_box_holds_the_person_in_minus_one_to_one(upright, sample_rgb):
    height, width = sample_rgb.shape[:2]
    cx, cy, side = person_crop_box(upright.keypoints, (width, height))
    xy = torch.from_numpy(upright.keypoints.xy)[None]
    centre, size = torch.tensor([[cx, cy]], dtype=xy.dtype), torch.tensor([side], dtype=xy.dtype)
    normalised = pixels_to_normalised(xy, centre, size)
    assert normalised.abs().max() <= 1 / 1.2 + 1e-9  # the default margin leaves 10 % of the side free each way
    assert normalised.abs().max() > 0.8  # and is tight along the longer axis
    torch.testing.assert_close(normalised_to_pixels(normalised, centre, size), xy)


def test_crop_box_rule():
    xy = np.zeros((33, 2))
    visibility = np.zeros(33)
    xy[:3] = [[100, 200], [300, 250], [150, 600]]
    visibility[:3] = 1.0
    xy[3] = [5000, 5000]  # seen but outside the 640 x 480 image: counted at the border
    visibility[3] = 0.9
    keypoints = Keypoints2D(xy=xy, visibility=visibility, present=np.ones(33, bool), source="user")
    assert person_crop_box(keypoints, (640, 480), margin=0.1) == pytest.approx((370.0, 340.0, 1.2 * 540))
    given = np.arange(33) < 4
    hidden = Keypoints2D(xy=xy, visibility=np.zeros(33), present=given, source="user")
    assert person_crop_box(hidden, (640, 480), margin=0.0)[2] == pytest.approx(540.0)  # falls back to all present
    lone = np.arange(33) == 0
    with pytest.raises(ValueError, match="at least two"):
        person_crop_box(Keypoints2D(xy=xy, visibility=visibility, present=lone, source="user"), (640, 480))
