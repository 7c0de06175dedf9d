"""The app's own pipeline on the real benchmark: its body, Refine, the facing check and Flip, as a user gets them.

Each sample's detection goes through `Pipeline.run` (the model as the app runs it, the photo's focal length assumed
as the app assumes it: the image diagonal, 2,207 px for these 1088 x 1920 videos, whose true focal length is about
1,680 px), once as is and once with Refine. Scored like the other rows (training.real.scoring), plus:
  refine       per view, the change of PA-MPJPE from the app's body to the refined one: mean, share of views where
               it fell, quantiles; how often the plausibility check discarded the fit
  facing flag  the facing check (pipeline.facing_check) against the truth: a view counts as facing the wrong way when
               its facing error exceeds 90 degrees; precision and recall of the flag
  flip         on the flagged views and on all wrong-facing views: how often Flip's body faces within 90 degrees
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hkmr_studio.body.landmarks import landmarks_from_body
from hkmr_studio.pipeline.core import BodyEstimate, Pipeline, PipelineResult
from hkmr_studio.pipeline.images import LoadedImage
from training.real.scoring import Samples, per_sample_errors, summarise

WRONG_FACING_DEG = 90.0
QUANTILES = (10, 25, 50, 75, 90)


def blank_image(size: tuple[int, int]) -> LoadedImage:
    """A black (width, height) photo that takes no memory: the pipeline reads only its size when given keypoints."""
    return LoadedImage(np.broadcast_to(np.zeros(3, dtype=np.uint8), (int(size[1]), int(size[0]), 3)), None)


def landmarks(body: BodyEstimate) -> torch.Tensor:
    """(33, 3) the body's MediaPipe landmarks, camera frame."""
    return landmarks_from_body(torch.as_tensor(body.vertices)[None], torch.as_tensor(body.joints3d)[None])[0]


def run_app(pipeline: Pipeline, samples: Samples, refine: bool) -> list[PipelineResult]:
    """The pipeline's result for every sample's detection."""
    return [pipeline.run(blank_image(size), keypoints=kp, refine=refine)
            for kp, size in zip(samples.keypoints, samples.image_size, strict=True)]


def _facing_errors(bodies: list[BodyEstimate], truth: np.ndarray) -> np.ndarray:
    return per_sample_errors(torch.stack([landmarks(b) for b in bodies]), truth)["facing_deg"]


def _refine_summary(plain: dict[str, np.ndarray], refined: dict[str, np.ndarray], discarded: int) -> dict[str, Any]:
    out: dict[str, Any] = {"discarded": discarded}
    for key in ("pa_mpjpe_mm", "pa_mpjpe_no_hips_mm", "mpjpe_mm"):
        change = refined[key] - plain[key]
        out[key] = {"before": round(float(plain[key].mean()), 1), "after": round(float(refined[key].mean()), 1),
                    "lower_share": round(float((change < 0).mean()), 3),
                    "change_quantiles": {f"q{q}": round(float(np.percentile(change, q)), 1) for q in QUANTILES}}
    return out


def _flag_summary(flagged: np.ndarray, wrong: np.ndarray) -> dict[str, Any]:
    hits = int((flagged & wrong).sum())
    return {"views": len(flagged), "wrong": int(wrong.sum()), "flagged": int(flagged.sum()), "flagged_wrong": hits,
            "precision": round(hits / max(int(flagged.sum()), 1), 3), "recall": round(hits / max(int(wrong.sum()), 1),
                                                                                       3)}


def evaluate_app(model: str, samples: Samples, device: str = "cpu") -> dict[str, Any]:
    """Rows "<model> (app)" and "<model> (app) + refine" in scoring's form, and the refine, facing-flag and flip
    figures of the module docstring."""
    pipeline = Pipeline(model=model, device=device)
    plain, refined = run_app(pipeline, samples, refine=False), run_app(pipeline, samples, refine=True)
    if not all(r.found for r in plain + refined):
        raise ValueError("the app recovered no body for some benchmark view; every view was expected to give one")
    errors = {name: per_sample_errors(torch.stack([landmarks(r.best) for r in results]), samples.truth)
              for name, results in (("app", plain), ("refine", refined))}
    rows = {f"{model} (app)": errors["app"], f"{model} (app) + refine": errors["refine"]}
    wrong = errors["app"]["facing_deg"] > WRONG_FACING_DEG
    flagged = np.array([r.facing.flagged for r in plain])
    flip_rows = np.flatnonzero(flagged | wrong)
    flipped = [plain[i].other_way or pipeline.flip(plain[i]) for i in flip_rows]
    flip_right = _facing_errors([r.best for r in flipped], samples.truth[flip_rows]) <= WRONG_FACING_DEG
    pipeline.close()
    return {
        "rows": {name: {"all": summarise(e), "per_sample": {k: np.round(v, 1).tolist() for k, v in e.items()}}
                 for name, e in rows.items()},
        "refine": _refine_summary(errors["app"], errors["refine"], sum(r.fit is None for r in refined)),
        "facing_flag": {"all": _flag_summary(flagged, wrong),
                        "swapped_views": _flag_summary(flagged[samples.swapped], wrong[samples.swapped])},
        "flip": {"flagged": int(flagged.sum()), "right_after_flip_of_flagged": int(flip_right[flagged[flip_rows]].sum()),
                 "wrong": int(wrong.sum()), "right_after_flip_of_wrong": int(flip_right[wrong[flip_rows]].sum())},
    }


def table(results: dict[str, Any]) -> str:
    """The refine distribution, the facing flag and Flip in a few lines."""
    lines = []
    for key, label in (("pa_mpjpe_mm", "PA-MPJPE"), ("pa_mpjpe_no_hips_mm", "PA-MPJPE without hips"),
                       ("mpjpe_mm", "MPJPE")):
        r = results["refine"][key]
        q = ", ".join(f"{name} {value:+.1f}" for name, value in r["change_quantiles"].items())
        lines.append(f"refine {label}: {r['before']:.1f} -> {r['after']:.1f} mm, lower on {r['lower_share']:.0%} of "
                     f"views; change per view {q} mm")
    lines.append(f"refine discarded by the plausibility check on {results['refine']['discarded']} views")
    for part, f in results["facing_flag"].items():
        lines.append(f"facing flag ({part.replace('_', ' ')}): {f['flagged']} of {f['views']} views flagged, "
                     f"{f['flagged_wrong']} of them facing > 90 deg off (precision {f['precision']:.2f}); "
                     f"{f['wrong']} facing > 90 deg off (recall {f['recall']:.2f})")
    flip = results["flip"]
    lines.append(f"flip: right (<= 90 deg) afterwards on {flip['right_after_flip_of_flagged']} of {flip['flagged']} "
                 f"flagged views and {flip['right_after_flip_of_wrong']} of {flip['wrong']} wrong-facing views")
    return "\n".join(lines)
