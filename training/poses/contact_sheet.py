"""`python -m training contact-sheet`: a PNG of rendered samples of every pose family, for a person to look at.

Each family gets a row of crops: the sample generator's bodies in that family's poses (seeded), rendered by the RGB
crop renderer (training/samples/rgb_crops.py: random clothing colours, lights and procedural backgrounds) through
the sample's own camera. Written beside the data card (training/data/POSE_FAMILIES.md) by default.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path("training/data/pose_families.png")
THUMB_PX = 128
LABEL_PX = 170
FAMILIES_PER_ROW = 2
SEED = 11


def family_crops(per_family: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """family name -> (per_family, THUMB_PX, THUMB_PX, 3) uint8 rendered crops of that family's samples."""
    from training.poses.families import FAMILIES
    from training.samples.generator import SampleConfig, SampleGenerator
    from training.samples.rgb_crops import CropRenderer

    crops: dict[str, np.ndarray] = {}
    renderer: CropRenderer | None = None
    for index, name in enumerate(FAMILIES):
        config = SampleConfig(batch_size=per_family, seed=seed, corrupt=False, truncation_fraction=0.0,
                              family_fraction=1.0, family_weights={name: 1.0})
        generator = SampleGenerator(config)
        renderer = renderer or CropRenderer(generator.body.body, THUMB_PX, config.photo_px)
        crops[name], _ = renderer.render(generator.batch(0), np.random.default_rng([seed, index]))
    return crops


def contact_sheet(crops: dict[str, np.ndarray]) -> np.ndarray:
    """Lay the crops out, FAMILIES_PER_ROW families per row, each a label and its crops: (H, W, 3) uint8."""
    from PIL import Image, ImageDraw

    names = list(crops)
    per_family = len(next(iter(crops.values())))
    cell_w = LABEL_PX + per_family * THUMB_PX
    rows = -(-len(names) // FAMILIES_PER_ROW)
    sheet = Image.new("RGB", (FAMILIES_PER_ROW * cell_w, rows * THUMB_PX), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(names):
        x, y = (i % FAMILIES_PER_ROW) * cell_w, (i // FAMILIES_PER_ROW) * THUMB_PX
        draw.text((x + 8, y + THUMB_PX // 2 - 6), name.replace("_", " "), fill=(20, 20, 20))
        for k, crop in enumerate(crops[name]):
            sheet.paste(Image.fromarray(crop), (x + LABEL_PX + k * THUMB_PX, y))
    return np.asarray(sheet)


def run(args: argparse.Namespace) -> int:
    import io

    from PIL import Image

    from hkmr_studio.atomic import atomic_write_bytes

    sheet = contact_sheet(family_crops(args.per_family))
    buffer = io.BytesIO()
    Image.fromarray(sheet).quantize(colors=256).save(buffer, "PNG", optimize=True)  # a palette: a quarter the size
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f"wrote {args.out} ({sheet.shape[1]} x {sheet.shape[0]} px, {args.per_family} samples per family)")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("contact-sheet", help="a PNG of rendered samples of every pose family",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=4, help="samples per family (default %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"PNG to write (default {DEFAULT_OUT})")
    parser.set_defaults(run=run)
