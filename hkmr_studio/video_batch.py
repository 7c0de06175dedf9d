"""`hkmr-studio infer VIDEO`: one take per video (a file, a folder of frames or an image sequence pattern), or with
`--person` one take per person.

Per video, a folder `OUT/<name>/` gets take.npz and take.json (written together: `video.take.write_take`) and the
animation exports `--format` asks for (`export.animation.write_take_export`), named <name>.<format>. With a person
choice (`VideoOptions.person`) everyone is located and tracked (`video.people_takes`) and each person picked gets
`OUT/<name>/p<id>/` with their take and exports named <name>_p<id>.<format>. `report.json` in OUT says per video
what happened (and, with a person choice, lists everyone seen). A video that cannot be opened is reported and the others go on; a full or unwritable output folder
stops the run, and so does Ctrl-C: the video being recovered keeps the frames that finished, as a complete take.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hkmr_studio import strict_json
from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.batch import _FOLDER_ERRNOS, OutputFolderError, _unique_stem, check_output_folder, folder_problem
from hkmr_studio.export.animation import write_take_export
from hkmr_studio.export.fbx import FbxExportError
from hkmr_studio.export.take_animation import TakeExportError
from hkmr_studio.interrupts import InterruptWatch, interrupts_held
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.people import PersonChoiceError
from hkmr_studio.video.frames import FrameSource, FrameSourceError, open_frames
from hkmr_studio.video.people_takes import RecoveredPeople, pick_people, recover_people_takes
from hkmr_studio.video.recover import RecoveredTake, recover_take
from hkmr_studio.video.smoothing import SmoothingSettings, smooth_take
from hkmr_studio.video.take import JSON_NAME, NPZ_NAME, Take, write_take

REPORT_NAME = "report.json"
REPORT_FORMAT = "hkmr-studio-infer-video-report/1"
#: A video's outcome: a take with bodies, a take without (nobody in any frame, or only bodies that were refused),
#: nothing (it could not be opened, or failed), or not reached.
VIDEO_STATUSES = ("recovered", "no_person", "not_recovered", "unreadable", "failed", "not_processed")


@dataclass
class PersonOutcome:
    """One person seen in a video of several people: their id, box (x, y, w, h pixels: the mean over the frames
    they were seen in), frames seen; when picked, their take's status (VIDEO_STATUSES), message, folder and files
    written, the frame counts per frame status and notes; else status not_picked."""

    person_id: int
    box: tuple[float, float, float, float]
    frames_seen: int
    status: str = "not_picked"
    message: str = ""
    folder: Path | None = None
    written: list[Path] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in self.frames.items())
        text = f"p{self.person_id}: {self.status.replace('_', ' ')}" + (f" ({counts})" if counts else "")
        if self.written:
            text += f" -> {self.folder}: {', '.join(p.name for p in self.written)}"
        return ", ".join([text, *([self.message] if self.message else []), *self.notes])

    def to_json(self) -> dict[str, object]:
        return {"person_id": self.person_id, "box": [round(v, 1) for v in self.box],
                "frames_seen": self.frames_seen, "status": self.status, "message": self.message or None,
                "take": None if self.folder is None else str(self.folder),
                "outputs": [str(p) for p in self.written], "frames": self.frames, "notes": self.notes}


@dataclass
class VideoOutcome:
    """What happened to one video: status (VIDEO_STATUSES), message, its take folder and files written, the frame
    counts per frame status, notes for the user, recovery's seconds, and whether Ctrl-C cut it short. With a person
    choice, `people` lists everyone seen (the folder holds the picked people's take folders; no frame counts of its
    own); None otherwise."""

    source: str
    status: str
    message: str = ""
    folder: Path | None = None
    written: list[Path] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    people: list[PersonOutcome] | None = None

    def line(self) -> str:
        """One line for the terminal: frames per status and the files written, or why there are none."""
        counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in self.frames.items())
        text = f"{self.source}: {self.status.replace('_', ' ')}" + (f" ({counts})" if counts else "")
        if self.written:
            text += f" -> {self.folder}: {', '.join(p.name for p in self.written)}"
        if self.people is not None:
            noun = "person" if len(self.people) == 1 else "people"
            text += f", {len(self.people)} {noun} seen" + "".join(f"; {p.line()}" for p in self.people)
        return "; ".join([text, *([self.message] if self.message else []), *self.notes])

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "video": self.source, "status": self.status, "message": self.message or None,
            "take": None if self.folder is None else str(self.folder),
            "outputs": [str(p) for p in self.written], "frames": self.frames, "notes": self.notes}
        if self.people is not None:
            data["people"] = [p.to_json() for p in self.people]
        return data


@dataclass
class VideoReport:
    """Every video's outcome, in order, and why the run stopped early ('' when it did not)."""

    INTERRUPTED = "interrupted (Ctrl-C); the take shows the frames that finished. Run again for the rest"

    videos: list[VideoOutcome] = field(default_factory=list)
    stopped: str = ""
    report_error: str = ""

    @property
    def interrupted(self) -> bool:
        return self.stopped == self.INTERRUPTED

    def count(self, status: str) -> int:
        return sum(video.status == status for video in self.videos)

    def summary(self, out_dir: Path) -> str:
        counts = ", ".join(f"{self.count(s)} {s.replace('_', ' ')}" for s in VIDEO_STATUSES if self.count(s))
        noun = "video" if len(self.videos) == 1 else "videos"
        return f"{len(self.videos)} {noun}: {counts or 'none'}; outputs in {out_dir}"


