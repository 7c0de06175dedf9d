"""Atomic file writes: a reader sees the old file or the complete new one, never half of one; and sets of files that
appear together or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hkmr_studio.interrupts import interrupts_held


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        _write_synced(Path(tmp), data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private (0600); give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_synced(path: Path, data: bytes) -> None:
    """Write `data` into the file `path` and flush it to the disk: the one place the app's file contents are
    written (a full disk or a read-only file system raises OSError here)."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: str | Path, text: str) -> Path:
    """`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_file_set(folder: str | Path) -> Iterator[Path]:
    """Files that appear in `folder` together or not at all.

    Yields a hidden staging folder inside `folder`: write the files there under their final names. When the block
    ends normally they all move into `folder` (replacing files of the same names), Ctrl-C held back until the last
    has moved; when it raises (a full disk, Ctrl-C), none does. The staging folder is removed either way.
    """
    folder = Path(folder)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        yield staging
        with interrupts_held():
            _move_all(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_all(source: Path, folder: Path) -> None:
    """Rename every file of `source` into `folder`; if one rename fails, the ones already moved are removed again."""
    moved: list[Path] = []
    try:
        for item in sorted(source.iterdir()):
            os.replace(item, folder / item.name)
            moved.append(folder / item.name)
    except OSError:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
