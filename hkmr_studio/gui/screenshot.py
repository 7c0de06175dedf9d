"""Render a picture of the window with a recovered body (the README's docs/window.png).

    xvfb-run -a python -m hkmr_studio.gui.screenshot docs/window.png [--model hkmr] [--image PHOTO]

Uses a temporary settings folder, so the user's settings are neither read nor changed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QBuffer, QEventLoop, QIODevice, QPoint, QRect, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from hkmr_studio.atomic import atomic_write_bytes
from hkmr_studio.checkpoints import DEFAULT_MODEL
from hkmr_studio.gui.app import display_problem
from hkmr_studio.gui.qt_images import qimage_from_array
from hkmr_studio.gui.window import MainWindow
from hkmr_studio.resources import resources_dir
from hkmr_studio.settings import CONFIG_DIR_ENV

WAIT_MS = 180_000


def window_picture(window: MainWindow) -> QImage:
    """The window as shown, with the 3D view's OpenGL pixels painted in (QWidget.grab cannot read them)."""
    picture = window.grab().toImage()
    plotter = window.viewport.plotter
    painter = QPainter(picture)
    painter.drawImage(QRect(plotter.mapTo(window, QPoint(0, 0)), plotter.size()),
                      qimage_from_array(window.viewport.screenshot()))
    painter.end()
    return picture


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
        for _ in range(5):  # let the views repaint after the result
            app.processEvents()
        atomic_write_bytes(Path(args.out), png_bytes(window_picture(window)))
        window.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
