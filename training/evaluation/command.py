"""`python -m training evaluate --model PATH [--model PATH2 ...]`: MPJPE / PA-MPJPE and the occlusion grid.

Writes evaluation.json and occlusion.png to --out and prints a table. With `--real`, scores the models on the real
multi-view benchmark instead (training.real: built once, about 5 minutes), MediaPipe's own world landmarks beside them,
and writes real.json; `--refine` adds the app's pipeline, Refine, the facing check and Flip to it. With `--facing`,
scores the app's facing check on the rendered test split by view angle and writes facing.json. Imports torch only
when run, so that `python -m training` stays quick for the other commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.rendered.dataset import DEFAULT_DIR, RenderedSetError

DEFAULT_OUT = Path("runs/evaluation")
DEFAULT_RENDERED = DEFAULT_DIR / "test.npz"
DEFAULT_REAL_DIR = Path("training/data/real")


def run(args: argparse.Namespace) -> int:
    if args.real:
        return run_real(args)
    if args.facing:
        return run_facing(args)
    if args.flow:
        return run_flow(args)
    import torch

    from hkmr_studio.atomic import atomic_write_text
    from hkmr_studio.checkpoints import ModelFileError
    from training.evaluation.evaluate import evaluate_models
    from training.evaluation.report import plot_occlusion, table
    from training.evaluation.testset import build_test_set

    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    rendered = args.rendered
    if rendered is None and DEFAULT_RENDERED.is_file():
        rendered = DEFAULT_RENDERED
    elif rendered is None:
        print(f"note: no rendered test split at {DEFAULT_RENDERED}; build it with `python -m training render-set` "
              "for errors on MediaPipe's own landmarks", file=sys.stderr)
    try:
        test_set = build_test_set(args.samples, args.occlusion_samples, per_family=args.per_family,
                                  rendered=rendered)
        results = evaluate_models(args.model, test_set, device)
    except (ModelFileError, RenderedSetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    atomic_write_text(args.out / "evaluation.json", json.dumps(results, indent=2))
    plot_occlusion(results, args.out / "occlusion.png")
    print(table(results))
    print(f"wrote {args.out / 'evaluation.json'} and {args.out / 'occlusion.png'} in {results['seconds']:.0f} s")
    return 0


def run_real(args: argparse.Namespace) -> int:
    """Score MediaPipe's world landmarks and the models on the real benchmark; write real.json, print the table."""
    import torch

    from hkmr_studio.atomic import atomic_write_text
    from hkmr_studio.checkpoints import ModelFileError, load_checkpoint
    from training.real.benchmark import load_or_build
    from training.real.report import table
    from training.real.scoring import evaluate_real

    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        models = [load_checkpoint(path) for path in args.model]
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    benchmark = load_or_build(args.real_dir, log=lambda line: print(line, file=sys.stderr))
    results = evaluate_real(benchmark.capture.cameras, benchmark.detections, benchmark.truth, models, device)
    if args.refine:
        from training.real.app_pipeline import evaluate_app
        from training.real.scoring import collect_samples

        samples = collect_samples(benchmark.capture.cameras, benchmark.detections, benchmark.truth)
        results["app"] = {spec: evaluate_app(spec, samples, args.device) for spec in args.model}
        for app in results["app"].values():
            results["rows"].update(app.pop("rows"))
    atomic_write_text(args.out / "real.json", json.dumps(results))
    print(table(results))
    if args.refine:
        from training.real.app_pipeline import table as app_table

        for spec, app in results["app"].items():
            print(f"\n{spec} as the app runs it:\n{app_table(app)}")
    print(f"wrote {args.out / 'real.json'}")
    return 0


