"""The overlay of a take as an H.264 MP4: each video frame with its body drawn as the photo overlay draws it.

Encoded with PyAV (`av`, BSD-3-Clause; its wheels bundle FFmpeg and x264, see NOTICE), written atomically.
Frames keep their times (a take read at a variable rate stays variable); the stream's nominal rate is take.fps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.atomic import atomic_file_set
from hkmr_studio.body.model import BodyModel
from hkmr_studio.export.take_animation import TakeExportError, frames_with_body
from hkmr_studio.geometry.cameras import perspective_project
from hkmr_studio.render.compose import overlay_body
from hkmr_studio.render.overlay import MeshRenderer, PinholeCamera
from hkmr_studio.video.take import Take

log = logging.getLogger(__name__)

#: Frames posed by the body model at a time.
_BATCH = 32
#: x264's constant rate factor: 18-23 is visually near lossless to good.
_CRF = "20"


def _posed_frames(take: Take, body: BodyModel) -> Iterator[tuple[np.ndarray, np.ndarray] | None]:
    """Per take frame: its body's vertices (V, 3) camera frame and joints (24, 2) pixels, or None without a body."""
    track, with_body = take.track, frames_with_body(take)
    centre = torch.tensor([[take.image_size[0] / 2.0, take.image_size[1] / 2.0]])
    dtype = body.smpl.v_template.dtype
    for start in range(0, take.frame_count, _BATCH):
        rows = slice(start, min(start + _BATCH, take.frame_count))
        pose = [torch.as_tensor(np.nan_to_num(a[rows]), dtype=dtype)
                for a in (track.global_orient, track.body_pose, track.transl)]
        with torch.no_grad():
            out = body(pose[0], pose[1], torch.as_tensor(take.shape, dtype=dtype).expand(len(pose[0]), -1), pose[2])
            joints2d = perspective_project(out.joints, take.focal_length, centre.to(dtype))
        for i, row in enumerate(range(rows.start, rows.stop)):
            yield (out.vertices[i].numpy(), joints2d[i].numpy()) if with_body[row] else None


def _even(frame: np.ndarray) -> np.ndarray:
    """H.264 in 4:2:0 needs an even width and height: pad a black row or column where one is odd."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)))


def _overlay_pictures(frames: Iterable[np.ndarray], take: Take, body: BodyModel,
                      renderer: MeshRenderer | None) -> Iterator[np.ndarray]:
    """The take's frames (H, W, 3) uint8 RGB, each with its body drawn as the photo overlay draws it; `renderer`
    None: one is started at the first body and closed when the iteration ends."""
    width, height = take.image_size
    camera = PinholeCamera(take.focal_length, width / 2.0, height / 2.0, width, height)
    started = None
    try:
        for index, (rgb, posed) in enumerate(zip(frames, _posed_frames(take, body))):
            if rgb.shape != (height, width, 3):
                raise TakeExportError(f"frame {index} of {take.source} is {rgb.shape[1]}x{rgb.shape[0]} px, the "
                                      f"take's frames are {width}x{height}: export with the video the take was "
                                      "recorded from")
            if posed is None:
                yield rgb
                continue
            if renderer is None:
                renderer = started = MeshRenderer()
            yield overlay_body(rgb, renderer, camera, posed[0], body.faces, posed[1], take.keypoints[index],
                               take.visibility[index])
    finally:
        if started is not None:
            started.close()


def write_overlay_video(path: str | Path, frames: Iterable[np.ndarray], take: Take, body: BodyModel,
                        renderer: MeshRenderer | None = None,
                        progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the overlay of `take` over `frames` (the video's (H, W, 3) uint8 RGB frames, in order) as an MP4.

    body: the model the take was recovered with; renderer: reused when given, else started (at the first body) and
    closed here; progress(done, total) is called after each frame (an exception it raises cancels the export, and
    no file is written). Frames beyond the take's are ignored; a frame of another size than take.image_size raises
    TakeExportError. The file is encoded into a staging folder beside `path` and appears when complete."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(take.fps).limit_denominator(1001)
    written, last_pts = 0, -1
    with atomic_file_set(path.parent) as staging, closing(_overlay_pictures(frames, take, body, renderer)) as pictures:
        with av.open(str(staging / path.name), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=rate)
            width, height = take.image_size
            stream.width, stream.height = width + width % 2, height + height % 2
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": _CRF, "preset": "veryfast"}
            for index, picture in enumerate(pictures):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(_even(picture)), format="rgb24")
                last_pts = frame.pts = max(last_pts + 1, round(take.times[index] * rate))  # frame times kept
                container.mux(stream.encode(frame))
                written = index + 1
                if progress is not None:
                    progress(written, take.frame_count)
            container.mux(stream.encode(None))
        if written == 0:
            raise TakeExportError(f"{take.source}: the video gave no frames, so there is no overlay video to write")
    if written < take.frame_count:
        log.warning("%s: the video gave %d frames, the take has %d: the overlay video ends at frame %d",
                    take.source, written, take.frame_count, written)
    return path
