"""`python -m training calibrate-landmarks`: place MediaPipe's 33 landmarks on the open body where MediaPipe Pose puts
them on photo-like renders, and measure how MediaPipe errs around them.

Renders the body in random library poses, shapes and views (seeded), runs MediaPipe on each render (and again with a
synthetic occluder drawn over it), fits each landmark's vertex and joint weights to the detections of 3/4 of the
renders, and reports residuals before and after on the other 1/4. Writes the definition
(models/body/mediapipe_landmarks.json), the detector statistics (training/data/mediapipe_statistics.json) and the
report (training/data/LANDMARKS.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.body.landmarks import default_definition_path, landmarks_from_body
from hkmr_studio.body.model import load_body_model
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from training.landmarks import fit, report
from training.landmarks.initial import RestBody, initial_definition, left_candidates
from training.landmarks.observe import RenderSettings, collect
from training.landmarks.statistics import measure
from training.samples.detector_model import STATISTICS_PATH
from training.samples.poses import load_poses
from training.samples.self_occlusion import SplatOccluder, surface_vertices

REPORT_PATH = Path(__file__).resolve().parents[1] / "data" / "LANDMARKS.md"
HELD_OUT_EVERY = 4  # render i is held out for evaluation when i % 4 == 0


def add_parser(subparsers: Any) -> None:
    """Register the `calibrate-landmarks` sub-command."""
    parser = subparsers.add_parser(
        "calibrate-landmarks", help="fit MediaPipe landmark definitions to detections on renders", description=__doc__
    )
    parser.add_argument("--renders", type=int, default=400, help="renders to draw (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=default_definition_path(), help="definition JSON to write")
    parser.add_argument("--statistics", type=Path, default=STATISTICS_PATH, help="detector statistics JSON to write")
    parser.add_argument("--report", type=Path, default=REPORT_PATH, help="Markdown report to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.renders < 2 * HELD_OUT_EVERY:
        print(f"--renders must be at least {2 * HELD_OUT_EVERY}")
        return 2
    started = time.perf_counter()
    body = load_body_model()
    rest = RestBody(body.smpl.v_template.double().numpy(), body.joint_template.double().numpy())
    start = initial_definition(rest)
    candidates = {n: left_candidates(rest, n) for n in MEDIAPIPE_LANDMARK_NAMES if "right" not in n}
    mirrored = [rest.vertex_mirror[c.vertices] for c in candidates.values()]
    tracked = np.unique(
        np.concatenate([c.vertices for c in candidates.values()] + mirrored + [surface_vertices(rest.vertices)])
    )
    poses = load_poses()
    settings = RenderSettings()
    print(f"rendering {args.renders} scenes ({poses.name}); MediaPipe on each, clean and occluded")

    def progress(done: int) -> None:
        if done % 50 == 0 or done == args.renders:
            print(f"  {done}/{args.renders}  {time.perf_counter() - started:.0f} s", flush=True)

    obs = collect(body, poses, tracked, args.renders, args.seed, settings, progress)
    held_out = np.arange(args.renders) % HELD_OUT_EVERY == 0
    fit_settings = fit.FitSettings()
    swaps = fit.detect_swaps(obs, obs.project(fit.predicted_landmarks(obs, start)), fit_settings)
    swapped = fit.swapped_landmarks(swaps)
    definition = fit.calibrate(obs, rest, start, candidates, ~held_out[:, None] & ~swapped, fit_settings)

    rest_landmarks = landmarks_from_body(
        torch.from_numpy(rest.vertices)[None], torch.from_numpy(rest.joints)[None], definition
    )[0].numpy()
    splats = SplatOccluder.build(rest.vertices, rest_landmarks)
    statistics, hidden = measure(obs, definition, swaps, splats)

    atomic_write_text(
        args.output,
        definition.to_json(
            {
                "body": body.path.name,
                "calibration": f"calibrate-landmarks --renders {args.renders} --seed {args.seed}; see LANDMARKS.md",
            }
        ),
    )
    statistics.save(args.statistics)
    elapsed = time.perf_counter() - started
    report.write(
        args.report,
        report.ReportInputs(
            obs=obs,
            start=start,
            definition=definition,
            held_out=held_out,
            swaps=swaps,
            hidden=hidden,
            statistics=statistics,
            poses=poses.name,
            seed=args.seed,
            render=settings,
            fit=fit_settings,
            elapsed_s=elapsed,
            output=args.output,
            statistics_path=args.statistics,
        ),
    )
    evaluated = held_out[:, None] & ~swapped
    before, after = fit.residuals(obs, start)[evaluated], fit.residuals(obs, definition)[evaluated]
    print(
        f"held-out residual: before mean {np.nanmean(before):.2f} px, median {np.nanmedian(before):.2f} px; "
        f"after mean {np.nanmean(after):.2f} px, median {np.nanmedian(after):.2f} px"
    )
    print(f"MediaPipe found the body in {obs.found.sum()}/{len(obs.found)} renders; {elapsed:.0f} s")
    print(f"wrote {args.output}, {args.statistics}, {args.report}")
    return 0
