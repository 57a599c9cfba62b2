# The DAS classification schedule (CIFAR, Tiny-ImageNet): the search of
# ../das_search.py for 50 epochs, then 200 epochs of training with the derived
# policy, evaluated every epoch. Weights: the paper's SGD (lr 0.025, momentum
# 0.9, weight decay 3e-4, cosine decay) with, from the authors' code
# (sotaDAS/cnn/train_search.py), the cosine floor lr 1e-3, gradients clipped
# at norm 5, batch 64 (auto_scale_lr's base) and the 50-epoch search. The
# length of the final training is public in neither: 200 epochs, mmpretrain's
# CIFAR schedule (cifar10_bs128.py). The cosine runs over the training phase;
# during the search the lr stays near 0.025 (the authors' search decays it
# over its 50 epochs).
_base_ = ['../das_search.py']
max_epochs = 200
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = dict(model=[
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-3,
        by_epoch=True,
        begin=0,
        end=max_epochs)
])
train_cfg = dict(
    type='DASEpochBasedTrainLoop',
    max_epochs=max_epochs,
    search_epochs=50,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=64)
