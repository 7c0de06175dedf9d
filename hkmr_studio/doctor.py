"""`hkmr-studio doctor`: what the app will run with, and what to do about anything missing."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from hkmr_studio.logs import log_file
from hkmr_studio.settings import SettingsReading, read_settings, settings_path


@dataclass
class Check:
    """One line of the report. `essential` failures make doctor exit non-zero."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    essential: bool = True


def _body_check(body_path: str | None) -> Check:
    from hkmr_studio.body.model import BodyModel
    from hkmr_studio.body.safe_pickle import BodyFileFormatError, UnsafeBodyFileError

    try:
        body = BodyModel(body_path)
    except (FileNotFoundError, BodyFileFormatError, UnsafeBodyFileError) as exc:
        return Check("body model", False, str(exc), "choose another body file in Preferences or point --body at a "
                     "SMPL_NEUTRAL.pkl, or reinstall to restore the embedded open body "
                     "(models/body/SMPL_OPEN_NEUTRAL.pkl)")
    kind = "embedded open body" if body.is_embedded else "user-supplied SMPL file"
    return Check("body model", True, f"{kind}: {body.path} ({body.num_vertices} vertices); licence: {body.licence}")


def _settings_check(reading: SettingsReading) -> Check:
    path = settings_path()
    if reading.ignored:
        return Check("settings", False, "; ".join(reading.ignored),
                     f"start the app once: it moves {path} aside and saves the settings it uses in its place (or "
                     "repair the file yourself)", essential=False)
    chosen = reading.settings
    body = chosen.body_path or "embedded open body"
    origin = str(path) if path.is_file() else f"{path} (not saved yet: the defaults)"
    return Check("settings", True, f"{origin}: model {chosen.model}, device {chosen.device}, {body}", essential=False)


def _log_check() -> Check:
    path = log_file()
    state = "" if path.is_file() else " (not written yet)"
    return Check("log file", True, f"{path}{state}: the window's warnings and errors (Help ▸ Open Log Folder)",
                 essential=False)


def _device_check() -> Check:
    import torch

    if torch.cuda.is_available():
        return Check("torch device", True, f"GPU: {torch.cuda.get_device_name(0)} (torch {torch.__version__})")
    return Check("torch device", True, f"CPU ({os.cpu_count()} cores; no CUDA GPU found; torch {torch.__version__})",
                 essential=False)


def _mediapipe_check() -> Check:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        return Check("MediaPipe Pose", False, "mediapipe is not installed", "pip install mediapipe==0.10.21")
    root = Path(spec.origin).parent / "modules"
    needed = [root / "pose_detection" / "pose_detection.tflite", root / "pose_landmark" / "pose_landmark_full.tflite"]
    missing = [p.name for p in needed if not p.is_file()]
    if missing:
        return Check("MediaPipe Pose", False, f"model files missing: {', '.join(missing)}",
                     "install mediapipe==0.10.21, the last release that ships its pose models in the wheel")
    return Check("MediaPipe Pose", True, f"models present in {root}")


def _display_check() -> Check:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in {"offscreen", "minimal"}:
        return Check("display", True, f"Qt platform '{platform}' (no window is shown)", essential=False)
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return Check("display", False, "no DISPLAY or WAYLAND_DISPLAY: the window cannot open",
                     "use the headless CLI (`hkmr-studio infer`), or run under `xvfb-run -a`", essential=False)
    return Check("display", True, os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform,
                 essential=False)


def _versions_check() -> Check:
    names = ["hkmr-studio", "torch", "torchvision", "smplx", "mediapipe", "numpy", "PySide6-Essentials", "pyvista",
             "pyvistaqt", "vtk"]
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return Check("packages", True, ", ".join(parts), essential=False)


def run_checks(body_path: str | None = None) -> list[Check]:
    """All checks, in report order. Without `body_path`, the body chosen in the settings (as the window uses it)."""
    reading = read_settings()
    return [_body_check(body_path or reading.settings.body_path), _settings_check(reading), _log_check(), _device_check(),
            _mediapipe_check(), _display_check(), _versions_check()]


def format_report(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok " if c.ok else ("ERR" if c.essential else "-- ")
        lines.append(f"[{mark}] {c.name}: {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"      fix: {c.fix}")
    return "\n".join(lines)


def main(body_path: str | None = None) -> int:
    """Print the report; 0 when every essential check passed, 1 otherwise."""
    checks = run_checks(body_path)
    print(format_report(checks))
    return 0 if all(c.ok or not c.essential for c in checks) else 1
