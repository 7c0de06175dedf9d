"""How MediaPipe Pose errs on our body, measured by `python -m training calibrate-landmarks` and used to corrupt
synthetic landmarks the same way. Stored as JSON beside the calibration report (training/data/).

Lengths are fractions of the person's size: the longer side of the bounding box of the 33 true landmarks in the image.
Per-landmark arrays are (33,) in MediaPipe order, pooled over each left/right pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.samples.stored import load_fields, save_fields

STATISTICS_PATH = Path(__file__).resolve().parents[1] / "data" / "mediapipe_statistics.json"
MEASURE_COMMAND = "python -m training calibrate-landmarks"
#: Landmark groups whose left and right MediaPipe swaps together (mostly in back views): face, arms, legs.
SWAP_GROUPS: tuple[tuple[int, ...], ...] = (tuple(range(1, 11)), tuple(range(11, 23)), tuple(range(23, 33)))
#: Quantile levels of `covered_displacement`.
DISPLACEMENT_LEVELS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


@dataclass(frozen=True)
class DetectorStatistics:
    """noise: robust standard deviation per image axis of a seen landmark around its calibrated definition.
    outlier_rate: fraction of seen landmarks farther than 0.1 (person sizes) from it; outlier_scale: their median
    distance. swap_rates: per SWAP_GROUPS group, the fraction of found people whose left and right are swapped.
    visibility_{seen,hidden}_{mean,std}: MediaPipe's visibility when the body does not / does hide the landmark
    (point-splat test); visibility_covered_{mean,std}: under a synthetic occluder; covered_displacement: quantiles
    (at DISPLACEMENT_LEVELS) of how far an occluder moves the landmark it covers. occluded_detection_rate: how often
    MediaPipe still finds the person with one occluder. world_noise: (3,) standard deviation per axis, metres, of its
    world landmarks around the hip-centred calibrated landmarks."""

    noise: tuple[float, ...]
    outlier_rate: float
    outlier_scale: float
    swap_rates: tuple[float, float, float]
    visibility_seen_mean: tuple[float, ...]
    visibility_seen_std: tuple[float, ...]
    visibility_hidden_mean: tuple[float, ...]
    visibility_hidden_std: tuple[float, ...]
    visibility_covered_mean: tuple[float, ...]
    visibility_covered_std: tuple[float, ...]
    covered_displacement: tuple[float, ...]
    occluded_detection_rate: float
    world_noise: tuple[float, float, float]

    def array(self, name: str) -> np.ndarray:
        """A field as a float32 numpy array."""
        return np.asarray(getattr(self, name), dtype=np.float32)

    def save(self, path: Path = STATISTICS_PATH) -> Path:
        return save_fields(self, path, digits=5)

    @staticmethod
    def load(path: Path = STATISTICS_PATH) -> DetectorStatistics:
        """Read the statistics; a missing file says which command writes it."""
        return DetectorStatistics(**load_fields(DetectorStatistics, path, MEASURE_COMMAND))
