"""The frame exported meshes and rigs are written in.

Predictions live in the OpenCV camera frame (x right, y down, z forward), where an upright person is upside down for
3D tools that expect Y up. Exports use the *Y-up view frame*: the camera frame turned 180 degrees about its x axis
(x right, y up, z towards the viewer), so the person stands upright and faces the viewer as in the photo.
"""

from __future__ import annotations

import numpy as np

#: Camera frame -> Y-up view frame (its own inverse).
CAMERA_TO_YUP = np.diag([1.0, -1.0, -1.0])


def camera_to_yup(points: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points -> (..., 3) Y-up view-frame points."""
    return np.asarray(points) @ CAMERA_TO_YUP.T
