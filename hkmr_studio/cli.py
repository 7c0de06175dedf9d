"""The `hkmr-studio` command: the window by default, plus headless subcommands."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hkmr_studio.checkpoints import DEFAULT_MODEL, shipped_model_names
from hkmr_studio.export import DEFAULT_FORMATS, FORMATS

if TYPE_CHECKING:
    from hkmr_studio.batch_report import BatchReport
    from hkmr_studio.pipeline.core import Pipeline

SUBCOMMANDS = ("doctor", "infer", "bench", "desktop")
#: `infer`'s exit statuses (its --help and the README list them).
DONE_EXIT = 0
NOTHING_READ_EXIT = 1
BAD_INPUT_EXIT = 2  # arguments, model, body, keypoint file or --out: nothing was processed
NOT_RECOVERED_EXIT = 3  # a photo showed a person but no body could be recovered (the others are still written)
FAILED_EXIT = 4  # a photo failed, or the batch stopped early (a full disk)
INTERRUPTED_EXIT = 130  # Ctrl-C, as shells report SIGINT
_INFER_EPILOG = (
    "Writes report.json (every photo's status) into --out; each photo's outputs appear together or not at all. "
    "Exit status: 0 done; 1 no photo could be read; 2 bad arguments, model, body, keypoint file or --out (nothing "
    "processed); 3 a person without a body that could be recovered; 4 a photo failed or the batch stopped early "
    "(e.g. a full disk); 130 interrupted by Ctrl-C (the summary says what finished). See report.json for each photo. "
    "Videos (mp4, mov, avi, mkv; with --frames also folders of frames and patterns such as 'shots/frame_%04d.png') "
    "give one take each: OUT/NAME/take.npz and take.json (every frame's time, status and body), plus the animation "
    "files --format asks for (fbx, bvh, glb, mp4); with --person, one take per person in OUT/NAME/p0, p1, ...; exit 1 then means no video could be read, 3 that a video showed "
    "a person in no frame with a body.")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hkmr-studio", description="Interactive 3D human mesh recovery with HKMR.",
                                     epilog="Without a command it opens the window: hkmr-studio [--body FILE] [IMAGE ...]")
    parser.add_argument("--body", help="a SMPL-format body file (.pkl/.npz) instead of the embedded open body")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("doctor", help="report the body model, device, MediaPipe models, display and versions")
    infer = sub.add_parser("infer", help="recover bodies from photos without a window", epilog=_INFER_EPILOG)
    infer.add_argument("inputs", nargs="+", help="image files and folders of images, or video files")
    infer.add_argument("--out", required=True, help="folder for overlays, parameters and meshes")
    infer.add_argument("--model", default=DEFAULT_MODEL,
                       help=f"a shipped model ({', '.join(shipped_model_names())}) or a model file's path (read as a "
                            "path when it has a / or a suffix such as .pt)")
    infer.add_argument("--keypoints", help="keypoints to use instead of detection: a COCO-17 or MediaPipe-33 JSON "
                                           "for one photo, a COCO file whose \"images\" name the photos, or a folder "
                                           "of JSONs named like the photos (photo.jpg -> photo.json)")
    infer.add_argument("--box", type=_box, action="append",
                       help="x,y,w,h in pixels: a person to use (repeat for several); replaces person detection")
    infer.add_argument("--person", type=_person,
                       help="all (default), largest, or N: the Nth person from the left (0 first); several people "
                            "get outputs named PHOTO_p0, PHOTO_p1, ... For videos it tracks everyone and writes a "
                            "take per person picked (N: the person id, in the order people first appear) into "
                            "OUT/NAME/p0, p1, ...; without it a video follows one person into OUT/NAME")
    infer.add_argument("--refine", action="store_true", help="refine the regressor's body with SMPLify")
    infer.add_argument("--focal", type=_positive_pixels, metavar="PIXELS",
                       help="the camera's focal length in pixels of the photo (default: the 35 mm-equivalent focal "
                            "length in the photo's EXIF, else the image diagonal)")
    infer.add_argument("--format", help=f"comma-separated outputs besides the overlay PNG: {','.join(FORMATS)} "
                                        f"(default {','.join(DEFAULT_FORMATS)}); for videos: fbx,bvh,glb,mp4 "
                                        "(default: the take only)")
    _add_video_options(infer)
    infer.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    bench = sub.add_parser("bench", help="print speed and memory benchmarks measured on this machine")
    bench.add_argument("what", choices=["regressors", "fitting", "pipeline", "edits", "memory", "flow", "video"],
                       help="which benchmark")
    bench.add_argument("--device", default=None, help="torch device (default: CPU, and the GPU too when present)")
    desktop = sub.add_parser("desktop", help="add HKMR Studio to the desktop's application menu, or take it away",
                             description="install: the launcher (opening photos with HKMR Studio), icons and "
                                         "AppStream metainfo into your XDG data folder (~/.local/share); uninstall: "
                                         "remove exactly what install put there.")
    desktop.add_argument("action", choices=["install", "uninstall"])
    return parser


def _positive_pixels(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of pixels, got {text!r}")
    return value


def _box(text: str) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs four numbers x,y,w,h in pixels, got {text!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"needs finite numbers and a positive width and height, got {text!r}")
    return x, y, w, h


def _person(text: str) -> str | int:
    if text in ("all", "largest"):
        return text
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"use all, largest or a number (0 is the leftmost person), got {text!r}")


def _error(message: object) -> None:
    """Print `message` as one line on stderr."""
    print("error: " + " ".join(str(message).split()), file=sys.stderr)


def _infer(args: argparse.Namespace) -> int:
    try:
        return _run_infer(args)
    except KeyboardInterrupt:
        _error("interrupted (Ctrl-C) before the first photo was processed")
        return INTERRUPTED_EXIT


def _run_infer(args: argparse.Namespace) -> int:
    from hkmr_studio.batch import OutputFolderError, collect_images, run_batch
    from hkmr_studio.keypoint_files import keypoints_for_photos
    from hkmr_studio.pipeline.core import Pipeline
    from hkmr_studio.pipeline.keypoints import KeypointFileError

    if _asks_for_videos(args):
        return _run_infer_videos(args)
    formats = tuple(f for f in (args.format or ",".join(DEFAULT_FORMATS)).split(",") if f)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        _error(f"unknown --format {', '.join(sorted(unknown))}; choose from {', '.join(FORMATS)}")
        return BAD_INPUT_EXIT
    keypoints = None
    if args.keypoints:
        if args.box:
            _error("--box and --keypoints both say where the people are: give one of them")
            return BAD_INPUT_EXIT
        try:
            keypoints = keypoints_for_photos(args.keypoints, collect_images(args.inputs))
        except (KeypointFileError, OSError) as exc:
            _error(exc)
            return BAD_INPUT_EXIT
    pipeline = Pipeline(model=args.model, body_path=args.body, device=args.device)
    try:
        problem = _model_and_body_problem(pipeline, args.body)
        if problem:
            _error(problem)
            return BAD_INPUT_EXIT
        try:
            report = run_batch(args.inputs, args.out, pipeline, formats, boxes=args.box, keypoints=keypoints,
                               refine=args.refine, focal_length=args.focal,
                               person="all" if args.person is None else args.person)
        except OutputFolderError as exc:
            _error(exc)
            return BAD_INPUT_EXIT
    finally:
        pipeline.close()
    _print_report(report, Path(args.out))
    if report.interrupted:
        return INTERRUPTED_EXIT
    if report.failed or report.not_processed or report.report_error:
        return FAILED_EXIT
    if not report.processed:
        return NOTHING_READ_EXIT
    return NOT_RECOVERED_EXIT if report.not_recovered else DONE_EXIT


def _model_and_body_problem(pipeline: Pipeline, body_arg: str | None) -> str:
    """Load the model and the body before the first photo; what is wrong with them, or ''."""
    from hkmr_studio.checkpoints import ModelFileError

    try:
        _ = pipeline.model  # loaded now, before the first photo
    except (ModelFileError, NotImplementedError) as exc:
        return str(exc)
    try:
        _ = pipeline.body
    except (ValueError, OSError) as exc:  # body files raise FileNotFoundError or safe_pickle's ValueErrors
        where = f"--body {body_arg}" if body_arg else "the embedded body"
        return f"{where}: {exc} (leave out --body to use the embedded open body)"
    return ""


def _print_report(report: BatchReport, out_dir: Path) -> None:
    for path, reason in report.unreadable.items():
        print(f"skipped {path}: {reason}")
    for path, reason in report.no_person.items():
        print(f"no person in {path}: {reason}")
    for path, reason in report.not_recovered.items():
        print(f"no body for {path}: {reason}")
    for path, reason in report.failed.items():
        print(f"failed {path}: {reason}")
    for line in report.warnings:
        print(f"note: {line}")
    for path, files in report.written.items():
        print(f"{path} -> {', '.join(f.name for f in files)}")
    if report.stopped:
        print(f"stopped: {report.stopped}")
    if report.report_error:
        _error(report.report_error)
    print(report.summary(out_dir))


def _add_video_options(infer: argparse.ArgumentParser) -> None:
    video = infer.add_argument_group("videos", "options for video inputs (each video gives one take, or one per person "
                                                "with --person)")
    video.add_argument("--frames", action="store_true",
                       help="read each folder or pattern ('shots/frame_%%04d.png', 'shots/*.jpg') as the frames of "
                            "one video rather than as photos")
    video.add_argument("--fps", type=float, help="frame rate of folders and patterns (default 30)")
    video.add_argument("--smoothing", type=float, metavar="STRENGTH",
                       help="temporal smoothing of pose and translation, 0 (off) to 1 (default: the smoothing "
                            "module's default)")
    video.add_argument("--units", choices=["m", "cm"], default="m", help="length unit of BVH files (default m)")


def _asks_for_videos(args: argparse.Namespace) -> bool:
    """Whether `infer` was given videos (by suffix) or asked to read folders and patterns as videos."""
    from hkmr_studio.video.frames import is_video_file

    return args.frames or any(is_video_file(item) for item in args.inputs)


def _run_infer_videos(args: argparse.Namespace) -> int:
    """`infer` on videos: one take each (`video_batch.run_videos`), exit statuses as for photos."""
    from hkmr_studio.batch import OutputFolderError
    from hkmr_studio.export.animation import TAKE_EXPORT_FORMATS
    from hkmr_studio.pipeline.core import Pipeline
    from hkmr_studio.video.frames import is_video_file
    from hkmr_studio.video.smoothing import SmoothingSettings
    from hkmr_studio.video_batch import VideoOptions, run_videos

    if not args.frames and (photos := [item for item in args.inputs if not is_video_file(item)]):
        _error(f"{photos[0]} is not a video: give photos and videos to separate infer runs, or add --frames to read "
               "folders and patterns as videos")
        return BAD_INPUT_EXIT
    formats = tuple(f for f in (args.format or "").split(",") if f)
    if unknown := sorted(set(formats) - set(TAKE_EXPORT_FORMATS)):
        _error(f"unknown --format {', '.join(unknown)} for videos; choose from {', '.join(TAKE_EXPORT_FORMATS)}")
        return BAD_INPUT_EXIT
    for option, given in (("--keypoints", args.keypoints), ("--box", args.box), ("--refine", args.refine)):
        if given:
            _error(f"{option} is for photos; leave it out for videos")
            return BAD_INPUT_EXIT
    if args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0):
        _error(f"--fps must be a positive number of frames per second, got {args.fps}")
        return BAD_INPUT_EXIT
    try:
        smoothing = SmoothingSettings() if args.smoothing is None else SmoothingSettings(strength=args.smoothing)
    except ValueError as exc:
        _error(f"--smoothing: {exc}")
        return BAD_INPUT_EXIT
    pipeline = Pipeline(model=args.model, body_path=args.body, device=args.device)
    try:
        if problem := _model_and_body_problem(pipeline, args.body):
            _error(problem)
            return BAD_INPUT_EXIT
        options = VideoOptions(formats, args.units, smoothing, args.fps, args.focal, args.person)
        try:
            report = run_videos(args.inputs, args.out, pipeline, options)
        except OutputFolderError as exc:
            _error(exc)
            return BAD_INPUT_EXIT
    finally:
        pipeline.close()
    for video in report.videos:
        print(video.line())
    if report.stopped:
        print(f"stopped: {report.stopped}")
    if report.report_error:
        _error(report.report_error)
    print(report.summary(Path(args.out)))
    if report.interrupted:
        return INTERRUPTED_EXIT
    if report.count("failed") or report.count("not_processed") or report.report_error:
        return FAILED_EXIT
    if report.count("unreadable") == len(report.videos):
        return NOTHING_READ_EXIT
    return NOT_RECOVERED_EXIT if report.count("not_recovered") else DONE_EXIT


def _names_a_command(argv: list[str]) -> bool:
    """Whether the arguments ask for a subcommand or for help (else they open the window, with image paths)."""
    if "-h" in argv or "--help" in argv:
        return True
    words = [a for i, a in enumerate(argv) if not a.startswith("-") and (i == 0 or argv[i - 1] != "--body")]
    return bool(words) and words[0] in SUBCOMMANDS


def _window(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hkmr-studio", description="Open the HKMR Studio window.")
    parser.add_argument("--body", help="a SMPL-format body file (.pkl/.npz) instead of the embedded open body")
    parser.add_argument("images", nargs="*", help="photos to open")
    args = parser.parse_args(argv)
    from hkmr_studio.gui.app import run

    return run(args.images, body=args.body)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not _names_a_command(argv):
        return _window(argv)
    args = _build_parser().parse_args(argv)
    if args.command == "doctor":
        from hkmr_studio import doctor

        return doctor.main(args.body)
    if args.command == "infer":
        return _infer(args)
    if args.command == "desktop":
        from hkmr_studio import desktop

        return desktop.main(args.action)
    if args.command == "bench":
        if args.what == "regressors":
            from hkmr_studio.bench import regressors

            print(regressors.run(args.device))
        elif args.what == "pipeline":
            from hkmr_studio.bench import pipeline

            print(pipeline.run())
        elif args.what == "edits":
            from hkmr_studio.bench import edits

            print(edits.run())
        elif args.what == "memory":
            from hkmr_studio.bench import memory

            print(memory.run())
        elif args.what == "flow":
            from hkmr_studio.bench import flow

            print(flow.run())
        elif args.what == "video":
            from hkmr_studio.bench import live, video

            print(video.run())
            print(live.run())
        else:
            from hkmr_studio.bench import fitting

            print(fitting.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
