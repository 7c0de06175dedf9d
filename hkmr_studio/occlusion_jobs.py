"""The occlusion lab's experiments as a Qt-free job: a frozen `OcclusionRequest` (built on the GUI thread from plain
values) goes in, `OcclusionJobs.run` yields progress and returns a frozen `OcclusionOutcome`.

The job keeps the probe (MediaPipe and the compared models) and the unoccluded reference run between requests, the
reference keyed by the photo's content (a digest of its pixels), not by which object holds them: the same pixels in
a new array reuse it, changed pixels run it again. `run` yields a status line (str) before a single run and (done,
total) after each run of a sweep; closing the generator (a thread worker's quit) cancels before the next run. A
job holds MediaPipe: call it from one thread.

Coordinates: photo pixels (x right, y down); angles in radians, as in hkmr_studio.occlusion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from dataclasses import dataclass

from hkmr_studio.body import kinematics
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS, Occluder, OccluderKind, make_occluder
from hkmr_studio.occlusion_probe import (
    DegreeCurves,
    Displacement,
    Heatmap,
    OcclusionProbe,
    ProbeRun,
    Progress,
    degree_sweep,
    grid_sweep,
    joint_occluder,
)
from hkmr_studio.pipeline.images import LoadedImage

#: What `OcclusionJobs.run` yields: a status line before a single run, or (runs done, runs in all) during a sweep.
JobProgress = str | Progress


@dataclass(frozen=True)
class OccluderSettings:
    """The occluder the lab paints: kind, degree of occlusion (1-5) and angle (radians from +x towards +y)."""

    kind: OccluderKind
    degree: int
    angle: float


@dataclass(frozen=True)
class Comparison:
    """One occluder painted in: the occluded photo's run and how far each model's joints moved from the reference."""

    occluder: Occluder
    run: ProbeRun
    displacement: Displacement


def _compare(probe: OcclusionProbe, reference: ProbeRun, occluder: Occluder, status: str
             ) -> Generator[JobProgress, None, Comparison]:
    """Say `status`, then run the photo with `occluder` painted in against `reference`."""
    yield status
    return Comparison(occluder, *probe.occlude(reference, occluder))


@dataclass(frozen=True)
class PlaceOccluder:
    """Paint the occluder centred at photo pixel `center` (x, y) and compare."""

    center: tuple[float, float]

    def run(self, probe: OcclusionProbe, reference: ProbeRun, occluder: OccluderSettings
            ) -> Generator[JobProgress, None, Comparison]:
        shape = make_occluder(occluder.kind, occluder.degree, self.center, occluder.angle,
                              crop_size=reference.first.crop[2])
        return (yield from _compare(probe, reference, shape, "Running the occluded photo…"))


@dataclass(frozen=True)
class OccludeJoint:
    """Paint the occluder centred on SMPL joint `joint` as the first model projects it, and compare."""

    joint: int

    def run(self, probe: OcclusionProbe, reference: ProbeRun, occluder: OccluderSettings
            ) -> Generator[JobProgress, None, Comparison]:
        shape = joint_occluder(reference, self.joint, occluder.kind, occluder.degree, occluder.angle)
        return (yield from _compare(probe, reference, shape, f"Occluding {kinematics.JOINT_NAMES[self.joint]}…"))


@dataclass(frozen=True)
class GridSweep:
    """Slide the occluder over `cells` x `cells` cells of the person's crop: a heatmap (`grid_sweep`)."""

    cells: int

    def run(self, probe: OcclusionProbe, reference: ProbeRun, occluder: OccluderSettings
            ) -> Generator[JobProgress, None, Heatmap]:
        return (yield from grid_sweep(probe, reference, occluder.kind, occluder.degree, self.cells, occluder.angle))


@dataclass(frozen=True)
class DegreeSweep:
    """Occlude each of `joints` (None: all 24) with every kind and degree at the occluder's angle (`degree_sweep`);
    the occluder's own kind and degree are not used."""

    kinds: tuple[str, ...] = OCCLUDER_KINDS
    degrees: tuple[int, ...] = DEGREES
    joints: tuple[int, ...] | None = None

    def run(self, probe: OcclusionProbe, reference: ProbeRun, occluder: OccluderSettings
            ) -> Generator[JobProgress, None, DegreeCurves]:
        return (yield from degree_sweep(probe, reference, self.kinds, self.degrees, self.joints, occluder.angle))


Experiment = PlaceOccluder | OccludeJoint | GridSweep | DegreeSweep


@dataclass(frozen=True)
class OcclusionRequest:
    """One experiment on one photo: the photo as analysed, the compared models (model specs, the first detects),
    device (auto | cpu | gpu), body file (None: the embedded body), the occluder and the experiment."""

    image: LoadedImage
    models: tuple[str, ...]
    device: str
    body_path: str | None
    occluder: OccluderSettings
    experiment: Experiment

    @property
    def probe_key(self) -> tuple[tuple[str, ...], str, str | None]:
        return self.models, self.device, self.body_path


@dataclass(frozen=True)
class OcclusionOutcome:
    """A finished experiment: its request, model spec -> model name (as the models call themselves), and its
    result (a Comparison for a single occluder, a Heatmap or DegreeCurves for a sweep)."""

    request: OcclusionRequest
    labels: dict[str, str]
    result: Comparison | Heatmap | DegreeCurves


def image_digest(image: LoadedImage) -> str:
    """A digest of the photo's pixels and size: equal for equal content, whichever array holds it."""
    rgb = image.rgb
    digest = hashlib.blake2b(f"{rgb.shape} {rgb.dtype}".encode(), digest_size=16)
    digest.update(memoryview(rgb if rgb.flags.c_contiguous else rgb.copy()).cast("B"))
    return digest.hexdigest()


class OcclusionJobs:
    """Runs OcclusionRequests, keeping the probe while the models, device and body stay, and the reference run
    while the photo's content stays too."""

    def __init__(self) -> None:
        self._probe: tuple[tuple, OcclusionProbe] | None = None  # (probe key, probe)
        self._reference: tuple[str, ProbeRun] | None = None  # (image digest, the unoccluded run)

    def run(self, request: OcclusionRequest) -> Generator[JobProgress, None, OcclusionOutcome]:
        """The unoccluded reference (unless kept), then the request's experiment."""
        probe = self._probe_for(request)
        digest = image_digest(request.image)
        if self._reference is None or self._reference[0] != digest:
            yield "Running the unoccluded photo…"
            self._reference = (digest, probe.run(request.image))
        reference = self._reference[1]
        if not reference.found:
            raise ValueError("a model found no body in the unoccluded photo, so there is nothing to compare")
        result = yield from request.experiment.run(probe, reference, request.occluder)
        labels = {spec: run.model_name or spec for spec, run in reference.results.items()}
        return OcclusionOutcome(request, labels, result)

    def close(self) -> None:
        """Release MediaPipe (on the thread that used it); the next run starts afresh."""
        if self._probe is not None:
            self._probe[1].close()
        self._probe, self._reference = None, None

    def _probe_for(self, request: OcclusionRequest) -> OcclusionProbe:
        if self._probe is None or self._probe[0] != request.probe_key:
            self.close()
            self._probe = (request.probe_key, OcclusionProbe(request.models, request.body_path, request.device))
        return self._probe[1]