@dataclass(frozen=True)
class VideoOptions:
    """What every video gets: animation formats (export.animation.TAKE_EXPORT_FORMATS), the BVH's units ("m" or
    "cm"), smoothing, the frame rate of image sequences (None: their default), the focal length in pixels (None:
    the frame diagonal), and whose takes: None follows one person (MediaPipe's tracking mode), else everyone is
    tracked and `video.people_takes.pick_people` picks ("all", "largest" or an id)."""

    formats: tuple[str, ...] = ()
    units: str = "m"
    smoothing: SmoothingSettings = field(default_factory=SmoothingSettings)
    fps: float | None = None
    focal_length: float | None = None
    person: str | int | None = None


def run_videos(sources: list[str], out_dir: str | Path, pipeline: Pipeline, options: VideoOptions,
               progress: bool = True) -> VideoReport:
    """Recover a take from each video in `sources`, writing into `out_dir` (checked first: OutputFolderError) and
    `REPORT_NAME` last. A full or unwritable output folder and Ctrl-C stop the run; later videos are not processed."""
    out_dir = Path(out_dir)
    check_output_folder(out_dir)
    report = VideoReport()
    stems: set[str] = set()
    with InterruptWatch() as interrupts:
        try:
            for source in sources:
                report.videos.append(_run_video(source, out_dir, stems, pipeline, options, progress, interrupts))
                if report.videos[-1].interrupted:
                    report.stopped = report.INTERRUPTED
                    break
        except OutputFolderError as exc:
            report.videos.append(VideoOutcome(sources[len(report.videos)], "failed", str(exc)))
            report.stopped = f"{exc}; then run again on the videos not processed"
        except KeyboardInterrupt:
            report.stopped = report.INTERRUPTED
        report.videos += [VideoOutcome(s, "not_processed", report.stopped) for s in sources[len(report.videos):]]
        try:
            with interrupts_held():
                _write_report(out_dir / REPORT_NAME, report)
        except KeyboardInterrupt:
            report.stopped = report.INTERRUPTED
    return report


def _run_video(source: str, out_dir: Path, stems: set[str], pipeline: Pipeline, options: VideoOptions,
               progress: bool, interrupts: InterruptWatch) -> VideoOutcome:
    """One video to one take folder and its exports (with a person choice, a folder per person picked); never raises
    but for KeyboardInterrupt before recovery."""
    from tqdm import tqdm

    try:
        frames = open_frames(source, fps=options.fps)
    except FrameSourceError as exc:
        return VideoOutcome(source, "unreadable", str(exc))
    with frames, tqdm(total=frames.expected_frames or None, desc=frames.label, unit="frame",
                      disable=not progress) as bar:
        def advance(done: int, expected: int) -> None:
            bar.update(done - bar.n)
            interrupts.check()  # a Ctrl-C that native code swallowed still stops the take

        if options.person is None:
            recovered: RecoveredTake | RecoveredPeople = recover_take(frames, pipeline, options.focal_length, advance)
        else:
            recovered = recover_people_takes(frames, pipeline, options.person, options.focal_length, advance)
    outcome = VideoOutcome(source, "no_person", notes=list(frames.notes), seconds=recovered.seconds)
    if isinstance(recovered, RecoveredTake):
        take = recovered.take
        outcome.status, outcome.frames = _status(take), _frame_counts(take)
        unreadable, frame_count = [i for i, s in enumerate(take.status) if s == "unreadable"], take.frame_count
    else:
        unreadable, frame_count = recovered.unreadable, recovered.frame_count
    if unreadable:
        listed = ", ".join(map(str, unreadable[:10])) + (f" and {len(unreadable) - 10} more"
                                                          if len(unreadable) > 10 else "")
        outcome.notes.append(f"frames that could not be decoded: {listed} (take.json gives each frame's status)")
    if frame_count == 0:
        outcome.status, outcome.message = "unreadable", f"{frames.label}: no frame could be read"
        return outcome
    outcome.folder = out_dir / _unique_stem(Path(frames.label), stems)
    outcome.interrupted = recovered.interrupted
    if isinstance(recovered, RecoveredTake):
        if not _save_take(outcome, take, outcome.folder.name, source, pipeline, options, out_dir,
                          recovered.interrupted):
            outcome.interrupted = True
    else:
        _save_people(outcome, recovered, source, pipeline, options, out_dir)
    return outcome


