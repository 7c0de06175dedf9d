"""The Hypotheses dock: the probabilistic model's mode, flip reading and samples for the photo, drawn over the photo
and in 3D with the spread per joint as colour; selecting a sample draws it, and Use as Body makes it the body."""

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO

from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.gui.hypotheses import HYPOTHESIS_ACTOR, SPREAD_ACTOR, spread_colors

WAIT_MS = 120_000
pytestmark = pytest.mark.slow  # MediaPipe, two models and the flow's samples: ~20 s on 2 busy cores


def test_selecting_a_sample_draws_it_and_use_as_body_makes_it_the_body(qtbot, window):
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
        window.open_paths([SAMPLE_PHOTO])
    panel = window.analysis_docks.hypotheses
    with qtbot.waitSignal(panel.ready, timeout=WAIT_MS):
        window.analysis_docks.docks["hypotheses"].show()
    labels = [h.label for h in panel.hypotheses.entries]
    assert labels[:2] == ["mode", "flip"] and labels[2:] == [f"sample {i + 1}" for i in range(len(labels) - 2)]
    assert panel.list.count() == len(labels) and len(labels) > 5
    spread = panel.hypotheses.spread_mm
    assert spread.shape == (24,) and spread[0] == 0 and spread[1:].min() > 0  # the pelvis is the reference

    panel.list.setCurrentRow(4)
    sample = panel.hypotheses.entries[4]
    assert panel.selected() is sample and sample.label == "sample 3"
    points = window.viewport.plotter.actors[HYPOTHESIS_ACTOR].mapper.dataset.points
    assert np.allclose(points, camera_to_yup(sample.joints3d), atol=1e-5)
    colors = window.viewport.plotter.actors[SPREAD_ACTOR].mapper.dataset.point_data["spread_rgb"]
    assert np.array_equal(colors, spread_colors(spread))
    thick = [item for item in panel.layer.childItems() if getattr(item, "pen", None) and item.pen().width() == 3]
    assert len(thick) == 23 and np.allclose([thick[0].line().x2(), thick[0].line().y2()], sample.joints2d[1])

    document = window.state.current
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
        panel.use_button.click()
    body = document.analysis.result.best
    assert np.allclose(body.body_pose, sample.body_pose, atol=1e-5)
    assert np.allclose(body.joints3d, sample.joints3d, atol=1e-4)
    assert panel.hypotheses is not None and panel.selected() is sample  # the list stays for another choice

    window.analysis_docks.docks["hypotheses"].close()
    assert HYPOTHESIS_ACTOR not in window.viewport.plotter.actors and not panel.layer.childItems()
