# DAS PSPNet on a TSM-MobileNetV2.
_base_ = ['./das_pspnet_gsf_mv2.py']
tsm = dict(type='TemporalShift', shift_ratio=0.125)
model = dict(backbone=dict(temporal=dict(tsm, _delete_=True)))
