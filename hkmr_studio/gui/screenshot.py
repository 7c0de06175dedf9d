"""Render a picture of the window with a recovered body (the README's docs/window.png).

    xvfb-run -a python -m hkmr_studio.gui.screenshot docs/window.png [--model hkmr] [--image PHOTO] [--panel keypoints|inspector|occlusion|take]

Uses a temporary settings folder, so the user's settings are neither read nor changed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QEventLoop, QIODevice, QPoint, QRect, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from hkmr_studio.atomic import atomic_write_bytes
from hkmr_studio.body.kinematics import JOINT_INDEX
from hkmr_studio.checkpoints import DEFAULT_MODEL
from hkmr_studio.gui.app import display_problem
from hkmr_studio.gui.capture import VideoSource
from hkmr_studio.gui.qt_images import qimage_from_array
from hkmr_studio.gui.state import Document
from hkmr_studio.gui.testing import write_test_video
from hkmr_studio.gui.window import MainWindow
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.resources import resources_dir
from hkmr_studio.settings import CONFIG_DIR_ENV

WAIT_MS = 180_000
PANELS = ("window", "keypoints", "inspector", "occlusion", "take")
TAKE_CLIP = {"frames": 150, "fps": 10.0, "width": 360}  # the take's clip: the photo drifting sideways, 15 s


def window_picture(window: MainWindow) -> QImage:
    """The window as shown, with the 3D view's OpenGL pixels painted in (QWidget.grab cannot read them)."""
    picture = window.grab().toImage()
    plotter = window.viewport.plotter
    painter = QPainter(picture)
    painter.drawImage(QRect(plotter.mapTo(window, QPoint(0, 0)), plotter.size()),
                      qimage_from_array(window.viewport.screenshot()))
    painter.end()
    return picture


def stage_panel(window: MainWindow, panel: str, done: Callable[[], None]) -> None:
    """Show `panel`'s dock at work on the open photo, then call `done`: keypoints and fit with the left wrist dragged
    up and out and both bodies overlaid; the chain inspector half-way through the trace with the left arm
    highlighted; the occlusion lab with the left elbow occluded, a degree sweep over the wrists and ankles, and a
    6 x 6 heatmap."""
    docks = window.analysis_docks
    if panel == "take":
        stage_take(window, done)
        return
    if panel == "keypoints":
        document = window.state.current
        wrist = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist")
        x, y = document.analysis.result.keypoints.xy[wrist]
        height = document.image.original_size[1]
        window.state.view.body_shown = "overlaid"
        window.inference.analysed.connect(lambda d: done() if d.analysis.request.refit_from is not None else None)
        docks.docks[panel].show()
        window.keypoint_editor.move(wrist, (x - 0.1 * height, y - 0.15 * height))
        return
    if panel == "inspector":
        inspector = docks.chain_inspector

        def step_back() -> None:
            inspector.slider.setValue(inspector.slider.maximum() // 2)
            inspector.highlight("left_arm")
            done()

        inspector.ready.connect(step_back)
        docks.docks[panel].show()
        return
    lab = docks.occlusion_lab
    limbs = tuple(JOINT_INDEX[n] for n in ("left_wrist", "right_wrist", "left_ankle", "right_ankle"))
    lab.compared.connect(lambda _: lab.sweep_degrees(joints=limbs))
    lab.swept.connect(lambda result: lab.sweep_grid(6) if result is lab.plot.curves else done())
    docks.docks[panel].show()
    lab.occlude_joint(JOINT_INDEX["left_elbow"])


def stage_take(window: MainWindow, done: Callable[[], None]) -> None:
    """Record a take of the open photo drifting sideways in a clip (Live ▸ Record), then show its middle frame on the
    timeline with the left wrist dragged up and out (refitted, and smoothed again around that frame)."""
    document = window.state.current
    clip = write_test_video(Path(os.environ[CONFIG_DIR_ENV]) / "take.avi", document.path, **TAKE_CLIP)

    def edit(take: Document) -> None:
        session = take.session
        middle = session.frame_count // 2
        if take.analysis.request.pose is None or not np.allclose(take.analysis.result.best.transl,
                                                                 session.pose(middle)["transl"]):
            return  # not the middle frame's body yet
        window.inference.analysed.disconnect(edit)
        window.inference.analysed.connect(lambda d: done() if d.analysis.request.refit_from is not None else None)
        wrist = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist")
        x, y = take.analysis.result.keypoints.xy[wrist]
        height = take.image.original_size[1]
        window.keypoint_editor.move(wrist, (x - 0.1 * height, y - 0.15 * height))

    def recorded() -> None:
        window.inference.analysed.connect(edit)
        window.timeline.slider.setValue(window.state.current.session.frame_count // 2)

    window.live.stopped.connect(recorded)
    window.start_live_from(VideoSource(file=clip), record=True)


def png_bytes(image: QImage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="shipped model name or checkpoint file")
    parser.add_argument("--image", default=str(resources_dir() / "samples" / "pose2sim_single_person.jpg"))
    parser.add_argument("--size", default="1320x840", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--panel", choices=PANELS, default="window", help="a dock to show at work as well")
    args = parser.parse_args(argv)
    problem = display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as config:
        os.environ[CONFIG_DIR_ENV] = config
        app = QApplication.instance() or QApplication([sys.argv[0]])
        window = MainWindow(model=args.model)
        window.resize(width, height)
        window.show()
        loop = QEventLoop()
        window.inference.idle.connect(loop.quit)
        QTimer.singleShot(WAIT_MS, loop.quit)
        window.open_paths([args.image])
        loop.exec()
        if args.panel != "window":
            panel_loop = QEventLoop()
            QTimer.singleShot(WAIT_MS, panel_loop.quit)
            stage_panel(window, args.panel, panel_loop.quit)
            panel_loop.exec()
        for _ in range(5):  # let the views repaint after the result
            app.processEvents()
        atomic_write_bytes(Path(args.out), png_bytes(window_picture(window)))
        window.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
