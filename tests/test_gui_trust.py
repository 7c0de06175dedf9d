"""The window says when a body may face the wrong way and turns it round on Flip, and says 'could not recover a
body' instead of showing nonsense."""

import numpy as np
from conftest import SAMPLE_PHOTO

from hkmr_studio.checkpoints import load_checkpoint, save_checkpoint
from hkmr_studio.gui.state import Status
from hkmr_studio.gui.testing import studio_window
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.facing_check import FacingCheck

WAIT_MS = 60_000


def _analysed(qtbot, window, action):
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
        action()
    return window.state.current.analysis.result


def test_a_flagged_body_gets_a_banner_whose_flip_turns_it_round_and_back(qtbot, tmp_path, untrained_model_path,
                                                                         monkeypatch):
    """The facing check is planted: flagged for the keypoints as detected, agreeing for the other reading."""
    def planted(self, result, body):
        return FacingCheck(0.9, {"shoulders": (1.0, 1.0)}) if result.flipped else FacingCheck(
            -0.6, {"shoulders": (-1.0, 1.0), "feet": (-0.2, 1.0)})

    monkeypatch.setattr(Pipeline, "_facing", planted)
    with studio_window(qtbot, tmp_path / "config", untrained_model_path) as window:
        first = _analysed(qtbot, window, lambda: window.open_paths([SAMPLE_PHOTO]))
        assert first.facing.flagged and first.other_way is not None
        assert window.facing_banner.isVisible() and "may face the wrong way" in window.facing_banner.text()
        assert "shoulders" in window.facing_banner.text() and window.flip_action.isEnabled()
        turned = _analysed(qtbot, window, window.facing_banner.flip_button.click)
        assert turned is first.other_way and turned.flipped
        assert np.array_equal(turned.keypoints.xy[11], first.keypoints.xy[12])  # left and right swapped
        assert window.facing_banner.isVisible() and "Shown the other way round" in window.facing_banner.text()
        back = _analysed(qtbot, window, window.facing_banner.flip_button.click)
        assert back is first and not window.state.current.analysis.result.flipped
        assert "may face the wrong way" in window.facing_banner.text()


def test_nan_weights_give_could_not_recover_a_body_and_nothing_to_export(qtbot, tmp_path, untrained_model_path):
    model = load_checkpoint(untrained_model_path)
    for parameter in model.net.parameters():
        parameter.data.fill_(float("nan"))
    broken = save_checkpoint(tmp_path / "nan.pt", model.net, {"name": "nan-weights", "trained": True})
    with studio_window(qtbot, tmp_path / "config", broken) as window:
        result = _analysed(qtbot, window, lambda: window.open_paths([SAMPLE_PHOTO]))
        document = window.state.current
        assert result.refused and document.status is Status.NOT_RECOVERED
        assert any(t.startswith("Could not recover a body: the model produced numbers that are not finite")
                   for t in window.banner.texts())
        assert window.image_view.mesh_item.pixmap().isNull() and not window.export_all_action.isEnabled()
        assert not window.facing_banner.isVisible()
