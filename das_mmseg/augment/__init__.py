"""The image-to-video op library: one implementation for the CPU pipeline step
and the device cell.

- ``ops/``: the op library (the ops' contract, registry, geometric and
  photometric ops); ``pixel_space``: how images map to pixel values;
  ``tensor_checks``: the checks of the tensors the renderers take.
- ``topology``: the cell graph (edges, nodes, masses) and the clip's frames;
  ``geometry``: affine maths and warps; ``rendering``: a clip from the graph
  (``mix_clip``) or a policy (``render_policy``); ``paths``: the warps a
  discrete policy's paths make of each frame.
- ``policy``: the discrete policy, its checks (``policy_validation``) and
  JSON file (``policy_format``); ``random_policy``: the random control.
"""
from .geometry import (PADDING_MODES, forward_to_theta, op_matrices,
                       to_normalized, warp_frames, warp_images)
from .ops import (AUGMENT_OPS, AugmentOp, GeometricOp, PhotometricOp, build_op,
                  build_ops, straight_through)
from .pixel_space import PixelSpace
from .policy import Policy
from .policy_format import POLICY_VERSION
from .policy_validation import PolicyEdge, PolicyError
from .rendering import MAX_CLIP_ELEMENTS, mix_clip, render_policy
from .topology import (NODE_AGGREGATIONS, PROGRESSIONS, FrameLayout,
                       node_edges, num_edges)

__all__ = [
    'AUGMENT_OPS', 'AugmentOp', 'GeometricOp', 'PhotometricOp', 'PixelSpace',
    'build_op', 'build_ops', 'straight_through', 'MAX_CLIP_ELEMENTS',
    'NODE_AGGREGATIONS', 'PADDING_MODES', 'PROGRESSIONS', 'FrameLayout',
    'forward_to_theta', 'mix_clip', 'node_edges', 'num_edges', 'op_matrices',
    'render_policy', 'to_normalized', 'warp_frames', 'warp_images',
    'POLICY_VERSION', 'Policy', 'PolicyEdge', 'PolicyError'
]
