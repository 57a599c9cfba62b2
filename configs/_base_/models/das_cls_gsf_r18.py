# DAS classifier on a GSF-ResNet-18 (mmpretrain's resnet18.py; T = 8, logits
# averaged); see das_cls_gsf_r50.py.
_base_ = ['./das_cls_gsf_r50.py']
model = dict(backbone=dict(depth=18), head=dict(in_channels=512))
