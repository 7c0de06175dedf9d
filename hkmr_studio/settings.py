"""User settings (Qt-free, shared by the window and the CLI): one JSON file in the user's config folder.

The folder is `$HKMR_STUDIO_CONFIG_DIR` when set (tests point it at a temporary folder), otherwise platformdirs'
user config folder for "hkmr-studio". A file that cannot be read is moved aside and the defaults are used, with a
message that says where the old file went; a value that cannot be used (of the wrong kind, a hostile body path, a
missing model, recent files past the limit) falls back to its default the same way, named in the message.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from hkmr_studio import strict_json
from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.body.safe_pickle import path_text_problem
from hkmr_studio.checkpoints import DEFAULT_MODEL, resolve_model_path, shipped_model_names
from hkmr_studio.export import FORMATS
from hkmr_studio.video.smoothing import DEFAULT_STRENGTH

CONFIG_DIR_ENV = "HKMR_STUDIO_CONFIG_DIR"
SETTINGS_FILE = "settings.json"
DEVICES = ("auto", "cpu", "gpu")
MAX_RECENT_FILES = 10


@dataclass
class Settings:
    """What the app remembers between sessions.

    body_path: a user's licensed SMPL-format file, None for the embedded open body. model: a shipped model's name or a
    checkpoint path. device: one of DEVICES. export_formats: what "Export all" writes (export.FORMATS).
    recent_files: newest first. last_open_dir / last_export_dir: where the file dialogs open ("" for the home folder).
    smoothing_strength: how strongly takes are smoothed over time, 0 (off) to 1 (video.smoothing.SmoothingSettings).
    """

    body_path: str | None = None
    model: str = DEFAULT_MODEL
    device: str = "auto"
    export_formats: list[str] = field(default_factory=lambda: list(FORMATS))
    recent_files: list[str] = field(default_factory=list)
    last_open_dir: str = ""
    last_export_dir: str = ""
    smoothing_strength: float = DEFAULT_STRENGTH

    def remember_file(self, path: str | Path) -> None:
        """Put `path` first in the recent files (once), keeping at most MAX_RECENT_FILES."""
        text = str(Path(path).resolve())
        self.recent_files = [text] + [p for p in self.recent_files if p != text][: MAX_RECENT_FILES - 1]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_VALID: dict[str, Callable[[Any], bool]] = {
    "body_path": lambda v: v is None or (_is_str(v) and bool(v)),
    "model": lambda v: _is_str(v) and bool(v),
    "device": lambda v: v in DEVICES,
    "export_formats": lambda v: _is_str_list(v) and set(v) <= set(FORMATS),
    "recent_files": _is_str_list,
    "last_open_dir": _is_str,
    "last_export_dir": _is_str,
    "smoothing_strength": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1,
}


def config_dir() -> Path:
    """The folder settings live in: $HKMR_STUDIO_CONFIG_DIR, else the platform's user config folder."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("hkmr-studio", appauthor=False))


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def _set_aside(path: Path) -> Path:
    backup = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bad")
    os.replace(path, backup)
    return backup


@dataclass
class SettingsReading:
    """What the settings file gave: the settings to use, and one clause per thing ignored, each naming the field (or
    the file) and what to do. When `ignored` is not empty, the file on disk no longer matches `settings`."""

    settings: Settings
    ignored: list[str]


def _shown(text: str, limit: int = 80) -> str:
    """`text` quoted, control characters escaped, cut to `limit` characters."""
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def _model_problem(model: str) -> str:
    """'' when `model` is a shipped model's name or an existing model file, else a clause saying what to do."""
    shipped = shipped_model_names()
    if model in shipped or model == DEFAULT_MODEL:  # a missing default is doctor's and the loader's to report
        return ""
    try:
        found = resolve_model_path(model).is_file()
    except (OSError, ValueError):  # a path too long for the file system
        found = False
    if found:
        return ""
    return (f"model: {_shown(model)} was not found (shipped models: {', '.join(shipped)}), so the '{DEFAULT_MODEL}' "
            "model is used: choose another in the toolbar")


