"""File ▸ Export Take: a take document written as its take folder (take.npz + take.json) or an animation (FBX, BVH in
metres or centimetres, GLB) or the overlay video (MP4) through `export.animation.write_take_export` (Qt-free)."""

from __future__ import annotations

from pathlib import Path

from hkmr_studio.body.model import BodyModel
from hkmr_studio.export.animation import write_take_export
from hkmr_studio.gui.take_document import TakeSession, decode_frame
from hkmr_studio.video.take import write_take

#: Export kind -> (menu label, file suffix; "" for a folder).
TAKE_EXPORTS = {
    "take": ("Take Folder (NPZ + JSON)", ""),
    "fbx": ("Animated FBX (Blender)", ".fbx"),
    "bvh": ("BVH, metres", ".bvh"),
    "bvh-cm": ("BVH, centimetres", ".bvh"),
    "glb": ("Animated glTF (GLB)", ".glb"),
    "mp4": ("Overlay Video (MP4)", ".mp4"),
}


def take_export_name(stem: str, kind: str) -> str:
    """The file (or folder) name an export of `kind` gets by default."""
    suffix = TAKE_EXPORTS[kind][1]
    return f"{stem}_take" if not suffix else f"{stem}{'_cm' if kind == 'bvh-cm' else ''}{suffix}"


def write_take_file(session: TakeSession, body: BodyModel, path: Path, kind: str) -> Path:
    """Write the session's take as `kind` (a TAKE_EXPORTS key) at `path`; the MP4 draws on the recorded frames."""
    take = session.take
    if kind == "take":
        return write_take(path, take)
    if kind == "mp4":
        frames = (decode_frame(data).rgb for data in session.frames)
        return write_take_export(path, "mp4", take, body, frames=frames)
    if kind == "bvh-cm":
        return write_take_export(path, "bvh", take, body, units="cm")
    return write_take_export(path, kind, take, body)
