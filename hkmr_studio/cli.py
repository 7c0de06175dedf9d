"""The `hkmr-studio` command: the window by default, plus headless subcommands."""

from __future__ import annotations

import argparse
import sys


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hkmr-studio", description="Interactive 3D human mesh recovery with HKMR.")
    parser.add_argument("--body", help="a SMPL-format body file (.pkl/.npz) instead of the embedded open body")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("doctor", help="report the body model, device, MediaPipe models, display and versions")
    bench = sub.add_parser("bench", help="print speed benchmarks measured on this machine")
    bench.add_argument("what", choices=["regressors", "fitting"], help="which benchmark")
    bench.add_argument("--device", default=None, help="torch device (default: CPU, and the GPU too when present)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "doctor":
        from hkmr_studio import doctor

        return doctor.main(args.body)
    if args.command == "bench":
        if args.what == "regressors":
            from hkmr_studio.bench import regressors

            print(regressors.run(args.device))
        else:
            from hkmr_studio.bench import fitting

            print(fitting.run())
        return 0
    _build_parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