def run_flow(args: argparse.Namespace) -> int:
    """Score each model's pose flow (training.evaluation.flow); write flow.json, print the table."""
    from hkmr_studio.atomic import atomic_write_text
    from hkmr_studio.checkpoints import ModelFileError, load_checkpoint
    from hkmr_studio.nets.probabilistic import NoFlowError
    from training.evaluation.flow import evaluate_flow, table
    from training.evaluation.testset import build_test_set

    rendered = args.rendered if args.rendered is not None else (DEFAULT_RENDERED if DEFAULT_RENDERED.is_file() else None)
    try:
        models = [load_checkpoint(path) for path in args.model]
        test_set = build_test_set(args.samples, args.occlusion_samples, per_family=args.per_family, rendered=rendered)
        real = _real_flow_inputs(models[0], args.real_dir) if (args.real_dir / "pseudo_truth.npz").is_file() else None
        results = [evaluate_flow(model, test_set, args.flow_rows, real, args.refit_views,
                                 log=lambda line: print(line, file=sys.stderr)) for model in models]
    except (ModelFileError, NoFlowError, RenderedSetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    atomic_write_text(args.out / "flow.json", json.dumps(results, indent=2))
    print("\n\n".join(table(r) for r in results))
    print(f"wrote {args.out / 'flow.json'}")
    return 0


def _real_flow_inputs(model, real_dir: Path):
    """The real benchmark's views for `model` (training.evaluation.flow_refit_inputs), already built in real_dir."""
    from training.evaluation.flow_refit_inputs import real_inputs
    from training.real.benchmark import load_or_build
    from training.real.scoring import collect_samples

    benchmark = load_or_build(real_dir, log=lambda line: print(line, file=sys.stderr))
    return real_inputs(model, collect_samples(benchmark.capture.cameras, benchmark.detections, benchmark.truth))


def run_facing(args: argparse.Namespace) -> int:
    """Score the app's facing check on the rendered test split by view angle; write facing.json, print the table."""
    from hkmr_studio.atomic import atomic_write_text
    from training.evaluation.facing import facing_by_view, table
    from training.rendered.dataset import RenderedSet

    try:
        rendered = RenderedSet.load(args.rendered or DEFAULT_RENDERED, split="test")
    except RenderedSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = [facing_by_view(spec, rendered, args.device) for spec in args.model]
    atomic_write_text(args.out / "facing.json", json.dumps(results))
    print("\n\n".join(table(r) for r in results))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from training.evaluation import DEFAULT_OCCLUSION_SAMPLES, DEFAULT_PER_FAMILY, DEFAULT_SAMPLES

    parser = subparsers.add_parser("evaluate", help="MPJPE, PA-MPJPE and occlusion robustness of model files",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True,
                        help="a model file or shipped model name; repeat to compare (e.g. HKMR against HMR)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="test samples (default %(default)s)")
    parser.add_argument("--occlusion-samples", type=int, default=DEFAULT_OCCLUSION_SAMPLES,
                        help="of them, how many get the occlusion grid (x 24 joints x 15; default %(default)s)")
    parser.add_argument("--per-family", type=int, default=DEFAULT_PER_FAMILY,
                        help="samples per pose family (training.poses) for errors per family; 0: none "
                             "(default %(default)s)")
    parser.add_argument("--rendered", type=Path, default=None,
                        help="the rendered set's test split (python -m training render-set) for errors on MediaPipe's "
                             f"own landmarks per pose family (default: {DEFAULT_RENDERED} if it exists)")
    parser.add_argument("--device", default="auto", help="auto (a GPU if there is one), cpu or cuda")
    parser.add_argument("--real", action="store_true",
                        help="score on the real multi-view benchmark (pose2sim's Demo_MultiPerson, fetched with pip "
                             "and triangulated once) instead of the synthetic sets")
    parser.add_argument("--facing", action="store_true",
                        help="score the app's facing check by view angle on the rendered test split (--rendered) "
                             "instead (training.evaluation.facing)")
    parser.add_argument("--flow", action="store_true",
                        help="score a probabilistic model's pose flow instead (training.evaluation.flow): the mode, "
                             "min-of-n for n = 1, 10, 100, 1000, the truth's log-likelihood, the spread under "
                             "occlusion, per pose family and on the real benchmark when it is built; writes flow.json")
    parser.add_argument("--flow-rows", type=int, default=256,
                        help="with --flow: rows of the standard set that get min-of-n (default %(default)s)")
    parser.add_argument("--refit-views", type=int, default=0,
                        help="with --flow: compare the flow-prior refit with SMPLify on this many views of the "
                             "rendered test split and of the real benchmark (seconds per view; default none)")
    parser.add_argument("--refine", action="store_true",
                        help="with --real: also run each model through the app's pipeline, with and without Refine, "
                             "and score Refine, the facing check and Flip (training.real.app_pipeline; minutes)")
    parser.add_argument("--real-dir", type=Path, default=DEFAULT_REAL_DIR,
                        help=f"where the real benchmark is built and kept (default {DEFAULT_REAL_DIR})")
    parser.set_defaults(run=run)
