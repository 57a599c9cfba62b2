"""The differentiable image-to-video cell of DAS: a DARTS cell whose edges mix
augmentation ops over a whole clip."""
import json
import math
import warnings
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from das_mmseg.augment import (PADDING_MODES, FrameLayout, PixelSpace, Policy,
                               PolicyError, build_ops, mix_clip, node_edges,
                               num_edges, render_policy)
from das_mmseg.augment.ops import GeometricOp, Identity
from das_mmseg.augment.policy_validation import MAX_SEED
from das_mmseg.augment.rendering import MAX_CLIP_ELEMENTS, check_clip_size
from das_mmseg.augment.tensor_checks import check_images
from das_mmseg.augment.topology import MAX_NODES, NODE_AGGREGATIONS
from das_mmseg.utils.validators import (check_channel_values, check_choice,
                                        check_int, check_number)

SAMPLING_MODES = ('mixture', 'gumbel')
# the state-dict entry of the cell's extra state (torch's suffix)
EXTRA_STATE_KEY = '_extra_state'
EXTRA_STATE_VERSION = 2
POLICY_HINT = ('--cfg-options model.clip_cell.policy=<work_dir>/'
               'das_policy.json')


def encode_cell_state(state: dict) -> Tensor:
    """A cell's extra state as a uint8 tensor of its UTF-8 JSON.

    A tensor, not the dict itself: under DDP mmengine's Runner broadcasts
    every ``state_dict()`` entry after ``init_weights``, which only tensors
    survive. The bytes are zero-padded to a power of two (at least 4096) so
    that every rank's tensor has the same length even where ranks hold
    different magnitude seeds; it still loads with ``weights_only=True``.

    Args:
        state (dict): JSON-serialisable state.

    Returns:
        Tensor: (L,) uint8, L a power of two >= 4096.
    """
    data = json.dumps(state, sort_keys=True).encode('utf-8')
    length = max(4096, 1 << (len(data) - 1).bit_length())
    out = torch.zeros(length, dtype=torch.uint8)
    out[:len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return out


def decode_cell_state(state: Union[Tensor, dict]) -> dict:
    """The dict of :func:`encode_cell_state` (a dict is returned as is).

    Raises:
        ValueError: ``state`` is neither, or holds no ``"policy"`` entry.
    """
    if torch.is_tensor(state) and state.dtype == torch.uint8:
        raw = bytes(state.detach().cpu().tolist()).rstrip(b'\0')
        try:
            state = json.loads(raw.decode('utf-8'))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError('the checkpoint\'s clip cell state is not the '
                             f'JSON of a cell state ({e})') from None
    if not isinstance(state, dict) or 'policy' not in state:
        raise ValueError(
            'the checkpoint\'s clip cell state must hold a "policy" entry, '
            f'got {state!r}')
    return state


@MODELS.register_module()
class ClipCell(BaseModule):
    """Turn images into T-frame clips with a searchable (relaxed) or a fixed
    (discrete) augmentation policy.

    Two input nodes (the image repeated over the frames) feed ``num_nodes``
    intermediate nodes; every earlier node feeds every later one through an
    edge, a softmax(α / temperature)-weighted mixture of all ops applied to the
    whole clip, each op with its own per-step magnitude on that edge. Nodes sum
    their edges and the clip is the last node normalised by its total path
    weight (see :mod:`das_mmseg.augment.clip`). A frame at distance ``d`` from
    the reference frame gets each magnitude × d (zoom: factor ** d); the
    reference frame is the image.

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
            the cell sees (the data preprocessor's; ``build_clip_cell`` fills
            it in); with ``std`` it makes padding black and photometric ops
            act on pixel values.
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
                 magnitudes: Union[Dict[str, float], Sequence, None] = None,
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
            if (mean is None) != (std is None):
                raise ValueError(
                    'ClipCell: give both mean and std, or neither; '
                    f'got mean={mean!r}, std={std!r}')
            if mean is not None:
                mean = check_channel_values('mean', mean, positive=False)
                std = check_channel_values('std', std, positive=True)
                if len(mean) != len(std):
                    raise ValueError(
                        f'ClipCell: mean has {len(mean)} channels, std '
                        f'{len(std)}; give one value per channel in both')
            self.num_nodes = num_nodes
            self.padding_mode = padding_mode
            self.sampling = sampling
            self.edges_per_node = edges_per_node
            self.node_aggregation = node_aggregation
            self.learn_magnitudes = learn_magnitudes
            self.max_clip_elements = max_clip_elements
            self.space = PixelSpace(mean, std, channel_order=channel_order)

            shape = (num_edges(num_nodes), len(self.ops))
            self.alpha = nn.Parameter(
                alpha_std * torch.randn(shape), requires_grad=False)
            if magnitude_seed is None:
                # drawn from the global generator, which the runner seeds
                magnitude_seed = int(torch.randint(2**31 - 1, ()).item())
            check_int('magnitude_seed', magnitude_seed, 0, MAX_SEED)
            self.magnitude_seed = magnitude_seed
            values = self._initial_magnitudes(magnitudes, magnitude_seed)
            # the learned range: the paper's (init_range), not the op's bounds
            ranges = torch.tensor([op.init_range for op in self.ops],
                                  dtype=torch.float32)
            self.register_buffer('magnitude_range', ranges, persistent=False)
            if learn_magnitudes:
                self.magnitude_logit = nn.Parameter(
                    self._to_logits(values), requires_grad=False)
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

    # --- magnitudes ----------------------------------------------------------
    def _initial_magnitudes(self, given, seed: int) -> Tensor:
        """(E, K) drawn magnitudes, replaced by the given ones."""
        shape = (num_edges(self.num_nodes), len(self.ops))
        generator = torch.Generator().manual_seed(seed)
        low, high = torch.tensor([op.init_range for op in self.ops]).unbind(-1)
        values = low + (high - low) * torch.rand(shape, generator=generator)
        for k, op in enumerate(self.ops):
            if not op.has_magnitude:
                values[:, k] = op.identity_magnitude
        if given is None:
            return values
        if isinstance(given, dict):
            unknown = sorted(set(given) - set(self.op_names))
            if unknown:
                raise ValueError(
                    f'ClipCell: magnitudes given for {unknown}, not in the '
                    f'op set {list(self.op_names)}')
            for name, value in given.items():
                k = self.op_names.index(name)
                values[:, k] = self._check_magnitude(name, value)
            return values
        try:
            rows = torch.as_tensor(given, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            rows = None
        if rows is None or tuple(rows.shape) != shape:
            raise ValueError(
                'ClipCell: magnitudes must be a dict op name → number or an '
                f'(E, K) = {shape} nested sequence (edges × ops), got '
                f'{given!r}')
        for k, name in enumerate(self.op_names):
            for e in range(shape[0]):
                self._check_magnitude(f'{name} (edge {e})', float(rows[e, k]))
        return rows.clone()

    def _check_magnitude(self, name: str, value) -> float:
        op = self.ops[self.op_names.index(name.split(' ')[0])]
        if isinstance(value, bool) or not isinstance(
                value, (int, float)) or not math.isfinite(value):
            raise ValueError(f'ClipCell: magnitude of {name!r} must be a '
                             f'finite number, got {value!r}')
        if not op.has_magnitude:
            if value != op.identity_magnitude:
                raise ValueError(f'ClipCell: op {name!r} takes no magnitude, '
                                 f'got {value!r}')
            return float(value)
        low, high = op.bounds
        if self.learn_magnitudes:
            low, high = op.init_range
            if not low < value < high:
                raise ValueError(
                    f'ClipCell: initial magnitude of {name!r} is {value!r}, '
                    f'outside the open range ({low}, {high}) learned '
                    'magnitudes stay in (the op\'s init_range)')
        elif not low <= value <= high:
            raise ValueError(
                f'ClipCell: magnitude of {name!r} is {value!r}, outside its '
                f'bounds [{low}, {high}]')
        return float(value)

    def _to_logits(self, values: Tensor) -> Tensor:
        """(E, K) magnitudes → the logits that give them (0 for ops without a
        range)."""
        low, high = self.magnitude_range.unbind(-1)
        span = (high - low)
        u = ((values - low) / span.clamp(min=1e-12)).clamp(1e-6, 1 - 1e-6)
        return torch.where(span > 0, torch.logit(u), torch.zeros_like(u))

    @property
    def magnitudes(self) -> Tensor:
        """(E, K) per-step magnitude of each op on each edge: the fixed
        buffer, or the learned value inside the op's ``init_range``."""
        if not self.learn_magnitudes:
            return self.magnitude_values
        low, high = self.magnitude_range.unbind(-1)
        return low + (high - low) * torch.sigmoid(self.magnitude_logit)

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

    # --- state ---------------------------------------------------------------
    def get_extra_state(self) -> Tensor:
        """The discrete policy (None: relaxed) and the magnitude seed, as a
        uint8 tensor of their JSON (see :func:`encode_cell_state`)."""
        return encode_cell_state(
            dict(
                version=EXTRA_STATE_VERSION,
                policy=None
                if self._policy is None else self._policy.to_dict(),
                magnitude_seed=self.magnitude_seed,
                learned_magnitudes=self.learn_magnitudes))

    def set_extra_state(self, state: Any) -> None:
        """Restore the policy of a checkpoint, unless the config gave one
        (then the config's wins, with a warning)."""
        state = decode_cell_state(state)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always')
                policy = (None if state['policy'] is None else
                          Policy.from_dict(state['policy']))
            for warning in caught:
                warnings.warn(f'the checkpoint\'s policy: {warning.message}')
            if policy is not None:
                policy.check_compatible(self.op_names, self.num_frames,
                                        self.ref_frame)
        except PolicyError as e:
            raise PolicyError(
                f'the checkpoint\'s clip cell policy does not fit this cell: '
                f'{e}') from None
        seed = state.get('magnitude_seed')
        if seed is not None:
            self.magnitude_seed = seed
        if self._policy_from_config:
            if policy != self._policy:
                theirs = 'relaxed' if policy is None else ('policy\n' +
                                                           policy.describe())
                warnings.warn(
                    'ClipCell: the config\'s policy (model.clip_cell.policy) '
                    f'overrides the checkpoint\'s ({theirs}); rendering\n'
                    f'{self._policy.describe()}')
            return
        self._set_policy(policy)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys,
                              error_msgs) -> None:
        own = [key for key in state_dict if key.startswith(prefix)]
        if own and prefix + EXTRA_STATE_KEY not in state_dict:
            warnings.warn(
                f'ClipCell: the checkpoint holds a clip cell ({prefix}*) but '
                'no policy state (it predates it); the cell keeps ' +
                ('its config policy' if self.
                 _policy is not None else 'rendering the relaxed mixture') +
                '. To test or use a '
                'model trained with a derived policy, pass that policy: '
                f'{POLICY_HINT}')
            # what the cell has, so a strict load reports nothing else
            state_dict[prefix + EXTRA_STATE_KEY] = self.get_extra_state()
        self._convert_magnitudes(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def _convert_magnitudes(self, state_dict: dict, prefix: str) -> None:
        """Turn the checkpoint's magnitudes into this cell's form: the fixed
        buffer, the learned logits, or the per-op logits of checkpoints from
        before per-edge magnitudes (broadcast to every edge)."""
        shape = (num_edges(self.num_nodes), len(self.ops))
        logit_key = prefix + 'magnitude_logit'
        values_key = prefix + 'magnitude_values'
        values = state_dict.get(values_key)
        if torch.is_tensor(values) and not bool(
                torch.isfinite(values.detach().cpu()).all()):
            raise ValueError(
                f'the checkpoint\'s {values_key} holds non-finite '
                'magnitudes; the checkpoint is damaged')
        logits = state_dict.get(logit_key)
        if logits is None or tuple(logits.shape) not in (shape[1:], shape):
            return  # the cell's own form, or a mismatch torch reports
        logits = logits.detach().float().cpu()
        if not bool(torch.isfinite(logits).all()):
            raise ValueError(
                f'the checkpoint\'s {logit_key} holds non-finite values; the '
                'checkpoint is damaged')
        if tuple(logits.shape) == shape:  # learned per-edge magnitudes
            if self.learn_magnitudes:
                return
            low, high = self.magnitude_range.cpu().unbind(-1)
            values = low + (high - low) * torch.sigmoid(logits)
        else:
            bounds = torch.tensor([op.bounds for op in self.ops])
            low, high = bounds.unbind(-1)
            per_op = low + (high - low) * torch.sigmoid(logits)
            values = per_op.expand(shape).clone()
            warnings.warn(
                f'ClipCell: the checkpoint\'s {logit_key} has shape '
                f'{tuple(logits.shape)}: one learned magnitude per op, from '
                'before per-edge magnitudes (expected '
                f'{shape}). Its values '
                f'{dict(zip(self.op_names, per_op.tolist()))} are used on '
                'every edge; the relaxed cell now sums its edges, so α means '
                'something else than when it was saved. A model trained with '
                f'a derived policy needs that policy: {POLICY_HINT}')
        del state_dict[logit_key]
        if self.learn_magnitudes:
            state_dict[logit_key] = self._to_logits(values)
        else:
            state_dict[values_key] = values

    # --- rendering -----------------------------------------------------------
    def forward(self, images: Tensor) -> Tensor:
        """Make clips.

        Args:
            images (Tensor): (N, C, H, W) (normalised) images.

        Returns:
            Tensor: (N, T, C, H, W) clips; frame ``ref_frame`` is ``images``.
        """
        channels = None if self.space.mean is None else len(self.space.mean)
        check_images(images, 'ClipCell.forward', channels)
        n, c, h, w = images.shape
        check_clip_size((n, self.num_frames, c, h, w), self.max_clip_elements,
                        'ClipCell.forward')
        self._last_size = (h, w)
        if self._policy is not None:
            return render_policy(images, self._policy, self.space,
                                 self.padding_mode, self.max_clip_elements)
        weights, active = self._edge_weights()
        # a sampled one-hot (active given): its node masses are path counts,
        # constants, so the gradient is the straight-through estimator's of
        # the plain sum over paths, not also the normaliser's
        mass_weights = None if active is None else weights.detach()
        # what render_maps moves label maps with: this very sample
        self._last_weights = (weights.detach(), active)
        return mix_clip(images, self.ops, weights, self.magnitudes,
                        self.layout, self.num_nodes, self.space,
                        self.padding_mode, active, self.node_aggregation,
                        self.max_clip_elements, mass_weights)

    def render_maps(self, maps: Tensor) -> Tensor:
        """Move per-pixel maps (e.g. one-hot labels) as the last
        :meth:`forward` moved the images' pixels: the same policy, or the
        same relaxed (or sampled) edge weights, with the geometric ops only
        (photometric ops move no pixel: identity here), no normalisation, the
        cell's padding, no gradient.

        Each frame of the result is the frame's own content map: a
        single-warp frame's labels warped with its affine, a frame blending
        paths the same blend of the warped maps (soft labels).

        Args:
            maps (Tensor): (N, C, H, W) maps of the last forward's images.

        Returns:
            Tensor: (N, T, C, H, W); frame ``ref_frame`` is ``maps``.
        """
        if self._policy is not None:
            ops, num_nodes = self._policy.op_modules, self._policy.num_nodes
            weights, active = self._policy.edge_weights(maps.device)
            magnitudes = self._policy.magnitude_matrix(maps.device)
            layout = self._policy.layout
            aggregation = self._policy.node_aggregation
        else:
            if getattr(self, '_last_weights', None) is None:
                raise RuntimeError(
                    'ClipCell.render_maps follows the last forward, but the '
                    'cell has not rendered a clip yet')
            weights, active = self._last_weights
            ops, num_nodes, layout = self.ops, self.num_nodes, self.layout
            magnitudes = self.magnitudes.detach()
            aggregation = self.node_aggregation
        moving = [
            op if isinstance(op, GeometricOp) else Identity() for op in ops
        ]
        with torch.no_grad():
            return mix_clip(
                maps,
                moving,
                weights.to(maps.dtype),
                magnitudes.to(maps.dtype),
                layout,
                num_nodes,
                PixelSpace(),
                self.padding_mode,
                active,
                aggregation,
                self.max_clip_elements,
                mass_weights=weights.to(maps.dtype))

    def _edge_weights(self) -> Tuple[Tensor, Optional[List[List[bool]]]]:
        """Per-edge op weights and, when sampling, which op of each edge to
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
        active = hard.bool().tolist()
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
            Tensor | None: (N, T, 2, 3); None for the relaxed mixture or when
            the paths of a frame warp the image differently.
        """
        if self._policy is None:
            return None
        size = image_size or self._last_size
        if size is None:
            raise ValueError(
                'frame_affines() needs image_size=(H, W) before the first '
                'forward')
        thetas = self._policy.frame_affines(tuple(size))
        if thetas is None:
            return None
        return thetas.to(self.alpha.device).unsqueeze(0).expand(
            batch_size, -1, -1, -1)

    def extra_repr(self) -> str:
        mode = 'policy' if self._policy is not None else self.sampling
        return (f'ops={list(self.op_names)}, num_frames={self.num_frames}, '
                f'ref_frame={self.ref_frame}, num_nodes={self.num_nodes}, '
                f'progression={self.progression!r}, mode={mode!r}, '
                f'learn_magnitudes={self.learn_magnitudes}, '
                f'magnitude_seed={self.magnitude_seed}')


# classification: also in mmpretrain's registry, if installed
from das_mmseg.registry import register_in_mmpretrain  # noqa: E402

register_in_mmpretrain(ClipCell, 'MODELS')


def build_clip_cell(
    registry,
    clip_cell: Optional[dict],
    num_frames: Optional[int],
    data_preprocessor: Optional[nn.Module] = None
) -> Tuple[Optional[nn.Module], int]:
    """Build a clip model's cell and settle its clip length T.

    Args:
        registry (Registry): The MODELS registry to build from
            (mmseg's or mmpretrain's).
        clip_cell (dict, optional): The cell's config; None for a model fed
            clips (or images repeated T times).
        num_frames (int, optional): T, when given explicitly; it must agree
            with the cell's.
        data_preprocessor (nn.Module, optional): The model's data
            preprocessor; the cell's ``mean``/``std``/``channel_order`` are
            filled from it when the cell config omits them (see
            :func:`preprocessor_space`).

    Returns:
        tuple: The cell (or None) and T (the explicit one, else the cell's,
            else 1).
    """
    if num_frames is not None:
        check_int('num_frames', num_frames, 1)
    cell = None
    if clip_cell is not None:
        cell = registry.build(
            dict(clip_cell, **preprocessor_space(clip_cell,
                                                 data_preprocessor)))
    cell_frames = cell.num_frames if cell is not None else None
    if (num_frames is not None and cell_frames is not None
            and num_frames != cell_frames):
        raise ValueError(
            f'num_frames={num_frames} contradicts the clip cell\'s '
            f'num_frames={cell_frames}; set one of them')
    return cell, num_frames or cell_frames or 1


def preprocessor_space(clip_cell: dict,
                       data_preprocessor: Optional[nn.Module]) -> dict:
    """The ``mean``, ``std`` and ``channel_order`` a cell config omits, from
    the data preprocessor that makes the cell's input, so a config writes the
    normalisation once.

    The preprocessor's public ``mean``/``std`` buffers give the
    normalisation; its ``channel_conversion`` (mmseg) or ``to_rgb``
    (mmpretrain) flag turns the loaded BGR images into RGB. Without the flag
    the channel order is the data source's, which the preprocessor cannot
    tell (BGR from image files, RGB from CIFAR's arrays): the cell's
    ``channel_order`` (default ``'rgb'``) then stays as configured. A value the
    cell config gives must agree with the preprocessor's.

    Returns:
        dict: The keys to add to the cell config.
    """
    if data_preprocessor is None:
        return {}
    found: Dict[str, Any] = {}
    mean = getattr(data_preprocessor, 'mean', None)
    std = getattr(data_preprocessor, 'std', None)
    if torch.is_tensor(mean) and torch.is_tensor(std):
        found['mean'] = [float(v) for v in mean.flatten()]
        found['std'] = [float(v) for v in std.flatten()]
    for flag in ('channel_conversion', 'to_rgb'):
        # mmcv loads BGR and the flag makes it RGB; without it the order is
        # the source's (BGR from image files, RGB from CIFAR's arrays), which
        # the preprocessor does not know: then the cell's own setting stays
        if getattr(data_preprocessor, flag, None) is True:
            found['channel_order'] = 'rgb'
            break
    name = type(data_preprocessor).__name__
    for key, value in found.items():
        given = clip_cell.get(key)
        if given is None:
            continue
        same = (
            given == value
            if isinstance(value, str) else len(given) == len(value) and all(
                math.isclose(float(a), b, rel_tol=1e-6, abs_tol=1e-6)
                for a, b in zip(given, value)))
        if not same:
            raise ValueError(
                f'clip_cell.{key}={given!r} contradicts the data '
                f'preprocessor ({name}), whose images have {key}={value!r}; '
                f'drop clip_cell.{key} (it is taken from the preprocessor)')
    return {
        key: value
        for key, value in found.items()
        if key not in clip_cell or clip_cell[key] is None
    }
