"""The app's facing check on the rendered test split, by view angle: how often the body faces the wrong way, and how
often the check flags it.

Each render MediaPipe found goes through the app's `Pipeline.run` (its landmarks as keypoints, the focal length
assumed as the app assumes it); the body's facing error is the angle between its torso forward direction and the
rendered body's (hkmr_studio.body.facing), and a view counts as facing the wrong way above 90 degrees. Views are
grouped by the body's heading seen from the camera (|yaw|: 0 faces the camera, 180 shows its back). Per group:
views, wrong-facing views, flagged views, precision and recall of the flag, and how many flagged views Flip turns
within 90 degrees.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

from hkmr_studio.body.facing import facing_error_deg
from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, Keypoints2D
from training.real.app_pipeline import WRONG_FACING_DEG, blank_image, landmarks
from training.rendered.dataset import RenderedSet

#: Edges of the |yaw| groups, degrees.
YAW_EDGES = (0, 30, 60, 90, 120, 150, 180)


def _truth(pipeline: Pipeline, rendered: RenderedSet, rows: np.ndarray) -> torch.Tensor:
    """(N, 33, 3) the rendered bodies' landmarks, camera frame."""
    with torch.no_grad():
        out = BodyLandmarks(pipeline.body)(*(torch.as_tensor(getattr(rendered, k)[rows])
                                             for k in ("global_orient", "body_pose", "betas")))
    return out.landmarks + torch.as_tensor(rendered.transl[rows])[:, None]


def facing_by_view(model: str, rendered: RenderedSet, device: str = "cpu") -> dict[str, Any]:
    """The figures of the module docstring, per |yaw| group and over all views."""
    pipeline = Pipeline(model=model, device=device)
    rows = np.flatnonzero(rendered.found)
    size = (rendered.photo_px, rendered.photo_px)
    results = [pipeline.run(blank_image(size), keypoints=Keypoints2D(
        rendered.pixels[i].astype(np.float64), rendered.visibility[i].astype(np.float64),
        np.ones(NUM_LANDMARKS, dtype=bool), "mediapipe", world=rendered.world[i].astype(np.float64))) for i in rows]
    found = np.array([r.found for r in results])
    rows, results = rows[found], [r for r in results if r.found]
    truth = _truth(pipeline, rendered, rows)
    error = facing_error_deg(torch.stack([landmarks(r.best) for r in results]), truth).numpy()
    flagged = np.array([r.facing.flagged for r in results])
    flip_right = np.zeros(len(rows), dtype=bool)
    for i in np.flatnonzero(flagged):
        flipped = results[i].other_way
        flip_right[i] = flipped is not None and flipped.found and facing_error_deg(
            landmarks(flipped.best)[None], truth[i][None]).item() <= WRONG_FACING_DEG
    pipeline.close()
    wrong = error > WRONG_FACING_DEG
    yaw = np.abs(np.degrees(rendered.view[rows, 0]))

    def group(selected: np.ndarray) -> dict[str, Any]:
        hits = int((flagged & wrong & selected).sum())
        return {"views": int(selected.sum()), "wrong": int((wrong & selected).sum()),
                "flagged": int((flagged & selected).sum()), "flagged_wrong": hits,
                "precision": round(hits / max(int((flagged & selected).sum()), 1), 3),
                "recall": round(hits / max(int((wrong & selected).sum()), 1), 3),
                "right_after_flip": int((flip_right & selected).sum())}

    groups = {f"{low}-{high}": group((yaw >= low) & (yaw < high if high < 180 else yaw <= high))
              for low, high in itertools.pairwise(YAW_EDGES)}
    return {"model": model, "renders": len(rendered), "found": int(rendered.found.sum()),
            "refused": int((~found).sum()), "all": group(np.ones(len(rows), dtype=bool)), "by_abs_yaw_deg": groups}


def table(results: dict[str, Any]) -> str:
    lines = [(f"facing check of {results['model']} on {results['found']} renders MediaPipe found "
             f"({results['refused']} refused); wrong = facing more than {WRONG_FACING_DEG:.0f} deg off"),
             (f"{'|yaw| deg':>10} {'views':>6} {'wrong':>6} {'flagged':>8} {'hits':>5} {'precision':>10} "
             f"{'recall':>7} {'flip right':>11}")]
    for name, g in [*results["by_abs_yaw_deg"].items(), ("all", results["all"])]:
        lines.append(f"{name:>10} {g['views']:>6} {g['wrong']:>6} {g['flagged']:>8} {g['flagged_wrong']:>5} "
                     f"{g['precision']:>10.2f} {g['recall']:>7.2f} {g['right_after_flip']:>11}")
    return "\n".join(lines)
