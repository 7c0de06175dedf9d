"""The timeline of a take document: a slider over its frames with a mark per frame's status, play/pause, and the
frame number and time. `TakeController` shows the chosen frame (the photo with its body; the 3D view follows) and
folds a keypoint correction of a frame back into the take, smoothing again around it."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QVBoxLayout, QWidget

from hkmr_studio.gui.inference import InferenceController
from hkmr_studio.gui.state import Document, Status, StudioState
from hkmr_studio.gui.take_document import ImageTags, TakeDocument, TakeSession
from hkmr_studio.video.smoothing import SmoothingSettings

#: Mark colour per frame status; frames the user corrected are marked EDITED_COLOR.
STATUS_COLORS = {"ok": "#3cb371", "no_person": "#80868b", "refused": "#f29900", "unreadable": "#d93025"}
EDITED_COLOR = "#4285f4"
MARK_HEIGHT = 5


class StatusMarks(QWidget):
    """A thin strip under the slider: one coloured mark per frame (its status, or edited)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(MARK_HEIGHT)
        self.colors: list[str] = []

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.colors:
            return
        painter = QPainter(self)
        width = self.width() / len(self.colors)
        for i, color in enumerate(self.colors):
            painter.fillRect(QRect(round(i * width), 0, max(1, round(width)), MARK_HEIGHT), QColor(color))
        painter.end()


class Timeline(QWidget):
    """Frame slider, status marks, play/pause and 'frame i / T · t s'; `frame_chosen` gives the frame to show."""

    frame_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: TakeSession | None = None
        self.play_button = QToolButton()
        self.play_button.setIcon(self._icon(playing=False))
        self.play_button.setToolTip("Play or pause the take")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Drag to scrub the take; the photo and the 3D view show that frame's body")
        self.slider.valueChanged.connect(self._on_value_changed)
        self.marks = StatusMarks()
        self.label = QLabel()
        self._player = QTimer(self)
        self._player.setSingleShot(True)
        self._player.timeout.connect(self._next_frame)
        track = QWidget()
        column = QVBoxLayout(track)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(self.slider)
        column.addWidget(self.marks)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(track, 1)
        layout.addWidget(self.label)

    @property
    def playing(self) -> bool:
        return self.play_button.isChecked()

    def show_session(self, session: TakeSession | None) -> None:
        """Show `session`'s frames (None: hide the timeline)."""
        self.play_button.setChecked(False)
        self._session = session
        self.setVisible(session is not None)
        if session is None:
            return
        self.slider.blockSignals(True)
        self.slider.setRange(0, session.frame_count - 1)
        self.slider.setValue(session.index)
        self.slider.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        """Redraw the marks and the label (the take changed)."""
        session = self._session
        if session is None:
            return
        self.marks.colors = [EDITED_COLOR if i in session.edited else STATUS_COLORS[status]
                             for i, status in enumerate(session.take.status)]
        self.marks.update()
        index = session.index
        status = session.take.status[index]
        self.label.setText(f"frame {index + 1} / {session.frame_count} · {session.take.times[index]:.2f} s"
                           + ("" if status == "ok" else f" · {status.replace('_', ' ')}"))

    def _icon(self, playing: bool) -> QIcon:
        """The button's icon: pause while playing, else play (the style's own: no font needs the glyphs)."""
        pixmap = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        return self.style().standardIcon(pixmap)

    def stop(self) -> None:
        self.play_button.setChecked(False)

    def _on_value_changed(self, index: int) -> None:
        self.frame_chosen.emit(index)

    def _on_play_toggled(self, playing: bool) -> None:
        self.play_button.setIcon(self._icon(playing))
        if not playing:
            self._player.stop()
            return
        if self._session is not None and self.slider.value() == self.slider.maximum():
            self.slider.setValue(0)  # play from the start again
        self._schedule()

    def _schedule(self) -> None:
        """Step to the next frame when its time comes."""
        session = self._session
        index = self.slider.value()
        if session is None or index >= session.frame_count - 1:
            self.play_button.setChecked(False)
            return
        times = session.take.times
        self._player.start(max(1, round((times[index + 1] - times[index]) * 1000)))

    def _next_frame(self) -> None:
        self.slider.setValue(self.slider.value() + 1)
        self._schedule()


class TakeController(QObject):
    """Shows the frame the timeline picks, and turns a refit of a frame's keypoints into a corrected take."""

    def __init__(self, state: StudioState, inference: InferenceController, timeline: Timeline,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._inference = inference
        self._timeline = timeline
        self._frames_shown: ImageTags[int] = ImageTags()  # each posed frame's index in its take
        timeline.frame_chosen.connect(self.show_frame)
        state.current_changed.connect(self._on_current_changed)
        inference.analysed.connect(self._on_analysed)
        timeline.show_session(None)

    @property
    def document(self) -> TakeDocument | None:
        current = self._state.current
        return current if isinstance(current, TakeDocument) else None

    def show_frame(self, index: int) -> None:
        """Show frame `index` of the current take: its picture now, its body (as smoothed) when posed."""
        document = self.document
        if document is None:
            return
        session = document.session
        session.index = index
        self._timeline.refresh()
        image = session.image(index)
        pose = session.pose(index)
        if pose is None:
            document.analysis, document.keypoint_edits = None, None
            message = session.take.messages[index] or "No body in this frame."
            self._state.update(document, image=image, status=Status.NO_PERSON, message=message)
            return
        self._frames_shown.tag(image, index)
        document.image = image
        self._inference.analyse(document, image=image, pose=pose, keypoints=session.keypoints(index))

    def resmooth(self, settings: SmoothingSettings) -> None:
        """Smooth every open take again with `settings`, and show the current frame's new body."""
        for document in self._state.documents:
            if isinstance(document, TakeDocument):
                document.session.resmooth(settings)
        if self.document is not None:
            self.show_frame(self.document.session.index)

    def _on_current_changed(self, document: Document | None) -> None:
        self._timeline.show_session(document.session if isinstance(document, TakeDocument) else None)
        if isinstance(document, TakeDocument):
            self.show_frame(document.session.index)

    def _on_analysed(self, document: Document) -> None:
        """A refit of a take frame's edited keypoints: that frame of the take becomes the fit, smoothed around."""
        analysis = document.analysis
        if not isinstance(document, TakeDocument) or analysis.request.refit_from is None:
            return
        index = self._frames_shown.get(analysis.image)
        if index is None or analysis.result.best is None:
            return
        document.session.correct(index, analysis.result.best, analysis.result.keypoints)
        if document is self._state.current:
            self._timeline.refresh()
