"""`python -m training export --run DIR --out PATH`: the app's model file from a training run's Lightning checkpoint.

Imports torch and the trainer only when run, so that `python -m training` stays quick for the other commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    from training.trainer.export import LAST_CHECKPOINT, export_checkpoint

    if args.checkpoint is None and args.run_dir is None:
        print("error: give --run DIR (a training run folder) or --checkpoint FILE", file=sys.stderr)
        return 2
    checkpoint = args.checkpoint or args.run_dir / LAST_CHECKPOINT
    if not Path(checkpoint).is_file():
        print(f"error: no checkpoint at {checkpoint}; give the run folder of `python -m training train` "
              "(its output.run_dir) or --checkpoint FILE", file=sys.stderr)
        return 2
    try:
        path = export_checkpoint(checkpoint, args.out)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="write the app's model file from a training run's checkpoint",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--run", dest="run_dir", type=Path, help="the run folder (the config's output.run_dir)")
    parser.add_argument("--out", type=Path, required=True, help="model file to write, e.g. models/hkmr/model.pt")
    parser.add_argument("--checkpoint", type=Path, help="a checkpoint other than RUN/checkpoints/last.ckpt")
    parser.set_defaults(run=run)
