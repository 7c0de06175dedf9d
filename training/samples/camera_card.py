"""The cameras' data card (training/data/CAMERAS.md): the view and camera distributions of the sample generator's
defaults, stated from SampleConfig (exact quantiles of its mixtures) and measured on its batches (how large the person
appears, how often and where the photo's border cuts them), so that the card says what the code does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.geometry.cameras import FRAME_SIDE_MM, field_of_view_deg
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from training.samples import mixtures
from training.samples.generator import SampleConfig, SampleGenerator
from training.trainer.data import true_landmark_pixels

CARD_PATH = Path(__file__).resolve().parents[1] / "data" / "CAMERAS.md"
COMMAND = "python -m training camera-card"
LEVELS = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
#: Share of the measured samples in pose families, as the default training configs draw them.
FAMILY_FRACTION = 0.3
#: Landmark pairs whose both members beyond the border say where a person is cut.
CUT_AT = {"feet": ("left_ankle", "right_ankle"), "knees": ("left_knee", "right_knee"),
          "hips": ("left_hip", "right_hip"), "shoulders": ("left_shoulder", "right_shoulder"),
          "head": ("nose", "nose")}  # fmt: skip

_WHY = f"""\
# Cameras of the synthetic samples and the rendered set

Written by `{COMMAND}` from `SampleConfig`'s defaults (training/samples/generator.py); a test
checks that the stated distributions below are what the code draws. The rendered set (training/data/RENDERED_SET.md)
uses them too, with pinhole cameras only.

## Why these distributions

