"""Peak memory of `hkmr-studio infer` (`hkmr-studio bench memory`): the resident set of one child process per run.

Runs: a 640 x 480 photo (what any run costs: Python, torch, MediaPipe, VTK and the model); a batch of ordinary photos
(the sample letterboxed into 12, 24 and 48 MP JPEGs; the last is decoded reduced, see batch.MAX_DECODED_PIXELS); and
a real 40,000 x 40,000 PNG (black, 4.8 GB of pixels, a few MB of file), which must be refused from its header.
Target: ordinary photos under TARGET_GB.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import cv2

from hkmr_studio.bench.pipeline import letterboxed_sample, model_spec

TARGET_GB = 2.0
ORDINARY = {"12mp.jpg": (4032, 3024), "24mp.jpg": (6000, 4000), "48mp.jpg": (8064, 6048)}
HUGE_SIDE = 40_000


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_black_png(path: Path, width: int, height: int) -> Path:
    """A genuine width x height 8-bit RGB PNG of black pixels, compressed row by row (never held in memory)."""
    compressor = zlib.compressobj(9)
    row = bytes(1 + 3 * width)  # filter byte 0, then the pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data)
                     + _png_chunk(b"IEND", b""))
    return path


def peak_rss_gb(command: list[str]) -> tuple[float, int]:
    """Run `command` as a child process; its peak resident set in GB (Linux reports ru_maxrss in KiB) and its exit
    status."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss * 1024 / 1e9, child.returncode


def run() -> str:
    """Run the benchmark and return its report."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec, model_note = model_spec(root)
        small, ordinary, huge = root / "small", root / "ordinary", root / "huge"
        for folder in (small, ordinary, huge):
            folder.mkdir()
        cv2.imwrite(str(small / "photo.jpg"), letterboxed_sample(640, 480))
        for name, (width, height) in ORDINARY.items():
            cv2.imwrite(str(ordinary / name), letterboxed_sample(width, height), [cv2.IMWRITE_JPEG_QUALITY, 90])
        write_black_png(huge / "huge.png", HUGE_SIDE, HUGE_SIDE)
        rows = []
        for label, folder in (("a 640x480 photo (what any run costs)", small),
                              ("3 ordinary photos (12, 24 and 48 MP JPEGs)", ordinary),
                              (f"a {HUGE_SIDE}x{HUGE_SIDE} PNG (refused)", huge)):
            gb, status = peak_rss_gb([sys.executable, "-m", "hkmr_studio", "infer", str(folder), "--out",
                                      str(root / f"out_{folder.name}"), "--model", str(spec), "--device", "cpu"])
            verdict = ""
            if folder is ordinary:
                verdict = f" (target < {TARGET_GB:.1f} GB: {'met' if gb < TARGET_GB else 'NOT met'})"
            rows.append(f"  {label:<46}{gb:6.2f} GB  exit {status}{verdict}")
    return "\n".join([f"Peak resident memory of `hkmr-studio infer`, one process per run, CPU; model: {model_note}",
                      *rows])
