"""What the About box and `doctor` say about this installation (Qt-free): the version, the body and model files in
use with their licences (from NOTICE), and where the settings and the log live."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from hkmr_studio.checkpoints import resolve_model_path
from hkmr_studio.fitting.priors import gmm_prior_path, vae_prior_path
from hkmr_studio.logs import log_file
from hkmr_studio.resources import embedded_body_path, models_dir
from hkmr_studio.settings import settings_path

DISTRIBUTION = "hkmr-studio"
PROJECT_LICENCE = "Apache-2.0, like HKMR Studio itself (see NOTICE)"
NOT_SHIPPED_LICENCE = "not shipped with HKMR Studio: the terms under which you obtained it"
_SECTION_RULE = re.compile(r"^-{20,}$", re.MULTILINE)


@dataclass
class LicensedFile:
    """A file the app runs with: what it is for, where it is, and the terms it comes under."""

    role: str
    path: Path
    licence: str


@dataclass
class AboutFacts:
    version: str
    files: list[LicensedFile]
    settings_file: Path
    log_file: Path


def app_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def notice_text() -> str:
    """NOTICE from the source checkout, or from the installed package's licence files; '' when neither has it."""
    checkout = Path(__file__).resolve().parent.parent / "NOTICE"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    try:
        files = importlib.metadata.distribution(DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "NOTICE":
            return Path(str(file.locate())).read_text(encoding="utf-8")
    return ""


def notice_for(shipped_name: str, notice: str) -> str:
    """The terms NOTICE gives for `shipped_name` (e.g. "models/hkmr/model.pt"): the text of the section whose heading
    names the file or a folder above it, in one paragraph; '' when no section does."""
    names = [shipped_name, *(p.as_posix() for p in Path(shipped_name).parents if len(p.parts) >= 2)]
    for section in _SECTION_RULE.split(notice)[1:]:
        lines = section.strip("\n").splitlines()
        heading = " ".join(line for line in lines if line and not line.startswith(" "))
        if any(re.search(re.escape(name) + r"(?![\w.-])", heading) for name in names):
            return " ".join(" ".join(line.split()) for line in lines if line.startswith(" "))
    return ""


def _licensed(role: str, path: Path, notice: str) -> LicensedFile:
    """`path` with the licence NOTICE gives it when it ships with the app, else the user's own terms."""
    try:
        shipped_name = "models/" + path.resolve().relative_to(models_dir().resolve()).as_posix()
    except ValueError:
        return LicensedFile(role, path, NOT_SHIPPED_LICENCE)
    return LicensedFile(role, path, notice_for(shipped_name, notice) or PROJECT_LICENCE)


def _mediapipe_models() -> LicensedFile | None:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        return None
    licence = importlib.metadata.metadata("mediapipe").get("License") or "see the mediapipe package"
    return LicensedFile("MediaPipe Pose models (keypoint detection)", Path(spec.origin).parent / "modules",
                        f"{licence}, shipped in the mediapipe {importlib.metadata.version('mediapipe')} package")


def about_facts(model: str, body_path: str | None) -> AboutFacts:
    """The facts for the regressor `model` (a shipped name or a file) and the body file `body_path` (None: the
    embedded open body), as the window or a command uses them."""
    notice = notice_text()
    files = [_licensed("body model", Path(body_path) if body_path else embedded_body_path(), notice),
             _licensed(f"regressor ({model})", resolve_model_path(model), notice),
             _licensed("pose prior for Refine (mixture)", gmm_prior_path(), notice),
             _licensed("pose prior for Refine (VAE)", vae_prior_path(), notice)]
    mediapipe = _mediapipe_models()
    if mediapipe is not None:
        files.append(mediapipe)
    return AboutFacts(version=app_version(), files=files, settings_file=settings_path(), log_file=log_file())


def format_about(facts: AboutFacts) -> str:
    """The facts as plain text, one paragraph per file."""
    lines = [f"HKMR Studio {facts.version}", ""]
    for item in facts.files:
        lines += [f"{item.role}: {item.path}", f"  licence: {item.licence}", ""]
    lines += [f"settings: {facts.settings_file}", f"log: {facts.log_file}"]
    return "\n".join(lines)
