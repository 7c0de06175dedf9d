"""Pixels between numpy (H, W, 3|4 uint8, RGB order) and Qt images."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def qimage_from_array(pixels: np.ndarray) -> QImage:
    """(H, W, 3) RGB or (H, W, 4) RGBA uint8 -> a QImage that owns a copy of the pixels."""
    pixels = np.ascontiguousarray(pixels)
    height, width, channels = pixels.shape
    fmt = QImage.Format.Format_RGBA8888 if channels == 4 else QImage.Format.Format_RGB888
    return QImage(pixels.data, width, height, pixels.strides[0], fmt).copy()


def array_from_qimage(image: QImage) -> np.ndarray:
    """Any QImage -> (H, W, 4) RGBA uint8 (a copy)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    height, width = rgba.height(), rgba.width()
    view = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.bytesPerLine() * height)
    return view.reshape(height, rgba.bytesPerLine())[:, : width * 4].reshape(height, width, 4).copy()
