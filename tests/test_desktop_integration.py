"""`hkmr-studio desktop install|uninstall` in a temporary XDG home; the launcher, metainfo and icons themselves."""

import mimetypes
import os
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import pytest

from hkmr_studio import cli, desktop
from hkmr_studio.batch import IMAGE_SUFFIXES
from hkmr_studio.desktop import APP_ID, ICON_SIZES, desktop_resources, install, manifest_path, uninstall

REPO = Path(__file__).resolve().parent.parent
ENTRY = desktop_resources() / f"{APP_ID}.desktop"
METAINFO = desktop_resources() / f"{APP_ID}.metainfo.xml"


@pytest.fixture
def xdg_home(tmp_path, monkeypatch) -> Path:
    """A private XDG data folder holding a launcher of another app (which must survive)."""
    home = tmp_path / "share"
    (home / "applications").mkdir(parents=True)
    (home / "applications" / "other.desktop").write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=x\n")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def _entry_values(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _launch_argv(exec_value: str, files: list[str]) -> list[str]:
    """What a desktop environment runs for `exec_value` opening `files` (Desktop Entry spec: string escapes first,
    then shell-like quoting, then field codes)."""
    words = shlex.split(exec_value.replace("\\\\", "\\"))
    argv = []
    for word in words:
        argv += files if word == "%F" else [word.replace("%%", "%")]
    return argv


