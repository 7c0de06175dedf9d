"""Finding every person in a photo: BlazePose's person detector, the mediapipe wheel's own pose_detection.tflite, run
with LiteRT (Qt-free).

The model sees the photo letterboxed into 224 x 224 (aspect kept, zero borders, values in [-1, 1]) and answers, for
each of 2254 SSD anchors, a score and 12 numbers: a face box (x centre, y centre, width, height) and four keypoints
(hip centre, a point on the circle around the whole body, shoulder centre, a point on the circle around the upper
body), as offsets in input pixels from the anchor's centre. The anchors and the decoding follow MediaPipe's options
for this model (SsdAnchorsCalculator: 5 layers, strides 8, 16, 32, 32, 32, aspect ratio 1 plus one interpolated
anchor, offset 0.5, fixed anchor size; TensorsToDetections: sigmoid scores clipped at +-100, scales 224, score
threshold 0.5; weighted non-maximum suppression at IoU 0.3). All returned coordinates are pixels of the original
image (x right, y down, origin top-left).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hkmr_studio.pipeline.detection import Box

INPUT_SIZE = 224
#: SsdAnchorsCalculator's strides for this model; layers of equal stride share one feature map.
ANCHOR_STRIDES = (8, 16, 32, 32, 32)
#: Anchors per feature-map cell per layer: aspect ratio 1 and the interpolated-scale anchor.
ANCHORS_PER_LAYER = 2
NUM_ANCHORS = 2254
#: A candidate counts as a person when its sigmoid score reaches this (MediaPipe's min_score_thresh).
MIN_SCORE = 0.5
#: Candidates whose face boxes overlap more than this (intersection over union) are one person, merged by score.
NMS_IOU = 0.3
SCORE_CLIP = 100.0
#: A photo whose long side exceeds this many times its short side is also searched in square windows.
WINDOW_ASPECT = 1.3


@dataclass(frozen=True)
class PersonCandidate:
    """One person the detector found. score in (0, 1); face_box (x, y, w, h); hips (x, y): the centre between the
    hips; body_radius: radius of the circle around the whole body about the hips; all pixels of the original image."""

    score: float
    face_box: Box
    hips: tuple[float, float]
    body_radius: float

    def person_box(self, image_size: tuple[int, int]) -> Box:
        """The square around the whole body (the circle's bounding box), clipped to the (width, height) image."""
        width, height = image_size
        x0, y0 = max(0.0, self.hips[0] - self.body_radius), max(0.0, self.hips[1] - self.body_radius)
        x1 = min(float(width), self.hips[0] + self.body_radius)
        y1 = min(float(height), self.hips[1] + self.body_radius)
        return x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0)


def detection_model_path() -> Path:
    """pose_detection.tflite inside the installed mediapipe wheel (shipped with it, never downloaded)."""
    import mediapipe  # heavy, imported only when a detector is built

    path = Path(mediapipe.__file__).parent / "modules" / "pose_detection" / "pose_detection.tflite"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall mediapipe==0.10.21 (pip install --force-reinstall)")
    return path


def ssd_anchor_centres() -> np.ndarray:
    """(2254, 2) anchor centres (x, y) in [0, 1] of the 224 x 224 input, in the model's output order: per stride
    group, row by row, column by column, then the group's anchors per cell."""
    centres = []
    layer = 0
    while layer < len(ANCHOR_STRIDES):
        stride = ANCHOR_STRIDES[layer]
        group = sum(1 for s in ANCHOR_STRIDES[layer:] if s == stride)  # consecutive layers of the same stride
        cells = -(-INPUT_SIZE // stride)
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, group * ANCHORS_PER_LAYER, axis=0))
        layer += group
    return np.concatenate(centres)


def letterbox(image: np.ndarray) -> tuple[np.ndarray, float, tuple[float, float]]:
    """(H, W, 3) uint8 RGB -> ((1, 224, 224, 3) float32 in [-1, 1], scale, (pad x, pad y)): the image scaled by
    `scale` to fit, centred on zero borders of pad pixels of the input. Input pixel = image pixel * scale + pad."""
    height, width = image.shape[:2]
    scale = INPUT_SIZE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pad_x, pad_y = (INPUT_SIZE - size[0]) // 2, (INPUT_SIZE - size[1]) // 2
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.float32)  # zero after normalising: the border MediaPipe uses
    canvas[pad_y:pad_y + size[1], pad_x:pad_x + size[0]] = resized.astype(np.float32) / 127.5 - 1.0
    return canvas[None], scale, (float(pad_x), float(pad_y))


