"""The main window: opens photos (menu, toolbar, drag-and-drop, clipboard, recent files), shows each with its
recovered body in 2D and 3D, runs live video, exports, and remembers the user's choices."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hkmr_studio.about import about_facts
from hkmr_studio.atomic import atomic_write_bytes
from hkmr_studio.batch import IMAGE_SUFFIXES, collect_images, photo_focal_length
from hkmr_studio.export import FORMATS
from hkmr_studio.export.files import export_file_name
from hkmr_studio.geometry.cameras import assumed_focal_length, focal_length_from_35mm
from hkmr_studio.gui.about import AboutDialog, open_log_folder
from hkmr_studio.gui.analysis_docks import AnalysisDocks
from hkmr_studio.gui.banner import FacingBanner, MessageBanner
from hkmr_studio.gui.box_tool import BoxTool
from hkmr_studio.gui.capture import VideoSource
from hkmr_studio.gui.exporter import ExportController
from hkmr_studio.gui.filmstrip import Filmstrip
from hkmr_studio.gui.fit_comparison import FitComparison
from hkmr_studio.gui.focal_dialog import FocalLengthDialog
from hkmr_studio.gui.gui_thread_gc import GuiThreadGarbageCollector
from hkmr_studio.gui.image_view import ZOOM_STEP, ImageView
from hkmr_studio.gui.inference import InferenceController
from hkmr_studio.gui.keypoint_editor import KeypointEditor
from hkmr_studio.gui.live import LiveController
from hkmr_studio.gui.overlay_controls import OverlayControls
from hkmr_studio.gui.people_list import PeopleList
from hkmr_studio.gui.pickers import DevicePicker, ModelPicker, VideoSourcePicker
from hkmr_studio.gui.preferences import FORMAT_LABELS, PreferencesDialog
from hkmr_studio.gui.qt_images import array_from_qimage
from hkmr_studio.gui.state import Choices, Document, Level, StudioState
from hkmr_studio.gui.take_document import TakeDocument
from hkmr_studio.gui.take_export import TAKE_EXPORTS, take_export_name
from hkmr_studio.gui.timeline import TakeController, Timeline
from hkmr_studio.gui.viewport import VIEWS, BodyViewport
from hkmr_studio.logs import log_dir
from hkmr_studio.pipeline.images import ImageLoadError, image_from_array, load_image
from hkmr_studio.pipeline.keypoints import KeypointFileError, Keypoints2D, load_keypoints_json
from hkmr_studio.settings import load_settings, save_settings
from hkmr_studio.video.smoothing import SmoothingSettings

TITLE = "HKMR Studio"
IMAGE_FILTER = f"Images ({' '.join('*' + s for s in sorted(IMAGE_SUFFIXES))});;All files (*)"
KEYPOINT_FILTER = "Keypoint files (*.json);;All files (*)"
EXPORT_FILTERS = {"json": "Parameters JSON (*.json)", "npz": "Parameters NPZ (*.npz)", "obj": "Wavefront OBJ (*.obj)",
                  "glb": "Binary glTF (*.glb)", "fbx": "Rigged FBX (*.fbx)"}
GETTING_STARTED = ("Open a photo of a person (File ▸ Open, drag it onto the window, or paste it with Ctrl+V). The "
                   "body appears over the photo and in 3D; File ▸ Export saves it. Live ▸ Start runs a camera or a "
                   "video file; Freeze keeps a frame.")
BOX_HINT = "Drag from one corner of the person to the opposite one; Esc cancels."
_HINT = ("<h2>Open a photo of a person</h2><p>File ▸ Open (Ctrl+O), drag a photo onto this window, or paste one "
         "(Ctrl+V).</p><p>Or pick a camera or video file in the toolbar and press <b>Start</b> for live video.</p>")


def _inside(keypoints: Keypoints2D, size: tuple[int, int]) -> float:
    """The fraction of the present keypoints that lie on a photo of `size` (width, height) pixels."""
    xy = keypoints.xy[keypoints.present]
    on_photo = (xy >= 0).all(axis=1) & (xy[:, 0] <= size[0]) & (xy[:, 1] <= size[1])
    return float(on_photo.mean()) if len(xy) else 0.0


def format_timings(timings: dict[str, float]) -> str:
    """{'detect': 0.045, ...} -> 'detect 45 ms · … · total 138 ms'."""
    parts = [f"{stage} {seconds * 1000:.0f} ms" for stage, seconds in timings.items()]
    return " · ".join(parts + [f"total {sum(timings.values()) * 1000:.0f} ms"]) if parts else ""


class MainWindow(QMainWindow):
    """HKMR Studio's window. `model` and `body` override the saved choices for this session only."""

    def __init__(self, model: str | None = None, body: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle(TITLE)
        self.setAcceptDrops(True)
        self.settings, settings_note = load_settings()
        self.state = StudioState(Choices(model=model or self.settings.model, device=self.settings.device,
                                         body_path=body or self.settings.body_path))
        self.inference = InferenceController(self.state, self)
        self.live = LiveController(self.state, self.inference, self)
        self.live.smoothing = SmoothingSettings(strength=self.settings.smoothing_strength)
        self.exporter = ExportController(self.state, self)
        self._pasted = 0
        self._shut_down = False
        self.garbage_collector = GuiThreadGarbageCollector(self)  # workers must never free Qt objects
        self.garbage_collector.start()

        self.banner = MessageBanner(self.state)
        self.facing_banner = FacingBanner(self.state, self.inference.flip_current)
        self.image_view = ImageView(self.state)
        self.overlay_controls = OverlayControls(self.state.view, self.image_view)
        self.viewport = BodyViewport(self.state)
        self.filmstrip = Filmstrip(self.state)
        self.keypoint_editor = KeypointEditor(self.state, self.inference, self.image_view, self)
        self.timeline = Timeline()
        self.takes = TakeController(self.state, self.inference, self.timeline, self)
        self._build_central()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self.fit_comparison = self._build_fit_comparison()
        self.analysis_docks = AnalysisDocks(self, self.state, self.image_view, self.viewport, self.fit_comparison)
        self.analysis_docks.hypotheses.chosen.connect(
            lambda document, params: self.inference.show_pose(document, document.analysis, params))
        self._build_people()

        self.state.current_changed.connect(self._on_current_changed)
        self.state.document_changed.connect(self._on_document_changed)
        self.state.live_changed.connect(self._on_live_changed)
        self.live.stopped.connect(lambda: self._on_live_changed(False))
        self.state.choices.events.model.connect(lambda model: self._remember(model=model))
        self.state.choices.events.device.connect(lambda device: self._remember(device=device))
        self._on_current_changed(None)
        self._on_live_changed(False)
        self.resize(1320, 840)
        if settings_note:
            self.state.notify(Level.WARNING, settings_note)

    # --- layout -------------------------------------------------------------------------------------------------

    def _build_central(self) -> None:
        hint = QLabel(_HINT)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #9aa0a6; background: #1e1f22")
        self.photo_stack = QStackedWidget()
        self.photo_stack.addWidget(hint)
        self.photo_stack.addWidget(self.image_view)
        photo_panel = QWidget()
        photo_layout = QVBoxLayout(photo_panel)
        photo_layout.setContentsMargins(0, 0, 0, 0)
        photo_layout.addWidget(self.overlay_controls)
        photo_layout.addWidget(self.photo_stack, 1)
        photo_layout.addWidget(self.timeline)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(photo_panel)
        splitter.addWidget(self.viewport)
        splitter.setSizes([700, 600])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.banner)
        layout.addWidget(self.facing_banner)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.filmstrip)
        self.setCentralWidget(central)

    def _action(self, text: str, slot: object, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open,
                                        "Open one or more photos")
        self.paste_action = self._action("&Paste Image", self.paste, QKeySequence.StandardKey.Paste,
                                         "Open the image (or image file) on the clipboard")
        self.close_action = self._action("&Close Image", self.close_current, QKeySequence.StandardKey.Close,
                                         "Close the photo shown")
        self.open_keypoints_action = self._action("Open &Keypoints for This Photo…", self.open_keypoints_dialog, tip=(
            "Use the keypoints of a COCO-17 or MediaPipe-33 JSON file for the photo shown, instead of detecting them"))
        self.save_photo_action = self._action("Save Photo with &Overlay…", self.save_photo_dialog, "Ctrl+Shift+S",
                                              "Save the photo with the body drawn over it, as shown, as a PNG image")
        self.export_actions = {fmt: self._action(f"{FORMAT_LABELS[fmt]}…", lambda _=False, f=fmt: self.export_dialog(f),
                                                 tip=f"Save the body as {FORMAT_LABELS[fmt]}") for fmt in FORMATS}
        self.export_people_action = self._action("&Everyone (All Formats)…", self.export_people_dialog, tip=(
            "Save every person in the photo in every format chosen in Preferences: one file per person, "
            "named photo_p0, photo_p1, ... from the left"))
        self.box_action = self._action("Draw Person &Box", self._on_box_tool, "B", (
            "Drag a box around a person detection missed: they get a body and are selected (Esc cancels)"))
        self.box_tool = BoxTool(self.image_view, self.box_action)
        self.export_all_action = self._action("&All Formats…", self.export_all_dialog, "Ctrl+E",
                                              "Save the body in every format chosen in Preferences")
        self.preferences_action = self._action("Pr&eferences…", self.preferences_dialog,
                                               QKeySequence.StandardKey.Preferences)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.analyse_action = self._action("&Analyse Again", self._analyse_current, "Ctrl+R",
                                           "Run the model on the photo again")
        self.refine_action = self._action("&Refine (SMPLify)", self.inference.refine_current, "Ctrl+Shift+R",
                                          "Fit the body to the keypoints with SMPLify, starting from the model's body")
        self.focal_action = self._action("Camera &Focal Length…", self.focal_length_dialog, tip=(
            "Set the focal length of the camera that took the photo (35 mm equivalent); read from EXIF when present"))
        self.flip_action = self._action("&Flip Facing", self.inference.flip_current, "Ctrl+Shift+F",
                                        "Show the body turned round, with left and right swapped")
        self.undo_action = self._action("&Undo Keypoint Edit", self.keypoint_editor.undo,
                                        QKeySequence.StandardKey.Undo, "Undo the last keypoint move, hide or pin")
        self.redo_action = self._action("&Redo Keypoint Edit", self.keypoint_editor.redo, "Ctrl+Shift+Z",
                                        "Redo the keypoint edit just undone, and refit")
        self.reset_keypoints_action = self._action("Re&set Keypoints", self.keypoint_editor.reset, tip=(
            "Back to the detected keypoints and the regressor's body (can be undone)"))
        self.keypoint_editor.history_changed.connect(self._on_history_changed)
        self._on_history_changed()
        self.fit_action = self._action("&Fit Photo", self.image_view.fit, "F")
        self.zoom_in_action = self._action("Zoom &In", lambda: self.image_view.zoom(ZOOM_STEP),
                                           QKeySequence.StandardKey.ZoomIn)
        self.zoom_out_action = self._action("Zoom &Out", lambda: self.image_view.zoom(1 / ZOOM_STEP),
                                            QKeySequence.StandardKey.ZoomOut)
        self.view_actions = {name: self._action(f"3D {name.capitalize()} View",
                                                lambda _=False, n=name: self.viewport.set_view(n)) for name in VIEWS}
        self.screenshot_action = self._action("Save 3D &Screenshot…", self.screenshot_dialog)
        self.viewport.screenshot_button.clicked.connect(self.screenshot_dialog)
        self.live_start_action = self._action("&Start", self.start_live, "Ctrl+L",
                                              "Analyse frames from the chosen camera or video file")
        self.live_stop_action = self._action("S&top", self.live.stop, "Ctrl+Shift+L")
        self.live_record_action = self._action("&Record", self.record_live, tip=(
            "Record the analysed frames as a take (starting the chosen camera or video file if needed); Stop, or "
            "the video's end, opens the take with a timeline"))
        self.take_export_actions = {kind: self._action(f"{label}…", lambda _=False, k=kind: self.export_take_dialog(k),
                                                       tip=f"Save the take as {label}")
                                    for kind, (label, _) in TAKE_EXPORTS.items()}
        self.freeze_action = self._action("&Freeze Frame", self.live.freeze, "Ctrl+F",
                                          "Keep the frame shown as a photo, and stop live video")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.paste_action)
        file_menu.addAction(self.open_keypoints_action)
        file_menu.addAction(self.close_action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_photo_action)
        self.export_menu = file_menu.addMenu("&Export")
        self.export_menu.addActions(list(self.export_actions.values()))
        self.export_menu.addSeparator()
        self.export_menu.addAction(self.export_all_action)
        self.export_menu.addAction(self.export_people_action)
        self.take_export_menu = file_menu.addMenu("Export &Take")
        self.take_export_menu.addActions(list(self.take_export_actions.values()))
        file_menu.addSeparator()
        file_menu.addAction(self.preferences_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.undo_action, self.redo_action, self.reset_keypoints_action])
        view_menu = self.view_menu = bar.addMenu("&View")
        view_menu.addActions([self.fit_action, self.zoom_in_action, self.zoom_out_action])
        view_menu.addSeparator()
        view_menu.addActions(list(self.view_actions.values()))
        view_menu.addAction(self.screenshot_action)
        body_menu = bar.addMenu("&Body")
        body_menu.addActions([self.analyse_action, self.refine_action, self.flip_action, self.focal_action])
        body_menu.addSeparator()
        body_menu.addAction(self.box_action)
        live_menu = bar.addMenu("&Live")
        live_menu.addActions([self.live_start_action, self.live_record_action, self.live_stop_action,
                              self.freeze_action])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&Getting Started", lambda: self.state.notify(Level.INFO, GETTING_STARTED)))
        help_menu.addSeparator()
        help_menu.addAction(self._action("Open &Log Folder", self.open_log_folder,
                                         tip="Show the folder of the log file, where errors are written"))
        help_menu.addAction(self._action("&About HKMR Studio", self.show_about))

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.paste_action)
        export_button = QToolButton()
        export_button.setText("Export")
        export_button.setToolTip("Save the body as OBJ, GLB, FBX or parameters")
        export_button.setMenu(self.export_menu)
        export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        toolbar.addWidget(export_button)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Model "))
        self.model_picker = ModelPicker(self.state.choices)
        toolbar.addWidget(self.model_picker)
        toolbar.addWidget(QLabel(" Device "))
        self.device_picker = DevicePicker(self.state.choices)
        toolbar.addWidget(self.device_picker)
        toolbar.addAction(self.refine_action)
        toolbar.addAction(self.box_action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Live "))
        self.source_picker = VideoSourcePicker()
        toolbar.addWidget(self.source_picker)
        toolbar.addAction(self.live_start_action)
        toolbar.addAction(self.live_record_action)
        toolbar.addAction(self.live_stop_action)
        toolbar.addAction(self.freeze_action)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # an indeterminate, moving bar
        self.busy_bar.setFixedWidth(90)
        self.busy_bar.setVisible(False)
        self.progress_label = QLabel()
        self.timings_label = QLabel()
        self.timings_label.setToolTip("Time per stage of the last analysis shown")
        self.live_label = QLabel()
        status.addWidget(self.busy_bar)
        status.addWidget(self.progress_label)
        status.addPermanentWidget(self.live_label)
        status.addPermanentWidget(self.timings_label)
        self.state.busy_changed.connect(self._on_busy_changed)
        self.state.progress.connect(lambda text: self.progress_label.setText(text))
        self.live.stats_changed.connect(self.live_label.setText)
        self.live.recording_changed.connect(self._on_live_changed)

    def _build_people(self) -> None:
        """The box tool, the People dock (View ▸ People, Ctrl+Shift+P; it opens by itself for a photo of several
        people) and selecting a person by clicking them on the photo."""
        self.box_tool.drawn.connect(lambda box: self.inference.add_person(self.state.current, box))
        self.box_tool.refused.connect(lambda text: self.state.notify(Level.INFO, text))
        self.people_list = PeopleList(self.state)
        self.people_dock = QDockWidget("People", self)
        self.people_dock.setObjectName("people")
        self.people_dock.setWidget(self.people_list)
        self.people_dock.toggleViewAction().setShortcut("Ctrl+Shift+P")
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.people_dock)
        self.people_dock.hide()
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.people_dock.toggleViewAction())
        for chosen in (self.people_list.chosen, self.image_view.person_clicked):
            chosen.connect(self.select_person)
        self.inference.analysed.connect(lambda d: self.people_dock.show() if len(d.people) > 1 else None)

    def select_person(self, index: int) -> None:
        """Show person `index` of the photo shown, with their keypoint edits (Undo, Redo and Reset follow)."""
        if self.state.current is not None:
            self.inference.select_person(self.state.current, index)
            self._on_history_changed()

    def _on_box_tool(self, on: bool) -> None:
        if on:
            self.statusBar().showMessage(BOX_HINT, 8000)

    def _build_fit_comparison(self) -> FitComparison:
        panel = FitComparison(self.state, [self.undo_action, self.redo_action, self.reset_keypoints_action])
        for which, button in panel.export_buttons.items():
            button.clicked.connect(lambda _=False, w=which: self.export_body_dialog(w))
        return panel

    # --- opening ------------------------------------------------------------------------------------------------

    def open_paths(self, paths: Iterable[str | Path]) -> list[Document]:
        """Open image files (folders: their images); unreadable ones are reported. Returns the new documents."""
        added: list[Document] = []
        for path in collect_images(list(paths)):
            existing = self.state.find(path)
            if existing is not None:
                self.state.select(existing)
                continue
            try:
                image = load_image(path)
            except ImageLoadError as exc:
                self.state.notify(Level.ERROR, str(exc))
                continue
            focal_length, focal_source = photo_focal_length(image)
            added.append(Document(name=path.name, image=image, focal_length=focal_length, focal_source=focal_source))
            self.settings.remember_file(path)
            self.settings.last_open_dir = str(path.resolve().parent)
        if added:
            self._save_settings()
            self.state.add_documents(added)
        return added

    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photos", self.settings.last_open_dir, IMAGE_FILTER)
        self.open_paths(paths)

    def paste(self) -> None:
        if not self._open_mime(QGuiApplication.clipboard().mimeData()):
            self.state.notify(Level.INFO, "The clipboard holds no image. Copy a photo or an image file first.")

    def close_current(self) -> None:
        if self.state.current in self.state.documents:
            self.state.remove(self.state.current)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasImage() or any(url.isLocalFile() for url in mime.urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self._open_mime(event.mimeData()):
            event.acceptProposedAction()

    def _open_mime(self, mime: QMimeData | None) -> bool:
        """Open the files or the image in a drop or on the clipboard; False when it holds neither."""
        if mime is None:
            return False
        files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        if not files and mime.hasText() and Path(mime.text().strip()).is_file():
            files = [mime.text().strip()]
        if files:
            self.open_paths(files)
            return True
        if mime.hasImage():
            try:
                image = image_from_array(array_from_qimage(mime.imageData()))
            except ImageLoadError as exc:
                self.state.notify(Level.ERROR, f"The pasted image cannot be used: {exc}")
                return True
            self._pasted += 1
            self.state.add_documents([Document(name=f"Pasted image {self._pasted}", image=image)])
            return True
        return False

    def open_keypoints_dialog(self) -> None:
        document = self.state.current
        if document not in self.state.documents:
            return
        start = str(document.path.parent) if document.path is not None else self.settings.last_open_dir
        path, _ = QFileDialog.getOpenFileName(self, f"Keypoints for {document.name}", start, KEYPOINT_FILTER)
        if path:
            self.open_keypoints(document, Path(path))

    def open_keypoints(self, document: Document, path: Path) -> None:
        """Analyse `document` with the keypoints in `path` (COCO-17 or MediaPipe-33 JSON, pixels of its photo) from
        now on, instead of detected ones. A file that cannot be used is a message, and the body shown stays."""
        size = document.image.original_size
        try:
            keypoints = load_keypoints_json(path, image_size=size)
        except KeypointFileError as exc:
            self.state.notify(Level.ERROR, str(exc))
            return
        except OSError as exc:
            self.state.notify(Level.ERROR, f"'{path.name}' cannot be read ({exc.strerror}). Check the file's "
                                           "permissions, or copy it to a folder you own.")
            return
        if _inside(keypoints, size) < 0.5:
            self.state.notify(Level.ERROR, f"'{path.name}': most of its keypoints lie outside this photo "
                                           f"({size[0]} x {size[1]} px), so they belong to another image or use other "
                                           f"units. Pick the keypoint file made for {document.name}.")
            return
        document.given_keypoints = keypoints
        self.state.notify(Level.INFO, f"Using the keypoints of {path.name} instead of detecting them.", document.name)
        self.inference.analyse(document)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_paths([p])).setToolTip(path)
        if self.settings.recent_files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Files", self._clear_recent)
        else:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    def _clear_recent(self) -> None:
        self.settings.recent_files = []
        self._save_settings()

    # --- body, export, live ----------------------------------------------------------------------------------

    def _analyse_current(self) -> None:
        if self.state.current is not None:
            self.inference.analyse(self.state.current)

    def export_dialog(self, fmt: str) -> None:
        document = self.state.current
        if document is None:
            return
        start = Path(self.settings.last_export_dir or Path.home()) / export_file_name(document.person_stem, fmt)
        path, _ = QFileDialog.getSaveFileName(self, f"Export {FORMAT_LABELS[fmt]}", str(start), EXPORT_FILTERS[fmt])
        if path:
            path = Path(path)
            self._remember(last_export_dir=str(path.parent))
            self.exporter.export(document, [(path, fmt)])

    def export_all_dialog(self) -> None:
        document = self.state.current
        if document is not None and (folder := self._export_folder("Export all formats to")) is not None:
            self.exporter.export(document, [(folder / export_file_name(document.person_stem, fmt), fmt)
                                            for fmt in self.settings.export_formats])

    def export_people_dialog(self) -> None:
        """Save everyone in the photo, in every format chosen in Preferences, into a folder: one file per person
        and format (stem_p0.obj, stem_p1.obj, ...)."""
        document = self.state.current
        if document is not None and (folder := self._export_folder("Export everyone to")) is not None:
            self.exporter.export_people(document, folder, self.settings.export_formats)

    def _export_folder(self, caption: str) -> Path | None:
        """A folder picked in the dialog (remembered for the next export), None when cancelled."""
        folder = QFileDialog.getExistingDirectory(self, caption, self.settings.last_export_dir)
        if not folder:
            return None
        self._remember(last_export_dir=folder)
        return Path(folder)

    def export_body_dialog(self, which: str) -> None:
        """Save the regressor's body (`which` "regression") or the fit ("fit") in a format picked in the dialog."""
        document = self.state.current
        if document is None:
            return
        start = Path(self.settings.last_export_dir or Path.home()) / export_file_name(f"{document.person_stem}_{which}", "obj")
        path, chosen = QFileDialog.getSaveFileName(self, f"Export the {which} body", str(start),
                                                   ";;".join(EXPORT_FILTERS.values()), EXPORT_FILTERS["obj"])
        if path:
            fmt = next((f for f, label in EXPORT_FILTERS.items() if label == chosen), "obj")
            self._remember(last_export_dir=str(Path(path).parent))
            self.exporter.export(document, [(Path(path), fmt)], which)

    def screenshot_dialog(self) -> None:
        start = Path(self.settings.last_export_dir or Path.home()) / "body_3d.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save 3D screenshot", str(start), "PNG images (*.png)")
        if path:
            self._remember(last_export_dir=str(Path(path).parent))
            self.save_3d_screenshot(Path(path))

    def save_3d_screenshot(self, path: Path) -> None:
        self._save_png(path, self.viewport.screenshot(), "the 3D view")

    def save_photo_dialog(self) -> None:
        document = self.state.current
        if document is None:
            return
        start = Path(self.settings.last_export_dir or Path.home()) / f"{document.stem}_overlay.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save the photo with its overlay", str(start),
                                              "PNG images (*.png)")
        if path:
            self._remember(last_export_dir=str(Path(path).parent))
            self.save_photo_with_overlay(Path(path))

    def save_photo_with_overlay(self, path: Path) -> None:
        """Write the photo at full resolution with what is drawn over it, as shown, to a PNG file."""
        picture = self.image_view.render_photo()
        if picture is None:
            self.state.notify(Level.INFO, "There is no photo to save: open one first.")
            return
        self._save_png(path, picture, "the photo with its overlay")

    def _save_png(self, path: Path, rgb: np.ndarray, what: str) -> None:
        """Write (H, W, 3) uint8 RGB pixels to `path` as PNG, atomically, and say where (or why not)."""
        _, png = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        try:
            atomic_write_bytes(path, png.tobytes())
        except OSError as exc:
            self.state.notify(Level.ERROR, f"{path.name} was not saved ({what}): {exc}")
            return
        self.state.notify(Level.INFO, f"Saved {what} as {path}.")

    def start_live(self) -> None:
        source = self.source_picker.source() or self.source_picker.choose_file()
        if source is not None:
            self.start_live_from(source)

    def start_live_from(self, source: VideoSource, record: bool = False) -> None:
        if source.file is not None:
            self.source_picker.add_file(source.file)
        self.live.start(source, record)
        self._on_live_changed(True)

    def record_live(self) -> None:
        """Record a take: from now on when live video runs, else starting the chosen source."""
        if self.live.running:
            self.live.start_recording()
            return
        source = self.source_picker.source() or self.source_picker.choose_file()
        if source is not None:
            self.start_live_from(source, record=True)

    def export_take_dialog(self, kind: str) -> None:
        document = self.state.current
        if not isinstance(document, TakeDocument):
            return
        label, suffix = TAKE_EXPORTS[kind]
        start = Path(self.settings.last_export_dir or Path.home()) / take_export_name(document.stem, kind)
        if suffix:
            path, _ = QFileDialog.getSaveFileName(self, f"Export the take as {label}", str(start), f"{label} (*{suffix})")
        else:
            path = QFileDialog.getExistingDirectory(self, "Export the take into the folder", str(start.parent))
            path = str(Path(path) / start.name) if path else ""
        if path:
            self._remember(last_export_dir=str(Path(path).parent))
            self.exporter.export_take(document, [(Path(path), kind)])

    def focal_length_dialog(self) -> None:
        document = self.state.current
        if document not in self.state.documents:
            return
        size = document.image.original_size
        dialog = FocalLengthDialog(document.focal_length or assumed_focal_length(*size), document.focal_source, size,
                                   self)
        if dialog.exec():
            self.set_focal_length(document, dialog.value())

    def set_focal_length(self, document: Document, f35_mm: float | None) -> None:
        """Analyse `document` again with a camera of `f35_mm` (35 mm equivalent), or None: the photo's own (EXIF,
        else assumed)."""
        if f35_mm is None:
            document.focal_length, document.focal_source = photo_focal_length(document.image)
        else:
            document.focal_length = focal_length_from_35mm(f35_mm, *document.image.original_size)
            document.focal_source = "given"
        self.inference.analyse(document)

    def show_about(self) -> AboutDialog:
        """Help ▸ About: the version, the body and model files in use with their licences, settings and log."""
        choices = self.state.choices
        self.about_box = AboutDialog(about_facts(choices.model, choices.body_path), self)
        self.about_box.open()
        return self.about_box

    def open_log_folder(self) -> None:
        if not open_log_folder():
            self.state.notify(Level.WARNING, f"The log folder {log_dir()} could not be opened; open it in your file "
                                             "manager (Help ▸ About shows the log file's path)")

    def preferences_dialog(self) -> None:
        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec():
            body_path, formats = dialog.values()
            strength = dialog.smoothing_strength()
            self._remember(body_path=body_path, export_formats=formats, smoothing_strength=strength)
            self.state.choices.body_path = body_path
            if strength != self.live.smoothing.strength:
                self.live.smoothing = SmoothingSettings(strength=strength)
                self.takes.resmooth(self.live.smoothing)

    # --- reacting to the state ---------------------------------------------------------------------------------

    def _on_current_changed(self, document: Document | None) -> None:
        self.photo_stack.setCurrentIndex(0 if document is None else 1)
        self.setWindowTitle(TITLE if document is None else f"{document.name} – {TITLE}")
        self._on_document_changed(document)

    def _on_document_changed(self, document: Document | None) -> None:
        if document is not self.state.current:
            return
        analysis = document.analysis if document is not None else None
        found = analysis is not None and analysis.result.found
        for action in [*self.export_actions.values(), self.export_all_action, self.refine_action,
                       self.flip_action]:
            action.setEnabled(found)
        self.close_action.setEnabled(document in self.state.documents)
        self.save_photo_action.setEnabled(document is not None)
        self.open_keypoints_action.setEnabled(document in self.state.documents)
        self.focal_action.setEnabled(document in self.state.documents)
        self.analyse_action.setEnabled(document is not None and not isinstance(document, TakeDocument))
        for action in self.take_export_actions.values():
            action.setEnabled(isinstance(document, TakeDocument))
        self.timings_label.setText(format_timings(analysis.timings) if analysis is not None else "")
        self.export_people_action.setEnabled(any(p.analysis.result.found for p in document.people)
                                             if document is not None else False)
        photo = document in self.state.documents and not isinstance(document, TakeDocument)
        self.box_action.setEnabled(photo)
        if not photo:
            self.box_tool.cancel()

    def _on_history_changed(self) -> None:
        self.undo_action.setEnabled(self.keypoint_editor.can_undo())
        self.redo_action.setEnabled(self.keypoint_editor.can_redo())
        self.reset_keypoints_action.setEnabled(self.keypoint_editor.can_reset())

    def _on_busy_changed(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)
        if not busy:
            self.progress_label.clear()

    def _on_live_changed(self, _: bool) -> None:
        running = self.live.running
        self.live_start_action.setEnabled(not running)
        self.live_stop_action.setEnabled(running)
        self.live_record_action.setEnabled(not self.live.recording)
        self.freeze_action.setEnabled(running)

    # --- settings and shutdown ---------------------------------------------------------------------------------

    def _remember(self, **changes: object) -> None:
        for name, value in changes.items():
            setattr(self.settings, name, value)
        self._save_settings()

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.state.notify(Level.WARNING, f"Settings could not be saved: {exc}")

    def shutdown(self) -> None:
        """Stop live video, runs and exports, wait for their threads, and release the 3D view. Safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self.timeline.stop()
        self.live.shutdown()
        self.inference.shutdown()
        self.exporter.shutdown()
        self.analysis_docks.shutdown()
        self.viewport.close_plotter()
        self.garbage_collector.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
