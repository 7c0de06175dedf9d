"""`python -m training train --config FILE [--resume]`: train HKMR or HMR with PyTorch Lightning (see train.py).

Imports Lightning only when run, so that `python -m training` stays quick for the other commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    import yaml

    from training.trainer.config import ConfigError, load_config
    from training.trainer.train import train

    try:
        config = load_config(args.config)
    except (FileNotFoundError, yaml.YAMLError, ValueError) as exc:  # ConfigError and JSON errors are ValueErrors
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 2
    try:
        result = train(config, resume=args.resume)
    except ConfigError as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 2
    if result.model_file is not None:
        summary = result.module.training_summary()
        print(f"trained {summary['steps']} steps in {summary['seconds']:.0f} s; wrote {result.model_file}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train an HKMR or HMR regressor (PyTorch Lightning)",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="YAML or JSON run config (training/configs/)")
    parser.add_argument("--resume", action="store_true", help="continue the run in output.run_dir from its last.ckpt")
    parser.set_defaults(run=run)
