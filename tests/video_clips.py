"""Small test videos made on the fly from the bundled sample photo (cv2.VideoWriter), and the damage real videos
carry: a corrupt frame, a rotation tag, variable frame durations."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from hkmr_studio.bench.pipeline import letterboxed_sample

CLIP_SIZE = (320, 240)  # (width, height) px: small, and the person still ~200 px tall for MediaPipe


def person_frames(count: int, blank: tuple[int, ...] = (), size: tuple[int, int] = CLIP_SIZE) -> list[np.ndarray]:
    """`count` (H, W, 3) uint8 BGR frames of the sample photo drifting right by 2 px a frame; the frames numbered in
    `blank` are empty grey (no person)."""
    still = letterboxed_sample(*size)
    frames = []
    for i in range(count):
        if i in blank:
            frames.append(np.full_like(still, 128))
        else:
            frames.append(np.roll(still, 2 * i, axis=1))
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write BGR `frames` as a video: MJPG for .avi (each frame its own JPEG), MPEG-4 Part 2 for .mp4."""
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix == ".avi" else "mp4v"))
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path.suffix} here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def corrupt_avi_frame(path: Path, index: int) -> None:
    """Blank out the JPEG data of frame `index` of an MJPG .avi written by `write_clip`, so that it cannot be decoded
    (the container stays valid)."""
    data = bytearray(path.read_bytes())
    chunks = [i for i in range(len(data) - 4) if data[i:i + 4] == b"00dc"][1:]  # the first names the stream
    start = chunks[index]
    size = int.from_bytes(data[start + 4:start + 8], "little")
    data[start + 8:start + 8 + size] = bytes(size)
    path.write_bytes(bytes(data))


def tag_rotation(path: Path, degrees: int) -> None:
    """Set the display matrix of an .mp4's video track (its tkhd box) to turn the picture by `degrees` (90, 180 or
    270), as phones tag portrait clips."""
    data = bytearray(path.read_bytes())
    tkhd = data.find(b"tkhd")
    assert data[tkhd + 4] == 0, "expects a version-0 tkhd box"
    matrix = tkhd + 4 + 4 + 5 * 4 + 8 + 4 * 2  # after version/flags, 5 words, reserved, layer/group/volume/reserved
    one, cos, sin = 0x10000, round(np.cos(np.radians(degrees))), round(np.sin(np.radians(degrees)))
    data[matrix:matrix + 36] = struct.pack(">9i", cos * one, sin * one, 0, -sin * one, cos * one, 0, 0, 0,
                                           0x40000000)
    path.write_bytes(bytes(data))


def set_frame_durations(path: Path, multiples: list[float]) -> None:
    """Give the frames of an .mp4 written by `write_clip` (its index after its data) these durations, in frames of
    its nominal rate: a variable frame rate clip. They must add up to the frame count (the track's edit list keeps
    its length). Rewrites the stts box and the sizes of the boxes around it."""
    data = path.read_bytes()
    stts = data.find(b"stts")
    unit = int.from_bytes(data[stts + 16:stts + 20], "big")  # the one entry's sample delta
    assert data.find(b"moov") > data.find(b"mdat"), "the sample offsets would move"
    assert sum(multiples) == int.from_bytes(data[stts + 12:stts + 16], "big"), "the clip's length would change"
    entries = b"".join(struct.pack(">II", 1, round(m * unit)) for m in multiples)
    payload = bytes(4) + struct.pack(">I", len(multiples)) + entries
    path.write_bytes(_with_box(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"], payload))


def _with_box(data: bytes, box_path: list[bytes], payload: bytes) -> bytes:
    """MP4 boxes `data` with the box at `box_path` given `payload`, the sizes of its parents updated."""
    out, i = b"", 0
    while i < len(data):
        size, kind = int.from_bytes(data[i:i + 4], "big"), data[i + 4:i + 8]
        body = data[i + 8:i + size]
        if kind == box_path[0]:
            body = payload if len(box_path) == 1 else _with_box(body, box_path[1:], payload)
        out += struct.pack(">I", 8 + len(body)) + kind + body
        i += size
    return out
