"""The image-to-video op library: one implementation for the CPU pipeline step
and the device cell."""
from .clip import (MAX_CLIP_ELEMENTS, NODE_AGGREGATIONS, PADDING_MODES,
                   PROGRESSIONS, FrameLayout, forward_to_theta, mix_clip,
                   node_edges, num_edges, op_matrices, render_policy,
                   to_normalized, warp_frames, warp_images)
from .ops import (AUGMENT_OPS, AugmentOp, GeometricOp, PhotometricOp,
                  PixelSpace, build_op, build_ops, straight_through)
from .policy import POLICY_VERSION, Policy, PolicyEdge, PolicyError

__all__ = [
    'AUGMENT_OPS', 'AugmentOp', 'GeometricOp', 'PhotometricOp', 'PixelSpace',
    'build_op', 'build_ops', 'straight_through', 'MAX_CLIP_ELEMENTS',
    'NODE_AGGREGATIONS', 'PADDING_MODES', 'PROGRESSIONS', 'FrameLayout',
    'forward_to_theta', 'mix_clip', 'node_edges', 'num_edges', 'op_matrices',
    'render_policy', 'to_normalized', 'warp_frames', 'warp_images',
    'POLICY_VERSION', 'Policy', 'PolicyEdge', 'PolicyError'
]
