"""Mesh files: Wavefront OBJ (own writer) and binary glTF (trimesh). Vertices in metres; written atomically."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from hkmr_studio.atomic import atomic_write_bytes, atomic_write_text


def obj_text(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None = None) -> str:
    """(V, 3) vertices, (F, 3) zero-based faces, optional (V, 3) RGB in [0, 1] -> OBJ text (one-based indices)."""
    lines = ["# HKMR Studio mesh, metres"]
    if colors is None:
        lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    else:
        lines += [f"v {x:.6f} {y:.6f} {z:.6f} {r:.4f} {g:.4f} {b:.4f}" for (x, y, z), (r, g, b) in zip(vertices, colors)]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces]
    return "\n".join(lines) + "\n"


def write_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None = None) -> Path:
    return atomic_write_text(path, obj_text(vertices, faces, colors))


def write_glb(path: str | Path, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None = None) -> Path:
    """Binary glTF 2.0 of the mesh, per-vertex colours when given."""
    import trimesh

    vertex_colors = None if colors is None else (np.clip(colors, 0, 1) * 255).astype(np.uint8)
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=vertex_colors, process=False)
    buffer = io.BytesIO()
    mesh.export(buffer, file_type="glb")
    return atomic_write_bytes(path, buffer.getvalue())
