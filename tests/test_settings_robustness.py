"""Damaged or hostile settings never stop the start: what was ignored is named in the one note the window shows,
the damaged file is set aside when the folder allows it, and the values that were fine are kept."""

import json
import os

import pytest

from hkmr_studio.checkpoints import DEFAULT_MODEL
from hkmr_studio.settings import (
    MAX_RECENT_FILES,
    Settings,
    load_settings,
    save_settings,
)

pytestmark = pytest.mark.usefixtures("config")


def _write(config, data) -> None:
    (config / "settings.json").write_text(data if isinstance(data, str) else json.dumps(data))


def test_deeply_nested_json_is_set_aside_and_the_defaults_used(config):
    _write(config, "[" * 100_000 + "]" * 100_000)
    settings, note = load_settings()
    assert settings == Settings()
    assert "nested too deeply" in note and "kept as" in note
    (aside,) = config.glob("settings.json.*.bad")
    assert aside.read_text().startswith("[[[")


def test_a_damaged_file_in_a_read_only_folder_still_starts_with_the_defaults(config, monkeypatch):
    _write(config, "{ not json")

    def read_only(*args, **kwargs):  # as root (CI containers) chmod does not stop writes, so the refusal is simulated
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", read_only)
    settings, note = load_settings()
    assert settings == Settings()
    assert "could not be read" in note and "could not be moved aside (Permission denied)" in note
    assert f"repair or delete {config / 'settings.json'}" in note
    assert (config / "settings.json").read_text() == "{ not json"


def test_a_folder_in_place_of_the_settings_file_is_named_and_set_aside(config):
    (config / "settings.json").mkdir()
    (config / "settings.json" / "keep.txt").write_text("mine")
    settings, note = load_settings()
    assert settings == Settings() and "is a folder, not a settings file" in note
    (aside,) = config.glob("settings.json.*.bad")
    assert (aside / "keep.txt").read_text() == "mine"
    settings.device = "cpu"
    save_settings(settings)
    assert load_settings() == (settings, "")


def test_recent_files_are_capped_on_load_and_the_rest_kept(config):
    recent = [f"/photos/{i}.jpg" for i in range(100_000)]
    _write(config, {"recent_files": recent, "device": "cpu"})
    settings, note = load_settings()
    assert settings.recent_files == recent[:MAX_RECENT_FILES] and settings.device == "cpu"
    assert "recent_files held 100000 entries" in note
    assert load_settings() == (settings, "")  # saved trimmed: the next start is quiet and keeps device=cpu


@pytest.mark.parametrize("body_path", ["/data/SMPL\n_NEUTRAL.pkl", "/data/\x00.pkl", "/" + "d" * 5000 + ".pkl"])
def test_a_hostile_body_path_is_ignored_and_named(config, body_path):
    _write(config, {"body_path": body_path})
    settings, note = load_settings()
    assert settings.body_path is None
    assert "body_path" in note and "embedded open body" in note and "Preferences" in note
    assert len(note) < 1000


def test_a_missing_model_is_ignored_and_named(config, tmp_path):
    missing = str(tmp_path / "gone" / "model.pt")
    _write(config, {"model": missing})
    settings, note = load_settings()
    assert settings.model == DEFAULT_MODEL
    assert f"model: {missing!r} was not found" in note and "hkmr, hmr" in note and "toolbar" in note


def test_a_shipped_model_name_and_an_existing_model_file_are_kept(config, untrained_model_path):
    for model in ("hmr", str(untrained_model_path)):
        _write(config, {"model": model})
        assert load_settings() == (Settings(model=model), "")


def test_every_ignored_thing_gets_its_own_clause(config):
    _write(config, {"model": "nonexistent", "recent_files": ["/a.jpg"] * 11, "body_path": "x\ty.pkl",
                    "colour": "red", "device": "tpu"})
    note = load_settings()[1]
    for clause in ("model: 'nonexistent'", "recent_files held 11", "body_path ignored", "unknown entry 'colour'",
                   "device had"):
        assert clause in note
    assert note.count("; ") == 4


def test_reading_the_settings_changes_nothing_on_disk(config):
    from hkmr_studio.settings import read_settings  # what doctor reports with

    _write(config, "{ not json")
    reading = read_settings()
    assert reading.settings == Settings() and "could not be read" in reading.ignored[0]
    assert [p.name for p in config.iterdir()] == ["settings.json"]
