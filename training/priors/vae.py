"""Training HKMR's pose VAE (hkmr_studio.nets.vae.PoseVAE) on the pose library by maximising the ELBO.

Unobserved dimensions (see training.priors.data) are filled with random angles on the way in and left out of the
reconstruction error, so the encoder learns to ignore them: the trained prior neither rewards nor punishes moving
the head, feet or hands, about which the library says nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from hkmr_studio.nets.vae import PoseVAE

UNOBSERVED_FILL_STD = 0.3  # radians, the spread of the random angles put into unobserved dimensions
JITTER_STD = 0.02  # radians of noise on observed dimensions, against memorising ~3,000 poses
RECON_STD = 0.1  # radians: the Gaussian reconstruction likelihood's standard deviation


@dataclass(frozen=True)
class VAETrainingConfig:
    steps: int = 6000
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0


def _augment(batch: torch.Tensor, unobserved: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, 69) -> (B, 69): jitter observed dimensions, fill unobserved ones with random angles."""
    noise = torch.randn(batch.shape, generator=generator)
    return batch + noise * torch.where(unobserved, UNOBSERVED_FILL_STD, JITTER_STD)


def vae_loss(vae: PoseVAE, inputs: torch.Tensor, targets: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """Mean negative ELBO over the batch, reconstruction error on `observed` (69,) dimensions only."""
    reconstruction, mean, log_var = vae(inputs)
    error = ((reconstruction - targets) / RECON_STD).square() * observed
    return (0.5 * error.sum(-1) + PoseVAE.kl_from_stats(mean, log_var)).mean()


def train_vae(poses: np.ndarray, unobserved: np.ndarray, config: VAETrainingConfig = VAETrainingConfig(),
              progress: bool = True) -> PoseVAE:
    """Fit a PoseVAE to (N, 69) poses; returns it in eval mode. Adam with a cosine learning-rate decay."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    data = torch.from_numpy(poses).float()
    mask = torch.from_numpy(unobserved)
    vae = PoseVAE()
    optimiser = torch.optim.Adam(vae.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.steps)
    vae.train()
    bar = tqdm(range(config.steps), desc="pose VAE", disable=not progress)
    for step in bar:
        batch = data[torch.randint(len(data), (config.batch_size,), generator=generator)]
        loss = vae_loss(vae, _augment(batch, mask, generator), batch, ~mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0:
            bar.set_postfix(loss=f"{loss.item():.1f}")
    return vae.eval()


def state_dict_bytes(vae: PoseVAE) -> bytes:
    """The VAE's weights as the bytes of a torch.save file (tensors only: loads with weights_only=True)."""
    buffer = io.BytesIO()
    torch.save(vae.state_dict(), buffer)
    return buffer.getvalue()
