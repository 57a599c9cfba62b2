# DAS PSPNet on a TSM-MobileNetV2.
_base_ = ['./das_pspnet_gsf_mv2.py']
model = dict(
    backbone=dict(temporal=dict(_delete_=True, type='TSM', shift_ratio=0.125)))
