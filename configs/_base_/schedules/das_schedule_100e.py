# The DAS ImageNet schedule: das_schedule_200e.py with mmpretrain's ImageNet
# length (imagenet_bs256_coslr.py: 100 epochs, cosine), lr 0.1 for 256 images
# (the authors' 0.025 per 64, sotaDAS/cnn/train_search.py, scaled linearly;
# also mmpretrain's ImageNet lr). No search (the ImageNet config lists a
# search base and searches 10 epochs).
_base_ = ['./das_schedule_200e.py']
max_epochs = 100
optim_wrapper = dict(optimizer=dict(lr=0.1))
auto_scale_lr = dict(base_batch_size=256)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-3,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
train_cfg = dict(max_epochs=max_epochs)
