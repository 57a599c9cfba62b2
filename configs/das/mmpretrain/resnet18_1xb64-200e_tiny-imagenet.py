# The image baseline of das_gsf-resnet18-t8_1xb64-200e_tiny-imagenet.py:
# mmpretrain's ResNet-18 (resnet18.py, ImageClassifier) on the same data,
# batch 64 on one GPU, mmpretrain's 200-epoch CIFAR schedule with the same
# optimizer (SGD lr 0.025, momentum 0.9, weight decay 3e-4, cosine to 1e-3,
# gradients clipped at 5). No clip, no temporal module, no search.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../../_base_/datasets/tiny_imagenet.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    '../../_base_/default_runtime_cls.py'
]
model = dict(head=dict(num_classes=200))
optim_wrapper = dict(
    optimizer=dict(lr=0.025, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = dict(
    _delete_=True,
    type='CosineAnnealingLR',
    T_max=200,
    eta_min=1e-3,
    by_epoch=True,
    begin=0,
    end=200)
auto_scale_lr = dict(base_batch_size=64)
