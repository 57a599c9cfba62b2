# The image baseline of das_gsf-resnet50-t8_8xb32-100e_in1k.py: mmpretrain's
# ResNet-50 (resnet50.py, ImageClassifier) on mmpretrain's ImageNet data
# (8 GPUs x 32), its 100-epoch cosine schedule (imagenet_bs256_coslr.py) with
# the same optimizer (SGD lr 0.1, momentum 0.9, weight decay 3e-4, cosine to
# 1e-3, gradients clipped at 5). No clip, no temporal module, no search.
#   tools/dist_train.sh CONFIG 8
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    '../../_base_/datasets/imagenet.py',
    'mmpretrain::_base_/schedules/imagenet_bs256_coslr.py',
    '../../_base_/default_runtime_cls.py'
]
optim_wrapper = dict(
    optimizer=dict(lr=0.1, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = dict(
    _delete_=True,
    type='CosineAnnealingLR',
    T_max=100,
    eta_min=1e-3,
    by_epoch=True,
    begin=0,
    end=100)
