"""Networks: encoders, the HKMR and HMR regressors, the VAE pose prior, losses (pure torch, no I/O)."""

from hkmr_studio.nets.encoders import build_encoder
from hkmr_studio.nets.hkmr import HKMRConfig, HKMRRegressor
from hkmr_studio.nets.hmr import HMRConfig, HMRRegressor
from hkmr_studio.nets.losses import LossWeights, RegressorLoss, RegressorTargets, regressor_loss
from hkmr_studio.nets.output import RegressorOutput, RegressorTrace
from hkmr_studio.nets.vae import PoseVAE

__all__ = [
    "HKMRConfig",
    "HKMRRegressor",
    "HMRConfig",
    "HMRRegressor",
    "LossWeights",
    "PoseVAE",
    "RegressorLoss",
    "RegressorOutput",
    "RegressorTargets",
    "RegressorTrace",
    "build_encoder",
    "regressor_loss",
]
