"""How a clip cell renders: clips of images from its discrete policy or its
relaxed (or sampled) op weights, the same moves on label maps, and the frame
affines that fusion undoes."""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from das_mmseg.augment import PixelSpace, mix_clip, render_policy
from das_mmseg.augment.ops import GeometricOp, Identity
from das_mmseg.augment.rendering import check_clip_size
from das_mmseg.augment.tensor_checks import check_images

#: how a relaxed cell weighs the ops of an edge in training (see ClipCell)
SAMPLING_MODES = ('mixture', 'gumbel')

#: (E, K) op weights and, when one op per edge was sampled, per edge and op
#: whether it is rendered (None: all are)
EdgeWeights = Tuple[Tensor, Optional[List[List[bool]]]]


class CellRenderingMixin:
    """Rendering of :class:`ClipCell`.

    The host cell has the op set (``ops``), its layout (``layout``,
    ``num_frames``, ``num_nodes``, ``node_aggregation``), its search state
    (``alpha``, ``temperature``, ``sampling``, ``magnitudes``), ``_policy``
    (the discrete policy or None), its pixel ``space``, ``padding_mode`` and
    ``max_clip_elements``. :meth:`forward` records what :meth:`render_maps`
    and :meth:`frame_affines` follow: the image size (``_last_size``) and the
    edge weights of a relaxed render (``_last_weights``).
    """

    def forward(self, images: Tensor) -> Tensor:
        """Make clips.

        Args:
            images (Tensor): (N, C, H, W) images in the cell's ``space``
                (normalised as the data preprocessor normalises).

        Returns:
            Tensor: (N, T, C, H, W) clips in the same space; frame
            ``ref_frame`` is ``images``.
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

    def _edge_weights(self) -> EdgeWeights:
        """(E, K) per-edge op weights and, when sampling, which op of each
        edge to render."""
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
