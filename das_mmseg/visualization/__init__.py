"""Pictures of the DAS search and of clips, shared by the policy hook and the
analysis tools."""
from .alpha import draw_alpha_history
from .clip import clip_to_rgb, draw_clip
from .image import encode_png

__all__ = ['draw_alpha_history', 'clip_to_rgb', 'draw_clip', 'encode_png']
