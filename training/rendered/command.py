"""`python -m training render-set`: rebuild the rendered set (MediaPipe Pose run on rendered bodies) and its data card.

Writes training/data/rendered/{train,test}.npz (git-ignored: about 40 minutes on 2 cores, rebuilt rather than
committed) and training/data/RENDERED_SET.md (how often MediaPipe finds the person, per pose family and background).
The test split uses its own seed, which training refuses, and is the realistic synthetic test set of
`python -m training evaluate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tqdm import tqdm

from training.rendered import card
from training.rendered.build import SplitSpec, build_split
from training.rendered.dataset import DEFAULT_DIR, RenderedSet
from training.trainer.config import RENDERED_TEST_SEED


def add_parser(subparsers: Any) -> None:
    """Register the `render-set` sub-command."""
    parser = subparsers.add_parser(
        "render-set", help="render bodies, run MediaPipe on them, store its landmarks with the truth",
        description=__doc__,
    )
    parser.add_argument("--train", type=int, default=20_000, help="training samples (default: %(default)s)")
    parser.add_argument("--test", type=int, default=2_000, help="test samples (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="the training split's seed (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="folder for train.npz and test.npz")
    parser.add_argument("--card", type=Path, default=card.CARD_PATH, help="data card to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.train < 0 or args.test < 0 or args.train + args.test == 0 or args.workers < 1:
        print("--train and --test must be >= 0 (not both 0) and --workers >= 1")
        return 2
    if args.seed == RENDERED_TEST_SEED:
        print(f"--seed {RENDERED_TEST_SEED} is the test split's seed; choose another")
        return 2
    specs = [SplitSpec("train", args.train, args.seed), SplitSpec("test", args.test, RENDERED_TEST_SEED)]
    built: dict[str, tuple[RenderedSet, float]] = {}
    for spec in specs:
        if spec.count == 0:
            continue
        with tqdm(total=spec.count, desc=f"{spec.split} split", unit="sample") as bar:

            def progress(done: int, bar: tqdm = bar, total: int = spec.count) -> None:
                bar.update(min(done, total) - bar.n)

            rendered, seconds = build_split(spec, args.workers, progress)
        path = rendered.save(args.out / f"{spec.split}.npz")
        print(f"{spec.split}: {len(rendered)} samples in {seconds / 60:.1f} min ({len(rendered) / seconds:.1f} "
              f"samples/s, {args.workers} processes); MediaPipe found the person in {rendered.found.mean():.1%}; "
              f"wrote {path}")
        built[spec.split] = (rendered, seconds)
    card.write(args.card, built, args.workers)
    print(f"wrote {args.card}")
    return 0
