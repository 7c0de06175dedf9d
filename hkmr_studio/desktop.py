"""`hkmr-studio desktop install|uninstall` (Qt-free): the app's launcher, icons and AppStream metainfo in the user's
XDG data folder (platformdirs' user data path: $XDG_DATA_HOME, else ~/.local/share), and away again.

Install writes a manifest of what it put there (each file's SHA-256, each folder it created); uninstall removes
exactly those, except files changed since (kept, and named). A file of the same name that install did not put there
is never overwritten. The caches of `update-desktop-database` and `gtk-update-icon-cache` are refreshed when those
tools exist; without them both commands still succeed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hkmr_studio.atomic import atomic_write_bytes, atomic_write_text
from hkmr_studio.resources import resources_dir

APP_ID = "io.github.hkmrstudio.HKMRStudio"
COMMAND = "hkmr-studio"
ICON_SIZES = (16, 32, 48, 64, 128, 256)
MANIFEST_FORMAT = "hkmr-studio-desktop-install/1"
#: Caches the refresh tools write into a folder: (folder under the data home, cache file, refresh command). Install
#: refreshes them; uninstall removes those the install created and refreshes the others.
CACHES = (("applications", "mimeinfo.cache", ("update-desktop-database", "-q")),
          ("icons/hicolor", "icon-theme.cache", ("gtk-update-icon-cache", "-q", "-f", "-t")))


class DesktopInstallError(Exception):
    """Install or uninstall could not be done; the message names the file and says what to do."""


@dataclass
class DesktopChange:
    """What install or uninstall did: files written or removed, and notes (files kept, caches not refreshed)."""

    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def desktop_resources() -> Path:
    """The shipped .desktop file, metainfo and icons (resources/desktop)."""
    return resources_dir() / "desktop"


def data_home() -> Path:
    """The user's XDG data folder, where menus look for launchers and icons."""
    from platformdirs import user_data_path

    return user_data_path()


def manifest_path(home: Path) -> Path:
    return home / COMMAND / "desktop-install.json"


def shipped_files(home: Path) -> dict[Path, Path]:
    """{installed path: shipped file} for the launcher, the metainfo and every icon."""
    source = desktop_resources()
    files = {home / "applications" / f"{APP_ID}.desktop": source / f"{APP_ID}.desktop",
             home / "metainfo" / f"{APP_ID}.metainfo.xml": source / f"{APP_ID}.metainfo.xml"}
    for icon in sorted((source / "icons").rglob("*")):
        if icon.is_file():
            files[home / "icons" / icon.relative_to(source / "icons")] = icon
    return files


def launch_command() -> list[str]:
    """The command that starts this installation: the running `hkmr-studio` entry point, else the one on PATH, else
    this Python with `-m hkmr_studio`."""
    running = Path(sys.argv[0])
    if running.name == COMMAND and running.is_file():
        return [str(running.absolute())]
    on_path = shutil.which(COMMAND)
    if on_path:
        return [str(Path(on_path).absolute())]
    return [sys.executable, "-m", "hkmr_studio"]


def exec_value(command: list[str]) -> str:
    """The Desktop Entry `Exec` value that runs `command` on the files opened (%F), quoted as the spec asks."""
    words = []
    for word in command:
        word = word.replace("%", "%%")
        if any(c in word for c in ' \t\n"\'\\><~|&;$*?#()`='):
            word = '"' + "".join("\\" + c if c in '"`$\\' else c for c in word) + '"'
        words.append(word.replace("\\", "\\\\"))  # the file format escapes backslashes once more
    return " ".join(words) + " %F"


