"""`python -m training camera-card`: write the cameras' data card (training/data/CAMERAS.md) from SampleConfig."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.samples import camera_card


def add_parser(subparsers: Any) -> None:
    """Register the `camera-card` sub-command."""
    parser = subparsers.add_parser("camera-card", help="write the synthetic cameras' data card", description=__doc__)
    parser.add_argument("--samples", type=int, default=8192, help="samples measured (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=camera_card.CARD_PATH, help="card to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.samples < 1:
        print("--samples must be at least 1")
        return 2
    print(f"wrote {camera_card.write(args.out, samples=args.samples)}")
    return 0
