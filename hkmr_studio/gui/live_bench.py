"""The window's side of the Live benchmark (`bench.live` turns what it measures into the printed figures).

A shown window loads one photo (which loads the models), settles for `settle_ms` (collecting the garbage of loading),
then plays a clip through Live, as a user would. Measured while the clip plays: frames read and analysed, the GUI
thread's stalls (a 5 ms QTimer, `gui.stall_probe`) and the 3D view's renders. Needs a display (X or Wayland;
`xvfb-run` on a server): `gui.app.display_problem` says why not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from hkmr_studio.gui.capture import VideoSource
from hkmr_studio.gui.stall_probe import StallProbe
from hkmr_studio.gui.testing import settings_folder
from hkmr_studio.gui.window import MainWindow

STALL_REPORT_MS = 50.0


@dataclass(frozen=True)
class LiveRun:
    """What one clip played through Live did: frame counts, wall-clock seconds from Start to the clip's end, the GUI
    thread's longest stall and every stall over STALL_REPORT_MS (ms), and the 3D view's renders in that time."""

    frames_read: int
    frames_analysed: int
    seconds: float
    longest_stall_ms: float
    stalls_ms: tuple[float, ...]
    renders: int


def play_clip_through_live(clip: Path, model: str | Path, photo: Path, settings: Path, settle_ms: int) -> LiveRun:
    """Open a window on `model` (a shipped name or a file), its settings in the scratch folder `settings` (never the
    user's), load `photo`, wait `settle_ms`, then play `clip` through Live and measure it."""
    app = QApplication.instance() or QApplication(["hkmr-studio-bench"])
    with settings_folder(settings):
        window = MainWindow(model=str(model))
        window.show()
        try:
            wait = QEventLoop()
            window.inference.idle.connect(wait.quit)
            window.open_paths([photo])  # loads the models before the clip
            wait.exec()
            QTimer.singleShot(settle_ms, wait.quit)  # the window collects the loading's garbage (gui_thread_gc)
            wait.exec()
            probe = StallProbe(report_ms=STALL_REPORT_MS)
            renders = window.viewport.renders
            ended = QEventLoop()
            window.live.stopped.connect(ended.quit)
            QTimer.singleShot(0, probe.start)
            start = time.perf_counter()
            window.start_live_from(VideoSource(file=clip))
            ended.exec()
            seconds = time.perf_counter() - start
            probe.stop()
            return LiveRun(window.live.frames_read, window.live.frames_analysed, seconds, probe.longest_ms,
                           tuple(probe.stalls), window.viewport.renders - renders)
        finally:
            window.close()
            app.processEvents()
