# DAS classifier on a GSF-ResNet-18 (mmpretrain's ResNet-18 classifier, T = 8,
# logits averaged).
_base_ = ['./das_cls_gsf_r50.py']
model = dict(backbone=dict(depth=18), head=dict(in_channels=512))
