"""Live view speed with the window open (`hkmr-studio bench video` prints these after the offline figures).

The window plays the benchmark clip (`bench.video.write_bench_clip`: the sample photo drifting in a 640 x 480 frame,
at 30 frames/s) through Live, as a user would, after one photo has loaded the models and the window has settled
for SETTLE_MS (collecting the garbage of loading). Measured while the clip plays:
frames analysed per second (target >= 15 on 2 CPU cores), the GUI thread's longest stall (a 5 ms QTimer,
`gui.stall_probe`; target <= 100 ms) and how many stalls passed 50 ms, and how often the 3D view rendered. Needs a
display (X or Wayland; `xvfb-run` on a server).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from hkmr_studio.bench.pipeline import model_spec
from hkmr_studio.bench.video import Figure, write_bench_clip
from hkmr_studio.resources import resources_dir

TARGET_FPS = 15.0
TARGET_STALL_MS = 100.0
CLIP_SECONDS = 10
SETTLE_MS = 1500
SAMPLE = "samples/pose2sim_single_person.jpg"


def figures(seconds: int = CLIP_SECONDS) -> list[Figure]:
    """Play a `seconds` clip through Live in a shown window and measure it; [] without a display."""
    from hkmr_studio.gui.app import display_problem

    if display_problem():
        return []
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from hkmr_studio.gui.capture import VideoSource
    from hkmr_studio.gui.stall_probe import StallProbe
    from hkmr_studio.gui.testing import settings_folder
    from hkmr_studio.gui.window import MainWindow

    app = QApplication.instance() or QApplication(["hkmr-studio-bench"])
    with tempfile.TemporaryDirectory() as tmp, settings_folder(Path(tmp) / "config"):
        clip = write_bench_clip(Path(tmp) / "live.avi", frames=30 * seconds, fps=30.0)
        spec, _ = model_spec(Path(tmp))
        window = MainWindow(model=str(spec))
        window.show()
        try:
            wait = QEventLoop()
            window.inference.idle.connect(wait.quit)
            window.open_paths([resources_dir() / SAMPLE])  # loads the models before the clip
            wait.exec()
            QTimer.singleShot(SETTLE_MS, wait.quit)  # the window collects the loading's garbage (gui_thread_gc)
            wait.exec()
            probe = StallProbe(report_ms=50.0)
            renders = window.viewport.renders
            ended = QEventLoop()
            window.live.stopped.connect(ended.quit)
            QTimer.singleShot(0, probe.start)
            start = time.perf_counter()
            window.start_live_from(VideoSource(file=clip))
            ended.exec()
            elapsed = time.perf_counter() - start
            probe.stop()
            analysed, read = window.live.frames_analysed, window.live.frames_read
            renders = window.viewport.renders - renders
        finally:
            window.close()
            app.processEvents()
    return [
        Figure("load average (1 min) after the run: the figures shrink as others share the cores",
               os.getloadavg()[0], ""),
        Figure(f"Live: frames read from the {seconds} s clip at 30 frames/s", read, "frames"),
        Figure("Live: frames analysed per second (the rest skipped)", analysed / elapsed, "frames/s", TARGET_FPS),
        Figure("GUI thread: longest stall (5 ms timer)", probe.longest_ms, "ms", TARGET_STALL_MS, False),
        Figure("GUI thread: stalls over 50 ms", len(probe.stalls), "stalls"),
        Figure("3D view renders per second", renders / elapsed, "renders/s"),
    ]
