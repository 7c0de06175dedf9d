"""Starting the window: check for a display first (a clear message instead of Qt's abort), then run Qt's loop."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from types import TracebackType

from PySide6.QtWidgets import QApplication

from hkmr_studio.desktop import APP_ID
from hkmr_studio.gui.analysis import explain_error
from hkmr_studio.gui.app_icon import app_icon
from hkmr_studio.gui.state import Level, StudioState
from hkmr_studio.gui.window import TITLE, MainWindow
from hkmr_studio.logs import start_log_file

log = logging.getLogger(__name__)


def display_problem() -> str:
    """Why the window cannot open here ('' when it can)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("No display was found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open. Use "
                "`hkmr-studio infer PHOTO --out FOLDER` without a window, or run the window under `xvfb-run -a`.")
    if os.environ.get("QT_QPA_PLATFORM") in {"offscreen", "minimal"}:
        return (f"QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']} has no OpenGL window for the 3D view; unset it, "
                "or run under `xvfb-run -a`.")
    return ""


def _report_uncaught(state: StudioState, kind: type[BaseException], exc: BaseException,
                     traceback: TracebackType | None) -> None:
    """sys.excepthook while the window runs: log the traceback and tell the user, instead of dying silently."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, traceback)
        return
    log.error("uncaught exception", exc_info=(kind, exc, traceback))
    state.notify(Level.ERROR, explain_error(exc))


def start_logging() -> str:
    """Warnings and errors to stderr and to the log file (Help ▸ Open Log Folder); '' or why the file is not used."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return start_log_file()


def run(images: Sequence[str] = (), body: str | None = None) -> int:
    """Open the window on `images` (paths), with `body` (a SMPL-format file) for this session; Qt's exit code."""
    problem = display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    log_problem = start_logging()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName(TITLE)
    app.setDesktopFileName(APP_ID)  # the launcher `hkmr-studio desktop install` puts in the menu, and its icon
    app.setWindowIcon(app_icon())
    window = MainWindow(body=body)
    if log_problem:
        window.state.notify(Level.WARNING, log_problem)
    previous_hook = sys.excepthook
    sys.excepthook = lambda kind, exc, traceback: _report_uncaught(window.state, kind, exc, traceback)
    try:
        window.show()
        window.open_paths(images)
        return app.exec()
    finally:
        sys.excepthook = previous_hook
