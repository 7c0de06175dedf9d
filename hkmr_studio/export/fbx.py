"""Rigged FBX export and read-back, driving Blender (`bpy`) in a child process (see blender_fbx.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hkmr_studio.body import kinematics
from hkmr_studio.export.rig import Rig

FBX_EXTRA_HINT = "FBX export needs Blender's Python module: pip install 'hkmr-studio[fbx]' (bpy 4.5, Python 3.11)"
_TIMEOUT_S = 120


class FbxExportError(RuntimeError):
    """The FBX could not be written or read; the message says what to do."""


def fbx_available() -> bool:
    return importlib.util.find_spec("bpy") is not None


def _run_blender(*args: str) -> str:
    if not fbx_available():
        raise FbxExportError(FBX_EXTRA_HINT)
    proc = subprocess.run([sys.executable, "-m", "hkmr_studio.export.blender_fbx", *args], check=False,
                          capture_output=True, text=True, timeout=_TIMEOUT_S)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise FbxExportError("Blender failed: " + " | ".join(tail))
    return proc.stdout


def write_fbx(path: str | Path, rig: Rig, times: np.ndarray | None = None, fps: float = 0.0) -> Path:
    """Write the rig's mesh skinned to a 24-bone SMPL armature, posed as predicted (Y-up view frame), atomically.

    An animated rig (local_rotmats (T, 24, 3, 3)) needs its key times (T,) in seconds and the frame rate fps: the
    armature gets a key per time (frame = time * fps), the scene that rate, and the FBX a baked key per frame."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if rig.local_rotmats.ndim == 4 and (times is None or len(times) != len(rig.local_rotmats) or not fps > 0):
        raise ValueError("an animated rig needs a key time per frame and a positive frame rate")
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "rig.npz"
        np.savez(npz, joint_names=np.array(kinematics.JOINT_NAMES), parents=np.array(kinematics.PARENTS),
                 rest_vertices=rig.rest_vertices, faces=rig.faces, weights=rig.weights, rest_joints=rig.rest_joints,
                 local_rotmats=rig.local_rotmats, translation=rig.translation,
                 times=np.zeros(0) if times is None else np.asarray(times, dtype=np.float64), fps=fps)
        staged = path.with_name(f".{path.name}.tmp.fbx")
        try:
            _run_blender("write", str(npz), str(staged))
            if not staged.is_file():
                raise FbxExportError("Blender reported success but wrote no file")
            os.replace(staged, path)
        finally:
            staged.unlink(missing_ok=True)
    return path


def read_fbx_summary(path: str | Path) -> dict:
    """Import an FBX in Blender and summarise it: bones, parents, vertex groups, vertex count, posed bounds; for an
    animation also fps, frame_range, key_times and local_rotations (see blender_fbx._read)."""
    for line in _run_blender("read", str(path)).splitlines():
        if line.startswith("FBX-SUMMARY "):
            return json.loads(line[len("FBX-SUMMARY "):])
    raise FbxExportError(f"could not read {path} back as FBX")