def decode(raw: np.ndarray, logits: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw outputs (2254, 12) and (2254,) -> (N, 12) values in [0, 1] of the input (face box x centre, y centre,
    width, height; then four keypoints x, y) and (N,) scores, for the N anchors scoring at least MIN_SCORE."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    keep = scores >= MIN_SCORE
    values = raw[keep].astype(np.float64) / INPUT_SIZE
    centres = anchors[keep]
    values[:, 0:2] += centres
    values[:, 4::2] += centres[:, :1]
    values[:, 5::2] += centres[:, 1:]
    return values, scores[keep].astype(np.float64)


def weighted_nms(values: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: from the best remaining candidate, every candidate whose face
    box overlaps it by more than `iou` is merged into one (values averaged, weighted by score; the best's score).
    values (N, 12) as `decode` returns; returns (merged (12,), score) best first."""
    order = list(np.argsort(-scores, kind="stable"))
    merged = []
    while order:
        best = order[0]
        overlaps = _face_iou(values[best], values[order])
        group = [i for i, o in zip(order, overlaps, strict=True) if o > iou or i == best]
        weights = scores[group]
        merged.append(((values[group] * weights[:, None]).sum(axis=0) / weights.sum(), float(scores[best])))
        order = [i for i in order if i not in set(group)]
    return merged


def _face_iou(one: np.ndarray, many: np.ndarray) -> np.ndarray:
    """IoU of the face box of `one` (12,) with those of `many` (N, 12); boxes as (x centre, y centre, w, h)."""
    low = np.maximum(one[:2] - one[2:4] / 2, many[:, :2] - many[:, 2:4] / 2)
    high = np.minimum(one[:2] + one[2:4] / 2, many[:, :2] + many[:, 2:4] / 2)
    inter = np.prod(np.clip(high - low, 0.0, None), axis=1)
    union = one[2] * one[3] + many[:, 2] * many[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


class PersonDetector:
    """The person detector loaded once and reused; calls are serialised by a lock."""

    def __init__(self, threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(detection_model_path()), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {tuple(d["shape"]): d["index"] for d in self._interpreter.get_output_details()}
        self._raw, self._logits = outputs[(1, NUM_ANCHORS, 12)], outputs[(1, NUM_ANCHORS, 1)]
        self._anchors = ssd_anchor_centres()
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[PersonCandidate]:
        """Every person in an (H, W, 3) uint8 RGB image, best score first. The detector sees the whole image and,
        in a photo wider or taller than WINDOW_ASPECT, also overlapping square windows along its long side: people
        in a wide group photo are too small for 224 pixels otherwise."""
        found = [self._window_candidates(image, window) for window in detection_windows(image.shape[1], image.shape[0])]
        values = np.concatenate([v for v, _ in found])
        scores = np.concatenate([s for _, s in found])
        return [PersonCandidate(score, (cx - w / 2, cy - h / 2, w, h), (float(merged[4]), float(merged[5])),
                                float(np.hypot(*(merged[6:8] - merged[4:6]))))
                for merged, score in weighted_nms(values, scores) for cx, cy, w, h in [merged[:4]]]

    def _window_candidates(self, image: np.ndarray, window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Candidates in the (x0, y0, x1, y1) window of `image`: (N, 12) values as `decode`'s, in pixels of the
        image, and (N,) scores."""
        x0, y0, x1, y1 = window
        tensor, scale, pad = letterbox(image[y0:y1, x0:x1])
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._raw)[0]
            logits = self._interpreter.get_tensor(self._logits)[0, :, 0]
        values, scores = decode(raw, logits, self._anchors)
        values *= INPUT_SIZE
        points = np.r_[0, 1, 4:12]  # the box centre and the keypoints; the box size only scales
        values[:, points] = (values[:, points] - np.tile(pad, 5)) / scale + np.tile([x0, y0], 5)
        values[:, 2:4] /= scale
        return values, scores


def detection_windows(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) regions the detector sees: the whole image, plus, when one side is more than WINDOW_ASPECT
    times the other, squares of the short side along the long one, overlapping by half."""
    windows = [(0, 0, width, height)]
    short, long = min(width, height), max(width, height)
    if long <= WINDOW_ASPECT * short:
        return windows
    count = math.ceil(2 * long / short) - 1
    for start in np.linspace(0, long - short, count).round().astype(int):
        windows.append((int(start), 0, int(start) + short, height) if width > height
                       else (0, int(start), width, int(start) + short))
    return windows
