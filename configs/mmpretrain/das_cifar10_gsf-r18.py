# DAS on CIFAR-10: GSF-ResNet-18 (mmpretrain ResNet, T = 8 frames per image
# from the searchable clip cell, logits averaged over the frames), search then
# training with the derived policy in one run (see _base_/das_cls_schedule.py).
#   tools/dist_train.sh configs/mmpretrain/das_cifar10_gsf-r18.py 8
# Image baseline: das_cifar10_r18_baseline.py
_base_ = [
    '../_base_/models/das_cls_gsf_r18.py', './_base_/cifar10.py',
    './_base_/das_cls_schedule.py', '../_base_/default_runtime_cls.py'
]
data_preprocessor = dict(type='ClipClsDataPreprocessor')
model = dict(
    backbone=dict(
        type='VideoResNet_CIFAR'
    ),  # 3x3 stem, no max pool: 32x32 images keep 4x4 maps at stage 4
    head=dict(num_classes=10),
    clip_cell=dict(
        mean=[125.307, 122.961, 113.8575],
        std=[51.5865, 50.847, 51.255]))  # the dataset's (RGB)
