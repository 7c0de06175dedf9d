"""The evaluation's table (text) and occlusion plot (PNG, like the paper's Fig. 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hkmr_studio.body import kinematics
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS


def table(results: dict[str, Any]) -> str:
    """Per model: MPJPE, PA-MPJPE and MPJPE per chain (mm); then mean MPJPE per occlusion pattern and degree."""
    models = results["models"]
    width = max([len("model"), *map(len, models)])
    chains = [c.name for c in kinematics.CHAINS]
    lines = [f"{'model':<{width}}  {'MPJPE':>7} {'PA-MPJPE':>8}  " + " ".join(f"{c:>9}" for c in chains)]
    for name, r in models.items():
        per_chain = " ".join(f"{r['per_chain'][c]['mpjpe_mm']:>9.1f}" for c in chains)
        lines.append(f"{name:<{width}}  {r['mpjpe_mm']:>7.1f} {r['pa_mpjpe_mm']:>8.1f}  {per_chain}")
    lines += ["", f"{'occluded one joint at a time':<{width + 11}} {'none':>6} "
              + " ".join(f"{'DoC ' + str(d):>6}" for d in DEGREES)]
    for name, r in models.items():
        for kind in OCCLUDER_KINDS:
            row = " ".join(f"{r['occlusion'][kind][str(d)]:>6.1f}" for d in DEGREES)
            lines.append(f"{name:<{width}}  {kind:<9} {r['occlusion_reference_mpjpe_mm']:>6.1f} {row}")
    samples = results["test_set"]
    lines.append(f"(mm; {samples['samples']} test samples, occlusion grid on {samples['occlusion_samples']} of them "
                 f"x {len(kinematics.JOINT_NAMES)} joints; seed {samples['seed']})")
    families = samples.get("per_family", {})
    if families:
        names = list(models)
        lines += ["", f"{'pose family (MPJPE / PA-MPJPE)':<22} " + " ".join(f"{n:>17}" for n in names)]
        for family in families:
            errors = [models[n]["per_family"][family] for n in names]
            cells = [f"{e['mpjpe_mm']:>7.1f} / {e['pa_mpjpe_mm']:>7.1f}" for e in errors]
            lines.append(f"{family:<22} " + " ".join(f"{c:>17}" for c in cells))
        lines.append(f"(mm; {next(iter(families.values()))} samples per family, training.poses)")
    rendered = samples.get("rendered", {})
    if rendered:
        names = list(models)
        first = models[names[0]]["rendered"]
        rows = [("all", "all"), ("library poses", "library")] + [(f, f) for f in first["per_family"]]
        lines += ["", f"{'rendered test (MPJPE / PA-MPJPE)':<22} " + " ".join(f"{n:>17}" for n in names)
                  + f" {'samples':>8}"]
        for label, key in rows:
            errors = [models[n]["rendered"][key] if key in ("all", "library") else
                      models[n]["rendered"]["per_family"][key] for n in names]
            cells = [f"{e['mpjpe_mm']:>7.1f} / {e['pa_mpjpe_mm']:>7.1f}" for e in errors]
            lines.append(f"{label:<22} " + " ".join(f"{c:>17}" for c in cells) + f" {errors[0]['samples']:>8}")
        lines.append(f"(mm; MediaPipe's own landmarks on rendered bodies, {rendered['path']}: it found the person in "
                     f"{rendered['found']} of {rendered['samples']} renders; only those are scored)")
        lines += ["", f"{'partial input (rendered)':<22} " + " ".join(f"{n:>17}" for n in names)]
        for kind in first["partial"]:
            errors = [models[n]["rendered"]["partial"][kind] for n in names]
            ratios = [e["mpjpe_mm"] / models[n]["rendered"]["all"]["mpjpe_mm"] for e, n in zip(errors, names, strict=True)]
            cells = [f"{e['mpjpe_mm']:>7.1f} ({r:.2f}x)" for e, r in zip(errors, ratios, strict=True)]
            lines.append(f"{kind:<22} " + " ".join(f"{c:>17}" for c in cells))
        lines.append("(MPJPE in mm on the same renders given only part of the landmarks (training/evaluation/partial.py), "
                     "and its ratio to the full landmarks' MPJPE)")
    return "\n".join(lines)


def plot_occlusion(results: dict[str, Any], path: str | Path) -> Path:
    """One panel per pattern: mean MPJPE against the degree of occlusion, one line per model, its unoccluded
    reference dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(OCCLUDER_KINDS), figsize=(4.2 * len(OCCLUDER_KINDS), 3.6), sharey=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, kind in zip(axes, OCCLUDER_KINDS, strict=True):
        for i, (name, r) in enumerate(results["models"].items()):
            colour = colours[i % len(colours)]
            axis.plot(DEGREES, [r["occlusion"][kind][str(d)] for d in DEGREES], marker="o", color=colour, label=name)
            axis.axhline(r["occlusion_reference_mpjpe_mm"], color=colour, linestyle="--", linewidth=0.8)
        axis.set_title(kind)
        axis.set_xlabel("degree of occlusion")
        axis.set_xticks(DEGREES)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("mean MPJPE (mm)")
    axes[-1].legend(loc="best", fontsize="small")
    figure.suptitle("Occluding one joint at a time (dashed: no occluder)")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
