"""Latency of the HKMR and HMR regressors, alone and behind the keypoint encoder (`hkmr-studio bench regressors`).

Eval mode, torch.inference_mode, random weights (latency does not depend on their values). Cases are timed in
interleaved rounds after a warm-up, so that every ratio compares runs taken under the same machine load; the table
gives medians. Targets: HKMR <= 1.5x HMR; keypoint encoder + HKMR <= 5 ms at batch 1 on the CPU.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from hkmr_studio.nets.encoders import DEFAULT_FEATURE_DIMS, NUM_MEDIAPIPE_LANDMARKS, build_encoder
from hkmr_studio.nets.hkmr import HKMRConfig, HKMRRegressor
from hkmr_studio.nets.hmr import HMRConfig, HMRRegressor

IMAGE_FEATURE_DIM = 2048  # ResNet-50's Phi, the paper's setting
BATCHES = (1, 64)
RATIO_TARGET = 1.5
KEYPOINT_HKMR_TARGET_MS = 5.0


def _timer(device: torch.device) -> Callable[[Callable[[], object]], float]:
    def time_once(fn: Callable[[], object]) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return (time.perf_counter() - start) * 1e3

    return time_once


def _measure(
    cases: dict[str, Callable[[], object]], device: torch.device, rounds: int, warmup: int
) -> dict[str, float]:
    """Median milliseconds per case, the cases interleaved within each round."""
    time_once = _timer(device)
    times: dict[str, list[float]] = {name: [] for name in cases}
    with torch.inference_mode():
        for _ in range(warmup):
            for fn in cases.values():
                fn()
        for _ in range(rounds):
            for name, fn in cases.items():
                times[name].append(time_once(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def _models(device: torch.device) -> dict[str, nn.Module]:
    kp_dim = DEFAULT_FEATURE_DIMS["keypoints"]
    hkmr = HKMRRegressor(HKMRConfig(feature_dim=IMAGE_FEATURE_DIM))
    reference = copy.deepcopy(hkmr)
    reference.batched_children = False
    models = {
        "hmr": HMRRegressor(HMRConfig(feature_dim=IMAGE_FEATURE_DIM)),
        "hkmr": hkmr,
        "hkmr_ref": reference,
        "kp": build_encoder("keypoints", kp_dim),
        "kp_hmr": HMRRegressor(HMRConfig(feature_dim=kp_dim)),
        "kp_hkmr": HKMRRegressor(HKMRConfig(feature_dim=kp_dim)),
    }
    return {name: model.to(device).eval() for name, model in models.items()}


def _row(models: dict[str, nn.Module], device: torch.device, batch: int) -> dict[str, float]:
    features = torch.randn(batch, IMAGE_FEATURE_DIM, device=device)
    landmarks = torch.rand(batch, NUM_MEDIAPIPE_LANDMARKS, 2, device=device) * 2 - 1
    visibility = torch.rand(batch, NUM_MEDIAPIPE_LANDMARKS, device=device)
    mask = torch.ones(batch, NUM_MEDIAPIPE_LANDMARKS, device=device)
    world = torch.randn(batch, NUM_MEDIAPIPE_LANDMARKS, 3, device=device) * 0.3

    def encode() -> torch.Tensor:
        return models["kp"](landmarks, visibility, mask, world)

    cases = {
        "HMR": lambda: models["hmr"](features),
        "HKMR": lambda: models["hkmr"](features),
        "kp+HMR": lambda: models["kp_hmr"](encode()),
        "kp+HKMR": lambda: models["kp_hkmr"](encode()),
        "HKMR ref": lambda: models["hkmr_ref"](features),
    }
    small = batch == 1 and device.type == "cpu"
    return _measure(cases, device, rounds=100 if small else 30, warmup=10)


def run(device: str | None = None) -> str:
    """Benchmark on `device`, or on the CPU and also the GPU when one is present; returns the report as text."""
    devices = [torch.device(device)] if device else [torch.device("cpu")]
    if device is None and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    torch.manual_seed(0)
    kp_params = sum(p.numel() for p in build_encoder("keypoints", DEFAULT_FEATURE_DIMS["keypoints"]).parameters())
    lines = [
        "Regressor latency, median ms (eval, torch.inference_mode; cases interleaved in each round after warm-up)",
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        + "".join(f"; {torch.cuda.get_device_name(d)}" for d in devices if d.type == "cuda"),
        (
            f"HMR / HKMR alone: Phi = {IMAGE_FEATURE_DIM} (ResNet-50 width). kp+: keypoint encoder "
            f"({kp_params / 1e6:.1f}M parameters) with Phi = {DEFAULT_FEATURE_DIMS['keypoints']}."
        ),
        "HKMR ref: the reference path (chains one by one, joint by joint), same weights as HKMR.",
        "",
        (
            f"{'device':<7}{'batch':>6}{'HMR':>9}{'HKMR':>9}{'HKMR/HMR':>10}{'kp+HMR':>9}{'kp+HKMR':>9}{'ratio':>7}"
            f"{'HKMR ref':>10}"
        ),
    ]
    verdicts = []
    for dev in devices:
        models = _models(dev)
        for batch in BATCHES:
            t = _row(models, dev, batch)
            ratio, kp_ratio = t["HKMR"] / t["HMR"], t["kp+HKMR"] / t["kp+HMR"]
            lines.append(
                f"{dev.type:<7}{batch:>6}{t['HMR']:>9.2f}{t['HKMR']:>9.2f}{ratio:>10.2f}{t['kp+HMR']:>9.2f}"
                f"{t['kp+HKMR']:>9.2f}{kp_ratio:>7.2f}{t['HKMR ref']:>10.2f}"
            )
            verdicts.append(
                f"{dev.type} batch {batch}: HKMR/HMR {ratio:.2f} "
                f"({'meets' if ratio <= RATIO_TARGET else 'misses'} <= {RATIO_TARGET})"
            )
            if dev.type == "cpu" and batch == 1:
                ok = t["kp+HKMR"] <= KEYPOINT_HKMR_TARGET_MS
                verdicts.append(
                    f"cpu batch 1: keypoints + HKMR {t['kp+HKMR']:.2f} ms "
                    f"({'meets' if ok else 'misses'} <= {KEYPOINT_HKMR_TARGET_MS:g} ms)"
                )
    return "\n".join([*lines, "", "Targets:", *verdicts])
