"""One HKMR kinematic chain's network Q_c: the embedding E_c and the per-joint layers f_i (forward) and b_i (backward).

Paper, section 3.2 and supplement section 1. Notation: K joints in the chain, D numbers per joint rotation (3 or 6),
E = 32 the embedding width, F the feature width.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hkmr_studio.body import kinematics
from hkmr_studio.nets.layers import SplitMLP, small_init_


class JointHeads(nn.Module):
    """The single FC layers of one pass direction of one chain (the f_i or the b_i), indexed in pass order.

    Layer q maps [psi, delta_{q-1}, delta_{q-2}, ..., delta_0] (B, E + q*D) to delta_q (B, D), where delta_k is the
    update of the k-th joint visited in this pass (Eq. 1 and 2). Without the joint hierarchy (Table 2's ablation)
    layer q sees [psi, delta_{q-1}] only. Layer 0 sees psi alone: the paper's [psi, 0] with its zero block dropped.
    """

    def __init__(self, num_joints: int, rep_dim: int, embed_dim: int, hierarchy: bool) -> None:
        super().__init__()
        self.num_joints, self.rep_dim, self.embed_dim, self.hierarchy = num_joints, rep_dim, embed_dim, hierarchy
        self.layers = nn.ModuleList(
            small_init_(nn.Linear(embed_dim + rep_dim * self._num_earlier(q), rep_dim)) for q in range(num_joints)
        )

    def _num_earlier(self, q: int) -> int:
        return q if self.hierarchy else min(q, 1)

    def joint_delta(self, q: int, psi: torch.Tensor, earlier: Sequence[torch.Tensor]) -> torch.Tensor:
        """delta_q (B, D) from psi (B, E) and the deltas of the pass's earlier joints (each (B, D))."""
        used = list(earlier[q - self._num_earlier(q) : q])[::-1]  # the most recent first, as in Eq. 1
        return self.layers[q](torch.cat([psi, *used], dim=-1))

    def sequential(self, psi: torch.Tensor) -> torch.Tensor:
        """The pass joint by joint: psi (B, E) -> (B, K, D) deltas in pass order."""
        deltas: list[torch.Tensor] = []
        for q in range(self.num_joints):
            deltas.append(self.joint_delta(q, psi, deltas))
        return torch.stack(deltas, dim=1)

    def affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole pass as one affine map, deltas (B, K*D) in pass order = psi @ M.T + m: M (K*D, E), m (K*D,).

        Each layer is linear, so the pass solves delta = W_psi psi + b + L delta with L strictly block-lower-triangular
        (the layers' weights on earlier deltas): delta = (I - L)^-1 (W_psi psi + b). Exact, and differentiable in the
        layers' weights; it replaces K dependent matrix products per pass by one.
        """
        k, d, e = self.num_joints, self.rep_dim, self.embed_dim
        rows = []
        for q, layer in enumerate(self.layers):
            n = self._num_earlier(q)
            # Columns for delta_{q-1}, ..., delta_{q-n} -> reorder to delta_{q-n}, ..., delta_{q-1} and place them.
            on_earlier = layer.weight[:, e:].reshape(d, n, d).flip(1).reshape(d, n * d)
            rows.append(F.pad(on_earlier, ((q - n) * d, (k - q) * d)))
        lower = torch.cat(rows, dim=0)
        rhs = torch.cat(
            [
                torch.stack([layer.weight[:, :e] for layer in self.layers]).reshape(k * d, e),
                torch.cat([layer.bias for layer in self.layers])[:, None],
            ],
            dim=1,
        )
        eye = torch.eye(k * d, dtype=lower.dtype, device=lower.device)
        solved = torch.linalg.solve_triangular(eye - lower, rhs, upper=False, unitriangular=True)
        return solved[:, :e], solved[:, e]


class ChainNet(nn.Module):
    """Q_c for one chain: E_c on [Phi, beta, theta_c (, theta_root)] -> psi (B, E), and the joint layers.

    E_c: two FC units of width E with ReLU and dropout (supplement). Child chains also see the root chain's current
    theta (root_dim = 4*D); the root chain does not (root_dim = 0).
    """

    def __init__(
        self,
        chain: kinematics.Chain,
        feature_dim: int,
        rep_dim: int,
        embed_dim: int,
        dropout: float,
        root_dim: int,
        hierarchy: bool,
        backward_passes: bool,
    ) -> None:
        super().__init__()
        self.chain = chain
        in_dim = feature_dim + kinematics.NUM_BETAS + chain.size * rep_dim + root_dim
        self.embed = SplitMLP(in_dim, (embed_dim, embed_dim), dropout, final_activation=True)
        self.forward_heads = JointHeads(chain.size, rep_dim, embed_dim, hierarchy)
        self.backward_heads = JointHeads(chain.size, rep_dim, embed_dim, hierarchy) if backward_passes else None

    @property
    def embed_input_dim(self) -> int:
        """Width of E_c's input (supplement: 2070 root, 2085 arms, 2082 legs, 2076 head for Phi = 2048, axis-angle)."""
        return self.embed.in_dim

    def heads(self, direction: str) -> JointHeads:
        """The f_i ("forward") or b_i ("backward") layers."""
        heads = self.forward_heads if direction == "forward" else self.backward_heads
        if heads is None:
            raise ValueError(f"chain {self.chain.name} has no {direction} layers")
        return heads

    def run_passes(
        self,
        features: torch.Tensor,
        betas: torch.Tensor,
        theta: torch.Tensor,
        root_theta: torch.Tensor | None,
        directions: Sequence[str],
    ) -> list[torch.Tensor]:
        """Reference inner loop, joint by joint: returns theta (B, K*D) after each pass.

        features (B, F), betas (B, 10), theta (B, K*D) in chain order, root_theta (B, 4*D) for child chains.
        psi is re-embedded from the current theta before each pass.
        """
        cond = [] if root_theta is None else [root_theta]
        states = []
        for direction in directions:
            psi = self.embed(torch.cat([features, betas, theta, *cond], dim=-1))
            deltas = self.heads(direction).sequential(psi)  # (B, K, D) in pass order
            if direction == "backward":
                deltas = deltas.flip(1)
            theta = theta + deltas.flatten(1)
            states.append(theta)
        return states