def test_install_puts_launcher_metainfo_and_every_icon_size_into_the_xdg_home(xdg_home):
    cli.main(["desktop", "install"])
    assert (xdg_home / "applications" / f"{APP_ID}.desktop").is_file()
    assert (xdg_home / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (xdg_home / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").is_file()
    for size in ICON_SIZES:
        assert (xdg_home / f"icons/hicolor/{size}x{size}/apps" / f"{APP_ID}.png").is_file()


def test_uninstall_leaves_the_xdg_home_exactly_as_before_install(xdg_home):
    (xdg_home / "icons").mkdir()  # a folder that existed before stays
    before = _tree(xdg_home)
    assert cli.main(["desktop", "install"]) == 0
    assert manifest_path(xdg_home).is_file()
    assert cli.main(["desktop", "uninstall"]) == 0
    assert _tree(xdg_home) == before


def test_installing_twice_then_uninstalling_leaves_nothing_behind(xdg_home):
    before = _tree(xdg_home)
    install()
    install()
    uninstall()
    assert _tree(xdg_home) == before


def test_the_installed_launcher_runs_the_given_entry_point_on_the_files_opened(xdg_home, tmp_path, monkeypatch):
    entry_point = tmp_path / "my venv" / "bin" / "hkmr-studio"  # a space: Exec must quote it
    install(command=[str(entry_point)])
    values = _entry_values((xdg_home / "applications" / f"{APP_ID}.desktop").read_text())
    photos = ["/photos/a b.jpg", "/photos/c.png"]
    argv = _launch_argv(values["Exec"], photos)
    assert argv == [str(entry_point), *photos]
    opened = {}
    monkeypatch.setattr("hkmr_studio.gui.app.run", lambda images, body=None: opened.update(images=images) or 0)
    assert cli.main(argv[1:]) == 0
    assert opened["images"] == photos


def test_install_by_default_launches_the_running_hkmr_studio_entry_point(xdg_home, tmp_path, monkeypatch):
    entry_point = tmp_path / "bin" / "hkmr-studio"
    entry_point.parent.mkdir()
    entry_point.write_text("#!/bin/sh\n")
    monkeypatch.setattr("sys.argv", [str(entry_point), "desktop", "install"])
    install()
    values = _entry_values((xdg_home / "applications" / f"{APP_ID}.desktop").read_text())
    assert _launch_argv(values["Exec"], []) == [str(entry_point)]


def test_install_refuses_to_overwrite_a_file_it_did_not_put_there(xdg_home, capsys):
    foreign = xdg_home / "applications" / f"{APP_ID}.desktop"
    foreign.write_text("[Desktop Entry]\nName=mine\n")
    assert cli.main(["desktop", "install"]) == 1
    assert str(foreign) in capsys.readouterr().err
    assert foreign.read_text() == "[Desktop Entry]\nName=mine\n"
    assert not (xdg_home / "metainfo").exists()
    assert not manifest_path(xdg_home).exists()


def test_uninstall_keeps_an_installed_file_the_user_changed_and_names_it(xdg_home, capsys):
    install()
    edited = xdg_home / "applications" / f"{APP_ID}.desktop"
    edited.write_text(edited.read_text() + "NoDisplay=true\n")
    assert cli.main(["desktop", "uninstall"]) == 0
    assert edited.is_file()
    assert f"kept {edited}" in capsys.readouterr().out
    assert not (xdg_home / "metainfo").exists()


def test_uninstall_without_an_install_says_so_and_changes_nothing(xdg_home, capsys):
    before = _tree(xdg_home)
    assert cli.main(["desktop", "uninstall"]) == 0
    assert "nothing to remove" in capsys.readouterr().out
    assert _tree(xdg_home) == before


def test_a_damaged_manifest_is_a_message_naming_it(xdg_home, capsys):
    manifest_path(xdg_home).parent.mkdir(parents=True)
    manifest_path(xdg_home).write_text("{not json")
    assert cli.main(["desktop", "uninstall"]) == 1
    assert str(manifest_path(xdg_home)) in capsys.readouterr().err


def test_install_and_uninstall_succeed_without_the_cache_tools(xdg_home, monkeypatch):
    monkeypatch.setattr(desktop.shutil, "which", lambda name: None)
    before = _tree(xdg_home)
    assert install(command=["hkmr-studio"]).notes == []
    assert uninstall().notes == []
    assert _tree(xdg_home) == before


@pytest.mark.skipif(shutil.which("update-desktop-database") is None, reason="desktop-file-utils is not installed")
def test_install_refreshes_the_launcher_cache_with_the_apps_image_types(xdg_home):
    install()
    cache = (xdg_home / "applications" / "mimeinfo.cache").read_text()
    assert f"image/jpeg={APP_ID}.desktop;" in cache


def test_the_launcher_opens_every_image_type_the_app_reads():
    declared = set(_entry_values(ENTRY.read_text())["MimeType"].strip(";").split(";"))
    needed = {mimetypes.types_map.get(suffix) or f"image/{suffix[1:]}" for suffix in IMAGE_SUFFIXES}
    assert needed == declared


def test_the_metainfo_release_and_screenshot_match_this_version_and_a_shipped_picture():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == ENTRY.name
    releases = [r.get("version") for r in root.iter("release")]
    assert releases[0] == version("hkmr-studio")
    image = root.findtext("screenshots/screenshot/image")
    tag, picture = image.split("/hkmr-studio/", 1)[1].split("/", 1)
    assert tag == f"v{version('hkmr-studio')}"
    assert (REPO / picture).is_file()


def test_the_shipped_pngs_are_the_svg_rendered_at_each_size(qapp):
    from PySide6.QtGui import QImage

    from hkmr_studio.gui.app_icon import png_path, render_icon

    for size in ICON_SIZES:
        shipped = QImage(str(png_path(size))).convertToFormat(QImage.Format.Format_ARGB32)
        fresh = render_icon(size)
        assert (shipped.width(), shipped.height()) == (size, size)
        differing = sum(shipped.pixel(x, y) != fresh.pixel(x, y) for x in range(size) for y in range(size))
        assert differing <= size * size // 100, f"{png_path(size)}: run python -m hkmr_studio.gui.app_icon"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils is not installed")
def test_the_shipped_and_installed_launchers_pass_desktop_file_validate(xdg_home, tmp_path):
    install(command=[str(tmp_path / "a venv" / "bin" / "hkmr-studio")])
    for entry in (ENTRY, xdg_home / "applications" / ENTRY.name):
        result = subprocess.run(["desktop-file-validate", str(entry)], check=False, capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream is not installed")
def test_the_metainfo_passes_appstreamcli_validate():
    result = subprocess.run(["appstreamcli", "validate", "--no-net", "--explain", str(METAINFO)],
                            check=False, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert result.returncode == 0, result.stdout + result.stderr
