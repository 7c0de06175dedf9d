"""Live view speed with the window open (`hkmr-studio bench video` prints these after the offline figures).

The window plays the benchmark clip (`bench.video.write_bench_clip`: the sample photo drifting in a 640 x 480 frame,
at 30 frames/s) through Live, as a user would, after one photo has loaded the models and the window has settled
for SETTLE_MS (collecting the garbage of loading); `gui.live_bench` drives the window. Figures: frames analysed per
second (target >= 15 on 2 CPU cores), the GUI thread's longest stall (target <= 100 ms) and how many stalls passed
50 ms, and how often the 3D view rendered. Needs a display (X or Wayland; `xvfb-run` on a server). Qt-free itself:
the window is imported only when a display exists.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hkmr_studio.bench.pipeline import model_spec
from hkmr_studio.bench.video import Figure, write_bench_clip
from hkmr_studio.resources import resources_dir

TARGET_FPS = 15.0
TARGET_STALL_MS = 100.0
CLIP_SECONDS = 10
SETTLE_MS = 1500
SAMPLE = "samples/pose2sim_single_person.jpg"


def run() -> str:
    """The Live figures as the report's lines, or a line saying why they were not measured."""
    load = os.getloadavg()[0]
    measured = figures()
    if not measured:
        return "Live view: not measured here (no display; run under xvfb-run to measure it)"
    header = f"Live view with the window open (load average {load:.1f} as it starts)"
    return "\n".join([header] + [figure.line() for figure in measured])


def figures(seconds: int = CLIP_SECONDS) -> list[Figure]:
    """Play a `seconds` clip through Live in a shown window and measure it; [] without a display."""
    from hkmr_studio.gui.app import display_problem

    if display_problem():
        return []
    from hkmr_studio.gui.live_bench import STALL_REPORT_MS, play_clip_through_live

    with tempfile.TemporaryDirectory() as tmp:
        clip = write_bench_clip(Path(tmp) / "live.avi", frames=30 * seconds, fps=30.0)
        spec, _ = model_spec(Path(tmp))
        run = play_clip_through_live(clip, spec, resources_dir() / SAMPLE, Path(tmp) / "config", SETTLE_MS)
    return [
        Figure("load average (1 min) after the run: the figures shrink as others share the cores",
               os.getloadavg()[0], ""),
        Figure(f"Live: frames read from the {seconds} s clip at 30 frames/s", run.frames_read, "frames"),
        Figure("Live: frames analysed per second (the rest skipped)", run.frames_analysed / run.seconds, "frames/s",
               TARGET_FPS),
        Figure("GUI thread: longest stall (5 ms timer)", run.longest_stall_ms, "ms", TARGET_STALL_MS, False),
        Figure(f"GUI thread: stalls over {STALL_REPORT_MS:.0f} ms", len(run.stalls_ms), "stalls"),
        Figure("3D view renders per second", run.renders / run.seconds, "renders/s"),
    ]
