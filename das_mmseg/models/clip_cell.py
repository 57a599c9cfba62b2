"""The differentiable image-to-video cell of DAS: a DARTS cell whose edges mix
augmentation ops over a whole clip."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from das_mmseg.augment import (PADDING_MODES, FrameLayout, PixelSpace, Policy,
                               build_ops, mix_clip, node_edges, num_edges,
                               render_policy)
from das_mmseg.augment.clip import check_choice

SAMPLING_MODES = ('mixture', 'gumbel')


@MODELS.register_module()
class ClipCell(BaseModule):
    """Turn images into T-frame clips with a searchable (relaxed) or a fixed
    (discrete) augmentation policy.

    Two input nodes (the image repeated over the frames) feed ``num_nodes``
    intermediate nodes; every earlier node feeds every later one through an
    edge, a softmax(α / temperature)-weighted mixture of all ops applied to the
    whole clip; a node averages its incoming edges and the last node is the
    clip. A frame at distance ``d`` from the reference frame gets each op's
    per-step magnitude × d (zoom: factor ** d); the reference frame is the
    image.

    Args:
        ops (sequence of str): Op set, names registered in
            ``das_mmseg.augment.AUGMENT_OPS``.
        num_frames (int): T.
        ref_frame (int, optional): Reference frame; default
            ``num_frames // 2``.
        num_nodes (int): Intermediate nodes (4: 14 edges; 1: one node mixing
            the two inputs).
        temperature (float): Softmax temperature of α.
        progression (str): ``'symmetric'`` (``|d|`` on both sides, as the
            authors' code) or ``'signed'``.
        padding_mode (str): ``'zeros'`` (black pixels), ``'border'`` or
            ``'reflection'``.
        policy (Policy | dict | str, optional): A discrete policy
            (or JSON path) to render instead of the mixture.
        sampling (str): ``'mixture'`` renders every op of every edge;
            ``'gumbel'`` samples one op per edge in training with a
            straight-through Gumbel-softmax (GDAS) and renders only the sampled
            ones; in eval mode it renders the mixture.
        edges_per_node (int): Incoming edges ``discretize()`` keeps per node
            (DARTS: 2).
        magnitudes (dict[str, float], optional): Initial per-step magnitudes by
            op name; the others are drawn uniformly from each op's
            ``init_range`` (the paper's ranges).
        mean (sequence of float, optional): Normalisation mean of the images
            the cell sees (the data preprocessor's); with ``std`` it makes
            padding black and photometric ops act on pixel values.
        std (sequence of float, optional): Normalisation std, see ``mean``.
        channel_order (str): ``'rgb'`` or ``'bgr'`` (of the images the cell
            sees).
        alpha_std (float): α is initialised as ``alpha_std * randn``.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward: (N, C, H, W) → (N, T, C, H, W).
    """

    def __init__(self,
                 ops: Sequence[str] = ('identity', 'shift_x', 'shift_y',
                                       'zoom', 'rotate'),
                 num_frames: int = 8,
                 ref_frame: Optional[int] = None,
                 num_nodes: int = 4,
                 temperature: float = 1.0,
                 progression: str = 'symmetric',
                 padding_mode: str = 'zeros',
                 policy: Union[Policy, dict, str, None] = None,
                 sampling: str = 'mixture',
                 edges_per_node: int = 2,
                 magnitudes: Optional[Dict[str, float]] = None,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 channel_order: str = 'rgb',
                 alpha_std: float = 1e-3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.op_names = tuple(ops)
        self.ops = build_ops(self.op_names)
        self.layout = FrameLayout.build(num_frames, ref_frame, progression)
        self.num_frames = num_frames
        self.ref_frame = self.layout.ref_frame
        self.progression = progression
        if not isinstance(num_nodes, int) or num_nodes < 1:
            raise ValueError(
                f'num_nodes must be an integer >= 1, got {num_nodes!r}')
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature!r}')
        check_choice('padding_mode', padding_mode, PADDING_MODES)
        check_choice('sampling', sampling, SAMPLING_MODES)
        if not isinstance(edges_per_node, int) or edges_per_node < 1:
            raise ValueError('edges_per_node must be an integer >= 1, got '
                             f'{edges_per_node!r}')
        self.num_nodes = num_nodes
        self.temperature = temperature
        self.padding_mode = padding_mode
        self.sampling = sampling
        self.edges_per_node = edges_per_node
        self.space = PixelSpace(
            None if mean is None else tuple(mean),
            None if std is None else tuple(std),
            channel_order=channel_order)

        self.alpha = nn.Parameter(
            alpha_std * torch.randn(num_edges(num_nodes), len(self.ops)))
        bounds = torch.tensor([op.bounds for op in self.ops],
                              dtype=torch.float32)
        self.register_buffer('magnitude_bounds', bounds, persistent=False)
        self.magnitude_logit = nn.Parameter(
            self._initial_logits(magnitudes or {}))
        self.policy: Optional[Policy] = None
        self._last_size: Optional[Tuple[int, int]] = None
        self.set_policy(policy)

    def _initial_logits(self, given: Dict[str, float]) -> Tensor:
        unknown = sorted(set(given) - set(self.op_names))
        if unknown:
            raise ValueError(
                f'magnitudes given for {unknown}, not in the op set '
                f'{list(self.op_names)}')
        logits = torch.zeros(len(self.ops))
        for k, (name, op) in enumerate(zip(self.op_names, self.ops)):
            if not op.has_magnitude:
                continue
            low, high = op.bounds
            value = given.get(name)
            if value is None:
                value = float(torch.empty(()).uniform_(*op.init_range))
            if not low < value < high:
                raise ValueError(
                    f'initial magnitude of {name!r} is {value!r}, outside its '
                    f'open bounds ({low}, {high})')
            u = (value - low) / (high - low)
            logits[k] = math.log(u / (1 - u))
        return logits

    # --- parameters ----------------------------------------------------------
    @property
    def magnitudes(self) -> Tensor:
        """(K,) per-step magnitudes, inside each op's bounds by construction (a
        sigmoid of ``magnitude_logit``)."""
        low, high = self.magnitude_bounds.unbind(-1)
        return low + (high - low) * torch.sigmoid(self.magnitude_logit)

    def arch_parameters(self) -> List[nn.Parameter]:
        """α and the learnable magnitudes: what a policy optimizer owns, and
        nothing else."""
        return [self.alpha, self.magnitude_logit]

    def op_weights(self) -> Tensor:
        """(num_edges, K) softmax(α / temperature)."""
        return F.softmax(self.alpha / self.temperature, dim=-1)

    # --- policy --------------------------------------------------------------
    def set_policy(self, policy: Union[Policy, dict, str, None]) -> None:
        """Render ``policy`` (a Policy, dict or JSON path) from now on, or the
        relaxed mixture with None.

        Under a policy α and the magnitudes are unused and stop requiring
        gradients; None turns them back on.
        """
        if policy is not None:
            policy = Policy.coerce(policy)
            policy.check_compatible(self.op_names, self.num_frames,
                                    self.ref_frame)
            if policy.progression != self.progression:
                raise ValueError(f'the policy uses the {policy.progression!r} '
                                 f'progression, the cell {self.progression!r}')
        self.policy = policy
        # unused under a policy: DDP must not wait for their gradients
        for param in self.arch_parameters():
            param.requires_grad_(policy is None)

    def discretize(self) -> Policy:
        """The derived policy: per edge the op of largest α, per node the
        ``edges_per_node`` strongest edges."""
        weights = self.op_weights().detach().cpu()
        magnitudes = self.magnitudes.detach().cpu().tolist()
        nodes = []
        for node in range(self.num_nodes):
            strength, best = weights[node_edges(node)].max(dim=-1)
            keep = strength.argsort(
                descending=True,
                stable=True)[:self.edges_per_node].sort().values.tolist()
            nodes.append([(s, self.op_names[best[s]]) for s in keep])
        used = {op for edges in nodes for _, op in edges}
        return Policy(
            ops=self.op_names,
            nodes=nodes,
            num_frames=self.num_frames,
            ref_frame=self.ref_frame,
            progression=self.progression,
            magnitudes={
                name: magnitudes[k]
                for k, (name, op) in enumerate(zip(self.op_names, self.ops))
                if op.has_magnitude and name in used
            })

    # --- rendering -----------------------------------------------------------
    def forward(self, images: Tensor) -> Tensor:
        """Make clips.

        Args:
            images (Tensor): (N, C, H, W) (normalised) images.

        Returns:
            Tensor: (N, T, C, H, W) clips; frame ``ref_frame`` is ``images``.
        """
        self._last_size = tuple(images.shape[-2:])
        if self.policy is not None:
            clip, _ = render_policy(
                images, self.policy.op_modules, self.policy.edge_indices(),
                self.policy.magnitude_tensor(images.device), self.layout,
                self.space, self.padding_mode)
            return clip
        weights, active = self._edge_weights()
        return mix_clip(images, self.ops, weights, self.magnitudes,
                        self.layout, self.num_nodes, self.space,
                        self.padding_mode, active)

    def _edge_weights(self) -> Tuple[Tensor, Optional[List[List[bool]]]]:
        """Per-edge op weights and, when sampling, which ops each node must
        render."""
        logits = self.alpha / self.temperature
        if self.sampling == 'mixture' or not self.training:
            return F.softmax(logits, dim=-1), None
        gumbels = -torch.empty_like(logits).exponential_().log()
        probs = F.softmax(logits + gumbels, dim=-1)
        index = probs.argmax(dim=-1)
        hard = F.one_hot(index, len(self.ops)).to(probs.dtype)
        # one-hot forward, softmax gradient (straight through)
        weights = hard - probs.detach() + probs
        chosen = index.tolist()
        active = [[False] * len(self.ops) for _ in range(self.num_nodes)]
        for node in range(self.num_nodes):
            for e in node_edges(node):
                active[node][chosen[e]] = True
        return weights * hard, active

    def frame_affines(
            self,
            batch_size: int,
            image_size: Optional[Tuple[int, int]] = None) -> Optional[Tensor]:
        """Per image and frame the ``affine_grid`` theta (output → source,
        normalised) of the discrete policy.

        Args:
            batch_size (int): N.
            image_size (tuple, optional): (H, W) the thetas are for (rotations
                and shears depend on the aspect ratio); default the size of the
                last forward's images.

        Returns:
            Tensor | None: (N, T, 2, 3); None for the relaxed mixture or when a
            frame is not one warp of the image.
        """
        if self.policy is None:
            return None
        size = image_size or self._last_size
        if size is None:
            raise ValueError(
                'frame_affines() needs image_size=(H, W) before the first '
                'forward')
        _, thetas = render_policy(
            None,
            self.policy.op_modules,
            self.policy.edge_indices(),
            self.policy.magnitude_tensor(self.alpha.device),
            self.layout,
            self.space,
            self.padding_mode,
            image_size=size)
        return None if thetas is None else thetas.unsqueeze(0).expand(
            batch_size, -1, -1, -1)

    def extra_repr(self) -> str:
        mode = 'policy' if self.policy is not None else self.sampling
        return (f'ops={list(self.op_names)}, num_frames={self.num_frames}, '
                f'ref_frame={self.ref_frame}, num_nodes={self.num_nodes}, '
                f'progression={self.progression!r}, mode={mode!r}')


# classification: also in mmpretrain's registry, if installed
from das_mmseg.registry import register_in_mmpretrain  # noqa: E402

register_in_mmpretrain(ClipCell, 'MODELS')


def build_clip_cell(
        registry, clip_cell: Optional[dict],
        num_frames: Optional[int]) -> Tuple[Optional[nn.Module], int]:
    """Build a clip model's cell and settle its clip length T.

    Args:
        registry (Registry): The MODELS registry to build from
            (mmseg's or mmpretrain's).
        clip_cell (dict, optional): The cell's config; None for a model fed
            clips (or images repeated T times).
        num_frames (int, optional): T, when given explicitly; it must agree
            with the cell's.

    Returns:
        tuple: The cell (or None) and T (the explicit one, else the cell's,
            else 1).
    """
    cell = registry.build(clip_cell) if clip_cell is not None else None
    cell_frames = cell.num_frames if cell is not None else None
    if (num_frames is not None and cell_frames is not None
            and num_frames != cell_frames):
        raise ValueError(
            f'num_frames={num_frames} contradicts the clip cell\'s '
            f'num_frames={cell_frames}; set one of them')
    if num_frames is not None and (not isinstance(num_frames, int)
                                   or num_frames < 1):
        raise ValueError(
            f'num_frames must be an integer >= 1, got {num_frames!r}')
    return cell, num_frames or cell_frames or 1
