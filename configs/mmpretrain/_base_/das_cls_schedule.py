# The paper's classification optimisation: SGD lr 0.025, momentum 0.9, weight
# decay 3e-4, cosine decay; the search (50 epochs, α: the DASSearchHook
# defaults: Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3, one α step per
# weight step on a 50/50 split) is followed by training with the derived
# policy. The length of that training is not public: 200 epochs in all
# (mmpretrain's CIFAR length). Batch 16 per GPU x 8 GPUs = 128, as mmpretrain's
# CIFAR.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=200, by_epoch=True, eta_min=0)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
custom_hooks = [
    dict(type='DASSearchHook', mode='search_and_train', search_epochs=50)
]
