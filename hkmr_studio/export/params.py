"""Parameter files: one JSON (or NPZ) per photo with the body, camera and the keypoints it was recovered from."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from hkmr_studio import __version__, strict_json
from hkmr_studio.atomic import atomic_write_bytes, atomic_write_text
from hkmr_studio.body import kinematics
from hkmr_studio.pipeline.core import BodyEstimate, PipelineResult
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.pipeline.people import FoundPerson

FORMAT = "hkmr-studio-params/1"


def _body_dict(body: BodyEstimate) -> dict[str, Any]:
    return {
        "betas": body.betas.tolist(),
        "global_orient": body.global_orient.tolist(),
        "body_pose": body.body_pose.reshape(kinematics.NUM_BODY_JOINTS, 3).tolist(),
        "transl": body.transl.tolist(),
        "joints3d": body.joints3d.tolist(),
        "joints2d": body.joints2d.tolist(),
    }


def select_body(result: PipelineResult, which: str) -> BodyEstimate:
    """`which` is "regression", "fit" or "best" (the fit when there is one)."""
    body = {"regression": result.regression, "fit": result.fit, "best": result.best}[which]
    if body is None:
        raise ValueError(f"the result has no {which} body")
    return body


def people_section(people: list[FoundPerson], index: int) -> dict[str, Any]:
    """The parameter file's "people": every person found in the photo (numbered from the left: index, label p0, p1,
    ..., box [x, y, w, h] pixels, source "detected", "box" or "keypoints", the detector's score or null) and the
    index of the one this file describes ("person")."""
    return {"person": index, "people": [
        {"index": i, "label": f"p{i}", "box": [float(v) for v in p.box], "source": p.source, "score": p.score}
        for i, p in enumerate(people)]}


def params_dict(result: PipelineResult, which: str = "best", people: dict[str, Any] | None = None) -> dict[str, Any]:
    """JSON-ready description of a found body (see `select_body` for `which`); `people`: `people_section` of the
    photo, written by `hkmr-studio infer` (absent otherwise)."""
    body = select_body(result, which)
    kp = result.keypoints
    return {
        "format": FORMAT,
        "hkmr_studio_version": __version__,
        "image": str(result.image.path) if result.image.path else None,
        "image_size": list(result.image.original_size),
        "image_scale": result.image.scale,  # image_size per pixel of the file: below 1 when decoded reduced
        "model": result.model_name,
        "model_trained": result.model_trained,
        "result": "fit" if body is result.fit else "regression",
        "units": "metres; angles axis-angle radians; pixels of the image processed (image_size: the file's pixels "
                 "times image_scale)",
        "frame": "camera frame, OpenCV: x right, y down, z forward",
        "joint_names": list(kinematics.JOINT_NAMES),
        "camera": {
            "focal_length_px": result.focal_length,
            "principal_point_px": list(result.principal_point),
            "focal_length_assumed": result.focal_length_source == "assumed",
            "focal_length_source": result.focal_length_source,
            "crop_weak_perspective": None if result.camera is None else result.camera.tolist(),
            "crop_center_size_px": None if result.crop is None else list(result.crop),
        },
        **_body_dict(body),
        "keypoints": {
            "source": kp.source,
            "names": list(MEDIAPIPE_LANDMARK_NAMES),
            "xy": kp.xy.tolist(),
            "visibility": kp.visibility.tolist(),
            "present": kp.present.tolist(),
        },
        "facing": None if result.facing is None else {
            **result.facing.to_json(), "flipped": result.flipped,
            "other_way": None if result.other_way is None or result.other_way.best is None
            else _body_dict(result.other_way.best)},
        **(people or {}),
        "timings_s": dict(result.timings),
    }


def write_params_json(path: str | Path, result: PipelineResult, which: str = "best",
                      people: dict[str, Any] | None = None) -> Path:
    return atomic_write_text(path, strict_json.dumps(params_dict(result, which, people), indent=1))


def write_params_npz(path: str | Path, result: PipelineResult, which: str = "best",
                     people: dict[str, Any] | None = None) -> Path:
    """The JSON's body arrays as arrays, plus the mesh vertices (V, 3); the other fields as `metadata_json`."""
    data = params_dict(result, which, people)
    arrays = {k: np.asarray(v) for k, v in data.items() if k in {"betas", "global_orient", "body_pose", "transl",
                                                                 "joints3d", "joints2d"}}
    arrays["vertices"] = select_body(result, which).vertices
    arrays["metadata_json"] = np.array(strict_json.dumps({k: v for k, v in data.items() if k not in arrays}))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())
