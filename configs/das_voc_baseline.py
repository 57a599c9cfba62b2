# The image baseline of configs/das_voc.py: the same PSPNet-ResNet-50 and
# schedule without the DAS parts (no clip cell, no temporal modules, T = 1, no
# search): exactly mmseg's EncoderDecoder on the same data. The same A/B from
# the DAS config: --cfg-options model.clip_cell=None model.num_frames=1
# model.backbone.temporal=None custom_hooks=[]
_base_ = ['./das_voc.py']
model = dict(
    clip_cell=None, num_frames=1, backbone=dict(temporal=None, num_segments=1))
custom_hooks = []
