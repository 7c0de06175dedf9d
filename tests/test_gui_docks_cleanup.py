"""The analysis docks tidy up after themselves and say what they show: closing a dock takes its drawings off the photo
and the 3D view, the occlusion lab reads its controls when asked (not later, on its worker thread), its idle progress
bar claims no runs, its plot keeps the legend and labels clear of the curves, and the chain inspector names whose body
is solid. Each test fails if a QThread, QTimer, thread pool or QtInteractor outlives it (hkmr_studio.gui.testing)."""

import threading

import numpy as np
from PySide6.QtGui import QFontMetrics

from hkmr_studio.body import kinematics
from hkmr_studio.gui.chain_inspector import STEP_ACTOR
from hkmr_studio.gui.degree_plot import X_LABEL, Y_LABEL, DegreePlot
from hkmr_studio.occlusion import Rectangle
from hkmr_studio.occlusion_probe import DegreeCurves, OcclusionProbe

WAIT_MS = 120_000


def drawn_lines(layer):
    """The skeleton's bones that show on the photo."""
    return layer.childItems() if layer.isVisible() else []


def test_closing_the_chain_inspector_takes_its_skeleton_off_the_photo_and_the_3d_view(qtbot, analysed_window):
    window = analysed_window
    inspector = window.analysis_docks.chain_inspector
    dock = window.analysis_docks.docks["inspector"]
    with qtbot.waitSignal(inspector.ready, timeout=WAIT_MS):
        dock.show()
    assert len(drawn_lines(inspector.skeleton.layer)) == 23 and STEP_ACTOR in window.viewport.plotter.actors
    dock.close()  # the dock's own close button
    assert drawn_lines(inspector.skeleton.layer) == [] and STEP_ACTOR not in window.viewport.plotter.actors
    inspector.slider.setValue(0)  # nothing the closed dock does draws again
    assert drawn_lines(inspector.skeleton.layer) == [] and STEP_ACTOR not in window.viewport.plotter.actors
    dock.show()
    qtbot.waitUntil(lambda: STEP_ACTOR in window.viewport.plotter.actors, timeout=WAIT_MS)
    assert len(drawn_lines(inspector.skeleton.layer)) == 23


def test_the_chain_inspector_says_whose_body_is_solid(qtbot, analysed_window):
    window = analysed_window
    inspector = window.analysis_docks.chain_inspector
    with qtbot.waitSignal(inspector.ready, timeout=WAIT_MS):
        window.analysis_docks.docks["inspector"].show()
    own = inspector.status_label.text()
    assert "Dashed: untrained-test-hkmr's pose" in own and "Solid: untrained-test-hkmr's final body" in own
    inspector.model_box.setCurrentText("hmr")
    baseline = inspector.status_label.text()
    assert "Dashed: hmr's pose" in baseline and "Solid: the window's body (untrained-test-hkmr)" in baseline


def test_closing_the_occlusion_lab_takes_its_occluder_and_heatmap_off_the_photo(qtbot, analysed_window):
    window = analysed_window
    lab = window.analysis_docks.occlusion_lab
    dock = window.analysis_docks.docks["occlusion"]
    dock.show()
    with qtbot.waitSignal(lab.swept, timeout=WAIT_MS):
        lab.sweep_grid(1)
    with qtbot.waitSignal(lab.compared, timeout=WAIT_MS):
        lab.occlude_joint(kinematics.JOINT_INDEX["left_wrist"])
    assert lab.preview_item.isVisible() and not lab.preview_item.pixmap().isNull()
    assert lab.heatmap_item.isVisible() and not lab.heatmap_item.pixmap().isNull()
    lab.place_button.setChecked(True)
    dock.close()
    assert not lab.preview_item.isVisible() and not lab.heatmap_item.isVisible()
    assert not lab.place_button.isChecked()  # a click on the photo pans it again, placing nothing unseen
    picture = window.image_view.render_photo()  # what a saved photo with its overlay holds
    occluded = lab.occluder.mask(*picture.shape[:2])
    dock.show()
    assert lab.preview_item.isVisible() and lab.heatmap_item.isVisible()  # the lab's results are back with it
    with_lab_open = window.image_view.render_photo()
    assert not np.array_equal(picture[occluded], with_lab_open[occluded])


def test_the_occlusion_lab_uses_the_occluder_set_when_asked_not_when_its_worker_gets_to_it(qtbot, analysed_window,
                                                                                           monkeypatch):
    window = analysed_window
    lab = window.analysis_docks.occlusion_lab
    window.analysis_docks.docks["occlusion"].show()
    go_on = threading.Event()
    run = OcclusionProbe.run

    def waiting_run(self, image):
        assert go_on.wait(WAIT_MS / 1000)
        return run(self, image)

    monkeypatch.setattr(OcclusionProbe, "run", waiting_run)
    lab.kind_box.setCurrentText("rectangle")
    lab.degree_box.setValue(2)
    with qtbot.waitSignal(lab.compared, timeout=WAIT_MS):
        lab.occlude_joint(kinematics.JOINT_INDEX["left_knee"])
        lab.kind_box.setCurrentText("circle")  # changed while the job waits on its worker
        lab.degree_box.setValue(5)
        go_on.set()
    assert isinstance(lab.occluder, Rectangle)
    asked = lab.occluder.extent
    with qtbot.waitSignal(lab.compared, timeout=WAIT_MS):
        lab.occlude_joint(kinematics.JOINT_INDEX["left_knee"])  # now with the circle of degree 5 set above
    assert not isinstance(lab.occluder, Rectangle) and lab.occluder.extent > asked


def test_the_lab_progress_bar_is_blank_when_no_sweep_runs(qtbot, analysed_window):
    window = analysed_window
    lab = window.analysis_docks.occlusion_lab
    window.analysis_docks.docks["occlusion"].show()
    assert lab.progress.text() == ""
    with qtbot.waitSignal(lab.swept, timeout=WAIT_MS):
        lab.sweep_grid(2)
    qtbot.waitUntil(lambda: not lab.busy, timeout=WAIT_MS)
    assert lab.progress.text() == "" and "runs" not in lab.progress.text()


def test_the_degree_plot_keeps_its_legend_and_axis_labels_clear_of_the_curves(qtbot):
    plot = DegreePlot()
    qtbot.addWidget(plot)
    plot.resize(250, 180)  # a narrow dock
    curves = DegreeCurves((1, 2, 3, 4, 5), (0,), {
        model: {kind: np.linspace(10, 250, 5) for kind in ("bar", "circle", "rectangle")}
        for model in ("untrained-test-hkmr", "hmr")})
    plot.set_curves(curves, {"untrained-test-hkmr": "untrained-test-hkmr", "hmr": "hmr"})
    layout = plot.layout_rects()
    frame = plot.rect().toRectF()
    metrics = QFontMetrics(plot.font())
    assert [e.text for e in layout.entries] == ["bar", "circle", "rectangle", "untrained-test-hkmr", "hmr"]
    for entry in layout.entries:
        assert frame.contains(entry.rect) and not entry.rect.intersects(layout.plot)
        assert layout.legend.contains(entry.rect) and metrics.horizontalAdvance(entry.text) < entry.rect.width()
    for label, rect in ((X_LABEL, layout.x_label), (Y_LABEL, layout.y_label)):
        assert frame.contains(rect) and not rect.intersects(layout.plot)
        assert metrics.horizontalAdvance(label) <= rect.width()
    assert layout.plot.height() > 60 and frame.contains(layout.plot)
