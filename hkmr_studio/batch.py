"""`hkmr-studio infer`: run the pipeline over photos and folders, writing overlays, parameters and meshes.

Each photo's outputs appear together or not at all (`atomic.atomic_file_set`). A photo that fails is reported and the
batch goes on; a full or unwritable output folder stops it, and so does Ctrl-C, each with the report of what finished.
"""

from __future__ import annotations

import dataclasses
import errno
from dataclasses import dataclass
from pathlib import Path

import cv2

from hkmr_studio import strict_json
from hkmr_studio.atomic import atomic_file_set, atomic_write_bytes, atomic_write_text
from hkmr_studio.batch_report import BatchReport
from hkmr_studio.body.model import BodyModel
from hkmr_studio.export import DEFAULT_FORMATS
from hkmr_studio.export.fbx import FbxExportError
from hkmr_studio.export.files import export_file_name, write_export
from hkmr_studio.export.params import people_section, select_body
from hkmr_studio.geometry.cameras import focal_length_from_35mm
from hkmr_studio.interrupts import InterruptWatch, interrupts_held
from hkmr_studio.pipeline.core import Pipeline, PipelineResult
from hkmr_studio.pipeline.detection import Box
from hkmr_studio.pipeline.images import ImageLoadError, LoadedImage, exif_focal_35mm, load_image
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.pipeline.people import PeopleFinder, PersonChoiceError, PhotoPeople, PhotoPerson, recover_people
from hkmr_studio.render.compose import overlay_image
from hkmr_studio.render.overlay import MeshRenderer, RenderError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}  # what load_image reads
REPORT_NAME = "report.json"
#: Photos of more pixels are decoded reduced (`load_image`): at full size a 48 MP photo took 3.9 GB to process, and
#: a person needs ~2000 px. Pixel inputs (--box, --keypoints, --focal) are scaled to match.
MAX_DECODED_PIXELS = 25_000_000
#: Write errors that concern the whole output folder, not one photo: the batch stops.
_FOLDER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
_WRITE_CHECK_NAME = ".hkmr-studio-write-check"


class OutputFolderError(Exception):
    """The output folder cannot take files (a file in the way, no permission, read-only, full disk); the message
    names it and says what to do."""


class _PhotoFailed(Exception):
    """One photo's outputs could not be written; the message says why and what to do."""


def check_output_folder(out_dir: Path) -> None:
    """Create `out_dir` when missing and prove a file can be written in it, else raise OutputFolderError."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out_dir / _WRITE_CHECK_NAME, b"hkmr-studio write check\n").unlink()
    except OSError as exc:
        raise OutputFolderError(folder_problem(out_dir, exc)) from exc


def folder_problem(out_dir: Path, exc: OSError) -> str:
    """One line on why `exc` stopped writing into the output folder `out_dir`, and what to do."""
    where = f"--out {out_dir}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{where}: the disk holding it is full: free some space or choose another --out"
    if exc.errno == errno.EROFS:
        return f"{where} is on a read-only file system: choose another --out"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{where} cannot be written (permission denied): choose a folder you can write to"
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = next((p for p in (out_dir, *out_dir.parents) if p.exists() and not p.is_dir()), out_dir)
        return f"{where}: {blocker} is a file, not a folder: choose another --out"
    return f"{where} cannot be written ({exc.strerror}): choose another --out"


def collect_images(inputs: list[str | Path]) -> list[Path]:
    """Files as given, folders expanded to their image files (sorted, not recursive)."""
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            paths += sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(item)
    return paths


def photo_focal_length(image: LoadedImage, given: float | None = None) -> tuple[float | None, str]:
    """The focal length in pixels for `image` and where it came from: `given`, else the 35 mm equivalent in the
    photo's EXIF, else (None, "assumed"), for the pipeline to assume the image diagonal."""
    if given is not None:
        return given, "given"
    f35_mm = exif_focal_35mm(image.path) if image.path is not None else None
    if f35_mm is None:
        return None, "assumed"
    return focal_length_from_35mm(f35_mm, *image.original_size), "exif"


def _unique_stem(path: Path, used: set[str]) -> str:
    stem, n = path.stem, 1
    while stem in used:
        n += 1
        stem = f"{path.stem}_{n}"
    used.add(stem)
    return stem


