"""Non-blocking messages above the views: the newest few, coloured by the most serious, with a button that lists
every earlier one (none is lost until dismissed); and the facing banner, shown while the current body may face the
wrong way, with its Flip button."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hkmr_studio.gui.state import Document, Level, Message, StudioState

MAX_SHOWN = 4  # the newest messages shown; the button lists them all
HISTORY_HEIGHT_PX = 180
_STYLE = {
    Level.INFO: ("#e8f1fb", "#2b5d8c"),
    Level.WARNING: ("#fff4dc", "#8a5a00"),
    Level.ERROR: ("#fde7e7", "#9b1c1c"),
}
_MARK = {Level.INFO: "ℹ", Level.WARNING: "⚠", Level.ERROR: "✖"}
_RANK = {Level.INFO: 0, Level.WARNING: 1, Level.ERROR: 2}


def _line(message: Message) -> str:
    return f"{_MARK[message.level]}  {message.shown}"


class MessageBanner(QFrame):
    """Shows the StudioState's messages, each once: `latest` holds the newest MAX_SHOWN; `more_button` swaps it for
    `history`, a scrolling list of them all, oldest first."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._messages: list[Message] = []
        self.latest = QLabel()
        self.latest.setWordWrap(True)
        self.latest.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.history = QListWidget()
        self.history.setWordWrap(True)
        self.history.setMaximumHeight(HISTORY_HEIGHT_PX)
        self.history.setVisible(False)
        self.more_button = QToolButton()
        self.more_button.setCheckable(True)
        self.more_button.setAutoRaise(True)
        self.more_button.setToolTip("List every message since the last dismissal")
        self.more_button.toggled.connect(self._show_history)
        self.more_button.setVisible(False)
        dismiss = QToolButton()
        dismiss.setText("✕")
        dismiss.setToolTip("Dismiss these messages")
        dismiss.setAutoRaise(True)
        dismiss.clicked.connect(self.clear)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.latest)
        column.addWidget(self.history)
        column.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addLayout(column, 1)
        layout.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.setVisible(False)
        state.message.connect(self.add)

    def messages(self) -> list[Message]:
        return list(self._messages)

    def texts(self) -> list[str]:
        return [m.text for m in self._messages]

    def add(self, message: Message) -> None:
        if message in self._messages:
            return
        self._messages.append(message)
        worst = max((m.level for m in self._messages), key=_RANK.__getitem__)
        background, foreground = _STYLE[worst]
        self.setStyleSheet(f"MessageBanner {{ background: {background}; border: 1px solid {foreground}; "
                           f"border-radius: 4px; }} QLabel, QListWidget, QToolButton {{ color: {foreground}; }}")
        self.latest.setText("\n".join(_line(m) for m in self._messages[-MAX_SHOWN:]))
        self.history.addItem(_line(message))
        self.history.scrollToBottom()
        self._update_more_button()
        self.setVisible(True)

    def clear(self) -> None:
        self._messages = []
        self.history.clear()
        self.more_button.setChecked(False)
        self.setVisible(False)

    def _show_history(self, shown: bool) -> None:
        self.history.setVisible(shown)
        self.latest.setVisible(not shown)
        if shown:
            self.history.scrollToBottom()
        self._update_more_button()

    def _update_more_button(self) -> None:
        earlier = len(self._messages) - MAX_SHOWN
        self.more_button.setVisible(earlier > 0)
        self.more_button.setText("Show the newest only" if self.more_button.isChecked()
                                 else f"{earlier} earlier message{'s' if earlier != 1 else ''}")


class FacingBanner(QFrame):
    """Says when the current body may face the wrong way (its facing check is flagged) or is shown the other way
    round, with a Flip button that calls `flip`."""

    def __init__(self, state: StudioState, flip: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._label = QLabel()
        self._label.setWordWrap(True)
        self.flip_button = QPushButton("Flip")
        self.flip_button.setToolTip("Show the body turned round, with left and right swapped (again to turn back)")
        self.flip_button.clicked.connect(flip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self._label, 1)
        layout.addWidget(self.flip_button, 0, Qt.AlignmentFlag.AlignTop)
        background, foreground = _STYLE[Level.WARNING]
        self.setStyleSheet(f"FacingBanner {{ background: {background}; border: 1px solid {foreground}; "
                           f"border-radius: 4px; }} QLabel {{ color: {foreground}; }}")
        self.setVisible(False)
        state.current_changed.connect(self._show)
        state.document_changed.connect(lambda document: self._show(document) if document is state.current else None)

    def text(self) -> str:
        return self._label.text()

    def _show(self, document: Document | None) -> None:
        result = document.analysis.result if document is not None and document.analysis is not None else None
        if result is None or not result.found or result.facing is None:
            self.setVisible(False)
        elif result.flipped:
            self._label.setText(f"{_MARK[Level.INFO]}  Shown the other way round: left and right of the keypoints "
                                "are swapped. Flip turns it back.")
            self.setVisible(True)
        else:
            self._label.setText(f"{_MARK[Level.WARNING]}  {result.facing.message}")
            self.setVisible(result.facing.flagged)
