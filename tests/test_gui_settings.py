"""Settings (Qt-free, used by the window): defaults, round trip, recent files, and corrupt files set aside with a
message. Every test points HKMR_STUDIO_CONFIG_DIR at a temporary folder, never the user's config folder."""

import json

import pytest

from hkmr_studio.export import FORMATS
from hkmr_studio.settings import (
    MAX_RECENT_FILES,
    Settings,
    config_dir,
    load_settings,
    save_settings,
    settings_path,
)

pytestmark = pytest.mark.usefixtures("config")


def test_the_config_folder_follows_the_environment_variable(config):
    assert config_dir() == config and settings_path() == config / "settings.json"


def test_no_file_gives_defaults_and_saving_round_trips(config):
    settings, note = load_settings()
    assert settings == Settings() and note == ""
    assert settings.model == "hkmr" and settings.device == "auto" and settings.export_formats == list(FORMATS)
    settings.device, settings.body_path, settings.last_export_dir = "cpu", "/data/SMPL_NEUTRAL.pkl", "/tmp/out"
    save_settings(settings)
    assert load_settings() == (settings, "")
    assert [p.name for p in config.iterdir()] == ["settings.json"]  # no staging files left


def test_recent_files_are_newest_first_unique_and_capped(tmp_path):
    settings = Settings()
    for i in range(MAX_RECENT_FILES + 3):
        settings.remember_file(tmp_path / f"{i}.jpg")
    settings.remember_file(tmp_path / "5.jpg")
    assert len(settings.recent_files) == MAX_RECENT_FILES
    assert settings.recent_files[0] == str(tmp_path / "5.jpg") and settings.recent_files.count(str(tmp_path / "5.jpg")) == 1


def test_an_unreadable_file_is_set_aside_and_the_defaults_used(config):
    (config / "settings.json").write_text("{ not json")
    settings, note = load_settings()
    assert settings == Settings()
    backups = list(config.glob("settings.json.*.bad"))
    assert len(backups) == 1 and backups[0].read_text() == "{ not json"
    assert "could not be read" in note and str(backups[0]) in note
    assert load_settings() == (Settings(), "")  # the bad file is gone; nothing to report next time


def test_invalid_values_are_reset_one_by_one(config):
    (config / "settings.json").write_text(json.dumps({"device": "tpu", "export_formats": ["obj", "stl"],
                                                      "model": "hmr", "recent_files": ["/a.jpg"]}))
    settings, note = load_settings()
    assert settings.device == "auto" and settings.export_formats == list(FORMATS)
    assert settings.model == "hmr" and settings.recent_files == ["/a.jpg"]
    assert "device, export_formats" in note and list(config.glob("settings.json.*.bad"))
