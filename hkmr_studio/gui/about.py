"""Help ▸ About HKMR Studio: the version, the body and model files in use with their licences, and where the settings
and the log live (the facts come from hkmr_studio.about, which doctor shares); and Help ▸ Open Log Folder."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from hkmr_studio.about import AboutFacts
from hkmr_studio.gui.app_icon import app_icon
from hkmr_studio.logs import log_dir

ICON_PX = 64
SUMMARY = ("<p>Interactive 3D human mesh recovery with HKMR (Hierarchical Kinematic Human Mesh Recovery, ECCV 2020). "
           "Licensed under the Apache License, Version 2.0.</p>")


def about_html(facts: AboutFacts) -> str:
    """The facts as the dialog shows them: one paragraph per file, its path and its licence."""
    parts = [f"<h3>HKMR Studio {escape(facts.version)}</h3>", SUMMARY]
    for item in facts.files:
        parts.append(f"<p><b>{escape(item.role)}</b><br><code>{escape(str(item.path))}</code><br>"
                     f"Licence: {escape(item.licence)}</p>")
    parts.append(f"<p><b>Settings</b><br><code>{escape(str(facts.settings_file))}</code></p>")
    parts.append(f"<p><b>Log</b><br><code>{escape(str(facts.log_file))}</code></p>")
    return "".join(parts)


class AboutDialog(QDialog):
    """The About box: the icon, then the facts in a scrolling, selectable text."""

    def __init__(self, facts: AboutFacts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About HKMR Studio")
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(ICON_PX, ICON_PX))
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setHtml(about_html(facts))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.log_button = buttons.addButton("Open Log Folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.log_button.clicked.connect(open_log_folder)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(self.text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(buttons)
        self.resize(720, 560)


def open_log_folder() -> bool:
    """Show the log's folder in the file manager (made first, so that there is one to show); whether it opened."""
    folder = log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
