from .clip_encoder_decoder import ClipEncoderDecoder, FramePass

__all__ = ['ClipEncoderDecoder', 'FramePass']
