# DAS on Tiny-ImageNet (200 classes, 64x64): GSF-ResNet-18, T = 8, logits
# averaged, search then training with the derived policy (see
# _base_/das_cls_schedule.py). Image baseline:
# das_tiny-imagenet_r18_baseline.py
_base_ = [
    '../_base_/models/das_cls_gsf_r18.py', './_base_/tiny_imagenet.py',
    './_base_/das_cls_schedule.py', '../_base_/default_runtime_cls.py'
]
data_preprocessor = dict(type='ClipClsDataPreprocessor')
model = dict(
    head=dict(num_classes=200, topk=(1, 5)),
    clip_cell=dict(mean=[122.46, 114.26, 101.37], std=[70.49, 68.56, 71.81]))
