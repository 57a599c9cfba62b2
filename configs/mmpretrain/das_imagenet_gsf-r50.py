# DAS on ImageNet-1k: GSF-ResNet-50 (mmpretrain ResNet-50 classifier), T = 8,
# logits averaged. mmpretrain's ImageNet data (batch 32 per GPU x 8) and cosine
# schedule (100 epochs) with the paper's SGD (lr 0.025 per 128 images, scaled
# by auto_scale_lr; momentum 0.9, weight decay 3e-4); the search takes the
# first 10 epochs (the paper's ImageNet search length is not public; it reports
# under one GPU day of search). Image baseline: das_imagenet_r50_baseline.py
_base_ = [
    '../_base_/models/das_cls_gsf_r50.py', './_base_/imagenet.py',
    'mmpretrain::_base_/schedules/imagenet_bs256_coslr.py',
    '../_base_/default_runtime_cls.py'
]
data_preprocessor = dict(type='ClipClsDataPreprocessor')
model = dict(
    clip_cell=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]))
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=3e-4))
custom_hooks = [
    dict(type='DASSearchHook', mode='search_and_train', search_epochs=10)
]
