"""The app's log file (Qt-free): warnings and errors, unexpected ones with their tracebacks, in a rotating file.

The folder is `$HKMR_STUDIO_LOG_DIR` when set (tests point it at a temporary folder), otherwise platformdirs' user log
folder for "hkmr-studio". The file is cut at MAX_BYTES and the last BACKUPS files are kept beside it (.1 is the
newest), so the log never grows without bound.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_DIR_ENV = "HKMR_STUDIO_LOG_DIR"
LOG_FILE = "hkmr-studio.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_dir() -> Path:
    """The folder the log lives in: $HKMR_STUDIO_LOG_DIR, else the platform's user log folder."""
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override)
    from platformdirs import user_log_dir

    return Path(user_log_dir("hkmr-studio", appauthor=False))


def log_file() -> Path:
    return log_dir() / LOG_FILE


def start_log_file(level: int = logging.WARNING) -> str:
    """Send records of `level` and above, from every logger, to the rotating log file as well; '' when done, else
    what went wrong and what to do (the app goes on, logging to stderr only). Calling it again adds no second
    handler for the same file."""
    path = log_file()
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path.absolute():
            return ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        return (f"Errors are not written to a log file: {path} cannot be written ({exc.strerror or exc}). Make its "
                f"folder writable, or set {LOG_DIR_ENV} to a folder that is.")
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return ""
