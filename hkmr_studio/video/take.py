"""A take: one person's body recovered in every frame of a video or webcam recording (Qt-free).

Frames are numbered 0..T-1 in the order they were read; `times` are seconds from the first frame (variable frame
rates keep their real times). Parameters are in the video's camera frame (OpenCV: x right, y down, z forward; metres),
axis-angle, as `pipeline.core.BodyEstimate` holds them. A frame without a body (no person, refused keypoints, an
unreadable frame) has a status other than "ok" and NaN parameters and keypoints.

Saved as a folder: `take.npz` (arrays, read with allow_pickle=False) and `take.json` (the same, per frame, for people
and other tools), written together or not at all.
"""

from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hkmr_studio import __version__, strict_json
from hkmr_studio.atomic import atomic_file_set
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS

FORMAT = "hkmr-studio-take/1"
#: ok: a body; no_person: nobody found; refused: a person whose keypoints or body failed the pipeline's checks;
#: unreadable: the frame could not be decoded.
FRAME_STATUSES = ("ok", "no_person", "refused", "unreadable")
NPZ_NAME, JSON_NAME = "take.npz", "take.json"
_TRACK_FIELDS = {"global_orient": 3, "body_pose": 69, "betas": 10, "transl": 3}


class TakeFileError(ValueError):
    """A take file is missing, damaged or of another format; the message names the file and what is wrong."""


@dataclass(frozen=True)
class TakeTrack:
    """Parameters of T frames: global_orient (T, 3), body_pose (T, 69) axis-angle; betas (T, 10); transl (T, 3)
    metres, camera frame. In a smoothed track every row of `betas` is the take's one body shape."""

    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray

    def __post_init__(self) -> None:
        lengths = set()
        for name, width in _TRACK_FIELDS.items():
            value = getattr(self, name)
            if value.ndim != 2 or value.shape[1] != width:
                raise ValueError(f"TakeTrack.{name}: expected shape (T, {width}), got {value.shape}")
            lengths.add(value.shape[0])
        if len(lengths) != 1:
            raise ValueError(f"TakeTrack: fields have different frame counts {sorted(lengths)}")

    @property
    def frame_count(self) -> int:
        return self.global_orient.shape[0]

    @classmethod
    def empty(cls, frames: int) -> TakeTrack:
        """A track of `frames` frames with no body (NaN everywhere)."""
        return cls(**{name: np.full((frames, width), np.nan) for name, width in _TRACK_FIELDS.items()})

    def with_frame(self, index: int, **values: np.ndarray) -> TakeTrack:
        """A copy with frame `index` of the named fields replaced."""
        arrays = {name: getattr(self, name).copy() for name in _TRACK_FIELDS}
        for name, value in values.items():
            arrays[name][index] = value
        return TakeTrack(**arrays)


@dataclass
class Take:
    """One person through a video. T = len(times).

    source: what was recorded ("clip.mp4", "camera 0"); image_size: (width, height) pixels of the frames as shown
    (after rotation metadata); focal_length: pixels; fps: the source's nominal rate (frames/s), used for export keys.
    times (T,) seconds; status and messages: per frame (FRAME_STATUSES; '' when ok). keypoints (T, 33, 2) pixels of
    the frame and visibility (T, 33): MediaPipe's 33 landmarks, NaN where none. raw: the bodies as recovered frame by
    frame; smoothed: after `video.smoothing` (one shape), None until smoothed; smoothing: its settings.
    """

    source: str
    image_size: tuple[int, int]
    focal_length: float
    fps: float
    times: np.ndarray
    status: tuple[str, ...]
    messages: tuple[str, ...]
    keypoints: np.ndarray
    visibility: np.ndarray
    raw: TakeTrack
    smoothed: TakeTrack | None = None
    smoothing: dict[str, float] = field(default_factory=dict)
    person_id: int = 0

    def __post_init__(self) -> None:
        frames = len(self.times)
        checks = {
            "status": len(self.status) == frames, "messages": len(self.messages) == frames,
            "keypoints": self.keypoints.shape == (frames, NUM_LANDMARKS, 2),
            "visibility": self.visibility.shape == (frames, NUM_LANDMARKS),
            "raw": self.raw.frame_count == frames,
            "smoothed": self.smoothed is None or self.smoothed.frame_count == frames,
        }
        if bad := [name for name, ok in checks.items() if not ok]:
            raise ValueError(f"Take: {', '.join(bad)} do not match the {frames} frame times")
        if unknown := sorted(set(self.status) - set(FRAME_STATUSES)):
            raise ValueError(f"Take: unknown frame status {unknown}; expected one of {FRAME_STATUSES}")

    @property
    def frame_count(self) -> int:
        return len(self.times)

    @property
    def found(self) -> np.ndarray:
        """(T,) bool: frames with a body."""
        return np.array([s == "ok" for s in self.status], dtype=bool)

    @property
    def track(self) -> TakeTrack:
        """The smoothed track when there is one, else the raw one: what views and exports show."""
        return self.smoothed if self.smoothed is not None else self.raw

    @property
    def shape(self) -> np.ndarray:
        """(10,) the take's one body shape: the smoothed track's, else the mean of the frames with a body."""
        betas = self.track.betas[self.found]
        return np.zeros(10) if len(betas) == 0 else betas.mean(axis=0)


