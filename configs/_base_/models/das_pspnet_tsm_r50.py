# DAS PSPNet on a TSM-ResNet-50: 1/8 of the channels shifted one frame each
# way, zero FLOPs and no parameters.
_base_ = ['./das_pspnet_gsf_r50.py']
tsm = dict(type='TemporalShift', shift_ratio=0.125)
model = dict(backbone=dict(temporal=dict(tsm, _delete_=True)))