def _parse(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The file's JSON object, or None and why it could not be read."""
    if path.is_dir():
        return None, "it is a folder, not a settings file"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        return None, "its JSON is nested too deeply"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, str(exc)
    if not isinstance(data, dict):
        return None, f"expected a JSON object, found {type(data).__name__}"
    return data, ""


def _checked_values(data: dict[str, Any]) -> SettingsReading:
    """Settings from a JSON object: each value of the wrong kind, unknown entry, hostile body path, missing model and
    recent file past the limit is left out and named."""
    defaults = Settings()
    names = [f.name for f in fields(Settings)]
    values = {name: data.get(name, getattr(defaults, name)) for name in names}
    ignored = []
    unknown = sorted(str(key) for key in data if key not in names)
    if unknown:
        listed = ", ".join(_shown(key, 40) for key in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        ignored.append(f"unknown entr{'y' if len(unknown) == 1 else 'ies'} {listed} ignored (another version of "
                       "HKMR Studio may have written them, nothing to do)")
    invalid = [name for name, value in values.items() if not _VALID[name](value)]
    if invalid:
        wording = "invalid values and are back to their defaults (set them" if len(invalid) > 1 else \
            "an invalid value and is back to its default (set it"
        ignored.append(f"{', '.join(invalid)} had {wording} again in the app)")
        values.update({name: getattr(defaults, name) for name in invalid})
    if len(values["recent_files"]) > MAX_RECENT_FILES:
        ignored.append(f"recent_files held {len(values['recent_files'])} entries, of which the newest "
                       f"{MAX_RECENT_FILES} are kept")
        values["recent_files"] = values["recent_files"][:MAX_RECENT_FILES]
    body_problem = path_text_problem(values["body_path"]) if values["body_path"] else ""
    if body_problem:
        ignored.append("body_path ignored, so the embedded open body is used until you choose your SMPL file again "
                       f"in Preferences: the path {body_problem}")
        values["body_path"] = None
    model_problem = _model_problem(values["model"])
    if model_problem:
        ignored.append(model_problem)
        values["model"] = defaults.model
    return SettingsReading(Settings(**values), ignored)


def read_settings(path: str | Path | None = None) -> SettingsReading:
    """The saved settings with everything unusable left out and named; changes nothing on disk."""
    path = Path(path) if path is not None else settings_path()
    if not (path.is_file() or path.is_dir()):
        return SettingsReading(Settings(), [])
    data, reason = _parse(path)
    if data is None:
        return SettingsReading(Settings(), [f"{path} could not be read ({reason}), so every setting is at its default"])
    return _checked_values(data)


def load_settings(path: str | Path | None = None) -> tuple[Settings, str]:
    """The saved settings (defaults when there is no file) and a message for the user, empty when all was well.

    A file with anything ignored is set aside (renamed with a .bad suffix) and the settings in use are saved in its
    place; where the folder does not allow that, the start goes on and the message says what to repair.
    """
    path = Path(path) if path is not None else settings_path()
    reading = read_settings(path)
    if not reading.ignored:
        return reading.settings, ""
    note = "Settings: " + "; ".join(reading.ignored) + "."
    try:
        backup = _set_aside(path)
        save_settings(reading.settings, path)
    except OSError as exc:
        return reading.settings, (f"{note} The file could not be moved aside ({exc.strerror or exc}), so this "
                                  f"happens again at the next start: repair or delete {path}.")
    return reading.settings, f"{note} The old file was kept as {backup}."


def save_settings(settings: Settings, path: str | Path | None = None) -> Path:
    """Write the settings atomically (a crash never leaves half a file)."""
    text = strict_json.dumps(asdict(settings), indent=1)
    return atomic_write_text(path if path is not None else settings_path(), text)
