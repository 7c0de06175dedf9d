"""The window's analysis docks (keypoints and fit, chain inspector, occlusion lab, hypotheses) and the Analysis menu
that shows them. What the chain inspector, the occlusion lab and the hypotheses draw over the photo and in 3D shows
only while their dock is open."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from hkmr_studio.gui.chain_inspector import ChainInspector
from hkmr_studio.gui.fit_comparison import FitComparison
from hkmr_studio.gui.hypotheses import HypothesesPanel
from hkmr_studio.gui.image_view import ImageView
from hkmr_studio.gui.occlusion_lab import OcclusionLab
from hkmr_studio.gui.state import StudioState
from hkmr_studio.gui.viewport import BodyViewport


class AnalysisDocks:
    """Creates the docks (hidden at first) on `window` and an Analysis menu with an entry per dock."""

    def __init__(self, window: QMainWindow, state: StudioState, image_view: ImageView, viewport: BodyViewport,
                 fit_comparison: FitComparison) -> None:
        self.chain_inspector = ChainInspector(state, image_view, viewport)
        self.occlusion_lab = OcclusionLab(state, image_view)
        self.hypotheses = HypothesesPanel(state, image_view, viewport)
        self.docks = {"keypoints": self._dock(window, "Keypoints and Fit", fit_comparison, "Ctrl+K"),
                      "inspector": self._dock(window, "Chain Inspector", self.chain_inspector, "Ctrl+I"),
                      "occlusion": self._dock(window, "Occlusion Lab", self.occlusion_lab, "Ctrl+Shift+O"),
                      "hypotheses": self._dock(window, "Hypotheses", self.hypotheses, "Ctrl+Shift+H")}
        for name, drawer in (("inspector", self.chain_inspector), ("occlusion", self.occlusion_lab),
                             ("hypotheses", self.hypotheses)):
            opened = self.docks[name].toggleViewAction()  # checked while the dock is open, even when tabbed behind
            drawer.show_drawings(opened.isChecked())
            opened.toggled.connect(drawer.show_drawings)
        menu = window.menuBar().addMenu("&Analysis")
        for dock in self.docks.values():
            menu.addAction(dock.toggleViewAction())

    @staticmethod
    def _dock(window: QMainWindow, title: str, widget: QWidget, shortcut: str) -> QDockWidget:
        dock = QDockWidget(title, window)
        dock.setObjectName(title.lower().replace(" ", "-"))
        dock.setWidget(widget)
        dock.toggleViewAction().setShortcut(shortcut)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        return dock

    def shutdown(self) -> None:
        """Wait for the docks' workers."""
        self.chain_inspector.shutdown()
        self.occlusion_lab.shutdown()
        self.hypotheses.shutdown()
