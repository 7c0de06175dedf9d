"""Is a fitted body plausible? Its pose-prior energy, how far it bends joints beyond their anatomical limits, and how
deep its limbs pass through each other, each against a bound and against the body the fit started from.

A fit is implausible when one measure is beyond its bound and worse than the start's by a margin: a regressor's body
that already bends a joint too far is not blamed on the fit, and a fit that stays within the bounds is kept however it
moved. The pipeline then returns the start (the regressor's body) instead of the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hkmr_studio.body.joint_limits import limit_violation
from hkmr_studio.body.model import BodyModel
from hkmr_studio.body.penetration import MAX_DEPTH, CapsuleBody
from hkmr_studio.fitting.priors import PosePrior

#: Pose-prior energy (the pose GMM's negative log-likelihood) beyond which a pose counts as unlikely: held-out
#: library poses score 22 in median and random joint angles 1,000 (models/priors/README.md).
PRIOR_BOUND = 200.0
PRIOR_MARGIN = 50.0
#: Degrees beyond a joint's limits (the worst joint angle) that count as bending a joint too far.
LIMIT_BOUND_DEG = 15.0
LIMIT_MARGIN_DEG = 5.0
#: Metres of capsule overlap beyond which limbs pass through each other (training's pose families use the same).
PENETRATION_BOUND_M = MAX_DEPTH
PENETRATION_MARGIN_M = 0.01


@dataclass(frozen=True)
class PoseMeasures:
    """prior: pose-prior energy; limit_deg: the largest joint angle beyond its limit, degrees; penetration_m: the
    deepest capsule overlap, metres (<= 0: none)."""

    prior: float
    limit_deg: float
    penetration_m: float


class PlausibilityCheck:
    """Measures poses of one body model; construct once per body (it fits capsules to the body's rest shape)."""

    def __init__(self, body: BodyModel) -> None:
        self.capsules = CapsuleBody.build(body)

    def measure(self, body_pose: torch.Tensor, prior: PosePrior) -> PoseMeasures:
        """(1, 69) axis-angle body pose -> its measures under `prior`."""
        with torch.no_grad():
            return PoseMeasures(prior=float(prior(body_pose)[0]),
                                limit_deg=math.degrees(float(limit_violation(body_pose).max())),
                                penetration_m=float(self.capsules.depth(body_pose)[0]))

    def reason(self, fit: torch.Tensor, start: torch.Tensor, prior: PosePrior) -> str:
        """Why the (1, 69) fitted pose is implausible next to the (1, 69) start, or "" when it is plausible."""
        after, before = self.measure(fit, prior), self.measure(start, prior)
        if after.prior > max(PRIOR_BOUND, before.prior + PRIOR_MARGIN):
            return f"its pose is unlikely (pose-prior energy {after.prior:.0f}, the start's {before.prior:.0f})"
        if after.limit_deg > max(LIMIT_BOUND_DEG, before.limit_deg + LIMIT_MARGIN_DEG):
            return f"it bends a joint {after.limit_deg:.0f} degrees beyond its anatomical limit"
        if after.penetration_m > max(PENETRATION_BOUND_M, before.penetration_m + PENETRATION_MARGIN_M):
            return f"its limbs pass {after.penetration_m * 100:.0f} cm into each other"
        return ""