def write_take(folder: str | Path, take: Take) -> Path:
    """Write `take` as take.npz and take.json into `folder` (created), both or neither; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_file_set(folder) as staging:
        (staging / NPZ_NAME).write_bytes(_npz_bytes(take))
        (staging / JSON_NAME).write_text(strict_json.dumps(take_dict(take), indent=1), encoding="utf-8")
    return folder


def take_dict(take: Take) -> dict[str, Any]:
    """JSON-ready description of a take: its settings and, per frame, the time, status and shown parameters."""
    track = take.track
    frames = []
    for i in range(take.frame_count):
        frame: dict[str, Any] = {"index": i, "time": float(take.times[i]), "status": take.status[i]}
        if take.messages[i]:
            frame["message"] = take.messages[i]
        if take.status[i] == "ok":
            frame.update(global_orient=track.global_orient[i].tolist(),
                         body_pose=track.body_pose[i].reshape(23, 3).tolist(), transl=track.transl[i].tolist(),
                         keypoints=take.keypoints[i].tolist(), visibility=take.visibility[i].tolist())
        frames.append(frame)
    return {
        "format": FORMAT, "generator": f"hkmr-studio {__version__}", "source": take.source,
        "person_id": take.person_id, "image_size": list(take.image_size), "focal_length": take.focal_length,
        "fps": take.fps, "frame_count": take.frame_count, "frames_with_body": int(take.found.sum()),
        "smoothed": take.smoothed is not None, "smoothing": take.smoothing, "betas": take.shape.tolist(),
        "frames": frames,
    }


def _npz_bytes(take: Take) -> bytes:
    arrays: dict[str, np.ndarray] = {
        "times": take.times, "keypoints": take.keypoints, "visibility": take.visibility,
        "status": np.array(take.status, dtype=str), "messages": np.array(take.messages, dtype=str),
        "meta": np.array(json.dumps({"format": FORMAT, "source": take.source, "image_size": list(take.image_size),
                                     "focal_length": take.focal_length, "fps": take.fps,
                                     "person_id": take.person_id, "smoothing": take.smoothing})),
    }
    for prefix, track in (("raw", take.raw), ("smoothed", take.smoothed)):
        if track is not None:
            arrays.update({f"{prefix}_{name}": value for name, value in dataclasses.asdict(track).items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def read_take(folder_or_npz: str | Path) -> Take:
    """Read a take written by `write_take` (its folder or its take.npz). Raises TakeFileError."""
    path = Path(folder_or_npz)
    if path.is_dir():
        path = path / NPZ_NAME
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(str(arrays.pop("meta")))
        if meta.get("format") != FORMAT:
            raise TakeFileError(f"{path}: not a take of this version (format {meta.get('format')!r}, "
                                f"expected {FORMAT!r})")
        tracks = {prefix: TakeTrack(**{name: arrays[f"{prefix}_{name}"].astype(np.float64) for name in _TRACK_FIELDS})
                  for prefix in ("raw", "smoothed") if f"{prefix}_global_orient" in arrays}
        return Take(source=str(meta["source"]), image_size=tuple(meta["image_size"]),
                    focal_length=float(meta["focal_length"]), fps=float(meta["fps"]),
                    times=arrays["times"].astype(np.float64), status=tuple(arrays["status"].tolist()),
                    messages=tuple(arrays["messages"].tolist()), keypoints=arrays["keypoints"].astype(np.float64),
                    visibility=arrays["visibility"].astype(np.float64), raw=tracks["raw"],
                    smoothed=tracks.get("smoothed"), smoothing=dict(meta.get("smoothing", {})),
                    person_id=int(meta.get("person_id", 0)))
    except TakeFileError:
        raise
    except FileNotFoundError:
        raise TakeFileError(f"{path}: no take here; choose the folder `infer` wrote for the video") from None
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise TakeFileError(f"{path}: damaged take file ({type(exc).__name__}: {exc}); infer the video again") from None