Photos of people are taken from eye level far more often than from anywhere else, but a large share look down on the
person: a phone held above the head, a tripod on a table, a balcony or stairs, a standing photographer and a sitting,
kneeling or lying person, security cameras and camera rigs (the calibrated 4-camera rig this app is checked against
hangs at about 1.9 m and looks down 30-40 degrees). Some look up (a camera on the ground, a child's height). The
previous generator drew pitch ~ N(0, 10 degrees) clipped at +-30, roll ~ N(0, 5), 25-60 degrees field of view and a
person always 45-100 % of the photo, seldom cut: views from more than 20 degrees above were 2 % of the samples.

- View: yaw (the person's heading) uniform over the circle, so back and side views are as common as front views.
  Pitch is the camera's optical axis below the horizon (positive: looking down on the person; a standing person's head
  is then nearer the camera than the feet); roll turns the horizon in the photo. Pitch and roll are mixtures of
  uniform intervals ([weight, low, high], degrees).
- Lens: the 35 mm-equivalent focal length f, the square photo standing for the {FRAME_SIDE_MM:g} mm long side of a 35 mm
  frame (field of view across the photo = 2 atan({FRAME_SIDE_MM / 2:g} mm / f); for 3:2 and 16:9 frames this matches
  the usual diagonal-based equivalence within 4 %), log-uniform within each mode: phones' main cameras (23-28 mm), a
  little wider (20-23 mm: wide zooms, phones' 0.8x), normal to short tele (28-85 mm: 2-3x phone lenses, portrait
  lenses) and long tele (85-135 mm). The rig's 1,680 px focal length on 1,920 px is 31.5 mm.
- Projection: pinhole for most samples (every photo is one: near wide-angle people are foreshortened and people off the
  photo's centre are seen obliquely, which weak perspective cannot show); the rest weak perspective, the network's
  own camera model, whose 2D labels it can fit exactly.
- Person: the part of the person inside the photo spans `fill_range` of the photo's side (its longer side), centred
  anywhere it fits. `truncation_fraction` of the photos cut the person: most of them (`bottom_cut_share`) by the
  bottom border, below a share of the person's height drawn from `bottom_cut_range` (feet, shins, knees, thighs,
  waist), the others on any side by up to `max_overhang` of the person's size. No landmark comes nearer the camera
  than 0.5 m.
"""


def _row(name: str, values: np.ndarray, unit: str = "", digits: int = 1) -> str:
    return f"| {name} | " + " | ".join(f"{v:.{digits}f}{unit}" for v in values) + " |"


def _header(label: str) -> list[str]:
    return [f"| {label} | " + " | ".join(f"{100 * q:g} %" for q in LEVELS) + " |", "|---" * (len(LEVELS) + 1) + "|"]


def _modes(modes: mixtures.Modes, unit: str) -> str:
    total = sum(m[0] for m in modes)
    return ", ".join(f"{m[0] / total:.0%} in [{m[1]:g}, {m[2]:g}]{unit}" for m in modes)


def stated(config: SampleConfig) -> str:
    """The card's section on the distributions as SampleConfig states them: parameters and exact quantiles."""
    pitch = mixtures.quantiles(config.pitch_modes, LEVELS)
    roll = mixtures.quantiles(config.roll_modes, LEVELS)
    lens = mixtures.quantiles(config.lens_modes_mm, LEVELS, log=True)
    fov = field_of_view_deg(torch.as_tensor(lens), FRAME_SIDE_MM).numpy()  # f / side: mm on the film, px on the photo

    def share(modes: mixtures.Modes, low: float, high: float, log: bool = False) -> float:
        return float(mixtures.cdf(modes, np.array(high), log) - mixtures.cdf(modes, np.array(low), log))

    down, up = config.pitch_modes, config.roll_modes
    lines = [
        "## The distributions (SampleConfig defaults)", "",
        (f"- pitch_modes: {_modes(down, ' deg')}. Looking down more than 10 deg: {share(down, 10, 90):.0%}, more "
        f"than 30 deg: {share(down, 30, 90):.0%}; looking up more than 5 deg: {share(down, -90, -5):.0%}."),
        (f"- roll_modes: {_modes(up, ' deg')}. |roll| above 5 deg: {1 - share(up, -5, 5):.0%}, above 10 deg: "
        f"{1 - share(up, -10, 10):.0%}."),
        (f"- lens_modes_mm (35 mm equivalent, log-uniform in each): {_modes(config.lens_modes_mm, ' mm')}. Wider than "
        f"24 mm: {share(config.lens_modes_mm, 1, 24, True):.0%}; longer than 70 mm: "
        f"{share(config.lens_modes_mm, 70, 1000, True):.0%}."),
        (f"- perspective_fraction {config.perspective_fraction:g} pinhole (the rest weak perspective); fill_range "
        f"{list(config.fill_range)}; truncation_fraction {config.truncation_fraction:g}, of which bottom_cut_share "
        f"{config.bottom_cut_share:g} cut below bottom_cut_range {list(config.bottom_cut_range)} of the height, the "
        f"others by up to max_overhang {config.max_overhang:g} person sizes; photo {config.photo_px:g} px square."),
        "", "Quantiles (exact, from the mixtures):", "",
        *_header("quantity"),
        _row("pitch (deg)", pitch), _row("roll (deg)", roll), _row("35 mm-equivalent focal (mm)", lens),
        _row("field of view across the photo (deg)", fov),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def measured(config: SampleConfig, samples: int) -> str:
    """The card's section measured on one batch of `samples` exact (uncorrupted) samples of `config`."""
    config = replace(config, batch_size=samples, corrupt=False, family_fraction=FAMILY_FRACTION)
    with torch.no_grad():
        batch = SampleGenerator(config).batch(0)
    pixels = true_landmark_pixels(batch, config.photo_px)
    chosen = ~batch["truncated"][..., None]
    low = torch.where(chosen, pixels, torch.inf).amin(dim=1)
    high = torch.where(chosen, pixels, -torch.inf).amax(dim=1)
    fill = ((high - low).amax(dim=1) / config.photo_px).numpy()
    distance = batch["transl"][:, 2].numpy()
    truncated = batch["truncated"].numpy()
    cut = truncated.any(axis=1)
    index = {name: MEDIAPIPE_LANDMARK_NAMES.index(name) for pair in CUT_AT.values() for name in pair}
    places = ", ".join(
        f"{place} {truncated[:, [index[a], index[b]]].all(axis=1).mean():.1%}" for place, (a, b) in CUT_AT.items()
    )
    lines = [
        f"## Measured on {samples} samples", "",
        (f"One batch of the generator (seed {config.seed}, {FAMILY_FRACTION:.0%} pose families as the default training "
        "configs draw them, exact landmarks)."), "",
        *_header("quantity"),
        _row("fill: the landmarks inside the photo, longer side / photo side", np.quantile(fill, LEVELS), digits=2),
        _row("camera to body distance (m)", np.quantile(distance, LEVELS), digits=2),
        "",
        (f"- Cut by the photo's border (a landmark outside it): {cut.mean():.1%} of the samples. Both landmarks "
        f"outside: {places}."),
        f"- Pinhole: {batch['perspective'].float().mean():.1%}.",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def write(path: Path = CARD_PATH, config: SampleConfig | None = None, samples: int = 8192) -> Path:
    """Write the card for `config` (default: SampleConfig's defaults)."""
    config = config or SampleConfig()
    return atomic_write_text(path, "\n".join([_WHY, stated(config), measured(config, samples)]))
