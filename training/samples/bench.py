"""`python -m training.samples.bench`: how fast the sample generator makes batches on this machine.

Prints the median wall-clock time per batch and samples per second, and, measured in the same run (interleaved, so
other jobs on a shared machine slow both alike), the ratio to one full-mesh forward pass of the body for as many
bodies: the cost the generator avoids by posing only joints, landmark vertices and surface points. Then the same for
batches with rendered RGB crops (training.samples.rgb_crops, for the image encoders): crops per second in one process.
The first batch of each (warm-up) is not counted.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from hkmr_studio.body.model import load_body_model
from training.samples.generator import SampleConfig, SampleGenerator
from training.samples.rgb_crops import RGBSampleGenerator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.samples.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--rgb-batch-size", type=int, default=16)
    parser.add_argument("--rgb-batches", type=int, default=4, help="0 skips the RGB crops")
    args = parser.parse_args(argv)
    generator = SampleGenerator(SampleConfig(batch_size=args.batch_size))
    body = load_body_model()
    generator.batch(0)
    generated, meshes = [], []
    for index in range(1, args.batches + 1):
        start = time.perf_counter()
        batch = generator.batch(index)
        generated.append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.no_grad():
            body(batch["global_orient"], batch["body_pose"], batch["betas"])
        meshes.append(time.perf_counter() - start)
    median, mesh = statistics.median(generated), statistics.median(meshes)
    print(
        f"batch {args.batch_size}: median {1000 * median:.1f} ms (min {1000 * min(generated):.1f} ms) over "
        f"{args.batches} batches, {args.batch_size / median:,.0f} samples/s on {torch.get_num_threads()} torch "
        f"threads; {median / mesh:.2f} x a full-mesh forward pass of {args.batch_size} bodies ({1000 * mesh:.1f} ms)"
    )
    if args.rgb_batches > 0:
        _bench_rgb(args.rgb_batch_size, args.rgb_batches)


def _bench_rgb(batch_size: int, batches: int) -> None:
    """Print the median time per batch of samples with rendered crops and crops per second."""
    generator = RGBSampleGenerator(SampleConfig(batch_size=batch_size))
    generator.batch(0)
    times = []
    for index in range(1, batches + 1):
        start = time.perf_counter()
        generator.batch(index)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"RGB crops, batch {batch_size}: median {1000 * median:.0f} ms over {batches} batches, "
          f"{batch_size / median:.1f} crops/s in one process (samples and {generator.crops.size} px renders)")


if __name__ == "__main__":
    main()
