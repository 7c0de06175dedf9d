"""What the pipeline refuses to report as a body: keypoints that cannot constrain one, a person too small to read,
and numbers that are not a body (non-finite, or a body implausibly far from the camera).

Each check returns "" when its input is usable, else the reason, written for the user; the pipeline turns a reason
into a "could not recover a body" result (`PipelineResult.refused`) instead of a body.
"""

from __future__ import annotations

import numpy as np
import torch

from hkmr_studio.fitting.smplify import degenerate_keypoints_reason
from hkmr_studio.pipeline.keypoints import Keypoints2D

#: The smallest person crop (square side in pixels of the photo) the regressor is given: below it the keypoints are
#: a few pixels apart and MediaPipe's own error is as large as the person.
MIN_CROP_SIDE_PX = 32.0
#: A body whose origin lies farther than this from the camera (metres, under the assumed focal length) is refused: a
#: person that far is a few pixels tall in any photo the app accepts, so such a distance means the numbers are wrong.
MAX_DISTANCE_M = 200.0
NOT_RECOVERED = "Could not recover a body: {reason}."


def keypoints_reason(keypoints: Keypoints2D) -> str:
    """Why the visible keypoints (pixels) cannot constrain a body: collapsed onto a point or a line."""
    used = keypoints.visible()
    points = torch.as_tensor(keypoints.xy, dtype=torch.float64)[None]
    return degenerate_keypoints_reason(points, torch.as_tensor(used, dtype=torch.float64)[None])


def crop_reason(side_px: float) -> str:
    """Why a person crop of `side_px` pixels is too small to read."""
    if side_px < MIN_CROP_SIDE_PX:
        return (f"the person is only {side_px:.0f} px across, and at least {MIN_CROP_SIDE_PX:.0f} px are needed. Use a "
                "larger photo, or one where the person is nearer")
    return ""


def body_reason(arrays: dict[str, np.ndarray]) -> str:
    """Why the named arrays of a body (parameters, vertices, joints; camera frame, metres, `transl` (3,)) are not a
    body the app can report: a non-finite number, or its origin behind the camera or beyond MAX_DISTANCE_M."""
    broken = [name for name, values in arrays.items() if not np.isfinite(values).all()]
    if broken:
        return (f"the model produced numbers that are not finite ({', '.join(broken)}). Its weights may be damaged: "
                "reinstall it or pick another model")
    transl = arrays["transl"]
    if transl[2] <= 0:
        return "the body came out behind the camera. Try another model, or refine the keypoints by hand"
    distance = float(np.linalg.norm(transl))
    if distance > MAX_DISTANCE_M:
        return (f"the body came out {distance:,.0f} m from the camera (more than {MAX_DISTANCE_M:.0f} m). Check "
                "that the keypoints belong to this photo")
    return ""
