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

_SIDE_LIMBS = ("shoulder", "elbow", "wrist", "pinky", "index", "thumb", "hip", "knee", "ankle", "heel", "foot_index")
#: MediaPipe landmarks by region: the face (nose, eyes, ears, mouth), the hands, the feet, and each side's limbs.
FACE_LANDMARKS: tuple[int, ...] = tuple(range(11))
HAND_LANDMARKS: tuple[int, ...] = tuple(range(17, 23))
FOOT_LANDMARKS: tuple[int, ...] = tuple(range(29, 33))
LEFT_LIMB_LANDMARKS: tuple[int, ...] = tuple(MEDIAPIPE_LANDMARK_NAMES.index(f"left_{p}") for p in _SIDE_LIMBS)
RIGHT_LIMB_LANDMARKS: tuple[int, ...] = tuple(MEDIAPIPE_LANDMARK_NAMES.index(f"right_{p}") for p in _SIDE_LIMBS)


def _all_but(*groups: tuple[int, ...]) -> tuple[int, ...]:
    dropped = {i for group in groups for i in group}
    return tuple(i for i in range(NUM_LANDMARKS) if i not in dropped)


#: Partial inputs the regressor is trained and evaluated for: name -> the MediaPipe landmarks given. "coco17": what
#: COCO annotation files give (no face mesh, hands or feet, and no world landmarks); the others: MediaPipe's output
#: with a region missing (a cropped or masked face, hands and feet out of view, one side's limbs hidden).
PARTIAL_INPUTS: dict[str, tuple[int, ...]] = {
    "coco17": COCO17_FROM_MEDIAPIPE33,
    "no_face": _all_but(FACE_LANDMARKS),
    "no_hands_feet": _all_but(HAND_LANDMARKS, FOOT_LANDMARKS),
    "left_side_hidden": _all_but(LEFT_LIMB_LANDMARKS),
    "right_side_hidden": _all_but(RIGHT_LIMB_LANDMARKS),
}
