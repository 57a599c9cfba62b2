"""The differentiable image-to-video cell of DAS: a DARTS cell whose edges mix
augmentation ops over a whole clip."""
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from das_mmseg.augment import (PADDING_MODES, FrameLayout, PixelSpace, Policy,
                               PolicyError, build_ops, node_edges, num_edges)
from das_mmseg.augment.policy_validation import MAX_SEED
from das_mmseg.augment.rendering import MAX_CLIP_ELEMENTS
from das_mmseg.augment.topology import MAX_NODES, NODE_AGGREGATIONS
from das_mmseg.registry import register_in_mmpretrain
from das_mmseg.utils.validators import (check_channel_values, check_choice,
                                        check_int, check_number)
from .checkpoint import CellCheckpointMixin
from .magnitudes import (GivenMagnitudes, initial_magnitudes,
                         logits_of_magnitudes, magnitudes_from_logits,
                         op_ranges)
from .rendering import SAMPLING_MODES, CellRenderingMixin


@MODELS.register_module()
class ClipCell(CellCheckpointMixin, CellRenderingMixin, BaseModule):
    """Turn images into T-frame clips with a searchable (relaxed) or a fixed
    (discrete) augmentation policy.

    Two input nodes (the image repeated over the frames) feed ``num_nodes``
    intermediate nodes; every earlier node feeds every later one through an
    edge, a softmax(α / temperature)-weighted mixture of all ops applied to the
    whole clip, each op with its own per-step magnitude on that edge. Nodes sum
    their edges and the clip is the last node normalised by its total path
    weight (see :mod:`das_mmseg.augment.rendering`). A frame at distance
    ``d`` from the reference frame gets each magnitude × d (zoom: factor **
    d); the reference frame is the image.

    Magnitudes, as the authors' code: each op on each edge draws its per-step
    magnitude once, uniformly from the op's ``init_range`` (the paper's
    ranges: shift ±0.12, zoom 0.7-1.3, rotate ±20°), with the generator seed
    ``magnitude_seed``, and keeps it (a persistent buffer: it is in every
    checkpoint, and the seed in the policy). Only which op sits on which edge
    is searched. ``learn_magnitudes=True`` (an extension) learns them instead:
    ``init_range[0] + (init_range[1] - init_range[0]) · sigmoid(logit)``,
    starting at the drawn values.

    α (and learned magnitudes) never require gradients outside
    :meth:`arch_grad`: the weight loss cannot train them, and DDP, which skips
    parameters that do not require gradients when it wraps the model, needs no
    list of unused parameters.

    The discrete policy (or None while relaxed) and the magnitude seed are the
    cell's extra state: they travel in the state dict, so every way of loading
    a checkpoint renders the clip the weights were trained with.

    Args:
        ops (sequence of str): Op set, names registered in
            ``das_mmseg.augment.AUGMENT_OPS``.
        num_frames (int): T. In a clip model the model states T and fills
            it in (see :mod:`das_mmseg.models.clip_length`).
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
            (or JSON path) to render instead of the mixture. It overrides the
            policy of a loaded checkpoint (with a warning).
        sampling (str): ``'mixture'`` renders every op of every edge;
            ``'gumbel'`` samples one op per edge in training with a
            straight-through Gumbel-softmax (GDAS) and renders only the sampled
            ones; in eval mode it renders the mixture.
        edges_per_node (int): Incoming edges ``discretize()`` keeps per node
            (DARTS: 2).
        magnitudes (dict | sequence, optional): Given magnitudes instead of
            drawn ones: op name → per-step magnitude on every edge (the other
            ops are drawn), or an (E, K) nested sequence.
        magnitude_seed (int, optional): Seed of the magnitude draw; None draws
            one from torch's global generator (which the runner seeds) and
            records it.
        learn_magnitudes (bool): Learn the magnitudes (see above).
        node_aggregation (str): ``'sum'`` (the authors', DARTS); ``'mean'``
            renders the relaxed cell as version-1 policies were derived.
        mean (sequence of float, optional): Normalisation mean of the images
            the cell sees; with ``std`` it makes padding black and
            photometric ops act on pixel values. In a clip model the data
            preprocessor states it and :func:`build_clip_cell` fills it in.
        std (sequence of float, optional): Normalisation std, see ``mean``.
        channel_order (str): ``'rgb'`` or ``'bgr'`` (of the images the cell
            sees).
        alpha_std (float): α is initialised as ``alpha_std * randn``.
        max_clip_elements (int): Largest clip (N·T·C·H·W elements) the cell
            renders; a larger batch is refused before anything is allocated.
            Default ``2**30`` (4 GiB in float32 for the clip alone).
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward: (N, C, H, W) → (N, T, C, H, W).
        alpha, magnitudes: (E, K), E edges (``num_edges(num_nodes)``), K ops.

    Rendering is :class:`CellRenderingMixin`'s (:mod:`.rendering`), saving
    and loading :class:`CellCheckpointMixin`'s (:mod:`.checkpoint`).
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
                 magnitudes: GivenMagnitudes = None,
                 magnitude_seed: Optional[int] = None,
                 learn_magnitudes: bool = False,
                 node_aggregation: str = 'sum',
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 channel_order: str = 'rgb',
                 alpha_std: float = 1e-3,
                 max_clip_elements: int = MAX_CLIP_ELEMENTS,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # every config error names the cell: it came from clip_cell=...
        try:
            if isinstance(ops, str) or not isinstance(ops, Sequence):
                raise ValueError(
                    'ClipCell: ops must be a list of op names, got '
                    f'{ops!r}')
            self.op_names = tuple(ops)
            self.ops = build_ops(self.op_names)
            self.layout = FrameLayout.build(num_frames, ref_frame, progression)
            self.num_frames = num_frames
            self.ref_frame = self.layout.ref_frame
            self.progression = progression
            check_int('num_nodes', num_nodes, 1, MAX_NODES)
            self.temperature = check_number('temperature', temperature, 0,
                                            True)
            check_choice('padding_mode', padding_mode, PADDING_MODES)
            check_choice('sampling', sampling, SAMPLING_MODES)
            check_choice('node_aggregation', node_aggregation,
                         NODE_AGGREGATIONS)
            check_int('edges_per_node', edges_per_node, 1)
            check_int('max_clip_elements', max_clip_elements, 1)
            if not isinstance(learn_magnitudes, bool):
                raise ValueError('ClipCell: learn_magnitudes must be True or '
                                 f'False, got {learn_magnitudes!r}')
            alpha_std = check_number('alpha_std', alpha_std, 0, False)
            self.num_nodes = num_nodes
            self.padding_mode = padding_mode
            self.sampling = sampling
            self.edges_per_node = edges_per_node
            self.node_aggregation = node_aggregation
            self.learn_magnitudes = learn_magnitudes
            self.max_clip_elements = max_clip_elements
            self.space = self._pixel_space(mean, std, channel_order)

            shape = (num_edges(num_nodes), len(self.ops))
            self.alpha = nn.Parameter(
                alpha_std * torch.randn(shape), requires_grad=False)
            if magnitude_seed is None:
                # drawn from the global generator, which the runner seeds
                magnitude_seed = int(torch.randint(2**31 - 1, ()).item())
            check_int('magnitude_seed', magnitude_seed, 0, MAX_SEED)
            self.magnitude_seed = magnitude_seed
            values = initial_magnitudes(self.ops, self.op_names, shape[0],
                                        magnitude_seed, magnitudes,
                                        learn_magnitudes)
            self.register_buffer(
                'magnitude_range', op_ranges(self.ops), persistent=False)
            if learn_magnitudes:
                self.magnitude_logit = nn.Parameter(
                    logits_of_magnitudes(values, self.magnitude_range),
                    requires_grad=False)
            else:
                self.register_buffer('magnitude_values', values)
            self._grad_depth = 0
            self._policy: Optional[Policy] = None
            # a policy from the config wins over a checkpoint's
            self._policy_from_config = policy is not None
            self._last_size: Optional[Tuple[int, int]] = None
            self._set_policy(policy)
        except (ValueError, KeyError) as e:
            message = str(e.args[0]) if e.args else str(e)
            if not message.startswith('ClipCell'):
                raise type(e)(f'ClipCell: {message}') from None
            raise

    @staticmethod
    def _pixel_space(mean: Optional[Sequence[float]],
                     std: Optional[Sequence[float]],
                     channel_order: str) -> PixelSpace:
        """The space of the images the cell sees: normalised with
        ``mean``/``std`` (both or neither, one value per channel)."""
        if (mean is None) != (std is None):
            raise ValueError('ClipCell: give both mean and std, or neither; '
                             f'got mean={mean!r}, std={std!r}')
        if mean is not None:
            mean = check_channel_values('mean', mean, positive=False)
            std = check_channel_values('std', std, positive=True)
            if len(mean) != len(std):
                raise ValueError(
                    f'ClipCell: mean has {len(mean)} channels, std '
                    f'{len(std)}; give one value per channel in both')
        return PixelSpace(mean, std, channel_order=channel_order)

    @classmethod
    def from_policy(cls, source: Policy, **kwargs) -> 'ClipCell':
        """A cell of the ``source`` policy's space and clip layout (ops, T,
        reference frame, progression, nodes); ``kwargs`` set the rest (e.g.
        ``policy=source`` to render it, ``magnitude_seed``)."""
        space = dict(
            ops=source.ops,
            num_frames=source.num_frames,
            ref_frame=source.ref_frame,
            progression=source.progression,
            num_nodes=source.num_nodes)
        return cls(**dict(space, **kwargs))

    @property
    def magnitudes(self) -> Tensor:
        """(E, K) per-step magnitude of each op on each edge: the fixed
        buffer, or the learned value inside the op's ``init_range``."""
        if not self.learn_magnitudes:
            return self.magnitude_values
        return magnitudes_from_logits(self.magnitude_logit,
                                      self.magnitude_range)

    # --- architecture parameters ---------------------------------------------
    def magnitude_parameters(self) -> List[nn.Parameter]:
        """``[magnitude_logit]`` when magnitudes are learned, else ``[]``
        (the optimizer constructor gives them no weight decay)."""
        return [self.magnitude_logit] if self.learn_magnitudes else []

    def arch_parameters(self) -> List[nn.Parameter]:
        """α (and the learned magnitudes): what the policy optimizer owns, and
        nothing else."""
        return [self.alpha] + self.magnitude_parameters()

    @contextmanager
    def arch_grad(self) -> Iterator[None]:
        """Let the architecture parameters require gradients inside the block
        (the architecture step); off again, and their ``.grad`` None, on exit.
        Re-entrant."""
        self._grad_depth += 1
        for param in self.arch_parameters():
            param.requires_grad_(True)
        try:
            yield
        finally:
            self._grad_depth -= 1
            if not self._grad_depth:
                for param in self.arch_parameters():
                    param.requires_grad_(False)
                    param.grad = None

    def op_weights(self) -> Tensor:
        """(E, K) softmax(α / temperature)."""
        return F.softmax(self.alpha / self.temperature, dim=-1)

    # --- policy --------------------------------------------------------------
    @property
    def policy(self) -> Optional[Policy]:
        """The discrete policy the cell renders, or None (relaxed)."""
        return self._policy

    def set_policy(self, policy: Union[Policy, dict, str, None]) -> None:
        """Render ``policy`` (a Policy, dict or JSON path) from now on, or the
        relaxed mixture with None."""
        self._set_policy(policy)
        # set on purpose: a checkpoint loaded later brings its own
        self._policy_from_config = False

    def _set_policy(self, policy: Union[Policy, dict, str, None]) -> None:
        if policy is not None:
            policy = Policy.coerce(policy)
            policy.check_compatible(self.op_names, self.num_frames,
                                    self.ref_frame)
            if policy.progression != self.progression:
                raise PolicyError(
                    f'the policy uses the {policy.progression!r} '
                    f'progression, the cell {self.progression!r}')
        self._policy = policy

    def discretize(self) -> Policy:
        """The derived policy: per edge the op of largest α, per node the
        ``edges_per_node`` strongest edges, each with its magnitude."""
        weights = self.op_weights().detach().cpu()
        magnitudes = self.magnitudes.detach().cpu()
        nodes = []
        for node in range(self.num_nodes):
            edges = node_edges(node)
            strength, best = weights[edges.start:edges.stop].max(dim=-1)
            keep = strength.argsort(
                descending=True,
                stable=True)[:self.edges_per_node].sort().values.tolist()
            kept = []
            for s in keep:
                k = int(best[s])
                magnitude = (
                    float(magnitudes[edges[s], k])
                    if self.ops[k].has_magnitude else None)
                kept.append((s, self.op_names[k], magnitude))
            nodes.append(kept)
        return Policy(
            ops=self.op_names,
            nodes=nodes,
            num_frames=self.num_frames,
            ref_frame=self.ref_frame,
            progression=self.progression,
            node_aggregation=self.node_aggregation,
            magnitude_seed=self.magnitude_seed,
            learned_magnitudes=self.learn_magnitudes)

    def extra_repr(self) -> str:
        mode = 'policy' if self._policy is not None else self.sampling
        return (f'ops={list(self.op_names)}, num_frames={self.num_frames}, '
                f'ref_frame={self.ref_frame}, num_nodes={self.num_nodes}, '
                f'progression={self.progression!r}, mode={mode!r}, '
                f'learn_magnitudes={self.learn_magnitudes}, '
                f'magnitude_seed={self.magnitude_seed}')


# classification: also in mmpretrain's registry, if installed
register_in_mmpretrain(ClipCell, 'MODELS')
