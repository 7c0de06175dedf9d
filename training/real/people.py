"""Everyone MediaPipe Pose can find in one view: it reports one person per image, so each found person is painted out
(their segmentation mask, widened) and the image searched again; then each person is detected once more inside their
own padded box with the others painted out, as the app detects inside a user's box.

Pixels: the original image's (x right, y down). Images: (H, W, 3) uint8 RGB.
"""

from __future__ import annotations

import cv2
import numpy as np

from hkmr_studio.pipeline.detection import Detection, PoseDetector

#: Segmentation values above this are painted out.
MASK_THRESHOLD = 0.25
#: The painted region is widened by this fraction of the person box's longer side.
MASK_GROWTH = 0.04
#: Grey used to paint people out (mid-grey reads as background to MediaPipe's detector).
PAINT = 127
#: A person is searched again inside their box widened by this fraction of its size on each side.
BOX_MARGIN = 0.15


def _silhouette(detection: Detection, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the detection's mask above MASK_THRESHOLD (or its box when it has no mask), widened."""
    assert detection.box is not None
    if detection.mask is not None:
        region = detection.mask > MASK_THRESHOLD
    else:
        region = np.zeros(shape, dtype=bool)
        x, y, w, h = (round(v) for v in detection.box)
        region[max(0, y) : y + h, max(0, x) : x + w] = True
    grow = max(1, int(MASK_GROWTH * max(detection.box[2], detection.box[3])))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(region.astype(np.uint8), kernel).astype(bool)


def _painted(image: np.ndarray, silhouettes: list[np.ndarray]) -> np.ndarray:
    out = image.copy()
    for silhouette in silhouettes:
        out[silhouette] = PAINT
    return out


def _padded_box(detection: Detection, width: int, height: int) -> tuple[float, float, float, float]:
    assert detection.box is not None
    x, y, w, h = detection.box
    pad = BOX_MARGIN * max(w, h)
    x0, y0 = max(0.0, x - pad), max(0.0, y - pad)
    x1, y1 = min(float(width), x + w + pad), min(float(height), y + h + pad)
    return x0, y0, x1 - x0, y1 - y0


def find_people(detector: PoseDetector, image: np.ndarray, max_people: int) -> list[Detection]:
    """Up to `max_people` people in an (H, W, 3) uint8 RGB image, in the order MediaPipe found them; each detection's
    landmarks are in full-image pixels."""
    height, width = image.shape[:2]
    first: list[Detection] = []
    silhouettes: list[np.ndarray] = []
    while len(first) < max_people:
        detection = detector.detect(_painted(image, silhouettes))
        if not detection.found:
            break
        first.append(detection)
        silhouettes.append(_silhouette(detection, (height, width)))
    people = []
    for i, detection in enumerate(first):
        others = [s & ~silhouettes[i] for j, s in enumerate(silhouettes) if j != i]  # never paint over the person
        again = detector.detect(_painted(image, others), box=_padded_box(detection, width, height))
        people.append(again if again.found else detection)
    return people
