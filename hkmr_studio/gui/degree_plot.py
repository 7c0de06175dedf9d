"""The occlusion lab's degree-of-occlusion plot (the paper's Fig. 6 for one photo): mean joint displacement (mm)
against degree of occlusion, one line per occluder kind and model, drawn with QPainter."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from hkmr_studio.occlusion_probe import DegreeCurves

KIND_COLORS = {"bar": QColor(230, 120, 40), "circle": QColor(60, 160, 230), "rectangle": QColor(120, 200, 80)}
X_LABEL = "degree of occlusion"
Y_LABEL = "mean joint displacement (mm)"
_LEGEND_LINE_PX = 18
_MARGIN_PX = 6


@dataclass(frozen=True)
class LegendEntry:
    """One legend entry: a line sample (in `color`, dashed or solid) then `text`, within `rect`."""

    rect: QRectF
    text: str
    color: QColor
    dashed: bool


@dataclass(frozen=True)
class PlotLayout:
    """Where DegreePlot draws, in widget pixels: the y-axis label on top, the axes' box (curves only), the tick
    labels beside and under it, the x-axis label, and the legend's entries flowing into rows at the bottom."""

    y_label: QRectF
    plot: QRectF
    x_label: QRectF
    legend: QRectF
    entries: tuple[LegendEntry, ...]


class DegreePlot(QWidget):
    """Mean joint displacement (mm) against degree of occlusion, one line per occluder kind (colour) and model
    (solid: the first model, dashed: the second), drawn with QPainter; the legend sits under the axes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves: DegreeCurves | None = None
        self.labels: dict[str, str] = {}
        self.setMinimumHeight(220)

    def set_curves(self, curves: DegreeCurves | None, labels: dict[str, str]) -> None:
        self.curves, self.labels = curves, labels
        self.update()

    def top_mm(self) -> float:
        """The y axis's upper end: a tenth above the largest value (at least 1 mm)."""
        values = np.array([v for kinds in self.curves.mean_mm.values() for v in kinds.values()]) if self.curves else []
        return max(float(np.nanmax(values)) if np.isfinite(values).any() else 1.0, 1.0) * 1.1

    def layout_rects(self) -> PlotLayout:
        """The layout for the widget's size, font and curves: the legend's entries flow left to right into as many
        rows as the width needs, and the axes take the height that is left."""
        metrics = self.fontMetrics()
        line = metrics.height()
        width, height = float(self.width()), float(self.height())
        entries = []
        if self.curves is not None:
            kinds = list(dict.fromkeys(kind for kinds in self.curves.mean_mm.values() for kind in kinds))
            entries += [(kind, KIND_COLORS.get(kind, QColor("white")), False) for kind in kinds]
            entries += [(self.labels.get(model, model), QColor("#9aa0a6"), index > 0)
                        for index, model in enumerate(self.curves.mean_mm)]
        placed, x, row = [], _MARGIN_PX, 0
        for text, color, dashed in entries:
            entry_width = _LEGEND_LINE_PX + 4 + metrics.horizontalAdvance(text) + 2
            if x > _MARGIN_PX and x + entry_width > width - _MARGIN_PX:
                x, row = _MARGIN_PX, row + 1
            placed.append((QRectF(x, row * line, entry_width, line), text, color, dashed))
            x += entry_width + 10
        legend_top = height - _MARGIN_PX - (row + 1) * line if placed else height - _MARGIN_PX
        legend = tuple(LegendEntry(rect.translated(0, legend_top), text, color, dashed)
                       for rect, text, color, dashed in placed)
        legend_rect = QRectF(_MARGIN_PX, legend_top, width - 2 * _MARGIN_PX, height - _MARGIN_PX - legend_top)
        x_label = QRectF(_MARGIN_PX, legend_top - line - 2, width - 2 * _MARGIN_PX, line)
        ticks = max(metrics.horizontalAdvance(f"{self.top_mm():.0f}"), metrics.horizontalAdvance("0")) + 6
        y_label = QRectF(_MARGIN_PX, _MARGIN_PX, width - 2 * _MARGIN_PX, line)
        plot_top = y_label.bottom() + line / 2 + 2  # room for the top tick label, centred on the top edge
        plot = QRectF(_MARGIN_PX + ticks, plot_top, width - 2 * _MARGIN_PX - ticks,
                      max(x_label.top() - line - plot_top, 1.0))
        return PlotLayout(y_label, plot, x_label, legend_rect, legend)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#1e1f22"))
        painter.setPen(QColor("#9aa0a6"))
        if self.curves is None:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Run a degree sweep to plot it here.")
            return
        layout = self.layout_rects()
        plot, top = layout.plot, self.top_mm()
        painter.drawRect(plot)
        degrees = self.curves.degrees
        span = max(degrees[-1] - degrees[0], 1)

        def point(degree: int, mm: float) -> QPointF:
            return QPointF(plot.left() + (degree - degrees[0]) / span * plot.width(),
                           plot.bottom() - mm / top * plot.height())

        line = self.fontMetrics().height()
        for degree in degrees:
            painter.drawText(QRectF(point(degree, 0).x() - 10, plot.bottom() + 1, 20, line),
                             Qt.AlignmentFlag.AlignCenter, str(degree))
        ticks = QRectF(0, 0, plot.left() - 3, line)
        painter.drawText(ticks.translated(0, plot.top() - line / 2), Qt.AlignmentFlag.AlignRight, f"{top:.0f}")
        painter.drawText(ticks.translated(0, plot.bottom() - line / 2), Qt.AlignmentFlag.AlignRight, "0")
        painter.drawText(layout.y_label, Qt.AlignmentFlag.AlignLeft, Y_LABEL)
        painter.drawText(layout.x_label, Qt.AlignmentFlag.AlignCenter, X_LABEL)
        for m_index, kinds in enumerate(self.curves.mean_mm.values()):
            for kind, curve in kinds.items():
                painter.setPen(self._pen(KIND_COLORS.get(kind, QColor("white")), m_index > 0))
                points = [point(d, v) for d, v in zip(degrees, curve, strict=True) if np.isfinite(v)]
                for a, b in pairwise(points):
                    painter.drawLine(a, b)
        for entry in layout.entries:
            middle = entry.rect.center().y()
            painter.setPen(self._pen(entry.color, entry.dashed))
            painter.drawLine(QPointF(entry.rect.left(), middle), QPointF(entry.rect.left() + _LEGEND_LINE_PX, middle))
            painter.setPen(QColor("#9aa0a6"))
            painter.drawText(entry.rect.adjusted(_LEGEND_LINE_PX + 4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter,
                             entry.text)

    @staticmethod
    def _pen(color: QColor, dashed: bool) -> QPen:
        pen = QPen(color, 2)
        pen.setStyle(Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        return pen