def _save_people(outcome: VideoOutcome, recovered: RecoveredPeople, source: str, pipeline: Pipeline,
                 options: VideoOptions, out_dir: Path) -> None:
    """Everyone seen into `outcome.people`, and each picked person's take into `outcome.folder`/p<id>; after a
    Ctrl-C while writing, the people after are not written."""
    outcome.people = [PersonOutcome(i, tuple(np.mean(boxes, axis=0).tolist()), len(boxes))
                      for i, boxes in sorted(recovered.boxes.items())]
    try:
        picked = pick_people(recovered.boxes, options.person)
    except PersonChoiceError as exc:
        outcome.message = str(exc)
        return
    if not picked:
        outcome.message = "nobody was found in any frame"
        return
    stopped = False
    for person in (p for p in outcome.people if p.person_id in picked):
        if stopped:
            person.status, person.message = "not_processed", "interrupted (Ctrl-C) before this person was written"
            continue
        take = recovered.takes[person.person_id]
        person.status, person.folder = _status(take), outcome.folder / f"p{person.person_id}"
        person.frames = _frame_counts(take)
        stem = f"{outcome.folder.name}_p{person.person_id}"
        stopped = not _save_take(person, take, stem, source, pipeline, options, out_dir, outcome.interrupted)
    outcome.interrupted = outcome.interrupted or stopped
    statuses = {p.status for p in outcome.people}
    outcome.status = next((s for s in ("recovered", "not_recovered", "failed") if s in statuses), "no_person")


def _frame_counts(take: Take) -> dict[str, int]:
    """Frames per frame status, in the order the statuses first occur."""
    return {status: take.status.count(status) for status in dict.fromkeys(take.status)}


def _status(take: Take) -> str:
    if take.found.any():
        return "recovered"
    return "not_recovered" if "refused" in take.status else "no_person"


def _save_take(target: VideoOutcome | PersonOutcome, take: Take, stem: str, source: str, pipeline: Pipeline,
               options: VideoOptions, out_dir: Path, interrupted: bool) -> bool:
    """`take`, smoothed when it has bodies, into `target.folder` with the animation files `options.formats` asks
    for, named `stem`; after a recovery Ctrl-C `interrupted`, the take alone. Sets the target's files written and
    message ('failed' when its outputs could not be written). Returns False when Ctrl-C came while writing; raises
    OutputFolderError for a full or unwritable output folder."""
    if take.found.any():
        take = smooth_take(take, options.smoothing, pipeline.body)
    try:
        with interrupts_held():
            write_take(target.folder, take)
        target.written = [target.folder / name for name in (NPZ_NAME, JSON_NAME)]
        if interrupted:
            target.message = "interrupted: the take holds the frames before Ctrl-C; no animation was exported"
        elif take.found.any():
            _write_exports(target, take, stem, source, pipeline, options)
    except KeyboardInterrupt:
        target.message = "interrupted while exporting: the take is complete, the animation files listed are"
        return False
    except OSError as exc:
        if exc.errno in _FOLDER_ERRNOS:
            raise OutputFolderError(folder_problem(out_dir, exc)) from exc
        target.status = "failed"
        target.message = f"outputs not written: {exc.strerror}; check --out and run again on this video"
    return True


def _write_exports(target: VideoOutcome | PersonOutcome, take: Take, stem: str, source: str, pipeline: Pipeline,
                   options: VideoOptions) -> None:
    """The animation files `options.formats` asks for, named `stem`, into the take's folder; a format that cannot be
    written is a note (Blender missing for FBX), the others still come."""
    for fmt in options.formats:
        path = target.folder / (f"{stem}_overlay.mp4" if fmt == "mp4" else f"{stem}.{fmt}")
        try:
            if fmt == "mp4":
                with open_frames(source, fps=options.fps) as frames:
                    write_take_export(path, fmt, take, pipeline.body, frames=_frame_pixels(frames, take))
            else:
                write_take_export(path, fmt, take, pipeline.body, units=options.units)
            target.written.append(path)
        except (FbxExportError, TakeExportError) as exc:
            target.notes.append(f"{fmt.upper()} not written: {exc}")


def _frame_pixels(frames: FrameSource, take: Take) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB pixels of each frame of the take; black where a frame was left out of it (unreadable, or
    of another size)."""
    width, height = take.image_size
    for frame in frames:
        usable = frame.image is not None and frame.image.original_size == take.image_size
        yield frame.image.rgb if usable else np.zeros((height, width, 3), np.uint8)


def _write_report(path: Path, report: VideoReport) -> None:
    data = {"format": REPORT_FORMAT, "videos": [v.to_json() for v in report.videos], "stopped": report.stopped or None}
    try:
        atomic_write_text(path, strict_json.dumps(data, indent=1))
    except OSError as exc:
        report.report_error = f"{path.name} not written: {folder_problem(path.parent, exc)}"
