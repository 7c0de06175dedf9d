"""Small building blocks shared by the regressors."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def small_init_(layer: nn.Linear, gain: float = 0.01) -> nn.Linear:
    """Xavier-initialise with a small gain and zero bias, so a fresh regressor starts at its mean parameters."""
    nn.init.xavier_uniform_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)
    return layer


class SplitMLP(nn.Module):
    """Linear layers with ReLU and dropout between them: `first` (in_dim -> hidden[0]), then `rest`.

    Kept apart so a caller can compute `first` from pre-multiplied pieces of its input (see the regressors' fast
    paths) and finish with `rest`. With `final_activation`, `rest` ends in ReLU + dropout too (an embedding);
    otherwise it ends in a linear output layer initialised small.
    """

    def __init__(self, in_dim: int, widths: Sequence[int], dropout: float, final_activation: bool = False) -> None:
        super().__init__()
        self.first = nn.Linear(in_dim, widths[0])
        rest: list[nn.Module] = []
        for width_in, width_out in itertools.pairwise(widths):
            rest += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(width_in, width_out)]
        if final_activation:
            rest += [nn.ReLU(), nn.Dropout(dropout)]
        else:
            small_init_(rest[-1])
        self.rest = nn.Sequential(*rest)

    @property
    def in_dim(self) -> int:
        return self.first.in_features

    def finish(self, h: torch.Tensor) -> torch.Tensor:
        """Apply `rest` to the output of `first` (..., widths[0]) functionally (no per-module call overhead)."""
        for layer in self.rest:
            if isinstance(layer, nn.Linear):
                h = F.linear(h, layer.weight, layer.bias)
            elif isinstance(layer, nn.ReLU):
                h = h.relu_()
            elif self.training:
                h = F.dropout(h, layer.p)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> (B, widths[-1])."""
        return self.finish(self.first(x))