def write_outputs(result: PipelineResult, body: BodyModel, renderer: MeshRenderer, folder: Path, stem: str,
                  formats: tuple[str, ...], people: dict[str, object] | None = None) -> tuple[list[Path], list[str]]:
    """Overlay PNG plus the requested formats for one found body (the refined one when refined), recovered with
    `body`; parameter files list the photo's `people` (`people_section`) when given. Returns the paths written and a
    note per format that could not be (FBX without Blender). Raises RenderError when the overlay's render failed,
    before anything is written."""
    overlay = overlay_image(result, renderer, select_body(result, "best"), body.faces)
    encoded, png = cv2.imencode(".png", cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
    if not encoded:
        raise RenderError("the overlay could not be encoded as PNG. Run again on this photo")
    written = [atomic_write_bytes(folder / f"{stem}_overlay.png", png.tobytes())]
    notes = []
    for fmt in formats:
        try:
            written.append(write_export(folder / export_file_name(stem, fmt), fmt, result, body, people=people))
        except FbxExportError as exc:
            notes.append(f"FBX not written: {exc}")
    return written, notes


def _in_image_pixels(image: LoadedImage, boxes: list[Box] | None, keypoints: list[Keypoints2D] | None,
                     focal_length: float | None) -> tuple[list[Box] | None, list[Keypoints2D] | None, float | None]:
    """Pixel inputs given for the photo's file, in pixels of `image` (smaller when decoded reduced)."""
    if image.scale == 1.0:
        return boxes, keypoints, focal_length
    scale = image.scale
    return (None if boxes is None else [(b[0] * scale, b[1] * scale, b[2] * scale, b[3] * scale) for b in boxes],
            None if keypoints is None else [dataclasses.replace(k, xy=k.xy * scale) for k in keypoints],
            None if focal_length is None else focal_length * scale)


def _failure(exc: Exception) -> str:
    """What to tell the user about a photo that failed with `exc` while the batch goes on."""
    if isinstance(exc, (RenderError, _PhotoFailed)):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory while processing it: close other programs, or save a smaller copy of the photo"
    return (f"unexpected error ({type(exc).__name__}: {exc}); the other photos went on. Please report it with this "
            "photo")


@dataclass(frozen=True)
class _RunOptions:
    """What `run_batch` asks of every photo; pixel values in the files' pixels. keypoints: each photo's people
    (`keypoint_files.keypoints_for_photos`); person: which people to recover (`people.choose`)."""

    formats: tuple[str, ...]
    boxes: list[Box] | None
    keypoints: dict[Path, list[Keypoints2D]] | None
    refine: bool
    focal_length: float | None
    person: str | int = "all"


class _Batch:
    """The state of one `run_batch`: its settings, the renderer (started for the first body) and the stems used."""

    def __init__(self, pipeline: Pipeline, out_dir: Path, options: _RunOptions, report: BatchReport,
                 interrupts: InterruptWatch) -> None:
        self.pipeline, self.out_dir, self.options = pipeline, out_dir, options
        self.report, self.interrupts = report, interrupts
        self._renderer: MeshRenderer | None = None
        self._stems: set[str] = set()
        self._finder: PeopleFinder | None = None

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()

    def process(self, path: Path) -> None:
        """Run one photo and record the outcome in the report. Raises OutputFolderError and KeyboardInterrupt; a
        photo's own failure is recorded, not raised."""
        report = self.report
        try:
            image = load_image(path, max_pixels=MAX_DECODED_PIXELS)
        except ImageLoadError as exc:
            report.unreadable[path] = str(exc)
            return
        options = self.options
        try:
            given = None if options.keypoints is None else options.keypoints[path]
            boxes, keypoints, focal = _in_image_pixels(image, options.boxes, given, options.focal_length)
            focal, focal_source = photo_focal_length(image, focal)
            if self._finder is None:
                self._finder = PeopleFinder(self.pipeline.detector)
            photo = recover_people(self.pipeline, self._finder, image, options.person, boxes, keypoints,
                                   options.refine, focal, focal_source)
            self._record(path, photo, _unique_stem(path, self._stems))
        except PersonChoiceError as exc:
            report.no_person[path] = str(exc)
        except (OutputFolderError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001  one photo's failure never ends the batch
            report.failed[path] = _failure(exc)

    def _record(self, path: Path, photo: PhotoPeople, stem: str) -> None:
        """Write the bodies of the photo's chosen people and report them. Outputs are named by the photo's stem when
        it shows one person, else stem_p0, stem_p1, ... (the people's numbers from the left)."""
        report, people = self.report, []
        if photo.message and photo.found:
            report.add_warnings(path, [photo.message])
        for person in photo.chosen:
            result, entry = person.result, _person_entry(person)
            report.add_warnings(path, [f"{person.label}: {m}" for m in result.messages])
            if result.found:
                if result.facing is not None and result.facing.flagged:
                    report.add_warnings(path, [f"{person.label}: {result.facing.message}"])
                own_stem = stem if len(photo.found) == 1 else f"{stem}_{person.label}"
                files = self._write(result, own_stem, path, people_section(photo.found, person.index))
                report.written.setdefault(path, []).extend(files)
                entry["outputs"] = [str(f) for f in files]
            people.append(entry)
        report.people[path] = people
        if len(photo.chosen) == 1 and photo.chosen[0].result.facing is not None:
            report.facing[path] = photo.chosen[0].result.facing.to_json()
        if path not in report.written:
            refused = [p.result.message for p in photo.chosen if p.result.refused]
            if refused:
                report.not_recovered[path] = "; ".join(refused)
            else:
                report.no_person[path] = photo.message or (photo.chosen[0].result.message if photo.chosen else "")
        else:
            report.add_warnings(path, [f"{p.label}: {p.result.message}" for p in photo.chosen if not p.result.found])

    def _write(self, result: PipelineResult, stem: str, path: Path,
               people: dict[str, object] | None = None) -> list[Path]:
        """Write the photo's outputs as one set (nothing when Ctrl-C is pressed before the set is complete)."""
        if self._renderer is None:
            self._renderer = MeshRenderer()
        try:
            with atomic_file_set(self.out_dir) as staging:
                staged, notes = write_outputs(result, self.pipeline.body, self._renderer, staging, stem,
                                              self.options.formats, people)
                self.interrupts.check()
        except OSError as exc:
            if exc.errno in _FOLDER_ERRNOS:
                raise OutputFolderError(folder_problem(self.out_dir, exc)) from exc
            advice = ("give the photo a shorter name" if exc.errno == errno.ENAMETOOLONG
                      else "check the --out folder and run again on this photo")
            raise _PhotoFailed(f"outputs not written: {exc.strerror}; {advice}") from exc
        self.report.add_warnings(path, notes)
        return [self.out_dir / p.name for p in staged]


def run_batch(
    inputs: list[str | Path],
    out_dir: str | Path,
    pipeline: Pipeline,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    boxes: list[Box] | None = None,
    keypoints: dict[Path, list[Keypoints2D]] | None = None,
    refine: bool = False,
    progress: bool = True,
    focal_length: float | None = None,
    person: str | int = "all",
) -> BatchReport:
    """Process every image. Unreadable files, photos without a person, people without a trustworthy body and photos
    that failed are reported, never fatal; a full or unwritable `out_dir` and Ctrl-C stop the batch, the photos not
    reached listed as not processed. Pixel inputs (`boxes`: one person each; `keypoints`: each photo's people, see
    `keypoint_files.keypoints_for_photos`; `focal_length`) are in the files' pixels. `person`: all, largest or a
    number from the left (`people.choose`). Checks `out_dir` first (OutputFolderError); writes `REPORT_NAME` into it
    last."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    check_output_folder(out_dir)
    paths = collect_images(inputs)
    report = BatchReport()
    with InterruptWatch() as interrupts:
        batch = _Batch(pipeline, out_dir, _RunOptions(formats, boxes, keypoints, refine, focal_length, person), report,
                       interrupts)
        done = 0
        try:
            try:
                for path in tqdm(paths, desc="images", unit="img", disable=not progress or len(paths) < 2):
                    batch.process(path)
                    done += 1
                    interrupts.check()
            finally:
                batch.close()
        except OutputFolderError as exc:
            report.failed[paths[done]] = str(exc)
            report.stop(f"{exc}; then run again on the photos not processed", paths[done + 1:])
        except KeyboardInterrupt:
            report.stop(report.INTERRUPTED, paths[done:])
        try:
            with interrupts_held():
                _write_report(out_dir / REPORT_NAME, report)
        except KeyboardInterrupt:
            report.stop(report.INTERRUPTED, [])
    return report


def _person_entry(person: PhotoPerson) -> dict[str, object]:
    """report.json's entry for one person: label, box (x, y, w, h pixels), source, score, status and message."""
    result = person.result
    status = "recovered" if result.found else "not_recovered" if result.refused else "no_person"
    return {"label": person.label, "box": [float(v) for v in person.found.box], "source": person.found.source,
            "score": person.found.score, "status": status, "message": result.message,
            "facing": None if result.facing is None else result.facing.to_json()}


def _write_report(path: Path, report: BatchReport) -> None:
    try:
        atomic_write_text(path, strict_json.dumps(report.to_json(), indent=1))
    except OSError as exc:
        report.report_error = f"{path.name} not written: {folder_problem(path.parent, exc)}"
