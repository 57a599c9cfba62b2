# DAS classifier on a GSF-ResNet-18 for 32x32 images (mmpretrain's
# resnet18_cifar.py: 3x3 stem, no max pool, so stage 4 keeps 4x4 maps).
_base_ = ['./das_cls_gsf_r18.py']
model = dict(
    backbone=dict(type='VideoResNet_CIFAR'), head=dict(num_classes=10))