def installed_entry(text: str, command: list[str]) -> str:
    """The shipped .desktop text with its Exec line running `command`."""
    lines = [f"Exec={exec_value(command)}" if line.startswith("Exec=") else line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(path: Path) -> dict:
    """The manifest's {"files": {path: sha256}, "folders": [path], "caches": [path]}; an empty one when there is
    none. `folders` and `caches` are those the install created."""
    if not path.is_file():
        return {"files": {}, "folders": [], "caches": []}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format is not {MANIFEST_FORMAT}")
        files, folders, caches = manifest["files"], manifest["folders"], manifest["caches"]
        if not (isinstance(files, dict) and isinstance(folders, list) and isinstance(caches, list)):
            raise TypeError("files, folders or caches are of the wrong kind")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DesktopInstallError(f"{path} cannot be read ({exc}): remove the files it lists by hand, or delete it "
                                  "and run `hkmr-studio desktop install` again") from exc
    return {"files": files, "folders": folders, "caches": caches}


def _new_folders(path: Path, home: Path) -> list[Path]:
    """The folders between `home` and `path` (`home` included) that do not exist yet."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing.append(folder)
        if folder == home:
            break
    return missing


def install(home: Path | None = None, command: list[str] | None = None) -> DesktopChange:
    """Put the launcher (running `command`, default: launch_command()), icons and metainfo into `home` (default: the
    user's XDG data folder). Installing again replaces what an earlier install put there."""
    home = home or data_home()
    command = command or launch_command()
    manifest_file = manifest_path(home)
    earlier = _read_manifest(manifest_file)
    contents = {target: (installed_entry(source.read_text(encoding="utf-8"), command).encode("utf-8")
                         if target.suffix == ".desktop" else source.read_bytes())
                for target, source in shipped_files(home).items()}
    for target, data in contents.items():
        if target.is_file() and earlier["files"].get(str(target)) != _sha256(target.read_bytes()) \
                and target.read_bytes() != data:
            raise DesktopInstallError(f"{target} exists and was not put there by `hkmr-studio desktop install` (or "
                                      "was changed since): move it away, then run the command again")
    folders = list(earlier["folders"])
    for target in [*contents, manifest_file]:
        folders += [str(f) for f in _new_folders(target.parent, home) if str(f) not in folders]
    new_caches = [str(home / folder / cache) for folder, cache, _ in CACHES if not (home / folder / cache).exists()]
    manifest = {"format": MANIFEST_FORMAT, "command": command, "folders": folders,
                "caches": sorted(set(earlier["caches"]) | set(new_caches)),
                "files": {str(target): _sha256(data) for target, data in contents.items()}}
    change = DesktopChange()
    try:  # the manifest first: whatever is written after it, uninstall can find
        atomic_write_text(manifest_file, json.dumps(manifest, indent=1) + "\n")
        for stale in set(earlier["files"]) - set(manifest["files"]):
            Path(stale).unlink(missing_ok=True)
        for target, data in contents.items():
            change.files.append(atomic_write_bytes(target, data))
    except OSError as exc:
        raise DesktopInstallError(f"{exc.filename or home} could not be written ({exc.strerror or exc}); free some "
                                  "space or make the folder writable, then run the command again (or `hkmr-studio "
                                  "desktop uninstall` to take away what was written)") from exc
    change.notes += _refresh_caches(home)
    return change


def uninstall(home: Path | None = None) -> DesktopChange:
    """Remove what install put into `home` (default: the user's XDG data folder), as its manifest lists it."""
    home = home or data_home()
    manifest_file = manifest_path(home)
    change = DesktopChange()
    if not manifest_file.is_file():
        change.notes.append(f"nothing to remove: {manifest_file} does not exist (HKMR Studio's desktop files were "
                            "not installed for this user in this folder)")
        return change
    manifest = _read_manifest(manifest_file)
    try:
        for name, digest in manifest["files"].items():
            path = Path(name)
            if not path.is_file():
                continue
            if _sha256(path.read_bytes()) != digest:
                change.notes.append(f"kept {path}: it was changed after it was installed (remove it yourself if you "
                                    "do not need it)")
                continue
            path.unlink()
            change.files.append(path)
        manifest_file.unlink()
    except OSError as exc:
        raise DesktopInstallError(f"{exc.filename or home} could not be removed ({exc.strerror or exc}); make its "
                                  "folder writable and run the command again") from exc
    for cache in manifest["caches"]:  # caches that only exist because of the install go with it
        Path(cache).unlink(missing_ok=True)
    change.notes += _refresh_caches(home)
    for folder in sorted(manifest["folders"], key=lambda f: -len(Path(f).parts)):
        try:
            Path(folder).rmdir()
        except OSError:  # not empty (the user put something there) or gone already
            pass
    return change


def _refresh_caches(home: Path) -> list[str]:
    """Refresh the launcher and icon caches that exist in `home`, or, after an install, would; notes about tools that
    failed (a missing tool is no failure)."""
    notes = []
    for folder_name, cache_name, tool in CACHES:
        folder = home / folder_name
        if not folder.is_dir() or shutil.which(tool[0]) is None:
            continue
        if not (folder / cache_name).exists() and not any(p.name.startswith(APP_ID) for p in folder.rglob("*")):
            continue  # a cache nobody needs (uninstall removed the one install made)
        try:
            subprocess.run([*tool, str(folder)], check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            stderr = getattr(exc, "stderr", b"") or b""
            notes.append(f"{tool[0]} did not refresh {folder} ({stderr.decode(errors='replace').strip() or exc}); "
                         "the menu may show the change after the next login")
    return notes


def main(action: str) -> int:
    """`hkmr-studio desktop install|uninstall`: print what was done; 0 when done, 1 with a message when not."""
    try:
        change = install() if action == "install" else uninstall()
    except DesktopInstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "installed" if action == "install" else "removed"
    for path in change.files:
        print(f"{verb} {path}")
    for note in change.notes:
        print(f"note: {note}")
    return 0
