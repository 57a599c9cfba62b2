"""The clip cell: the differentiable image-to-video cell of DAS.

- :mod:`.cell`: :class:`ClipCell`, its search state and discrete policy;
- :mod:`.rendering`: how it renders clips, label maps and frame affines;
- :mod:`.magnitudes`: its per-edge op magnitudes (drawn, given, learned);
- :mod:`.checkpoint`: how it is saved and loaded (policy as extra state);
- :mod:`.build`: building it in a clip model, from the model's config and
  data preprocessor.
"""
from .build import build_clip_cell
from .cell import ClipCell
from .checkpoint import decode_cell_state, encode_cell_state

__all__ = [
    'ClipCell', 'build_clip_cell', 'encode_cell_state', 'decode_cell_state'
]
