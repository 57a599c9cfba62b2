# DAS PSPNet on a TSM-ResNet-18.
_base_ = ['./das_pspnet_gsf_r18.py']
model = dict(
    backbone=dict(temporal=dict(_delete_=True, type='TSM', shift_ratio=0.125)))
