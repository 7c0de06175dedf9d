"""Preferences refuse a damaged or misplaced body file with the body check's message (naming the field), never with a
raw exception's text, and the whole message stays visible: it wraps, long paths included, and the dialog grows."""

from pathlib import Path

import numpy as np
import pytest

from hkmr_studio.body.safe_pickle import load_body_file
from hkmr_studio.gui import preferences
from hkmr_studio.gui.preferences import PreferencesDialog
from hkmr_studio.gui.testing import settings_folder
from hkmr_studio.resources import embedded_body_path
from hkmr_studio.settings import Settings


@pytest.fixture
def dialog(qtbot, tmp_path):
    with settings_folder(tmp_path / "config"):
        dialog = PreferencesDialog(Settings())
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        yield dialog


def _body_with_a_face_past_the_last_vertex(folder: Path) -> Path:
    data = {k: v for k, v in load_body_file(embedded_body_path()).items() if not k.startswith("hkmr_")}
    faces = data["f"].copy()
    faces[0, 0] = len(data["v_template"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "SMPL_NEUTRAL.npz"
    np.savez(path, **dict(data, f=faces, J_regressor=data["J_regressor"].toarray()))
    return path


def _shown(dialog: PreferencesDialog) -> str:
    """The label's text as the user reads it (without the invisible break opportunities)."""
    return dialog.problem_label.text().replace("\u200b", "")


def test_a_body_whose_faces_point_past_its_vertices_is_refused(dialog, tmp_path):
    path = _body_with_a_face_past_the_last_vertex(tmp_path)
    assert not dialog.choose_body_file(str(path))
    assert _shown(dialog).startswith("SMPL_NEUTRAL.npz was refused: f (faces) refers to vertex 13348")
    assert dialog.embedded.isChecked() and dialog.values()[0] is None


def test_a_folder_chosen_as_the_body_is_named_as_a_folder(dialog, tmp_path):
    assert not dialog.choose_body_file(str(tmp_path))
    assert "is a folder, not a body model file" in _shown(dialog)


def test_an_unexpected_failure_shows_a_message_not_the_exception_text(dialog, tmp_path, monkeypatch):
    def fails(path):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (24x13347 and 13348x3)")

    monkeypatch.setattr(preferences, "load_body_model", fails)
    assert not dialog.choose_body_file(str(tmp_path / "SMPL_NEUTRAL.pkl"))
    shown = _shown(dialog)
    assert "mat1" not in shown and "SMPL_NEUTRAL.pkl could not be checked" in shown and "report" in shown


def test_a_long_refusal_wraps_and_is_fully_visible(dialog, qtbot, tmp_path):
    folder = tmp_path / "a_folder_name_without_any_spaces_in_it_at_all" / ("deeper" * 12) / "and_deeper_still"
    folder.mkdir(parents=True)
    width = dialog.width()
    assert not dialog.choose_body_file(str(folder))  # the message holds the long path, which has no spaces
    assert str(folder) in _shown(dialog)
    label = dialog.problem_label
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
    assert label.heightForWidth(label.width()) > 2 * label.fontMetrics().height()  # it did wrap
    assert label.mapTo(dialog, label.rect().bottomRight()).x() <= dialog.width()
    assert dialog.width() <= max(width, 640)  # the unbroken path did not stretch the dialog
