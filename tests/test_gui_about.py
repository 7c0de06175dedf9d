"""Help ▸ About HKMR Studio says the version, the body and model files in use with their licences, and where the
settings and the log live; Help ▸ Open Log Folder shows the log's folder; unexpected errors in the window reach the
log file with their tracebacks."""

import logging
from importlib.metadata import version
from logging.handlers import RotatingFileHandler

import pytest
from conftest import SAMPLE_PHOTO
from PySide6.QtCore import QUrl

from hkmr_studio.about import NOT_SHIPPED_LICENCE, about_facts, format_about
from hkmr_studio.gui import app as gui_app
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.resources import embedded_body_path, models_dir

WAIT_MS = 60_000


pytestmark = pytest.mark.usefixtures("log_folder")  # the window logs to a temporary folder


def _help_action(window, text):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    return next(a for a in menu.actions() if a.text() == text)


def test_the_about_box_gives_version_files_in_use_with_licences_settings_and_log(qtbot, window, tmp_path,
                                                                                  untrained_model_path):
    _help_action(window, "&About HKMR Studio").trigger()
    box = window.about_box
    assert box.isVisible()
    text = box.text.toPlainText()
    assert f"HKMR Studio {version('hkmr-studio')}" in text
    assert str(embedded_body_path()) in text and "CC0 1.0 Universal" in text  # the body's terms, from NOTICE
    assert str(untrained_model_path) in text and NOT_SHIPPED_LICENCE in text  # a model of the user's own
    assert str(models_dir() / "priors" / "pose_vae.pt") in text
    assert "mediapipe" in text and "Apache" in text
    assert str(tmp_path / "config" / "settings.json") in text
    assert str(tmp_path / "logs" / "hkmr-studio.log") in text
    box.close()


def test_the_shipped_models_licence_is_the_notice_section_that_names_them():
    facts = about_facts("hkmr", None)
    regressor = next(f for f in facts.files if f.role.startswith("regressor"))
    assert regressor.path == models_dir() / "hkmr" / "model.pt"
    assert "CMU Graphics Lab Motion Capture Database" in regressor.licence
    assert "CC0" not in regressor.licence  # not the body's section
    assert f"{regressor.role}: {regressor.path}\n  licence: {regressor.licence}" in format_about(facts)


def test_help_open_log_folder_opens_the_log_folder_made_for_it(qtbot, window, log_folder, monkeypatch):
    opened = []
    monkeypatch.setattr("hkmr_studio.gui.about.QDesktopServices.openUrl", lambda url: opened.append(url) or True)
    _help_action(window, "Open &Log Folder").trigger()
    assert opened == [QUrl.fromLocalFile(str(log_folder))]
    assert log_folder.is_dir()


def test_a_log_folder_that_cannot_be_opened_is_a_message_naming_it(qtbot, window, log_folder, monkeypatch):
    monkeypatch.setattr("hkmr_studio.gui.about.QDesktopServices.openUrl", lambda url: False)
    _help_action(window, "Open &Log Folder").trigger()
    assert any(str(log_folder) in t and "could not be opened" in t for t in window.banner.texts())


def test_an_unexpected_error_in_the_window_reaches_the_log_file_with_its_traceback(qtbot, window, log_folder,
                                                                                    monkeypatch):
    assert gui_app.start_logging() == ""

    def broken(self, image, **kwargs):
        raise ValueError("boom in the pipeline")

    monkeypatch.setattr(Pipeline, "run", broken)
    with qtbot.waitSignal(window.inference.idle, timeout=WAIT_MS):
        window.open_paths([SAMPLE_PHOTO])
    assert any("Unexpected error (ValueError: boom in the pipeline)" in t for t in window.banner.texts())
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RotatingFileHandler):
            handler.flush()
    text = (log_folder / "hkmr-studio.log").read_text(encoding="utf-8")
    assert "ERROR hkmr_studio.gui.inference: analysis failed" in text
    assert "Traceback (most recent call last)" in text and "ValueError: boom in the pipeline" in text
