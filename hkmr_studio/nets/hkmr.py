"""The HKMR regressor (Georgakis et al., ECCV 2020, section 3.2; supplement section 1).

Six kinematic chains (kinematics.CHAINS) refine the pose from a mean pose. In each of T outer steps the root chain
runs its inner passes first (forward over its joints, then backward, alternating), then the five child chains run
theirs, conditioned on the root chain's new theta; a shape network then updates beta from [Phi, Theta, beta] and a
camera network estimates the weak-perspective camera from [Phi, Theta, beta]. Theta holds all 24 joints, the global
orientation being the root chain's pelvis.

Two implementations of the same function share one set of weights:
- the reference path (`batched_children=False`): each chain in turn, each joint's layer in turn, as the paper
  writes it;
- the fast path (default): Phi's share of every first layer computed once per forward (Phi is constant across
  iterations); each pass collapsed to one affine map (`JointHeads.affine`, exact since every f_i / b_i is linear);
  the five child chains run together, each layer one matrix product with a block-diagonal weight made of the
  per-chain weights (no padding needed). Block-diagonal products rather than torch.bmm over a chain dimension: CPU
  bmm hands every call to the thread pool, and waking a sleeping worker took up to ~10 ms per call on a 2-core
  machine (HKMR jumped from 2 ms to 60 ms at random), while these small dense products stay on the calling thread.
  While gradients are off, the packed weights are cached, keyed on each parameter's storage and version (optimiser
  steps and `load_state_dict` invalidate the cache).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.checks import check_shape
from hkmr_studio.nets.chains import ChainNet
from hkmr_studio.nets.layers import SplitMLP
from hkmr_studio.nets.output import RegressorOutput, RegressorTrace, make_output
from hkmr_studio.nets.pose_rep import MeanParams, RotationRep, rep_dim

_ROOT = kinematics.ROOT_CHAIN
_CHILDREN = kinematics.CHILD_CHAINS


@dataclass
class HKMRConfig:
    """HKMR hyper-parameters; defaults follow the paper and its supplement.

    forward_only and joint_hierarchy=False are Table 2's ablations, num_outer / num_inner Table 3's. With
    forward_only every inner pass is a forward pass (num_inner of them) and no backward layers exist. The paper does
    not state dropout rates: embed_dropout is for the 32-wide E_c units, dropout for the shape and camera networks.
    """

    feature_dim: int = 2048
    num_outer: int = 3
    num_inner: int = 4
    joint_hierarchy: bool = True
    forward_only: bool = False
    rotation: RotationRep = "axis_angle"
    embed_dim: int = 32
    embed_dropout: float = 0.1
    dropout: float = 0.5
    head_widths: tuple[int, ...] = (512, 128)
    batched_children: bool = True


@dataclass
class _ChainGroup:
    """Packed weights of chains run together, block-diagonal with one block per chain.

    S: the chains' theta widths summed (K_c * D each); C * E: their embedding widths summed.
    """

    theta_w: torch.Tensor  # (S, C*E): theta's share of the E_c first layers
    embed_w: torch.Tensor  # (C*E, C*E): the E_c second layers
    embed_b: torch.Tensor  # (C*E,)
    pass_w: dict[str, torch.Tensor]  # direction -> (C*E, S): a whole pass, psi -> delta theta
    pass_b: dict[str, torch.Tensor]  # direction -> (S,)
    init_theta: torch.Tensor  # (1, S)


@dataclass
class _Packed:
    """Weights of the fast path, pre-transposed and contiguous (transposed views make small matmuls ~5x slower)."""

    phi_w: torch.Tensor  # (6E + 2H, F): Phi's share of every first layer (E_c x 6, shape, camera)
    phi_b: torch.Tensor  # (6E + 2H,)
    beta_w: torch.Tensor  # (10, 6E): beta's share of the E_c first layers
    root_cond_w: torch.Tensor  # (4D, 5E): theta_root's share of the child E_c first layers
    shape_w: torch.Tensor  # (24D + 10, H): [Theta in chain order, beta]'s share of the shape net's first layer
    camera_w: torch.Tensor  # (24D + 10, H)
    root: _ChainGroup
    children: _ChainGroup
    init_betas: torch.Tensor  # (1, 10)
    init_camera: torch.Tensor  # (1, 3)


class HKMRRegressor(nn.Module):
    """Features Phi (B, F) -> RegressorOutput with a trace of T outer steps x P inner passes."""

    def __init__(self, config: HKMRConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or HKMRConfig()
        if config.num_outer < 1 or config.num_inner < 1:
            raise ValueError(f"num_outer and num_inner must be >= 1, got {config.num_outer}, {config.num_inner}")
        self.rep_dim = d = rep_dim(config.rotation)
        self.batched_children = config.batched_children
        self.directions = tuple(
            "backward" if p % 2 and not config.forward_only else "forward" for p in range(config.num_inner)
        )
        self.chains = nn.ModuleDict(
            {
                c.name: ChainNet(
                    c,
                    config.feature_dim,
                    d,
                    config.embed_dim,
                    config.embed_dropout,
                    root_dim=0 if c is _ROOT else _ROOT.size * d,
                    hierarchy=config.joint_hierarchy,
                    backward_passes=not config.forward_only,
                )
                for c in kinematics.CHAINS
            }
        )
        head_in = config.feature_dim + kinematics.NUM_JOINTS * d + kinematics.NUM_BETAS
        self.shape_net = SplitMLP(head_in, (*config.head_widths, kinematics.NUM_BETAS), config.dropout)
        self.camera_net = SplitMLP(head_in, (*config.head_widths, 3), config.dropout)
        self.mean = MeanParams(config.rotation)

        chain_order = [j for c in kinematics.CHAINS for j in c.joints]  # the 24 joints, chain after chain
        smpl_from_chain_order = [chain_order.index(j) for j in range(kinematics.NUM_JOINTS)]
        self.register_buffer("_chain_order", torch.tensor(chain_order), persistent=False)
        self.register_buffer("_smpl_from_chain_order", torch.tensor(smpl_from_chain_order), persistent=False)
        self._cache: tuple[list, _Packed] | None = None
        # Every module's parameter and buffer dicts, gathered once: walking the modules per forward costs ~1 ms.
        self._tensor_dicts = [d for m in self.modules() for d in (m._parameters, m._buffers)]

    def forward(self, features: torch.Tensor) -> RegressorOutput:
        """features: (B, F) -> final (B, ...) SMPL parameters and camera, with the trace."""
        check_shape(features, (None, self.config.feature_dim), "features")
        trace = self._forward_batched(features) if self.batched_children else self._forward_reference(features)
        return make_output(trace)

    def _trace(self, passes: torch.Tensor, betas: list[torch.Tensor], cameras: list[torch.Tensor]) -> RegressorTrace:
        """passes (T*P, B, 24 * D), chain after chain -> the trace (poses in SMPL joint order)."""
        passes = passes.reshape(*passes.shape[:2], kinematics.NUM_JOINTS, self.rep_dim)
        passes = passes.index_select(2, self._smpl_from_chain_order)
        return RegressorTrace(
            pass_poses=passes.reshape(self.config.num_outer, len(self.directions), *passes.shape[1:]),
            betas=torch.stack(betas),
            cameras=torch.stack(cameras),
            rotation=self.config.rotation,
            directions=self.directions,
        )

    # ----------------------------------------------------------------------------------------------- reference path
    def _forward_reference(self, features: torch.Tensor) -> RegressorTrace:
        batch, d = features.shape[0], self.rep_dim
        theta = {c.name: self.mean.pose[list(c.joints)].reshape(1, -1).expand(batch, -1) for c in kinematics.CHAINS}
        betas = self.mean.betas.expand(batch, -1)
        num_passes = len(self.directions)
        pass_states: list[list[torch.Tensor]] = [[] for _ in range(self.config.num_outer * num_passes)]
        all_betas, all_cameras = [], []
        for t in range(self.config.num_outer):
            for chain in kinematics.CHAINS:
                root_theta = None if chain is _ROOT else theta[_ROOT.name]
                states = self.chains[chain.name].run_passes(
                    features, betas, theta[chain.name], root_theta, self.directions
                )
                for p, state in enumerate(states):
                    pass_states[t * num_passes + p].append(state)
                theta[chain.name] = states[-1]
            pose = torch.cat([theta[c.name] for c in kinematics.CHAINS], dim=1).reshape(batch, -1, d)
            pose = pose[:, self._smpl_from_chain_order].flatten(1)  # (B, 24 * D) in SMPL order
            betas = betas + self.shape_net(torch.cat([features, pose, betas], dim=1))
            camera = self.mean.camera + self.camera_net(torch.cat([features, pose, betas], dim=1))
            all_betas.append(betas)
            all_cameras.append(camera)
        passes = torch.stack([torch.cat(states, dim=1) for states in pass_states])
        return self._trace(passes, all_betas, all_cameras)

    # ---------------------------------------------------------------------------------------------------- fast path
    def _forward_batched(self, features: torch.Tensor) -> RegressorTrace:
        pk = self._packed()
        batch, e, h = features.shape[0], self.config.embed_dim, self.config.head_widths[0]
        pre = F.linear(features, pk.phi_w, pk.phi_b)  # Phi's share, once: (B, 6E + 2H)
        pre_chains, pre_shape, pre_camera = pre[:, : 6 * e], pre[:, 6 * e : 6 * e + h], pre[:, 6 * e + h :]
        theta_root = pk.root.init_theta.expand(batch, -1)  # (B, 4D)
        theta_children = pk.children.init_theta.expand(batch, -1)  # (B, 20D), the child chains one after another
        betas = pk.init_betas.expand(batch, -1)
        root_states: list[torch.Tensor] = []
        child_states: list[torch.Tensor] = []
        all_betas, all_cameras = [], []
        for _ in range(self.config.num_outer):
            base = torch.addmm(pre_chains, betas, pk.beta_w)  # E_c first layers but for theta: (B, 6E)
            theta_root = self._passes(theta_root, base[:, :e], pk.root, root_states)
            child_base = torch.addmm(base[:, e:], theta_root, pk.root_cond_w)  # + theta_root's share: (B, 5E)
            theta_children = self._passes(theta_children, child_base, pk.children, child_states)
            pose = torch.cat([theta_root, theta_children, betas], dim=1)
            betas = betas + self.shape_net.finish(torch.addmm(pre_shape, pose, pk.shape_w))
            pose = torch.cat([theta_root, theta_children, betas], dim=1)
            all_betas.append(betas)
            all_cameras.append(pk.init_camera + self.camera_net.finish(torch.addmm(pre_camera, pose, pk.camera_w)))
        passes = torch.cat([torch.stack(root_states), torch.stack(child_states)], dim=2)  # (T*P, B, 24D)
        return self._trace(passes, all_betas, all_cameras)

    def _passes(
        self, theta: torch.Tensor, base: torch.Tensor, group: _ChainGroup, states: list[torch.Tensor]
    ) -> torch.Tensor:
        """Inner passes of a group of chains: theta (B, S), base (B, C*E) -> theta after the last pass."""
        p = self.config.embed_dropout if self.training else 0.0
        for direction in self.directions:
            hidden = torch.addmm(base, theta, group.theta_w).relu_()
            psi = torch.addmm(group.embed_b, F.dropout(hidden, p) if p else hidden, group.embed_w).relu_()
            psi = F.dropout(psi, p) if p else psi
            theta = torch.addmm(theta, psi, group.pass_w[direction]).add_(group.pass_b[direction])
            states.append(theta)
        return theta

    def _packed(self) -> _Packed:
        """The fast path's weights; rebuilt while gradients are on, cached while they are off."""
        if torch.is_grad_enabled():
            return self._pack()
        try:
            key = [torch.is_inference_mode_enabled()]
            key += [(t.data_ptr(), t._version) for d in self._tensor_dicts for t in d.values() if t is not None]
        except RuntimeError:  # tensors made under torch.inference_mode carry no version counter: no cache
            return self._pack()
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._pack())
        return self._cache[1]

    def _pack(self) -> _Packed:
        d, fdim, nb = self.rep_dim, self.config.feature_dim, kinematics.NUM_BETAS
        first = [self.chains[c.name].embed.first for c in kinematics.CHAINS]
        heads = (self.shape_net.first, self.camera_net.first)
        return _Packed(
            phi_w=torch.cat([layer.weight[:, :fdim] for layer in (*first, *heads)]),
            phi_b=torch.cat([layer.bias for layer in (*first, *heads)]),
            beta_w=torch.cat([layer.weight[:, fdim : fdim + nb] for layer in first]).T.contiguous(),
            root_cond_w=torch.cat(
                [layer.weight[:, fdim + nb + c.size * d :] for layer, c in zip(first[1:], _CHILDREN, strict=True)]
            ).T.contiguous(),
            shape_w=self._head_rest_weight(self.shape_net),
            camera_w=self._head_rest_weight(self.camera_net),
            root=self._pack_group([_ROOT]),
            children=self._pack_group(list(_CHILDREN)),
            init_betas=self.mean.betas[None],
            init_camera=self.mean.camera[None],
        )

    def _head_rest_weight(self, net: SplitMLP) -> torch.Tensor:
        """[Theta, beta]'s share of a head's first layer with Theta's columns in chain order: (24D + 10, H)."""
        fdim, d, n = self.config.feature_dim, self.rep_dim, kinematics.NUM_JOINTS
        weight = net.first.weight[:, fdim:]
        on_theta = weight[:, : n * d].reshape(-1, n, d).index_select(1, self._chain_order).flatten(1)
        return torch.cat([on_theta, weight[:, n * d :]], dim=1).T.contiguous()

    def _pack_group(self, chains: list[kinematics.Chain]) -> _ChainGroup:
        d, fdim, nb = self.rep_dim, self.config.feature_dim, kinematics.NUM_BETAS
        nets = [self.chains[c.name] for c in chains]
        pass_w: dict[str, list[torch.Tensor]] = {direction: [] for direction in set(self.directions)}
        pass_b: dict[str, list[torch.Tensor]] = {direction: [] for direction in set(self.directions)}
        for chain, net in zip(chains, nets, strict=True):
            for direction, matrices in pass_w.items():
                matrix, bias = net.heads(direction).affine()  # rows in pass order
                if direction == "backward":  # the backward pass visits the joints last to first
                    matrix = matrix.reshape(chain.size, d, -1).flip(0).reshape(chain.size * d, -1)
                    bias = bias.reshape(chain.size, d).flip(0).reshape(-1)
                matrices.append(matrix.T)
                pass_b[direction].append(bias)
        theta_w = [
            net.embed.first.weight[:, fdim + nb : fdim + nb + c.size * d].T for c, net in zip(chains, nets, strict=True)
        ]
        second = [net.embed.rest[2] for net in nets]
        return _ChainGroup(
            theta_w=torch.block_diag(*theta_w),
            embed_w=torch.block_diag(*(layer.weight.T for layer in second)),
            embed_b=torch.cat([layer.bias for layer in second]),
            pass_w={k: torch.block_diag(*v) for k, v in pass_w.items()},
            pass_b={k: torch.cat(v) for k, v in pass_b.items()},
            init_theta=self.mean.pose[[j for c in chains for j in c.joints]].reshape(1, -1),
        )
