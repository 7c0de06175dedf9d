"""The window's state without Qt: open photos and their analyses, the user's choices and view options, messages.

Widgets subscribe to the psygnal signals here and write the user's edits back through the methods; tests drive the
state directly, without a window. All changes happen on the GUI thread (workers report back through Qt signals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from psygnal import Signal, evented

from hkmr_studio.gui.analysis import Analysis
from hkmr_studio.gui.keypoint_edits import KeypointEdits
from hkmr_studio.gui.people import Person, person_label
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D


class Status(Enum):
    NEW = "not analysed yet"
    RUNNING = "analysing"
    DONE = "body recovered"
    NO_PERSON = "no person found"
    NOT_RECOVERED = "could not recover a body"
    FAILED = "failed"


class Level(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Message:
    """A note for the user; `source` names the file (or document) it is about, "" when none."""

    level: Level
    text: str
    source: str = ""

    @property
    def shown(self) -> str:
        """The text as the window shows it: after the name of its file."""
        return f"{self.source}: {self.text}" if self.source else self.text


@dataclass(eq=False)
class Document:
    """One open photo or frame and what is known about it. `analysis` is the latest finished run (it keeps its own
    copy of the image it ran on, which for live video is an earlier frame than `image`). `keypoint_edits`: the
    user's keypoint edits since the latest run that was not a refit (None before the first edit). `given_keypoints`:
    keypoints the user opened from a file (pixels of `image`), used instead of detection (None: detect).
    `focal_length`: the camera's, in pixels of `image` (None: assume the image diagonal), and `focal_source` where it
    came from (`pipeline.core.FOCAL_SOURCES`: assumed, given by the user, or the photo's EXIF). `people`: everyone
    found in the photo, numbered from the left, and `person` the index of the selected one: `analysis` and
    `keypoint_edits` are that person's (empty for live video and takes, which show one body)."""

    name: str
    image: LoadedImage
    analysis: Analysis | None = None
    status: Status = Status.NEW
    message: str = ""
    keypoint_edits: KeypointEdits | None = None
    given_keypoints: Keypoints2D | None = None
    focal_length: float | None = None
    focal_source: str = "assumed"
    people: list[Person] = field(default_factory=list)
    person: int = 0

    @property
    def selected_person(self) -> Person | None:
        return self.people[self.person] if 0 <= self.person < len(self.people) else None

    @property
    def path(self) -> Path | None:
        return self.image.path

    @property
    def shown_image(self) -> LoadedImage:
        """The image to show: the analysed one when there is an analysis, so the overlay matches it."""
        return self.analysis.image if self.analysis is not None else self.image

    @property
    def stem(self) -> str:
        """A file-name stem for exports: the photo's, or the document's name made file-safe."""
        if self.path is not None:
            return self.path.stem
        return re.sub(r"[^A-Za-z0-9_-]+", "_", self.name).strip("_").lower() or "body"

    @property
    def person_stem(self) -> str:
        """The stem for exports of the selected person: `stem`, then the person's label when the photo shows several
        (stem_p0, stem_p1, ..., as `hkmr-studio infer` names them)."""
        return self.stem if len(self.people) < 2 else f"{self.stem}_{person_label(self.person)}"


@evented
@dataclass
class Choices:
    """What the pipeline runs with: model (shipped name or checkpoint path), device (auto | cpu | gpu), body_path
    (None: the embedded open body)."""

    model: str
    device: str = "auto"
    body_path: str | None = None


#: Which body the views show where there is a fit ("fit" is the best body: the regressor's when there is no fit).
BODY_SHOWN = ("fit", "regressor", "overlaid", "side by side")


@evented
@dataclass
class ViewOptions:
    """What the image view draws over the photo; mesh_opacity in [0, 1], body_shown and (3D only)
    color_by_displacement apply to the 3D view."""

    mesh_opacity: float = 0.7
    show_mesh: bool = True
    show_skeleton: bool = True
    show_keypoints: bool = True
    body_shown: str = "fit"  # one of BODY_SHOWN
    color_by_displacement: bool = False  # the 3D fit coloured by how far each vertex moved from the regressor's


class StudioState:
    """Open documents, the current one, the live-video document, busy state and user messages."""

    documents_changed = Signal()
    current_changed = Signal(object)  # Document | None
    document_changed = Signal(object)  # a Document whose image, analysis or status changed
    busy_changed = Signal(bool)
    progress = Signal(str)  # what the running job is doing
    message = Signal(object)  # Message
    live_changed = Signal(bool)

    def __init__(self, choices: Choices, view: ViewOptions | None = None) -> None:
        self.choices = choices
        self.view = view or ViewOptions()
        self.documents: list[Document] = []
        self.current: Document | None = None
        self.live_document: Document | None = None
        self.busy = False
        self._before_live: Document | None = None

    def add_documents(self, documents: list[Document]) -> None:
        """Append documents and make the first of them current."""
        if not documents:
            return
        self.documents += documents
        self.documents_changed.emit()
        self.select(documents[0])

    def remove(self, document: Document) -> None:
        index = self.documents.index(document)
        self.documents.remove(document)
        self.documents_changed.emit()
        if self.current is document:
            neighbours = self.documents[max(0, index - 1):index + 1]
            self.select(neighbours[0] if neighbours else None)

    def select(self, document: Document | None) -> None:
        if document is not self.current:
            self.current = document
            self.current_changed.emit(document)

    def find(self, path: Path) -> Document | None:
        """The open document of the file at `path`, if any."""
        resolved = path.resolve()
        return next((d for d in self.documents if d.path is not None and d.path.resolve() == resolved), None)

    def update(self, document: Document, *, image: LoadedImage | None = None, analysis: Analysis | None = None,
               status: Status | None = None, message: str | None = None) -> None:
        """Change what is known about a document and tell its observers."""
        if image is not None:
            document.image = image
        if analysis is not None:
            document.analysis = analysis
            if document.selected_person is not None:  # a refit, flip or refinement of the selected person
                document.selected_person.analysis = analysis
        if status is not None:
            document.status = status
        if message is not None:
            document.message = message
        self.document_changed.emit(document)

    def set_people(self, document: Document, people: list[Person], selected: int) -> None:
        """Give `document` these people (numbered from the left) and show person `selected` (its analysis and
        keypoint edits); without people, the document forgets those it had (its analysis is set apart)."""
        if document.selected_person is not None:  # their edits stay with them, should they be among `people`
            document.selected_person.keypoint_edits = document.keypoint_edits
        document.people = people
        document.person = -1
        document.keypoint_edits = None
        if people:
            self.select_person(document, selected)

    def select_person(self, document: Document, index: int) -> None:
        """Show person `index` of `document`: the views, docks, refits and exports act on their analysis; the
        keypoint edits of the person shown before stay with that person."""
        if document.selected_person is not None:
            document.selected_person.keypoint_edits = document.keypoint_edits
        document.person = index
        document.keypoint_edits = document.selected_person.keypoint_edits
        self.update(document, analysis=document.selected_person.analysis)

    def keypoints_editable(self, document: Document | None) -> bool:
        """Whether `document`'s keypoints may be edited: a body was recovered, and it is not live video."""
        return (document is not None and document is not self.live_document
                and document.analysis is not None and document.analysis.result.found)

    def start_live(self, document: Document) -> None:
        """Show `document` (frames from a camera or video, not in the list) until `end_live`."""
        self._before_live = self.current
        self.live_document = document
        self.select(document)
        self.live_changed.emit(True)

    def end_live(self) -> None:
        """Stop showing the live document and show again what was shown before it."""
        if self.live_document is None:
            return
        self.live_document = None
        self.select(self._before_live if self._before_live in self.documents else None)
        self._before_live = None
        self.live_changed.emit(False)

    def set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)

    def notify(self, level: Level, text: str, source: str = "") -> None:
        """Tell the user `text`; `source` names the file it is about."""
        self.message.emit(Message(level, text, source))
