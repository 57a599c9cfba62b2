# The DAS classification schedule (CIFAR, Tiny-ImageNet): 200 epochs of
# training, evaluated every epoch. Weights: the paper's SGD (lr 0.025,
# momentum 0.9, weight decay 3e-4, cosine decay) with, from the authors' code
# (sotaDAS/cnn/train_search.py), the cosine floor lr 1e-3, gradients clipped
# at norm 5 and batch 64 (auto_scale_lr's base). The length of the final
# training is public in neither: 200 epochs, mmpretrain's CIFAR schedule
# (cifar10_bs128.py). No search: a DAS config lists a search base beside it
# (../search/das_first_order.py; the configs search 50 epochs, the authors'
# length). The cosine runs over the training phase; during the search the lr
# stays near 0.025 (the authors' search decays it over its 50 epochs).
max_epochs = 200
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-3,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=64)
