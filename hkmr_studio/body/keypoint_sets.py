"""Names and orders of the 2D keypoint sets the project reads: MediaPipe Pose's 33 landmarks and COCO's 17.

"Left" and "right" are the person's own sides. MediaPipe-33 is the in-memory convention everywhere; COCO-17 is its
subset given by COCO17_FROM_MEDIAPIPE33.
"""

from __future__ import annotations

MEDIAPIPE_LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip
#: COCO17_FROM_MEDIAPIPE33[k] is the MediaPipe index of COCO keypoint k.
COCO17_FROM_MEDIAPIPE33: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
NUM_LANDMARKS = len(MEDIAPIPE_LANDMARK_NAMES)
