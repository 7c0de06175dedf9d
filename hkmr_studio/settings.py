"""User settings (Qt-free, shared by the window and the CLI): one JSON file in the user's config folder.

The folder is `$HKMR_STUDIO_CONFIG_DIR` when set (tests point it at a temporary folder), otherwise platformdirs'
user config folder for "hkmr-studio". A file that cannot be read is moved aside and the defaults are used, with a
message that says where the old file went; a value of the wrong kind falls back to its default the same way.
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
from hkmr_studio.checkpoints import DEFAULT_MODEL
from hkmr_studio.export import FORMATS

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
    """

    body_path: str | None = None
    model: str = DEFAULT_MODEL
    device: str = "auto"
    export_formats: list[str] = field(default_factory=lambda: list(FORMATS))
    recent_files: list[str] = field(default_factory=list)
    last_open_dir: str = ""
    last_export_dir: str = ""

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


def load_settings(path: str | Path | None = None) -> tuple[Settings, str]:
    """The saved settings (defaults when there is no file) and a message for the user, empty when all was well."""
    path = Path(path) if path is not None else settings_path()
    if not path.is_file():
        return Settings(), ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, found {type(data).__name__}")
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        backup = _set_aside(path)
        return Settings(), (f"Your settings file could not be read ({exc}); the defaults are used. "
                            f"The old file was kept as {backup}.")
    defaults = Settings()
    values = {f.name: data.get(f.name, getattr(defaults, f.name)) for f in fields(Settings)}
    invalid = sorted(name for name, value in values.items() if not _VALID[name](value))
    if not invalid:
        return Settings(**values), ""
    for name in invalid:
        values[name] = getattr(defaults, name)
    backup = _set_aside(path)
    return Settings(**values), (f"Some settings had invalid values and were reset to their defaults "
                                f"({', '.join(invalid)}). The old file was kept as {backup}.")


def save_settings(settings: Settings, path: str | Path | None = None) -> Path:
    """Write the settings atomically (a crash never leaves half a file)."""
    text = strict_json.dumps(asdict(settings), indent=1)
    return atomic_write_text(path if path is not None else settings_path(), text)
