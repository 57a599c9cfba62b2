# DAS PSPNet on a TSM-ResNet-18.
_base_ = ['./das_pspnet_gsf_r18.py']
tsm = dict(type='TemporalShift', shift_ratio=0.125)
model = dict(backbone=dict(temporal=dict(tsm, _delete_=True)))
