"""The app's icon: drawn from the shipped SVG, and its PNG sizes rendered from it.

`python -m hkmr_studio.gui.app_icon` renders resources/desktop/icons/hicolor/<N>x<N>/apps/<id>.png again after the
SVG changes (tests/test_desktop_integration.py checks that the shipped PNGs match the SVG).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QIcon, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from hkmr_studio.atomic import atomic_write_bytes
from hkmr_studio.desktop import APP_ID, ICON_SIZES, desktop_resources


def icon_folder() -> Path:
    """The hicolor icon theme tree that `hkmr-studio desktop install` copies."""
    return desktop_resources() / "icons" / "hicolor"


def svg_path() -> Path:
    return icon_folder() / "scalable" / "apps" / f"{APP_ID}.svg"


def png_path(size: int) -> Path:
    return icon_folder() / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def render_icon(size: int) -> QImage:
    """The SVG drawn into a transparent `size` x `size` ARGB image."""
    renderer = QSvgRenderer(str(svg_path()))
    if not renderer.isValid():
        raise ValueError(f"{svg_path()} is not an SVG file Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def write_pngs() -> list[Path]:
    """Render every size in ICON_SIZES over the shipped PNGs."""
    written = []
    for size in ICON_SIZES:
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        render_icon(size).save(buffer, "PNG")
        written.append(atomic_write_bytes(png_path(size), data.data()))
    return written


def app_icon() -> QIcon:
    """The window's icon: the SVG, with the PNGs for small sizes where they read better."""
    icon = QIcon(str(svg_path()))
    for size in ICON_SIZES:
        icon.addFile(str(png_path(size)))
    return icon


if __name__ == "__main__":
    for written_path in write_pngs():
        print(f"wrote {written_path}")
