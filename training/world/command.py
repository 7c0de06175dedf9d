"""`python -m training fit-world-errors`: fit the world-error model to MediaPipe's world landmarks on the rendered
set's training split (every 5th chunk held out to check it) and write the model and its data card."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.rendered.dataset import DEFAULT_DIR, RenderedSet, RenderedSetError
from training.repo_paths import shown_path
from training.samples.world_model import MODEL_PATH
from training.world import card
from training.world.fit import fit_world_errors, world_pairs


def add_parser(subparsers: Any) -> None:
    """Register the `fit-world-errors` sub-command."""
    parser = subparsers.add_parser(
        "fit-world-errors", help="fit how MediaPipe's world landmarks err, from the rendered set's training split",
        description=__doc__,
    )
    parser.add_argument("--rendered", type=Path, default=DEFAULT_DIR / "train.npz",
                        help="the rendered set's training split (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help="model file to write (default: %(default)s)")
    parser.add_argument("--card", type=Path, default=card.CARD_PATH, help="data card to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        rendered = RenderedSet.load(args.rendered, split="train")
    except RenderedSetError as error:
        print(error)
        return 2
    fitted, held_out = world_pairs(rendered).split()
    model = fit_world_errors(fitted)
    print(f"fitted on {len(fitted)} samples, {len(held_out)} held out; wrote {model.save(args.out)}")
    source = {"path": shown_path(args.rendered), "samples": len(rendered), "seed": rendered.info["seed"],
              "found": int(rendered.found.sum())}
    print(f"wrote {card.write(args.card, model, held_out, source)}")
    return 0
