"""Animation exports of a take: rigged FBX, BVH, skinned glTF (GLB) and the overlay video (MP4).

`write_take_export` is the one entry point (the CLI's `--format` and the window's File > Export call it). Every
format animates the take's `track` (the smoothed one when the take was smoothed) with its one body shape
(`take.shape`), in the Y-up view frame of export/frames.py (metres unless the BVH is asked for centimetres).

Frames without a body: with missing="hold" (the default) they show the last body before them (the first body for
frames before any), and a warning says how many were held; with missing="skip" they get no key: the GLB
interpolates across the gap, the FBX too (Blender bakes a key at every frame, interpolated linearly there), and the
BVH, a fixed-rate format, shows the nearest frame with a body. The overlay video shows such frames as they are,
without a body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from hkmr_studio.body.model import BodyModel
from hkmr_studio.export.fbx import write_fbx
from hkmr_studio.export.overlay_video import write_overlay_video
from hkmr_studio.export.take_animation import TakeExportError, take_animation
from hkmr_studio.export.take_bvh import write_take_bvh
from hkmr_studio.export.take_glb import write_take_glb
from hkmr_studio.render.overlay import MeshRenderer
from hkmr_studio.video.take import Take

TAKE_EXPORT_FORMATS = ("fbx", "bvh", "glb", "mp4")
BVH_UNITS = {"m": 1.0, "cm": 100.0}


def write_take_export(
    path: str | Path, fmt: str, take: Take, body: BodyModel, *, missing: str = "hold", units: str = "m",
    frames: Iterable[np.ndarray] | None = None, renderer: MeshRenderer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write `take` as `fmt` (one of TAKE_EXPORT_FORMATS) to `path`, atomically; returns the path.

    body: the body model the take was recovered with. Options:
      missing: "hold" or "skip", frames without a body (module docstring); fbx, glb and bvh.
      units: "m" or "cm", the BVH's length unit.
      frames: mp4 only, required: the video's RGB frames (H, W, 3) uint8, in order (the take's source read again).
      renderer: mp4 only, a render.overlay.MeshRenderer to reuse (one is started and closed when None).
      progress: mp4 only, called as progress(frames_done, frame_count) after each frame; an exception raised there
        (e.g. the user cancelled) stops the export and no file is written. The other formats take about a second
        (FBX: a few, Blender starts in a child process) and report nothing.
    Raises TakeExportError for an option or a take that cannot be exported, fbx.FbxExportError when Blender is
    missing or fails.
    """
    if fmt == "mp4":
        if frames is None:
            raise TakeExportError("the overlay video needs the video's frames: pass frames=")
        return write_overlay_video(path, frames, take, body, renderer, progress)
    if fmt not in TAKE_EXPORT_FORMATS:
        raise TakeExportError(f"unknown take export format {fmt!r}: use one of {', '.join(TAKE_EXPORT_FORMATS)}")
    animation = take_animation(take, body, missing)
    if fmt == "bvh":
        if units not in BVH_UNITS:
            raise TakeExportError(f"units={units!r}: the BVH's length unit is one of {', '.join(BVH_UNITS)}")
        return write_take_bvh(path, animation, BVH_UNITS[units])
    if fmt == "glb":
        return write_take_glb(path, animation)
    return write_fbx(path, animation.rig, times=animation.times, fps=animation.fps)
