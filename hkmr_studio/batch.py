"""`hkmr-studio infer`: run the pipeline over photos and folders, writing overlays, parameters and meshes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2

from hkmr_studio import strict_json
from hkmr_studio.atomic import atomic_write_bytes, atomic_write_text
from hkmr_studio.export import DEFAULT_FORMATS
from hkmr_studio.export.fbx import FbxExportError
from hkmr_studio.export.files import export_file_name, write_export
from hkmr_studio.export.params import select_body
from hkmr_studio.geometry.cameras import focal_length_from_35mm
from hkmr_studio.pipeline.core import Pipeline, PipelineResult
from hkmr_studio.pipeline.detection import Box
from hkmr_studio.pipeline.images import ImageLoadError, LoadedImage, exif_focal_35mm, load_image
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.render.compose import overlay_image
from hkmr_studio.render.overlay import MeshRenderer

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}  # what load_image reads


REPORT_NAME = "report.json"
REPORT_FORMAT = "hkmr-studio-infer-report/1"


@dataclass
class BatchReport:
    """What happened to each input: paths written per image (and the recovered body's facing check), the images with
    a person but no body the app could trust (`PipelineResult.refused`), and the images skipped, with the reason."""

    written: dict[Path, list[Path]] = field(default_factory=dict)
    facing: dict[Path, dict[str, object]] = field(default_factory=dict)
    not_recovered: dict[Path, str] = field(default_factory=dict)
    no_person: dict[Path, str] = field(default_factory=dict)
    unreadable: dict[Path, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return len(self.written) + len(self.not_recovered) + len(self.no_person)

    def summary(self, out_dir: Path) -> str:
        total = self.processed + len(self.unreadable)
        return (f"{_count(total, 'image')}: {_count(len(self.written), 'body', 'bodies')} recovered, "
                f"{len(self.not_recovered)} could not be recovered, {len(self.no_person)} without a person, "
                f"{len(self.unreadable)} unreadable; outputs in {out_dir}")

    def to_json(self) -> dict[str, object]:
        """The report as `REPORT_NAME` holds it: one entry per input with its status ("recovered", "not_recovered",
        "no_person" or "unreadable"), message, files written and facing check."""
        images: list[dict[str, object]] = [
            {"image": str(path), "status": "recovered", "outputs": [str(f) for f in files],
             "facing": self.facing.get(path)} for path, files in self.written.items()]
        for status, entries in (("not_recovered", self.not_recovered), ("no_person", self.no_person),
                                ("unreadable", self.unreadable)):
            images += [{"image": str(path), "status": status, "message": message} for path, message in entries.items()]
        return {"format": REPORT_FORMAT, "images": images, "warnings": list(self.warnings)}


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


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


def write_outputs(result: PipelineResult, pipeline: Pipeline, renderer: MeshRenderer, out_dir: Path, stem: str,
                  formats: tuple[str, ...]) -> list[Path]:
    """Overlay PNG plus the requested formats for one found body (the refined one when refined)."""
    body = select_body(result, "best")
    faces = pipeline.body.faces
    overlay = overlay_image(result, renderer, body, faces)
    ok, png = cv2.imencode(".png", cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
    written = [atomic_write_bytes(out_dir / f"{stem}_overlay.png", png.tobytes())]
    written += [write_export(out_dir / export_file_name(stem, f), f, result, pipeline.body) for f in formats]
    return written


def run_batch(
    inputs: list[str | Path],
    out_dir: str | Path,
    pipeline: Pipeline,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    box: Box | None = None,
    keypoints: Keypoints2D | None = None,
    refine: bool = False,
    progress: bool = True,
    focal_length: float | None = None,
) -> BatchReport:
    """Process every image; unreadable files, photos without a person and people without a trustworthy body are
    reported, never fatal. Writes `REPORT_NAME` into `out_dir` last."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    report = BatchReport()
    paths = collect_images(inputs)
    used: set[str] = set()
    renderer = MeshRenderer()
    try:
        for path in tqdm(paths, desc="images", unit="img", disable=not progress or len(paths) < 2):
            try:
                image = load_image(path)
            except ImageLoadError as exc:
                report.unreadable[path] = str(exc)
                continue
            focal, focal_source = photo_focal_length(image, focal_length)
            result = pipeline.run(image, box=box, keypoints=keypoints, refine=refine, focal_length=focal,
                                  focal_source=focal_source)
            report.warnings += [f"{path.name}: {m}" for m in result.messages if f"{path.name}: {m}" not in report.warnings]
            if not result.found:
                (report.not_recovered if result.refused else report.no_person)[path] = result.message
                continue
            if result.facing is not None:
                report.facing[path] = result.facing.to_json()
                if result.facing.flagged:
                    report.warnings.append(f"{path.name}: {result.facing.message}")
            try:
                report.written[path] = write_outputs(result, pipeline, renderer, out_dir, _unique_stem(path, used),
                                                     formats)
            except FbxExportError as exc:
                report.warnings.append(f"{path.name}: FBX not written: {exc}")
                report.written[path] = []
    finally:
        renderer.close()
    atomic_write_text(out_dir / REPORT_NAME, strict_json.dumps(report.to_json(), indent=1))
    return report
