"""One export file of a pipeline result, in any of export.FORMATS: used by `hkmr-studio infer` and the window alike.

Meshes and rigs are written in the Y-up view frame (see frames.py); parameter files keep the camera frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hkmr_studio.body.model import BodyModel
from hkmr_studio.export.fbx import write_fbx
from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.export.meshes import write_glb, write_obj
from hkmr_studio.export.params import select_body, write_params_json, write_params_npz
from hkmr_studio.export.rig import make_rig
from hkmr_studio.pipeline.core import PipelineResult

#: File name endings per format, after the photo's stem.
FILE_ENDINGS = {"json": "_params.json", "npz": "_params.npz", "obj": ".obj", "glb": ".glb", "fbx": ".fbx"}


def export_file_name(stem: str, fmt: str) -> str:
    """The file name `hkmr-studio infer` gives format `fmt` of the photo called `stem`."""
    return stem + FILE_ENDINGS[fmt]


def write_export(path: str | Path, fmt: str, result: PipelineResult, body: BodyModel, which: str = "best",
                 people: dict[str, Any] | None = None) -> Path:
    """Write one found body of `result` (see params.select_body for `which`) as `fmt`, atomically; parameter files
    list the photo's `people` (params.people_section) when given.

    body: the body model the result was recovered with (faces, skinning). FBX raises fbx.FbxExportError when Blender
    is missing or fails.
    """
    estimate = select_body(result, which)
    if fmt == "json":
        return write_params_json(path, result, which, people)
    if fmt == "npz":
        return write_params_npz(path, result, which, people)
    if fmt == "obj":
        return write_obj(path, camera_to_yup(estimate.vertices), body.faces)
    if fmt == "glb":
        return write_glb(path, camera_to_yup(estimate.vertices), body.faces)
    if fmt == "fbx":
        return write_fbx(path, make_rig(body, estimate.global_orient, estimate.body_pose, estimate.betas,
                                        estimate.transl))
    raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FILE_ENDINGS)}")
