"""What `hkmr-studio infer` did with each photo: the summary it prints and the report.json it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

REPORT_FORMAT = "hkmr-studio-infer-report/1"


@dataclass
class BatchReport:
    """What happened to each input: paths written per image (and the recovered body's facing check), the images with
    a person but no body the app could trust (`PipelineResult.refused`), the images skipped or failed, with the
    reason, and, when the batch stopped early (`stopped` says why), the images it did not reach."""

    INTERRUPTED: ClassVar[str] = "interrupted (Ctrl-C); run again on the photos not processed"

    written: dict[Path, list[Path]] = field(default_factory=dict)
    facing: dict[Path, dict[str, object]] = field(default_factory=dict)
    people: dict[Path, list[dict[str, object]]] = field(default_factory=dict)  # per photo: each chosen person
    not_recovered: dict[Path, str] = field(default_factory=dict)
    no_person: dict[Path, str] = field(default_factory=dict)
    unreadable: dict[Path, str] = field(default_factory=dict)
    failed: dict[Path, str] = field(default_factory=dict)
    not_processed: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stopped: str = ""
    report_error: str = ""  # why report.json could not be written

    @property
    def processed(self) -> int:
        return len(self.written) + len(self.not_recovered) + len(self.no_person)

    @property
    def interrupted(self) -> bool:
        return self.stopped == self.INTERRUPTED

    def add_warnings(self, path: Path, messages: list[str]) -> None:
        """Note `messages` about the image at `path`, each once."""
        self.warnings += [line for line in (f"{path.name}: {m}" for m in messages) if line not in self.warnings]

    def stop(self, reason: str, rest: list[Path]) -> None:
        """The batch stopped for `reason` before the images `rest` (those not yet reported are not processed)."""
        self.stopped = reason
        known = {*self.written, *self.not_recovered, *self.no_person, *self.unreadable, *self.failed}
        self.not_processed += [p for p in rest if p not in known and p not in self.not_processed]

    def summary(self, out_dir: Path) -> str:
        total = self.processed + len(self.unreadable) + len(self.failed) + len(self.not_processed)
        bodies = sum(sum(p["status"] == "recovered" for p in self.people.get(path, ())) or 1 for path in self.written)
        line = (f"{_count(total, 'image')}: {_count(bodies, 'body', 'bodies')} recovered, "
                f"{len(self.not_recovered)} could not be recovered, {len(self.no_person)} without a person, "
                f"{len(self.unreadable)} unreadable")
        line += f", {len(self.failed)} failed" if self.failed else ""
        line += f", {len(self.not_processed)} not processed" if self.not_processed else ""
        return f"{line}; outputs in {out_dir}"

    def to_json(self) -> dict[str, object]:
        """The report as report.json holds it: one entry per input with its status ("recovered", "not_recovered",
        "no_person", "unreadable", "failed" or "not_processed"), message, files written and facing check (of a photo
        with one person chosen), its people (label, box, source, score, status, message, facing, outputs; null when
        none was looked at); why the batch stopped early, or null."""
        images: list[dict[str, object]] = [
            {"image": str(path), "status": "recovered", "outputs": [str(f) for f in files],
             "facing": self.facing.get(path), "people": self.people.get(path)} for path, files in self.written.items()]
        for status, entries in (("not_recovered", self.not_recovered), ("no_person", self.no_person),
                                ("unreadable", self.unreadable), ("failed", self.failed)):
            images += [{"image": str(path), "status": status, "message": message, "people": self.people.get(path)}
                       for path, message in entries.items()]
        images += [{"image": str(path), "status": "not_processed", "message": self.stopped}
                   for path in self.not_processed]
        return {"format": REPORT_FORMAT, "images": images, "warnings": list(self.warnings),
                "stopped": self.stopped or None}


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
