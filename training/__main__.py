"""`python -m training <command>`: HKMR Studio's offline tools.

Each command lives in its own module, which registers a sub-parser through `add_parser(subparsers)` and sets the
parser's `run` default to a function taking the parsed arguments and returning an exit status.
"""

from __future__ import annotations

import argparse
import os
import sys

# Idle OpenMP workers spin by default; on a shared 2-core machine that spinning starved the working thread (evaluation
# ran ~7x slower). Set before torch is imported by the commands below; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from training import prepare_poses
from training.body import build as build_body
from training.evaluation import command as evaluate_command
from training.landmarks import calibrate as calibrate_landmarks
from training.poses import contact_sheet
from training.priors import command as train_priors
from training.rendered import command as render_set
from training.samples import card_command as camera_card
from training.trainer import export_command, flow_command, train_command
from training.world import command as fit_world_errors

COMMANDS = (build_body, calibrate_landmarks, prepare_poses, render_set, train_priors, train_command, flow_command,
            export_command, evaluate_command, contact_sheet, camera_card, fit_world_errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
