"""`python -m training train-flow --config FILE`: train the ProHMR pose flow beside a frozen regressor (flow_train.py).

Imports torch only when run, so that `python -m training` stays quick for the other commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    import yaml

    from hkmr_studio.checkpoints import ModelFileError
    from training.trainer.flow_train import load_flow_config, train_flow

    try:
        config = load_flow_config(args.config)
    except (FileNotFoundError, yaml.YAMLError, ValueError) as exc:  # ConfigError is a ValueError
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 2
    try:
        result = train_flow(config, log=lambda line: print(line, file=sys.stderr, flush=True))
    except ModelFileError as exc:
        print(f"error: {args.config}: base_model: {exc}", file=sys.stderr)
        return 2
    print(f"trained {result.summary['steps']} steps in {result.summary['seconds']:.0f} s; wrote {result.model_file}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train-flow", help="train the probabilistic variant's pose flow (ProHMR)",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="YAML config (training/configs/prohmr.yaml)")
    parser.set_defaults(run=run)
