"""The real benchmark's table (text) and data card (training/data/REAL_BENCHMARK.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hkmr_studio.atomic import atomic_write_text

CARD_PATH = Path(__file__).resolve().parents[1] / "data" / "REAL_BENCHMARK.md"
REFERENCE = "MediaPipe world landmarks"
_COLUMNS = (("MPJPE", "mpjpe_mm"), ("PA-MPJPE", "pa_mpjpe_mm"), ("MPJPE-hips", "mpjpe_no_hips_mm"),
            ("PA-hips", "pa_mpjpe_no_hips_mm"), ("facing", "facing_deg"))


def table(results: dict[str, Any]) -> str:
    """One row per predictor: the errors (mm, degrees), facing counts and PA-MPJPE without hips against MediaPipe's."""
    rows = results["rows"]
    width = max(len(name) for name in rows)
    reference = rows[REFERENCE]["all"]["pa_mpjpe_no_hips_mm"]
    header = f"{'':<{width}}  " + " ".join(f"{label:>10}" for label, _ in _COLUMNS)
    lines = [header + f" {'>45 deg':>8} {'>90 deg':>8} {'PA-hips / MP':>13}"]
    for name, row in rows.items():
        summary = row["all"]
        cells = " ".join(f"{summary[key]:>10.1f}" for _, key in _COLUMNS)
        ratio = summary["pa_mpjpe_no_hips_mm"] / reference
        lines.append(f"{name:<{width}}  {cells} {summary['facing_over_45']:>8} {summary['facing_over_90']:>8} "
                     f"{ratio:>13.2f}")
    samples = results["samples"]
    lines.append(f"(mm and degrees; {samples['count']} views: {samples['frames']} frames x {samples['people']} people "
                 f"x the views that see them, {samples['swapped_views']} with left/right swapped by MediaPipe; "
                 "'-hips': the 10 body landmarks without the hips)")
    partial_rows = [(name, row["partial"]) for name, row in rows.items() if "partial" in row]
    if partial_rows:
        kinds = list(partial_rows[0][1])
        lines += ["", f"{'partial input: PA-hips (x full)':<{width}}  " + " ".join(f"{k:>18}" for k in kinds)]
        for name, partial in partial_rows:
            full = rows[name]["all"]["pa_mpjpe_no_hips_mm"]
            cells = " ".join(f"{partial[k]['pa_mpjpe_no_hips_mm']:>10.1f} ({partial[k]['pa_mpjpe_no_hips_mm'] / full:.2f}x)"
                             for k in kinds)
            lines.append(f"{name:<{width}}  {cells}")
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def write_card(report: dict[str, Any], path: Path = CARD_PATH) -> Path:
    """The data card of the pseudo-ground-truth, from the build's report."""
    quality = report["quality"]
    videos = _md_table(["camera", "calibrated size", "video size", "black bands (top/bottom/left/right px)"], [
        [v["camera"], "x".join(map(str, v["calibrated_size"])), "x".join(map(str, v["video_size"])),
         "/".join(str(v["black_bands"][k]) for k in ("top", "bottom", "left", "right"))] for v in report["videos"]])
    sync = _md_table(["camera shifted", "median reprojection (px)"],
                     [[name, f"{error:.2f}"] for name, error in report["sync"]["median_reprojection_px"].items()])
    landmarks = _md_table(["landmark", "median (px)", "90th percentile (px)", "views used (mean)"], [
        [name, f"{q['median']:.1f}", f"{q['p90']:.1f}", f"{q['views_used']:.2f}"]
        for name, q in quality["reprojection_px"].items()])
    views = ", ".join(f"{n} views: {count}" for n, count in quality["views_per_person_frame"].items())
    swaps = ", ".join(f"{group} {count}" for group, count in quality["swapped_views"].items())
    bands = "; ".join(f"{name} moved by {b['shift_px']} px: {b['median_reprojection_px']:.2f} px"
                      for name, b in report["band_shift"].items()) or "no camera has such bands"
    missing = "; ".join(f"person {k}: {m['landmark']}, missing in {m['frames_missing']} of {m['frames_seen']} frames"
                        for k, m in enumerate(quality["most_missing"]))
    offsets = ", ".join(f"{name} {offset:+d}" for name, offset in report["sync"]["offsets"].items())
    searched = ", ".join(f"{name} {count}" for name, count in report["found_by_projection"].items())
    text = f"""\
# Real benchmark: a triangulated multi-view capture

Built once by `python -m training evaluate --real` (about {report['seconds'] / 60:.0f} minutes on 2 CPU cores) into
`training/data/real/` (git-ignored: the videos stay in their wheel, the detections and triangulation are rebuilt,
never committed); this card is written by the same build.

## The capture
{report['take']} (the same take as `Demo_Batch/Trial_2`), from the PyPI wheel `pose2sim==0.10.49`, fetched with pip
and checked against a pinned digest: four calibrated, synchronised 60 fps videos, 1088 x 1920 portrait, of two people
(a man in acrobatic lunges, kicks and arm swings on a treadmill platform; a woman dancing beside it) filmed by a
Qualisys rig mounted about 1.7-2.1 m high, looking down 20-35 degrees; bystanders in the background. Faces are
pixelated in the videos. Licence: BSD-3-Clause, Copyright (c) 2022, perfanalytics (see NOTICE).
`Demo_SinglePerson` (= `Demo_Batch/Trial_1`) is reserved as a held-out set: nothing trains, tunes or chooses
settings on it, and this benchmark never reads it.

## How the pseudo-ground-truth is made (training/real/)
1. Calibration (`calibration.py`): QTM's `.qca.txt`, read with the convention of Pose2Sim's reader (camera position
   and world-to-camera rotation, a half turn about x to OpenCV's axes, intrinsics in 1/64 sub-pixels).
2. MediaPipe Pose on every frame of every view (`detections.py`, `people.py`): it reports one person per image, so
   each found person is painted out and the image searched again (up to 3 people), then each person is detected once
   more inside their own box with the others painted out, as the app detects inside a user's box.
3. People associated across views by epipolar geometry (`association.py`), each left/right group (face, arms, legs)
   taken as given or mirrored so that a view where MediaPipe swapped sides does not split a person.
4. Per person and group, the views whose sides MediaPipe swapped are found as the swap assignment (majority
   unswapped) that triangulates best; then each landmark is triangulated (DLT on undistorted coordinates) from the
   views that call it visible, dropping a view while its reprojection error is an outlier and at least 3 remain
   (`pseudo_truth.py`, `triangulation.py`). Views that missed a person are searched again inside the box where the
   other views put them (`projected_search.py`), and everything is triangulated again.
5. Scored person-frames (`scoring.py`): all 12 body landmarks (shoulders, elbows, wrists, hips, knees, ankles)
   triangulated from at least 3 views, and the nose in front of the torso.

## Checks before trusting the calibration
Video against calibration:

{videos}

Where the sizes differ the calibration is scaled, and a video that is not a uniform scaling of the calibrated images
(letterboxed or cropped) is refused (`Camera.resized`). Black bands at the top or left would shift the picture if
they were letterboxing; with the principal point moved by them the median reprojection error becomes: {bands}
(against {report['sync']['median_reprojection_px'][next(iter(report['sync']['median_reprojection_px']))]:.2f} px as
calibrated).

Lens distortion: median reprojection {report['distortion']['median_reprojection_px']:.2f} px as read,
{report['distortion']['without_distortion_px']:.2f} px without distortion (the people stand near the image centres,
where it hardly matters).

Synchronisation: each camera shifted by up to two frames against cam01 (every second frame, body landmarks):

{sync}

Offsets applied: {offsets} (a shift is applied only when it lowers the median error by more than 5 %).

## What came out
- Person-frames: {quality['person_frames']} ({views}); people found again by projection: {searched}.
- Views where MediaPipe swapped left and right (of {quality['seen_views']} person-views): {swaps}.
- Scored: {quality['used_person_frames']} person-frames ({" and ".join(map(str, quality['used_per_person']))} for
  the two people), every view that sees them. The body landmark most often left untriangulated (seen by fewer than
  3 views): {missing}.
- Median reprojection error of the body landmarks: {quality['body_reprojection_px']:.1f} px (people are 700-900 px
  tall, so about 1-2 cm at their distance).

Reprojection error per landmark over the views each triangulation used:

{landmarks}
"""
    return atomic_write_text(path, text)
